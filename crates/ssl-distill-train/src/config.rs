//! [`TrainConfig`]: the optimizer, schedule, clipping, checkpoint and logging settings, read from TOML.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::groups::{ParamGroupConfig, validate_groups};

/// Learning-rate decay after warm-up, over the remaining steps up to `max_steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecayKind {
    /// Linear from `lr` to `lr * final_lr_ratio` at `max_steps`.
    Linear,
    /// Half-cosine from `lr` to `lr * final_lr_ratio` at `max_steps`.
    Cosine,
    /// Stay at `lr`.
    Constant,
}

/// What to do when the loss or the gradient norm is NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NanPolicy {
    /// Return [`TrainError::NonFinite`]; no checkpoint is written for the bad step.
    Stop,
    /// Drop the step's gradients (no optimizer update), count it and go on.
    SkipStep,
}

/// Training-loop settings. Every field has a default; TOML with an unknown field is rejected.
///
/// Defaults: `max_steps = 1000`, `lr = 2e-4`, `warmup_fraction = 0.07` (unless `warmup_steps` is set),
/// `decay = "linear"`, `final_lr_ratio = 0.0`, `beta1 = 0.9`, `beta2 = 0.98`, `eps = 1e-6`,
/// `weight_decay = 0.0`, `clip_grad_norm = 10.0` (global L2 norm over all parameters, like torch's
/// `clip_grad_norm_`; `0` disables), `grad_accum = 1`, `checkpoint_every = 1000`, `keep_last_n = 3`,
/// `log_every = 10`, `seed = 0`, `nan_policy = "stop"`, `val_every = 0` (never; a validator
/// still runs at `max_steps`), `param_groups = []`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Total optimizer steps; the schedule ends here.
    pub max_steps: u64,
    /// Peak learning rate (after warm-up).
    pub lr: f64,
    /// Warm-up length as a fraction of `max_steps` (ignored when `warmup_steps` is set).
    pub warmup_fraction: f64,
    /// Warm-up length in steps; overrides `warmup_fraction`.
    pub warmup_steps: Option<u64>,
    /// Decay shape after warm-up.
    pub decay: DecayKind,
    /// Final learning rate as a fraction of `lr` (for linear and cosine decay).
    pub final_lr_ratio: f64,
    /// AdamW β1.
    pub beta1: f32,
    /// AdamW β2.
    pub beta2: f32,
    /// AdamW ε.
    pub eps: f32,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// Maximum global gradient L2 norm; `0` disables clipping.
    pub clip_grad_norm: f64,
    /// Micro-batches accumulated per optimizer step (the loss of each is divided by this).
    pub grad_accum: u32,
    /// Write a checkpoint every N optimizer steps (and at the last step); `0` = only at the end.
    pub checkpoint_every: u64,
    /// Keep only the newest N complete checkpoints; `0` keeps all.
    pub keep_last_n: usize,
    /// Log a metrics row every N steps, and always at step 1 (so a short run shows its starting
    /// loss) and at the last step.
    pub log_every: u64,
    /// Seed of the loop's RNG (given to the data source) and of the device RNG (reseeded per step).
    pub seed: u64,
    /// NaN/inf handling.
    pub nan_policy: NanPolicy,
    /// Run the validator (if one is given) every N optimizer steps; `0` = only at `max_steps`.
    /// A validator given to the loop always runs at `max_steps`.
    pub val_every: u64,
    /// Parameter groups with their own lr multiplier / weight decay (see [`ParamGroupConfig`]).
    /// A parameter in no group follows the schedule; a parameter may be in at most one group.
    pub param_groups: Vec<ParamGroupConfig>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            max_steps: 1000,
            lr: 2e-4,
            warmup_fraction: 0.07,
            warmup_steps: None,
            decay: DecayKind::Linear,
            final_lr_ratio: 0.0,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-6,
            weight_decay: 0.0,
            clip_grad_norm: 10.0,
            grad_accum: 1,
            checkpoint_every: 1000,
            keep_last_n: 3,
            log_every: 10,
            seed: 0,
            nan_policy: NanPolicy::Stop,
            val_every: 0,
            param_groups: Vec::new(),
        }
    }
}

