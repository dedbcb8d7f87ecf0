//! Convolutional relative positional embedding (HF `*PositionalConvEmbedding`): a grouped conv
//! over time with "same" padding (the last frame dropped for an even kernel), then GELU.
//!
//! HF applies weight norm (`dim=2`) to this conv; burn has none, so the loader folds `g` and `v`
//! into the plain `weight` (`w = g * v / ||v||`, the norm over dims 0 and 1) and the exporter
//! writes `g = ||w||`, `v = w`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::tensor::{Device, Tensor, activation::gelu, s};

/// Configuration of [`PosConvEmbed`].
#[derive(Config, Debug)]
pub struct PosConvEmbedConfig {
    /// Transformer width (HF `hidden_size`).
    pub d_model: usize,
    /// Kernel (HF `num_conv_pos_embeddings`). Default: 128.
    #[config(default = 128)]
    pub kernel_size: usize,
    /// Groups (HF `num_conv_pos_embedding_groups`). Default: 16.
    #[config(default = 16)]
    pub groups: usize,
}

impl PosConvEmbedConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> PosConvEmbed {
        let pad = self.kernel_size / 2;
        PosConvEmbed {
            conv: Conv1dConfig::new(self.d_model, self.d_model, self.kernel_size)
                .with_groups(self.groups)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(device),
        }
    }
}

/// HF `encoder.pos_conv_embed`.
#[derive(Module, Debug)]
pub struct PosConvEmbed {
    /// The grouped conv with its weight norm folded (HF `conv`).
    pub conv: Conv1d,
}

impl PosConvEmbed {
    /// Returns the positional embedding (not yet added to `x`).
    ///
    /// # Shapes
    /// - `x`: `[batch, frames, d_model]` -> `[batch, frames, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let frames = x.dims()[1];
        let y = self.conv.forward(x.swap_dims(1, 2));
        // SamePad: an even kernel yields one extra frame.
        let y = y.slice(s![.., .., 0..frames]);
        gelu(y).swap_dims(1, 2)
    }
}
