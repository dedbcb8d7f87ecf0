//! Structured pruning of a student as DPHuBERT does it (Peng et al. 2023, "DPHuBERT: Joint
//! Distillation and Pruning of Self-Supervised Speech Models", arXiv:2305.17651; code
//! github.com/pyf98/DPHuBERT, `wav2vec2/hardconcrete.py`, `wav2vec2/components.py`,
//! `prune.py`), which SKILL builds on.
//!
//! - [`hard_concrete`]: hard-concrete gates (Louizos et al. 2018, arXiv:1712.01312);
//! - [`PruneGates`]: one gate vector per conv layer (output channels, after the GELU), per
//!   layer's attention heads (each head's context, before `out_proj`) and per layer's FFN
//!   units (after the GELU), as [`PruneConfig`] asks; the student's forward multiplies each
//!   unit's output by its gate;
//! - [`SizeModel`]: the backbone's parameter count as a function of the kept units, exact for
//!   hard counts and differentiable in expectation (DPHuBERT's `get_num_params`);
//! - `physical`: [`crate::Student::prune`] drops the units whose deterministic gate is 0 and
//!   folds the others' gate values into the next weights, giving a smaller dense student with
//!   per-layer shapes ([`LayerShape`]) whose outputs equal the gated model's.
//!
//! Differences from DPHuBERT, and why:
//! - the last conv layer is gated only when the feature projection has no LayerNorm (DPHuBERT
//!   keeps an extra `dummy_weight` vector after the CNN to hold those gate values; we have no
//!   such parameter, and a LayerNorm cannot absorb a per-channel scale of its input);
//! - conv channels are only gated with group-norm (or no-norm) extractors: a per-frame
//!   LayerNorm over channels would normalise differently once channels are removed;
//! - attention heads of WavLM students are not gated (the relative position bias of layer 0 is
//!   shared by all layers' heads, so it cannot follow per-layer head pruning);
//! - no whole-layer gates (DPHuBERT's optional `prune_layer_attn` / `prune_layer_ff`);
//! - a layer whose gates all close keeps one unit with zero outgoing weights (exactly
//!   equivalent, but not counted as removed), since burn tensors of width 0 are not used here.

pub mod hard_concrete;
mod physical;
mod size;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use ssl_distill_models::nn::attention::SelfAttentionConfig;
use ssl_distill_models::nn::encoder_layer::{EncoderLayer, EncoderLayerConfig, LayerGates};
use ssl_distill_models::{FeatExtractNorm, ModelKind, SslConfig};

use crate::error::StudentError;
use hard_concrete::{HardConcrete, HardConcreteConfig};
pub use size::SizeModel;

/// Which units of a student get hard-concrete gates, and how the gates start.
#[derive(Config, Debug, PartialEq)]
pub struct PruneConfig {
    /// Gate the output channels of the conv layers (DPHuBERT `prune_conv_channels`). Default:
    /// true.
    #[config(default = true)]
    pub conv: bool,
    /// Gate attention heads (DPHuBERT `prune_attn`). Default: true.
    #[config(default = true)]
    pub heads: bool,
    /// Gate FFN intermediate units (DPHuBERT `prune_ff`). Default: true.
    #[config(default = true)]
    pub ffn: bool,
    /// Initial drop probability of every gate (DPHuBERT `init_mean`). Default: 0.01.
    #[config(default = 0.01)]
    pub init_drop_rate: f64,
    /// Temperature β of the gates. Default: 2/3.
    #[config(default = "2.0 / 3.0")]
    pub temperature: f64,
    /// Stretch of the gates' interval `(−stretch, 1 + stretch)`. Default: 0.1.
    #[config(default = 0.1)]
    pub stretch: f64,
}

/// The shape of one encoder layer after structured pruning. A pruned head keeps the original
/// head width (`hidden_size / num_attention_heads`), so `heads × head_dim` may be smaller than
/// `hidden_size`.
#[derive(Config, Debug, PartialEq, Eq, Copy)]
pub struct LayerShape {
    /// Attention heads kept.
    pub heads: usize,
    /// FFN intermediate units kept.
    pub ffn: usize,
}

