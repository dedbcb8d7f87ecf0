//! ssl-distill: distillation of self-supervised speech models.
pub use ssl_distill_audio as audio;
