//! Tiny configs and inputs shared by the tests.

use burn::tensor::{Bool, Device, Distribution, Tensor, TensorData};
use ssl_distill_models::SslConfig;
use ssl_distill_students::{FbankFrontEndConfig, FrontEndConfig, HeadConfig, StudentConfig};

/// The tiny HuBERT (2 × 32, standard 7-conv stack with 16 channels) without the feature
/// projection's LayerNorm, as DistilHuBERT's students.
pub fn tiny_backbone() -> SslConfig {
    SslConfig {
        feat_proj_layer_norm: false,
        ..SslConfig::tiny()
    }
}

/// Prediction heads for `n` targets of width 48.
pub fn prediction(n: usize) -> HeadConfig {
    HeadConfig::Prediction {
        num_targets: n,
        d_target: 48,
    }
}

/// A tiny Fbank front-end (8 hidden channels).
pub fn tiny_fbank() -> FrontEndConfig {
    FrontEndConfig::Fbank(FbankFrontEndConfig::new().with_channels(8))
}

/// A tiny CNN student with prediction heads.
pub fn tiny_cnn_student() -> StudentConfig {
    StudentConfig::new(tiny_backbone(), prediction(2))
}

/// A tiny Fbank student with prediction heads.
pub fn tiny_fbank_student() -> StudentConfig {
    tiny_cnn_student().with_front_end(tiny_fbank())
}

/// Speech-like noise `[batch, samples]`.
pub fn wave(batch: usize, samples: usize, device: &Device) -> Tensor<2> {
    Tensor::random([batch, samples], Distribution::Normal(0.0, 0.1), device)
}

/// A right-padding mask `[lengths.len(), samples]`, `true` = padded.
pub fn padding_mask(lengths: &[usize], samples: usize, device: &Device) -> Tensor<2, Bool> {
    let mask: Vec<bool> = lengths
        .iter()
        .flat_map(|&n| (0..samples).map(move |i| i >= n))
        .collect();
    Tensor::from_data(TensorData::new(mask, [lengths.len(), samples]), device)
}

/// Largest absolute difference of two tensors.
pub fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    (a - b).abs().max().into_scalar()
}