/// The gates of a student's prunable units.
#[derive(Module, Debug)]
pub struct PruneGates {
    /// Output channels of conv layers `0..conv.len()` (the first ones; empty: not gated).
    pub conv: Vec<HardConcrete>,
    /// Heads of every encoder layer (empty: not gated).
    pub heads: Vec<HardConcrete>,
    /// FFN units of every encoder layer (empty: not gated).
    pub ffn: Vec<HardConcrete>,
}

/// The gate values of one forward pass.
#[derive(Debug, Clone)]
pub struct GateMasks {
    /// One `[channels]` gate per gated conv layer (the first ones).
    pub conv: Vec<Tensor<1>>,
    /// Head and FFN gates per encoder layer (one entry per layer).
    pub layers: Vec<LayerGates>,
}

impl PruneGates {
    /// Gates for `num_conv_gated` conv layers of `conv_dim` channels and for layers of
    /// `shapes` (heads / FFN as `config` says).
    pub(crate) fn init(
        config: &PruneConfig,
        conv_dim: &[usize],
        num_conv_gated: usize,
        shapes: &[LayerShape],
        device: &Device,
    ) -> Self {
        let gate = |n: usize| {
            HardConcreteConfig::new(n)
                .with_init_drop_rate(config.init_drop_rate)
                .with_temperature(config.temperature)
                .with_stretch(config.stretch)
                .init(device)
        };
        Self {
            conv: conv_dim[..num_conv_gated]
                .iter()
                .map(|&c| gate(c))
                .collect(),
            heads: if config.heads {
                shapes.iter().map(|s| gate(s.heads)).collect()
            } else {
                Vec::new()
            },
            ffn: if config.ffn {
                shapes.iter().map(|s| gate(s.ffn)).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Sampled gates while training, deterministic ones otherwise (see
    /// [`HardConcrete::mask`]); `layers` entries for `num_layers` layers.
    pub fn masks(&self, num_layers: usize) -> GateMasks {
        GateMasks {
            conv: self.conv.iter().map(HardConcrete::mask).collect(),
            layers: (0..num_layers)
                .map(|i| LayerGates {
                    heads: self.heads.get(i).map(HardConcrete::mask),
                    ffn: self.ffn.get(i).map(HardConcrete::mask),
                })
                .collect(),
        }
    }

    /// Every gate vector, for summaries: `("conv.I" | "heads.I" | "ffn.I", gate)`.
    pub fn named(&self) -> Vec<(String, &HardConcrete)> {
        let mut v = Vec::new();
        for (kind, gates) in [
            ("conv", &self.conv),
            ("heads", &self.heads),
            ("ffn", &self.ffn),
        ] {
            v.extend(
                gates
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (format!("{kind}.{i}"), g)),
            );
        }
        v
    }
}

/// The pruning-related part of a [`StudentConfig`](crate::StudentConfig): what its checks, its
/// layer shapes and its gates depend on (`StudentConfig::pruning` gives it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PruneSetup<'a> {
    /// The backbone.
    pub backbone: &'a SslConfig,
    /// The student has the waveform CNN (not an Fbank front-end).
    pub cnn: bool,
    /// The gates asked for.
    pub prune: Option<&'a PruneConfig>,
    /// Per-layer shapes (empty: uniform).
    pub layer_shapes: &'a [LayerShape],
}

impl PruneSetup<'_> {
    /// The shape of layer `l`: its entry in `layer_shapes`, or the backbone's uniform one.
    pub fn layer_shape(&self, l: usize) -> LayerShape {
        self.layer_shapes
            .get(l)
            .copied()
            .unwrap_or_else(|| self.uniform_shape())
    }

    /// The backbone's uniform layer shape (`num_attention_heads`, `intermediate_size`).
    pub fn uniform_shape(&self) -> LayerShape {
        LayerShape::new(
            self.backbone.num_attention_heads,
            self.backbone.intermediate_size,
        )
    }

    /// How many conv layers (the first ones) get channel gates: none without `prune.conv` or
    /// for an Fbank student; all but the last when the feature projection has a LayerNorm.
    pub fn num_conv_gated(&self) -> usize {
        match self.prune {
            Some(p) if p.conv && self.cnn => {
                let n = self.backbone.conv_dim.len();
                if self.backbone.feat_proj_layer_norm {
                    n - 1
                } else {
                    n
                }
            }
            _ => 0,
        }
    }

    /// Checks `prune` and `layer_shapes` against the backbone.
    pub fn validate(&self) -> Result<(), StudentError> {
        let b = &self.backbone;
        let wavlm = b.kind == ModelKind::Wavlm;
        if !self.layer_shapes.is_empty() {
            if self.layer_shapes.len() != b.num_hidden_layers {
                return Err(StudentError::config(
                    "layer_shapes",
                    format!(
                        "has {} entries for {} layers",
                        self.layer_shapes.len(),
                        b.num_hidden_layers
                    ),
                ));
            }
            for (l, s) in self.layer_shapes.iter().enumerate() {
                if s.heads == 0 || s.ffn == 0 {
                    return Err(StudentError::config(
                        format!("layer_shapes[{l}]"),
                        "needs at least one head and one FFN unit",
                    ));
                }
                if wavlm && s.heads != b.num_attention_heads {
                    return Err(StudentError::config(
                        format!("layer_shapes[{l}].heads"),
                        "must equal num_attention_heads for WavLM (its relative position bias is \
                         shared by every layer's heads)",
                    ));
                }
            }
        }
        if let Some(p) = self.prune {
            if p.heads && wavlm {
                return Err(StudentError::config(
                    "prune.heads",
                    "is not supported for WavLM students (the relative position bias of layer 0 \
                     is shared by every layer's heads)",
                ));
            }
            if p.conv && b.feat_extract_norm == FeatExtractNorm::Layer && self.cnn {
                return Err(StudentError::config(
                    "prune.conv",
                    "needs a group-norm extractor: a per-frame LayerNorm over channels changes \
                     when channels are removed",
                ));
            }
            let drop = p.init_drop_rate;
            if !(drop > 0.0 && drop < 1.0) {
                return Err(StudentError::config(
                    "prune.init_drop_rate",
                    format!("must be in (0, 1), got {drop}"),
                ));
            }
            if !(p.temperature > 0.0 && p.stretch > 0.0) {
                return Err(StudentError::config(
                    "prune",
                    "temperature and stretch must be > 0",
                ));
            }
        }
        Ok(())
    }

    /// The layers whose shape differs from the uniform one, rebuilt (random init) with their
    /// shape: `(layer index, layer)`.
    pub fn resized_layers(&self, device: &Device) -> Vec<(usize, EncoderLayer)> {
        let b = self.backbone;
        let uniform = self.uniform_shape();
        let wavlm = b.kind == ModelKind::Wavlm;
        let mut layers = Vec::new();
        for (l, shape) in self.layer_shapes.iter().enumerate() {
            if *shape == uniform {
                continue;
            }
            let attention = SelfAttentionConfig::new(b.hidden_size, shape.heads)
                .with_head_dim(Some(b.head_dim()))
                .with_gated_rel_pos(wavlm)
                .with_has_rel_attn_embed(wavlm && l == 0)
                .with_num_buckets(b.num_buckets)
                .with_max_distance(b.max_bucket_distance);
            let layer = EncoderLayerConfig::new(attention, shape.ffn)
                .with_pre_ln(b.do_stable_layer_norm)
                .with_layer_norm_eps(b.layer_norm_eps)
                .init(device);
            layers.push((l, layer));
        }
        layers
    }

    /// The gates `prune` asks for (none without it).
    pub fn gates(&self, device: &Device) -> Option<PruneGates> {
        let p = self.prune?;
        let shapes: Vec<LayerShape> = (0..self.backbone.num_hidden_layers)
            .map(|l| self.layer_shape(l))
            .collect();
        Some(PruneGates::init(
            p,
            &self.backbone.conv_dim,
            self.num_conv_gated(),
            &shapes,
            device,
        ))
    }
}
