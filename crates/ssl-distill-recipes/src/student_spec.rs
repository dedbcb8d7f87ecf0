//! `[student]`: a student architecture written relative to the teacher, so one recipe fits
//! HuBERT Base, a WavLM Large or this project's mini teacher.
//!
//! Sizes default to the teacher's scaled by `width_ratio` (hidden size, heads, FFN); the conv
//! front-end's kernels and strides are always the teacher's (frames must line up), its
//! channels can be thinner (`conv_dim`). On HuBERT Base, `layers = 2` gives DistilHuBERT's
//! 23.49 M student, `layers = 3` "3-L One" (30.58 M), `layers = 12, width_ratio = 0.5`
//! "12-L Half" (26.87 M).

use std::path::Path;

use serde::{Deserialize, Serialize};
use ssl_distill_models::{ModelKind, SslConfig};
use ssl_distill_students::{FbankFrontEndConfig, FrontEndConfig, HeadConfig, StudentConfig};

use crate::error::RecipeError;

/// The student's front-end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrontEndKind {
    /// The waveform CNN (channels `conv_dim`, the teacher's kernels and strides).
    #[default]
    Cnn,
    /// 80-bin Kaldi Fbank + a conv subsampler to 20 ms frames (Wang et al.).
    Fbank,
}

/// `[student.head]`: how predictions are made (`kind = "..."`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HeadSpec {
    /// DistilHuBERT's prediction heads on the last layer, one per target.
    Prediction,
    /// Layer-to-layer: student layer `student_layers[i]` predicts target `i` through a
    /// projection. Default: evenly spaced, `round(i × layers / N)` for `i = 1..=N` targets
    /// (every layer when there are as many targets as layers).
    LayerToLayer {
        /// Student hidden states (HF index, 1 = first layer) feeding the targets.
        #[serde(default)]
        student_layers: Option<Vec<usize>>,
    },
    /// GenDistiller's autoregressive generator: one shared block produces the targets one
    /// after another, each from its previous output.
    Generator {
        /// Heads of the shared block. Default: the student's heads.
        #[serde(default)]
        num_heads: Option<usize>,
        /// FFN width of the shared block. Default: the student's FFN width.
        #[serde(default)]
        d_ff: Option<usize>,
        /// Feed the teacher's previous layer as history while training instead of the
        /// generator's own output (GenDistiller does not publish which). Default false.
        #[serde(default)]
        teacher_forcing: bool,
    },
}

/// `[student]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentSpec {
    /// Transformer layers.
    pub layers: usize,
    /// Width, heads and FFN as a fraction of the teacher's. Default 1.0.
    #[serde(default = "one")]
    pub width_ratio: f64,
    /// Hidden size; default `round(width_ratio × teacher's)`.
    #[serde(default)]
    pub hidden_size: Option<usize>,
    /// Attention heads; default `round(width_ratio × teacher's)`.
    #[serde(default)]
    pub num_attention_heads: Option<usize>,
    /// FFN width; default `round(width_ratio × teacher's)`.
    #[serde(default)]
    pub intermediate_size: Option<usize>,
    /// Channels of each conv layer (same count as the teacher's); default the teacher's.
    #[serde(default)]
    pub conv_dim: Option<Vec<usize>>,
    /// Pre-LN encoder; default the teacher's.
    #[serde(default)]
    pub pre_ln: Option<bool>,
    /// WavLM's gated relative position bias; default: when the teacher is a WavLM.
    #[serde(default)]
    pub rel_pos_bias: Option<bool>,
    /// LayerNorm before the feature projection (DistilHuBERT has none). Default false.
    #[serde(default)]
    pub feat_proj_layer_norm: bool,
    /// Front-end. Default `cnn`.
    #[serde(default)]
    pub front_end: FrontEndKind,
    /// Channels of the Fbank front-end's subsampler; default the students crate's.
    #[serde(default)]
    pub fbank_channels: Option<usize>,
    /// The head.
    pub head: HeadSpec,
    /// Copy the teacher's front-end (CNN students), feature projection, positional conv and
    /// its first `init_from_teacher` layers (DistilHuBERT: 2); shapes must match. Default 0:
    /// random init.
    #[serde(default)]
    pub init_from_teacher: usize,
    /// Gradient scale reaching the CNN front-end (DistilHuBERT: 0.1). Default 1.0.
    #[serde(default = "one")]
    pub feature_grad_mult: f64,
}

