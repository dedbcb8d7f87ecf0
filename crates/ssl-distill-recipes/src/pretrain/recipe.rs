//! [`PretrainRecipe`]: HuBERT masked-prediction pretraining as a TOML file, and the
//! command-line overrides on top.
//!
//! ```toml
//! name = "mini-hubert"
//! [data]
//! batch_size = 8
//! crop_seconds = 2.0
//! [model]
//! layers = 4
//! hidden = 256
//! [units]
//! source = "mfcc"
//! k = 100
//! [masking]
//! prob = 0.8
//! length = 10
//! [train]
//! max_steps = 20000
//! lr = 5e-4
//! ```
//!
//! Every table rejects unknown fields, so a typo is an error naming the file, field and line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ssl_distill_models::{ModelKind, SslConfig};
use ssl_distill_train::TrainConfig;

use crate::error::RecipeError;
use crate::pretrain::masking::MaskingConfig;
use crate::pretrain::units::{UnitSource, UnitsConfig};
use crate::schedule::{ScheduleOverrides, validate_schedule};

/// A pretraining recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainRecipe {
    /// Short name (logs, default output directory).
    pub name: String,
    /// What the recipe is for.
    #[serde(default)]
    pub description: String,
    /// Training data.
    #[serde(default)]
    pub data: PretrainData,
    /// The architecture of the model trained from scratch.
    #[serde(default)]
    pub model: ModelSpec,
    /// The frame labels (k-means units).
    #[serde(default)]
    pub units: UnitsConfig,
    /// Span masking.
    #[serde(default)]
    pub masking: MaskingConfig,
    /// The loss.
    #[serde(default)]
    pub objective: ObjectiveConfig,
    /// Optimizer, schedule, checkpoints (the train crate's `TrainConfig`).
    #[serde(default)]
    pub train: TrainConfig,
}

/// `[data]` of a pretraining recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PretrainData {
    /// Training manifest (fairseq TSV, JSONL) or folder (`--data` overrides).
    pub train: Option<PathBuf>,
    /// Utterances per batch (`--batch-size` overrides). Default 8.
    pub batch_size: usize,
    /// Random crop length in seconds (`--crop-seconds` overrides); `None`: whole utterances.
    /// HuBERT crops to 250 000 samples (15.6 s). Default `None`.
    pub crop_seconds: Option<f32>,
    /// Per-utterance zero-mean unit-variance normalisation of the waveform (HuBERT Base:
    /// `normalize: false`; Large: true). Written to the output's `preprocessor_config.json` as
    /// `do_normalize`. Default false.
    pub normalize: bool,
    /// Leave unreadable utterances out (logged and counted) instead of stopping. Default false.
    pub skip_bad_audio: bool,
    /// Batches prepared ahead. Default 4.
    pub prefetch: usize,
}

impl Default for PretrainData {
    fn default() -> Self {
        Self {
            train: None,
            batch_size: 8,
            crop_seconds: None,
            normalize: false,
            skip_bad_audio: false,
            prefetch: 4,
        }
    }
}

/// `[model]`: a HuBERT (post-LN, group-norm CNN without conv bias, as HuBERT Base) with the
/// standard 7-layer conv stack (kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2: 20 ms frames).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSpec {
    /// Transformer layers (HF `num_hidden_layers`; Base 12). Default 4.
    pub layers: usize,
    /// Transformer width (HF `hidden_size`; Base 768). Default 256.
    pub hidden: usize,
    /// Attention heads (HF `num_attention_heads`; Base 12). Default 4.
    pub heads: usize,
    /// FFN width (HF `intermediate_size`; Base 3072). Default 1024.
    pub ffn: usize,
    /// Channels of every conv layer (HF `conv_dim`; Base 512). Default 128 (the CNN is most of
    /// the compute: 256 channels double the step time of the default model).
    pub conv_dim: usize,
    /// Positional conv kernel (HF `num_conv_pos_embeddings`; Base 128). Default 128.
    pub pos_conv_kernel: usize,
    /// Positional conv groups (HF `num_conv_pos_embedding_groups`; Base 16). Default 16.
    pub pos_conv_groups: usize,
    /// Output size of `final_proj`, the codeword embedding size (fairseq `final_dim`; Base
    /// 256). Default 256.
    pub final_dim: usize,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            layers: 4,
            hidden: 256,
            heads: 4,
            ffn: 1024,
            conv_dim: 128,
            pos_conv_kernel: 128,
            pos_conv_groups: 16,
            final_dim: 256,
        }
    }
}

impl ModelSpec {
    /// The architecture. `mask_time_prob` is HF's default 0.05, so the model owns
    /// `masked_spec_embed` and HF fine-tuning starts from the usual SpecAugment setting.
    pub fn config(&self) -> SslConfig {
        SslConfig {
            num_conv_pos_embeddings: self.pos_conv_kernel,
            num_conv_pos_embedding_groups: self.pos_conv_groups,
            mask_time_prob: 0.05,
            ..SslConfig::new(
                ModelKind::Hubert,
                self.hidden,
                self.layers,
                self.heads,
                self.ffn,
                vec![self.conv_dim; 7],
                ssl_distill_audio::CONV_KERNELS.to_vec(),
                ssl_distill_audio::CONV_STRIDES.to_vec(),
            )
        }
    }
}

