//! Integration tests of the corpus generator.

#[cfg(feature = "espeak")]
mod ci_corpus;
mod config;