fn one() -> f64 {
    1.0
}

fn scaled(value: usize, ratio: f64) -> usize {
    ((value as f64) * ratio).round().max(1.0) as usize
}

impl StudentSpec {
    /// Checks what does not depend on the teacher.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`].
    pub fn validate(&self, path: &Path) -> Result<(), RecipeError> {
        let bad = |field: &str, problem: String| Err(RecipeError::invalid(path, field, problem));
        if self.layers == 0 {
            return bad("student.layers", "must be >= 1".into());
        }
        if !(self.width_ratio.is_finite() && self.width_ratio > 0.0) {
            return bad(
                "student.width_ratio",
                format!("must be > 0, got {}", self.width_ratio),
            );
        }
        for (field, v) in [
            ("student.hidden_size", self.hidden_size),
            ("student.num_attention_heads", self.num_attention_heads),
            ("student.intermediate_size", self.intermediate_size),
            ("student.fbank_channels", self.fbank_channels),
        ] {
            if v == Some(0) {
                return bad(field, "must be >= 1".into());
            }
        }
        if let Some(c) = &self.conv_dim
            && c.contains(&0)
        {
            return bad(
                "student.conv_dim",
                format!("{c:?} has a zero channel count"),
            );
        }
        if !(self.feature_grad_mult.is_finite() && (0.0..=1.0).contains(&self.feature_grad_mult)) {
            return bad(
                "student.feature_grad_mult",
                format!("must be in [0, 1], got {}", self.feature_grad_mult),
            );
        }
        if self.init_from_teacher > self.layers {
            return bad(
                "student.init_from_teacher",
                format!(
                    "copies {} layers but the student has {}",
                    self.init_from_teacher, self.layers
                ),
            );
        }
        if let HeadSpec::LayerToLayer {
            student_layers: Some(l),
        } = &self.head
            && let Some(&bad_layer) = l.iter().find(|&&l| l == 0 || l > self.layers)
        {
            return bad(
                "student.head.student_layers",
                format!(
                    "layer {bad_layer} does not exist: the student has layers 1..={}",
                    self.layers
                ),
            );
        }
        Ok(())
    }

    /// The student for `teacher` with `num_targets` targets.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`] naming the field when the result is not a valid architecture
    /// (e.g. heads not dividing the width) or does not fit the targets.
    pub fn resolve(
        &self,
        teacher: &SslConfig,
        num_targets: usize,
        path: &Path,
    ) -> Result<StudentConfig, RecipeError> {
        let backbone = self.backbone(teacher, path)?;
        let head = self.head(num_targets, teacher.hidden_size, &backbone, path)?;
        let front_end = match self.front_end {
            FrontEndKind::Cnn => FrontEndConfig::Cnn,
            FrontEndKind::Fbank => {
                let mut f = FbankFrontEndConfig::new();
                if let Some(c) = self.fbank_channels {
                    f.channels = c;
                }
                FrontEndConfig::Fbank(f)
            }
        };
        let config = StudentConfig {
            backbone,
            front_end,
            head,
            feature_grad_mult: self.feature_grad_mult,
            prune: None,
            layer_shapes: Vec::new(),
        };
        config
            .validate()
            .map_err(|e| RecipeError::invalid(path, "student", e.to_string()))?;
        Ok(config)
    }

