//! ssl-distill: knowledge distillation of self-supervised speech models (HuBERT, WavLM,
//! wav2vec 2.0) into small students.
//!
//! This umbrella crate re-exports the libraries of the workspace:
//! - [`audio`]: decoding, resampling, Kaldi features, manifests, batching;
//! - [`models`]: HuBERT / WavLM / wav2vec 2.0 teachers, HF loading and export;
//! - [`students`]: student architectures (prediction heads, layer-to-layer, Fbank front-end,
//!   GenDistiller's generator);
//! - [`losses`], [`targets`]: distillation losses and teacher layer targets;
//! - [`train`]: the resumable training loop;
//! - [`recipes`]: recipes (TOML) wiring all of them into a distillation run.

pub use ssl_distill_audio as audio;
pub use ssl_distill_losses as losses;
pub use ssl_distill_models as models;
pub use ssl_distill_recipes as recipes;
pub use ssl_distill_students as students;
pub use ssl_distill_targets as targets;
pub use ssl_distill_train as train;
