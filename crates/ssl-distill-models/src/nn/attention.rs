//! Multi-head self-attention with HF's parameter names, and WavLM's gated relative position
//! bias.
//!
//! Follows HF `HubertAttention` / `Wav2Vec2Attention` (q, k, v, out projections with bias;
//! `q` scaled by `head_dim^-0.5`; padded keys masked) and `WavLMAttention`: a learned bias per
//! (head, relative-position bucket), computed in layer 0 and shared by every layer, gated per
//! head and query by `gate = a * (b * gru_rel_pos_const - 1) + 2`, where
//! `(a, b) = sigmoid(sum over 4 of gru_rel_pos_linear(x_head))` (WavLM, arXiv:2110.13900, §2.2).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor};

use super::rel_pos::bucket_matrix;

/// Configuration of [`SelfAttention`].
#[derive(Config, Debug)]
pub struct SelfAttentionConfig {
    /// Model width (HF `hidden_size`).
    pub d_model: usize,
    /// Heads (HF `num_attention_heads`).
    pub num_heads: usize,
    /// WavLM's gate on the relative position bias (HF `gru_rel_pos_linear`, `gru_rel_pos_const`).
    /// Default: false.
    #[config(default = false)]
    pub gated_rel_pos: bool,
    /// Owns the relative-position embedding (HF `rel_attn_embed`; WavLM layer 0 only).
    /// Default: false.
    #[config(default = false)]
    pub has_rel_attn_embed: bool,
    /// Relative-position buckets (HF `num_buckets`). Default: 320.
    #[config(default = 320)]
    pub num_buckets: usize,
    /// Largest bucketed distance (HF `max_bucket_distance`). Default: 800.
    #[config(default = 800)]
    pub max_distance: usize,
    /// Width of one head; `None` (the default) is `d_model / num_heads`, as HF. A structurally
    /// pruned layer keeps the original head width with fewer heads, so its projections are
    /// `d_model -> num_heads * head_dim` (no HF class can hold such a layer).
    #[config(default = "None")]
    pub head_dim: Option<usize>,
}

impl SelfAttentionConfig {
    /// Random init.
    ///
    /// # Panics
    /// If `num_heads` is 0, or `head_dim` is `None` and `num_heads` does not divide `d_model`.
    pub fn init(&self, device: &Device) -> SelfAttention {
        assert!(
            self.num_heads > 0
                && (self.head_dim.is_some() || self.d_model.is_multiple_of(self.num_heads)),
            "num_heads {} must divide d_model {}",
            self.num_heads,
            self.d_model
        );
        let head_dim = self.head_dim.unwrap_or(self.d_model / self.num_heads);
        let inner = self.num_heads * head_dim;
        let linear = || LinearConfig::new(self.d_model, inner).init(device);
        SelfAttention {
            q_proj: linear(),
            k_proj: linear(),
            v_proj: linear(),
            out_proj: LinearConfig::new(inner, self.d_model).init(device),
            gru_rel_pos_linear: self
                .gated_rel_pos
                .then(|| LinearConfig::new(head_dim, 8).init(device)),
            gru_rel_pos_const: self
                .gated_rel_pos
                .then(|| Param::from_tensor(Tensor::ones([1, self.num_heads, 1, 1], device))),
            rel_attn_embed: self
                .has_rel_attn_embed
                .then(|| EmbeddingConfig::new(self.num_buckets, self.num_heads).init(device)),
            num_heads: self.num_heads,
            num_buckets: self.num_buckets,
            max_distance: self.max_distance,
        }
    }
}

/// HF `attention` of an encoder layer.
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// Query projection (HF `q_proj`).
    pub q_proj: Linear,
    /// Key projection (HF `k_proj`).
    pub k_proj: Linear,
    /// Value projection (HF `v_proj`).
    pub v_proj: Linear,
    /// Output projection (HF `out_proj`).
    pub out_proj: Linear,
    /// WavLM gate projection `head_dim -> 8` (HF `gru_rel_pos_linear`).
    pub gru_rel_pos_linear: Option<Linear>,
    /// WavLM gate constant `[1, heads, 1, 1]` (HF `gru_rel_pos_const`).
    pub gru_rel_pos_const: Option<Param<Tensor<4>>>,
    /// WavLM bucket embedding `[num_buckets, heads]` (HF `rel_attn_embed`, layer 0 only).
    pub rel_attn_embed: Option<Embedding>,
    /// Number of heads.
    pub num_heads: usize,
    /// Relative-position buckets.
    pub num_buckets: usize,
    /// Largest bucketed distance.
    pub max_distance: usize,
}