fn bad(field: &'static str, expected: &'static str, got: impl ToString) -> TrainError {
    TrainError::InvalidConfig {
        field,
        expected,
        got: got.to_string(),
    }
}

impl TrainConfig {
    /// Parses TOML text and validates it. `path` is only used in error messages.
    pub fn from_toml_str(text: &str, path: Option<&Path>) -> Result<Self, TrainError> {
        let cfg: Self = toml::from_str(text).map_err(|e| {
            let message = e.to_string();
            // toml names the unknown field in backquotes: "unknown field `foo`, expected ..."
            let field = message
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .filter(|_| message.contains("unknown field") || message.contains("invalid"));
            TrainError::ConfigParse {
                path: path.map(Path::to_path_buf),
                field,
                message,
            }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and validates a TOML file.
    pub fn from_toml_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Self::from_toml_str(&text, Some(path))
    }

    /// Checks every value's range; the error names the first bad field.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.max_steps == 0 {
            return Err(bad("max_steps", "must be > 0", self.max_steps));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(bad("lr", "must be finite and > 0", self.lr));
        }
        if !(0.0..=1.0).contains(&self.warmup_fraction) {
            return Err(bad(
                "warmup_fraction",
                "must be in [0, 1]",
                self.warmup_fraction,
            ));
        }
        if let Some(w) = self.warmup_steps
            && w > self.max_steps
        {
            return Err(bad("warmup_steps", "must be <= max_steps", w));
        }
        if !(0.0..=1.0).contains(&self.final_lr_ratio) {
            return Err(bad(
                "final_lr_ratio",
                "must be in [0, 1]",
                self.final_lr_ratio,
            ));
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return Err(bad("beta1", "must be in [0, 1)", self.beta1));
        }
        if !(0.0..1.0).contains(&self.beta2) {
            return Err(bad("beta2", "must be in [0, 1)", self.beta2));
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(bad("eps", "must be finite and > 0", self.eps));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(bad(
                "weight_decay",
                "must be finite and >= 0",
                self.weight_decay,
            ));
        }
        if !(self.clip_grad_norm.is_finite() && self.clip_grad_norm >= 0.0) {
            return Err(bad(
                "clip_grad_norm",
                "must be finite and >= 0",
                self.clip_grad_norm,
            ));
        }
        if self.grad_accum == 0 {
            return Err(bad("grad_accum", "must be >= 1", self.grad_accum));
        }
        if self.log_every == 0 {
            return Err(bad("log_every", "must be >= 1", self.log_every));
        }
        validate_groups(&self.param_groups, self.weight_decay)
    }

    /// Warm-up length in steps (`warmup_steps`, else `round(warmup_fraction * max_steps)`).
    pub fn warmup(&self) -> u64 {
        self.warmup_steps
            .unwrap_or_else(|| (self.warmup_fraction * self.max_steps as f64).round() as u64)
    }

    /// Learning rate used for optimizer step `step` (1-based, `1..=max_steps`).
    ///
    /// Warm-up rises linearly: step `s <= W` gets `lr * s / W` (so step `W` is at the peak).
    /// After it, progress `p = (s - W) / (max_steps - W)` goes from just above 0 to 1 at `max_steps`:
    /// linear `lr * (1 - (1 - r) p)`, cosine `lr * (r + (1 - r) (1 + cos(pi p)) / 2)`, `r = final_lr_ratio`.
    pub fn lr_at(&self, step: u64) -> f64 {
        let w = self.warmup();
        let s = step.clamp(1, self.max_steps);
        if s <= w {
            return self.lr * s as f64 / w as f64;
        }
        let span = (self.max_steps - w) as f64;
        let p = (s - w) as f64 / span;
        let r = self.final_lr_ratio;
        match self.decay {
            DecayKind::Constant => self.lr,
            DecayKind::Linear => self.lr * (1.0 - (1.0 - r) * p),
            DecayKind::Cosine => {
                self.lr * (r + (1.0 - r) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos()))
            }
        }
    }
}
