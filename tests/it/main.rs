//! Integration tests of the umbrella crate: the libraries working together on a real backend.

mod examples;
mod pipeline;