    /// The student backbone: the teacher's CNN geometry and norms, this spec's sizes (explicit,
    /// or the teacher's scaled by `width_ratio`).
    fn backbone(&self, teacher: &SslConfig, path: &Path) -> Result<SslConfig, RecipeError> {
        let r = self.width_ratio;
        let hidden = self
            .hidden_size
            .unwrap_or_else(|| scaled(teacher.hidden_size, r));
        let heads = self
            .num_attention_heads
            .unwrap_or_else(|| scaled(teacher.num_attention_heads, r));
        let ffn = self
            .intermediate_size
            .unwrap_or_else(|| scaled(teacher.intermediate_size, r));
        let conv_dim = self
            .conv_dim
            .clone()
            .unwrap_or_else(|| teacher.conv_dim.clone());
        if conv_dim.len() != teacher.conv_dim.len() {
            return Err(RecipeError::invalid(
                path,
                "student.conv_dim",
                format!(
                    "has {} layers but the teacher's CNN has {} (kernels and strides are the \
                     teacher's, so frames line up)",
                    conv_dim.len(),
                    teacher.conv_dim.len()
                ),
            ));
        }
        let rel_pos = self
            .rel_pos_bias
            .unwrap_or(teacher.kind == ModelKind::Wavlm);
        let backbone = SslConfig {
            kind: if rel_pos {
                ModelKind::Wavlm
            } else {
                ModelKind::Hubert
            },
            hidden_size: hidden,
            num_hidden_layers: self.layers,
            num_attention_heads: heads,
            intermediate_size: ffn,
            conv_dim,
            conv_kernel: teacher.conv_kernel.clone(),
            conv_stride: teacher.conv_stride.clone(),
            feat_extract_norm: teacher.feat_extract_norm,
            conv_bias: teacher.conv_bias,
            feat_proj_layer_norm: self.feat_proj_layer_norm,
            num_conv_pos_embeddings: teacher.num_conv_pos_embeddings,
            num_conv_pos_embedding_groups: teacher.num_conv_pos_embedding_groups,
            do_stable_layer_norm: self.pre_ln.unwrap_or(teacher.do_stable_layer_norm),
            layer_norm_eps: teacher.layer_norm_eps,
            num_buckets: teacher.num_buckets,
            max_bucket_distance: teacher.max_bucket_distance,
            mask_time_prob: 0.0,
            mask_feature_prob: 0.0,
        };
        backbone
            .validate()
            .map_err(|reason| RecipeError::invalid(path, "student", reason))?;
        Ok(backbone)
    }

    /// The student's head for `num_targets` targets of width `d_target` over `backbone`.
    fn head(
        &self,
        num_targets: usize,
        d_target: usize,
        backbone: &SslConfig,
        path: &Path,
    ) -> Result<HeadConfig, RecipeError> {
        let (heads, ffn) = (backbone.num_attention_heads, backbone.intermediate_size);
        Ok(match &self.head {
            HeadSpec::Prediction => HeadConfig::Prediction {
                num_targets,
                d_target,
            },
            HeadSpec::LayerToLayer { student_layers } => {
                let layers = match student_layers {
                    Some(l) => l.clone(),
                    None => (1..=num_targets)
                        .map(|i| {
                            ((i * self.layers) as f64 / num_targets as f64)
                                .round()
                                .max(1.0) as usize
                        })
                        .collect(),
                };
                if layers.len() != num_targets {
                    return Err(RecipeError::invalid(
                        path,
                        "student.head.student_layers",
                        format!("lists {} layers for {num_targets} targets", layers.len()),
                    ));
                }
                HeadConfig::LayerToLayer {
                    student_layers: layers,
                    d_target,
                }
            }
            HeadSpec::Generator {
                num_heads,
                d_ff,
                teacher_forcing,
            } => HeadConfig::Generator {
                num_steps: num_targets,
                d_target,
                num_heads: num_heads.unwrap_or(heads),
                d_ff: d_ff.unwrap_or(ffn),
                teacher_forcing: *teacher_forcing,
            },
        })
    }
}
