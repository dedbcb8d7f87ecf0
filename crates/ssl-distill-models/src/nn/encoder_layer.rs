//! One transformer encoder layer, post-LN (HF `HubertEncoderLayer`) or pre-LN
//! (`HubertEncoderLayerStableLayerNorm`), with HF's parameter names.
//!
//! Post-LN: `x = LN1(x + attn(x)); x = LN2(x + ffn(x))`.
//! Pre-LN: `x = x + attn(LN1(x)); x = x + ffn(LN2(x))`.
//! `LN1` is HF's `layer_norm`, `LN2` its `final_layer_norm`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Device, Tensor};

use super::attention::{SelfAttention, SelfAttentionConfig};
use super::feed_forward::{FeedForward, FeedForwardConfig};

/// Configuration of [`EncoderLayer`].
#[derive(Config, Debug)]
pub struct EncoderLayerConfig {
    /// Attention configuration.
    pub attention: SelfAttentionConfig,
    /// FFN width (HF `intermediate_size`).
    pub d_ff: usize,
    /// Pre-LN (HF `do_stable_layer_norm`). Default: false.
    #[config(default = false)]
    pub pre_ln: bool,
    /// LayerNorm epsilon (HF `layer_norm_eps`). Default: 1e-5.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}

impl EncoderLayerConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> EncoderLayer {
        let d = self.attention.d_model;
        let norm = || {
            LayerNormConfig::new(d)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        EncoderLayer {
            attention: self.attention.init(device),
            layer_norm: norm(),
            feed_forward: FeedForwardConfig::new(d, self.d_ff).init(device),
            final_layer_norm: norm(),
            pre_ln: self.pre_ln,
        }
    }
}

/// Multiplicative gates on the prunable units of one layer (structured pruning, e.g.
/// DPHuBERT's hard-concrete masks); `None` leaves that part ungated.
#[derive(Debug, Clone, Default)]
pub struct LayerGates {
    /// One gate per attention head `[heads]`, applied to the head's context.
    pub heads: Option<Tensor<1>>,
    /// One gate per FFN intermediate unit `[d_ff]`, applied after the GELU.
    pub ffn: Option<Tensor<1>>,
}

/// HF `encoder.layers.N`.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// Self-attention (HF `attention`).
    pub attention: SelfAttention,
    /// The attention block's LayerNorm (HF `layer_norm`).
    pub layer_norm: LayerNorm,
    /// The FFN (HF `feed_forward`).
    pub feed_forward: FeedForward,
    /// The FFN block's LayerNorm (HF `final_layer_norm`).
    pub final_layer_norm: LayerNorm,
    /// Pre-LN placement.
    pub pre_ln: bool,
}

impl EncoderLayer {
    /// # Shapes
    /// - `x`: `[batch, frames, d_model]` -> same
    /// - `padding_mask`: `[batch, frames]`, `true` = padded
    /// - `position_bias`: WavLM's shared bias `[1, heads, frames, frames]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        padding_mask: Option<&Tensor<2, Bool>>,
        position_bias: Option<&Tensor<4>>,
    ) -> Tensor<3> {
        self.forward_gated(x, padding_mask, position_bias, &LayerGates::default())
    }

    /// [`EncoderLayer::forward`] with head and FFN-unit gates.
    ///
    /// # Shapes
    /// - as [`EncoderLayer::forward`]; `gates.heads`: `[heads]`, `gates.ffn`: `[d_ff]`
    pub fn forward_gated(
        &self,
        x: Tensor<3>,
        padding_mask: Option<&Tensor<2, Bool>>,
        position_bias: Option<&Tensor<4>>,
        gates: &LayerGates,
    ) -> Tensor<3> {
        let heads = gates.heads.as_ref();
        let ffn = gates.ffn.as_ref();
        if self.pre_ln {
            let h = self.attention.forward_gated(
                self.layer_norm.forward(x.clone()),
                padding_mask,
                position_bias,
                heads,
            );
            let x = x + h;
            let h = self
                .feed_forward
                .forward_gated(self.final_layer_norm.forward(x.clone()), ffn);
            x + h
        } else {
            let h = self
                .attention
                .forward_gated(x.clone(), padding_mask, position_bias, heads);
            let x = self.layer_norm.forward(x + h);
            let h = self.feed_forward.forward_gated(x.clone(), ffn);
            self.final_layer_norm.forward(x + h)
        }
    }
}
