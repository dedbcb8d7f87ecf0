//! Integration tests of ssl-distill-audio (one binary; one module per concern).

mod bad_inputs;
mod decode;
mod kaldi;
mod loader;
mod manifest;
mod resample;
