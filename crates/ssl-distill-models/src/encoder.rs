//! The transformer encoder of HuBERT / wav2vec 2.0 / WavLM (HF `*Encoder` and
//! `*EncoderStableLayerNorm`): positional conv, LayerNorm placement, the layers, and the hidden
//! states exactly as HF's `output_hidden_states=True` returns them (transformers 5.x).
//!
//! - Post-LN: `x = LN(x + posconv(x))`; `hidden_states = [x, layer_1(x), ...]`.
//! - Pre-LN: `x = x + posconv(x)`; `hidden_states = [x, layer_1(x), ...]` with **no** LN on any
//!   entry; `last_hidden_state = LN(layer_L output)` (transformers 4.x and s3prl put that LN on
//!   the last hidden state instead; we follow 5.x and give `last_hidden_state` separately).
//!
//! With a padding mask, padded frames are zeroed before the positional conv and masked as
//! attention keys, as HF does.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Device, Tensor};

use crate::nn::attention::SelfAttentionConfig;
use crate::nn::encoder_layer::{EncoderLayer, EncoderLayerConfig, LayerGates};
use crate::nn::pos_conv::{PosConvEmbed, PosConvEmbedConfig};

/// Configuration of [`Encoder`].
#[derive(Config, Debug)]
pub struct EncoderConfig {
    /// Width (HF `hidden_size`).
    pub d_model: usize,
    /// Layers (HF `num_hidden_layers`).
    pub num_layers: usize,
    /// Heads (HF `num_attention_heads`).
    pub num_heads: usize,
    /// FFN width (HF `intermediate_size`).
    pub d_ff: usize,
    /// Positional conv kernel (HF `num_conv_pos_embeddings`). Default: 128.
    #[config(default = 128)]
    pub pos_conv_kernel: usize,
    /// Positional conv groups (HF `num_conv_pos_embedding_groups`). Default: 16.
    #[config(default = 16)]
    pub pos_conv_groups: usize,
    /// Pre-LN (HF `do_stable_layer_norm`). Default: false.
    #[config(default = false)]
    pub pre_ln: bool,
    /// LayerNorm epsilon (HF `layer_norm_eps`). Default: 1e-5.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
    /// WavLM gated relative position bias. Default: false.
    #[config(default = false)]
    pub rel_pos_bias: bool,
    /// WavLM buckets (HF `num_buckets`). Default: 320.
    #[config(default = 320)]
    pub num_buckets: usize,
    /// WavLM largest bucketed distance (HF `max_bucket_distance`). Default: 800.
    #[config(default = 800)]
    pub max_bucket_distance: usize,
}

impl EncoderConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> Encoder {
        let layers = (0..self.num_layers)
            .map(|i| {
                let attention = SelfAttentionConfig::new(self.d_model, self.num_heads)
                    .with_gated_rel_pos(self.rel_pos_bias)
                    .with_has_rel_attn_embed(self.rel_pos_bias && i == 0)
                    .with_num_buckets(self.num_buckets)
                    .with_max_distance(self.max_bucket_distance);
                EncoderLayerConfig::new(attention, self.d_ff)
                    .with_pre_ln(self.pre_ln)
                    .with_layer_norm_eps(self.layer_norm_eps)
                    .init(device)
            })
            .collect();
        Encoder {
            pos_conv_embed: PosConvEmbedConfig::new(self.d_model)
                .with_kernel_size(self.pos_conv_kernel)
                .with_groups(self.pos_conv_groups)
                .init(device),
            layer_norm: LayerNormConfig::new(self.d_model)
                .with_epsilon(self.layer_norm_eps)
                .init(device),
            layers,
            pre_ln: self.pre_ln,
        }
    }
}

/// HF `encoder`.
#[derive(Module, Debug)]
pub struct Encoder {
    /// Positional conv (HF `pos_conv_embed`).
    pub pos_conv_embed: PosConvEmbed,
    /// The encoder LayerNorm (HF `layer_norm`): before the layers (post-LN) or after (pre-LN).
    pub layer_norm: LayerNorm,
    /// The layers (HF `layers`).
    pub layers: Vec<EncoderLayer>,
    /// Pre-LN placement.
    pub pre_ln: bool,
}

/// What [`Encoder::forward_until`] returns.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// `hidden_states[0]` = input of layer 1, `hidden_states[i]` = output of layer `i`.
    pub hidden_states: Vec<Tensor<3>>,
    /// The encoder output (`LN(last)` for pre-LN models); only when every layer ran.
    pub last_hidden_state: Option<Tensor<3>>,
}

impl Encoder {
    /// Runs the positional conv and the first `num_layers` layers (at most all of them).
    ///
    /// # Shapes
    /// - `x`: projected features `[batch, frames, d_model]`
    /// - `padding_mask`: `[batch, frames]`, `true` = padded frame
    pub fn forward_until(
        &self,
        x: Tensor<3>,
        padding_mask: Option<&Tensor<2, Bool>>,
        num_layers: usize,
    ) -> EncoderOutput {
        self.forward_until_gated(x, padding_mask, num_layers, &[])
    }

    /// [`Encoder::forward_until`] with per-layer gates (`gates[i]` for layer `i`; an empty
    /// slice runs ungated), for structured pruning.
    ///
    /// # Panics
    /// If `gates` is neither empty nor has an entry for every layer that runs.
    pub fn forward_until_gated(
        &self,
        x: Tensor<3>,
        padding_mask: Option<&Tensor<2, Bool>>,
        num_layers: usize,
        gates: &[LayerGates],
    ) -> EncoderOutput {
        let num_layers = num_layers.min(self.layers.len());
        let x = match padding_mask {
            Some(mask) => {
                let [b, t, d] = x.dims();
                x.mask_fill(mask.clone().reshape([b, t, 1]).expand([b, t, d]), 0.0)
            }
            None => x,
        };
        let mut x = x.clone() + self.pos_conv_embed.forward(x);
        if !self.pre_ln {
            x = self.layer_norm.forward(x);
        }
        let frames = x.dims()[1];
        let position_bias = self
            .layers
            .first()
            .and_then(|l| l.attention.position_bias(frames, &x.device()));
        let mut hidden_states = Vec::with_capacity(num_layers + 1);
        hidden_states.push(x.clone());
        assert!(
            gates.is_empty() || gates.len() >= num_layers,
            "{} layer gates for {num_layers} layers",
            gates.len()
        );
        let ungated = LayerGates::default();
        for (i, layer) in self.layers[..num_layers].iter().enumerate() {
            let g = gates.get(i).unwrap_or(&ungated);
            x = layer.forward_gated(x, padding_mask, position_bias.as_ref(), g);
            hidden_states.push(x.clone());
        }
        let last_hidden_state = (num_layers == self.layers.len()).then(|| {
            if self.pre_ln {
                self.layer_norm.forward(x)
            } else {
                x
            }
        });
        EncoderOutput {
            hidden_states,
            last_hidden_state,
        }
    }
}
