//! Audio front-end (placeholder while the crate is built).
