//! ssl-distill: knowledge distillation of self-supervised speech models (HuBERT, WavLM,
//! wav2vec 2.0) into small students.
//!
//! This umbrella crate re-exports the libraries of the workspace:
//! - [`audio`]: decoding, resampling, Kaldi features, manifests, batching;
//! - [`models`]: HuBERT / WavLM / wav2vec 2.0 teachers, HF loading and export.

pub use ssl_distill_audio as audio;
pub use ssl_distill_models as models;
