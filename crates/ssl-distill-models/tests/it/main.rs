//! Integration tests of ssl-distill-models (one binary).

mod common;
mod export;
mod fairseq;
mod fuzz;
mod loading;
mod parity;
