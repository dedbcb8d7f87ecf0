//! Feature projection (HF `*FeatureProjection`): optional LayerNorm over the conv channels, then
//! a Linear up to the transformer width.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// Configuration of [`FeatureProjection`].
#[derive(Config, Debug)]
pub struct FeatureProjectionConfig {
    /// Conv channels (HF `conv_dim[-1]`).
    pub d_input: usize,
    /// Transformer width (HF `hidden_size`).
    pub d_model: usize,
    /// LayerNorm before the projection (HF `feat_proj_layer_norm`). Default: true.
    #[config(default = true)]
    pub layer_norm: bool,
    /// LayerNorm epsilon (HF `layer_norm_eps`). Default: 1e-5.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}

impl FeatureProjectionConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> FeatureProjection {
        FeatureProjection {
            layer_norm: self.layer_norm.then(|| {
                LayerNormConfig::new(self.d_input)
                    .with_epsilon(self.layer_norm_eps)
                    .init(device)
            }),
            projection: LinearConfig::new(self.d_input, self.d_model).init(device),
        }
    }
}

/// HF `feature_projection`.
#[derive(Module, Debug)]
pub struct FeatureProjection {
    /// HF `layer_norm` (absent when `feat_proj_layer_norm` is false).
    pub layer_norm: Option<LayerNorm>,
    /// HF `projection`.
    pub projection: Linear,
}

impl FeatureProjection {
    /// # Shapes
    /// - `features`: `[batch, frames, d_input]` -> `[batch, frames, d_model]`
    pub fn forward(&self, features: Tensor<3>) -> Tensor<3> {
        let x = match &self.layer_norm {
            Some(norm) => norm.forward(features),
            None => features,
        };
        self.projection.forward(x)
    }
}
