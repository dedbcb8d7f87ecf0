//! `[prune]`: the recipe section of DPHuBERT's structured pruning (the run is in `prune.rs`).

use serde::{Deserialize, Serialize};
use ssl_distill_models::ModelKind;
use ssl_distill_students::PruneConfig;
use ssl_distill_train::ParamGroupConfig;

use crate::error::RecipeError;

/// `[prune]`: DPHuBERT-style structured pruning. Defaults follow DPHuBERT's `run.sh`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneSection {
    /// Final target sparsity: the pruned backbone keeps `1 − target_sparsity` of the
    /// parameters it started with. Default 0.75 (HuBERT Base 94.7 M → about 23.6 M).
    pub target_sparsity: f64,
    /// Share of the pruning stage over which the target rises linearly from 0 (DPHuBERT:
    /// 5k of 50k steps). Default 0.1.
    pub sparsity_warmup_fraction: f64,
    /// Learning rate of the gates' `log α` relative to the schedule (DPHuBERT: `reg_lr` 0.02 /
    /// `lr` 2e-4). Default 100.
    pub gate_lr_scale: f64,
    /// Learning rate of the multipliers λ1, λ2 relative to the schedule, applied as gradient
    /// ascent (DPHuBERT: −`reg_lr`). Positive; default 100.
    pub lambda_lr_scale: f64,
    /// Gate conv channels. Default true.
    pub conv: bool,
    /// Gate attention heads. Default: on, except for WavLM students, whose shared relative
    /// position bias cannot follow per-layer head pruning (the students crate rejects
    /// `heads = true` for them with an error saying so).
    pub heads: Option<bool>,
    /// Gate FFN units. Default true.
    pub ffn: bool,
    /// Initial drop probability of every gate (DPHuBERT `init_mean`). Default 0.01.
    pub init_drop_rate: f64,
    /// Temperature β of the gates. Default 2/3.
    pub temperature: f64,
    /// Stretch of the gates' interval `(−stretch, 1 + stretch)`. Default 0.1.
    pub stretch: f64,
    /// Start the student as an exact copy of the teacher's backbone (DPHuBERT); the student
    /// must then have the teacher's shapes (`layers`, `feat_proj_layer_norm`...). Default true.
    pub copy_teacher: bool,
}

impl Default for PruneSection {
    fn default() -> Self {
        Self {
            target_sparsity: 0.75,
            sparsity_warmup_fraction: 0.1,
            gate_lr_scale: 100.0,
            lambda_lr_scale: 100.0,
            conv: true,
            heads: None,
            ffn: true,
            init_drop_rate: 0.01,
            temperature: 2.0 / 3.0,
            stretch: 0.1,
            copy_teacher: true,
        }
    }
}

impl PruneSection {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`] naming the field.
    pub fn validate(&self, path: &std::path::Path) -> Result<(), RecipeError> {
        let bad = |field: &str, problem: String| {
            Err(RecipeError::invalid(
                path,
                format!("prune.{field}"),
                problem,
            ))
        };
        if !(self.target_sparsity >= 0.0 && self.target_sparsity < 1.0) {
            return bad(
                "target_sparsity",
                format!("must be in [0, 1), got {}", self.target_sparsity),
            );
        }
        if !(0.0..=1.0).contains(&self.sparsity_warmup_fraction) {
            return bad(
                "sparsity_warmup_fraction",
                format!("must be in [0, 1], got {}", self.sparsity_warmup_fraction),
            );
        }
        for (field, v) in [
            ("gate_lr_scale", self.gate_lr_scale),
            ("lambda_lr_scale", self.lambda_lr_scale),
            ("temperature", self.temperature),
            ("stretch", self.stretch),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(field, format!("must be > 0, got {v}"));
            }
        }
        if !(self.init_drop_rate > 0.0 && self.init_drop_rate < 1.0) {
            return bad(
                "init_drop_rate",
                format!("must be in (0, 1), got {}", self.init_drop_rate),
            );
        }
        if !(self.conv || self.heads.unwrap_or(true) || self.ffn) {
            return bad(
                "conv",
                "conv, heads and ffn are all off: nothing to prune".into(),
            );
        }
        Ok(())
    }

    /// The students crate's gate configuration for a student of family `kind`.
    pub fn gates(&self, kind: ModelKind) -> PruneConfig {
        PruneConfig::new()
            .with_conv(self.conv)
            .with_heads(self.heads.unwrap_or(kind != ModelKind::Wavlm))
            .with_ffn(self.ffn)
            .with_init_drop_rate(self.init_drop_rate)
            .with_temperature(self.temperature)
            .with_stretch(self.stretch)
    }

    /// The stage's parameter groups: the gates (`gate_lr_scale`) and the multipliers
    /// (−`lambda_lr_scale`, ascent), neither with weight decay.
    pub fn param_groups(&self) -> Vec<ParamGroupConfig> {
        vec![
            ParamGroupConfig::contains("prune_gates", ["log_alpha"], self.gate_lr_scale)
                .with_weight_decay(0.0),
            ParamGroupConfig::paths("prune_lambdas", [LAMBDA1, LAMBDA2], -self.lambda_lr_scale)
                .with_weight_decay(0.0),
        ]
    }
}

/// Module path of λ1 in [`PruneModel`].
pub(crate) const LAMBDA1: &str = "lambda1";
/// Module path of λ2 in [`PruneModel`].
pub(crate) const LAMBDA2: &str = "lambda2";