/// `[objective]`: HuBERT's masked-prediction loss (fairseq `hubert` criterion and model).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectiveConfig {
    /// Temperature of the cosine logits (fairseq `logit_temp`). Default 0.1.
    pub logit_temp: f64,
    /// Weight of the cross-entropy on unmasked frames (fairseq `pred_nomask_weight`; HuBERT
    /// uses 0: masked frames only, §III-B's α = 1). Default 0.
    pub unmasked_weight: f64,
    /// Weight of the CNN feature penalty `mean(features²)` (fairseq criterion
    /// `loss_weights = [10]`). Default 10.
    pub feature_penalty: f64,
    /// Gradient scale into the conv extractor (fairseq `feature_grad_mult`; Base 0.1).
    /// Default 0.1.
    pub feature_grad_mult: f64,
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        Self {
            logit_temp: 0.1,
            unmasked_weight: 0.0,
            feature_penalty: 10.0,
            feature_grad_mult: 0.1,
        }
    }
}

/// Command-line values that override a pretraining recipe (`None`: keep the recipe's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PretrainOverrides {
    /// `--data`.
    pub data: Option<PathBuf>,
    /// `--max-steps`, `--batch-size`, `--crop-seconds`, `--checkpoint-every`, `--seed`.
    pub schedule: ScheduleOverrides,
}

impl PretrainRecipe {
    /// Parses recipe TOML; `path` names the source in errors.
    ///
    /// # Errors
    /// [`RecipeError::Parse`] (naming the field and line), [`RecipeError::Invalid`].
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, RecipeError> {
        let recipe: Self = toml::from_str(text).map_err(|e| RecipeError::Parse {
            path: path.to_path_buf(),
            message: crate::recipe::toml_message(&e, text),
        })?;
        recipe.validate(path)?;
        Ok(recipe)
    }

    /// Reads and validates a recipe file.
    ///
    /// # Errors
    /// [`RecipeError::Io`], and those of [`PretrainRecipe::from_toml_str`].
    pub fn from_file(path: &Path) -> Result<Self, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, path)
    }

    /// Applies command-line overrides.
    pub fn apply(&mut self, o: &PretrainOverrides) {
        if let Some(d) = &o.data {
            self.data.train = Some(d.clone());
        }
        o.schedule.apply(
            &mut self.train,
            &mut self.data.batch_size,
            &mut self.data.crop_seconds,
        );
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`] naming the first bad field.
    pub fn validate(&self, path: &Path) -> Result<(), RecipeError> {
        let bad = |field: &str, problem: String| Err(RecipeError::invalid(path, field, problem));
        validate_schedule(
            path,
            &self.train,
            self.data.batch_size,
            self.data.crop_seconds,
        )?;
        if let Err(reason) = self.model.config().validate() {
            return bad("model", reason);
        }
        if self.model.final_dim == 0 {
            return bad("model.final_dim", "must be >= 1".into());
        }
        let u = &self.units;
        if u.k < 2 {
            return bad("units.k", format!("must be >= 2, got {}", u.k));
        }
        if u.kmeans_iters == 0 {
            return bad("units.kmeans_iters", "must be >= 1".into());
        }
        if u.kmeans_utterances == 0 {
            return bad("units.kmeans_utterances", "must be >= 1".into());
        }
        match (u.source, &u.model) {
            (UnitSource::Model, None) => {
                return bad(
                    "units.model",
                    "is required with source = \"model\" (the iteration-1 model directory)".into(),
                );
            }
            (UnitSource::Mfcc, Some(_)) => {
                return bad(
                    "units.model",
                    "is only used with source = \"model\"; remove it or set the source".into(),
                );
            }
            _ => {}
        }
        let m = &self.masking;
        if !(m.prob.is_finite() && m.prob > 0.0 && m.prob <= 1.0) {
            return bad("masking.prob", format!("must be in (0, 1], got {}", m.prob));
        }
        if m.length == 0 {
            return bad("masking.length", "must be >= 1".into());
        }
        let o = &self.objective;
        if !(o.logit_temp.is_finite() && o.logit_temp > 0.0) {
            return bad(
                "objective.logit_temp",
                format!("must be > 0, got {}", o.logit_temp),
            );
        }
        for (field, v) in [
            ("objective.unmasked_weight", o.unmasked_weight),
            ("objective.feature_penalty", o.feature_penalty),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(field, format!("must be >= 0, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&o.feature_grad_mult) {
            return bad(
                "objective.feature_grad_mult",
                format!("must be in [0, 1], got {}", o.feature_grad_mult),
            );
        }
        Ok(())
    }
}