impl SelfAttention {
    /// The ungated relative position bias `[1, heads, frames, frames]` from this layer's
    /// `rel_attn_embed` (WavLM layer 0), or `None` if it has none.
    pub fn position_bias(&self, frames: usize, device: &Device) -> Option<Tensor<4>> {
        let embed = self.rel_attn_embed.as_ref()?;
        let buckets = bucket_matrix(frames, self.num_buckets, self.max_distance, device);
        // [T, T] -> [T, T, H] -> [H, T, T]
        let values = embed.forward(buckets);
        Some(values.permute([2, 0, 1]).unsqueeze_dim(0))
    }

    /// Self-attention of `x`.
    ///
    /// `padding_mask` marks padded frames (`true`), which are masked as keys;
    /// `position_bias` is the shared WavLM bias (gated here when this layer has a gate).
    ///
    /// # Shapes
    /// - `x`: `[batch, frames, d_model]` -> `[batch, frames, d_model]`
    /// - `padding_mask`: `[batch, frames]`
    /// - `position_bias`: `[1 or batch, heads, frames, frames]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        padding_mask: Option<&Tensor<2, Bool>>,
        position_bias: Option<&Tensor<4>>,
    ) -> Tensor<3> {
        self.forward_gated(x, padding_mask, position_bias, None)
    }

    /// Width of one head (`d_model / num_heads` unless the layer was pruned to fewer heads).
    pub fn head_dim(&self) -> usize {
        self.q_proj.weight.dims()[1] / self.num_heads
    }

    /// [`SelfAttention::forward`] with each head's context multiplied by its gate before the
    /// output projection (structured pruning: a gate of 0 removes the head).
    ///
    /// # Shapes
    /// - as [`SelfAttention::forward`]; `head_gate`: `[heads]`
    pub fn forward_gated(
        &self,
        x: Tensor<3>,
        padding_mask: Option<&Tensor<2, Bool>>,
        position_bias: Option<&Tensor<4>>,
        head_gate: Option<&Tensor<1>>,
    ) -> Tensor<3> {
        let [batch, frames, _] = x.dims();
        let heads = self.num_heads;
        let head_dim = self.head_dim();
        let split = |t: Tensor<3>| t.reshape([batch, frames, heads, head_dim]).swap_dims(1, 2);
        let q = split(self.q_proj.forward(x.clone()));
        let k = split(self.k_proj.forward(x.clone()));
        let v = split(self.v_proj.forward(x.clone()));

        let bias = match (
            position_bias,
            &self.gru_rel_pos_linear,
            &self.gru_rel_pos_const,
        ) {
            (Some(bias), Some(gate_linear), Some(gate_const)) => {
                // [B, H, T, head_dim] -> [B, H, T, 8] -> [B, H, T, 2, 4].sum -> [B, H, T, 2]
                let proj = gate_linear.forward(split(x));
                let proj = proj.reshape([batch, heads, frames, 2, 4]).sum_dim(4);
                let gates = sigmoid(proj.reshape([batch, heads, frames, 2]));
                let a = gates.clone().narrow(3, 0, 1);
                let b = gates.narrow(3, 1, 1);
                let gate = a * (b * gate_const.val() - 1.0) + 2.0; // [B, H, T, 1]
                Some(gate * bias.clone())
            }
            (Some(bias), _, _) => Some(bias.clone().expand([batch, heads, frames, frames])),
            _ => None,
        };
        let mask = padding_mask.map(|m| {
            m.clone()
                .reshape([batch, 1, 1, frames])
                .expand([batch, heads, frames, frames])
        });
        let context = attention(q, k, v, mask, bias, AttentionModuleOptions::default());
        let context = match head_gate {
            Some(g) => context * g.clone().reshape([1, heads, 1, 1]),
            None => context,
        };
        let context = context
            .swap_dims(1, 2)
            .reshape([batch, frames, heads * head_dim]);
        self.out_proj.forward(context)
    }
}
