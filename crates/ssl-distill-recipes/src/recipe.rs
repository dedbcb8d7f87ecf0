//! [`Recipe`]: one distillation method as a TOML file, and the command-line overrides on top.
//!
//! ```toml
//! name = "distilhubert"
//! [data]
//! batch_size = 24
//! crop_seconds = 15.6
//! [student]
//! layers = 2
//! init_from_teacher = 2
//! feature_grad_mult = 0.1
//! [student.head]
//! kind = "prediction"
//! [targets]
//! strategy = "fixed"
//! layers = [4, 8, 12]
//! [[loss]]
//! kind = "l1"
//! [[loss]]
//! kind = "logsig_cos"
//! [train]
//! max_steps = 200000
//! lr = 2e-4
//! ```
//!
//! Every table rejects unknown fields, so a typo is an error naming the field and line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ssl_distill_losses::{LossKind, LossSpec};
use ssl_distill_train::TrainConfig;

use crate::error::RecipeError;
use crate::prune_spec::PruneSection;
use crate::schedule::{ScheduleOverrides, validate_schedule};
use crate::student_spec::StudentSpec;
use crate::targets_spec::TargetsSpec;

/// A distillation recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Short name (used in logs and `student.json`).
    pub name: String,
    /// What the recipe reproduces (paper, table).
    #[serde(default)]
    pub description: String,
    /// The teacher.
    #[serde(default)]
    pub teacher: TeacherSection,
    /// Training (and validation) data.
    #[serde(default)]
    pub data: DataSection,
    /// The student architecture, relative to the teacher.
    pub student: StudentSpec,
    /// Which teacher layers are learnt.
    pub targets: TargetsSpec,
    /// Loss terms of the distillation objective, applied to every target (the `disc` term only
    /// to the last target, see [`DiscSection`]). Default: DistilHuBERT's L1 + `-log σ(cos)`.
    #[serde(default = "ssl_distill_losses::distilhubert_terms")]
    pub loss: Vec<LossSpec>,
    /// Codewords of the discriminative term.
    #[serde(default)]
    pub disc: DiscSection,
    /// Optimizer, schedule, checkpoints (the train crate's `TrainConfig`).
    #[serde(default)]
    pub train: TrainConfig,
    /// Stages run one after another on the same student (e.g. Wang et al.'s front-end
    /// regression, then distillation). Empty: one `distill` stage (pruning when `[prune]` is
    /// set).
    #[serde(default)]
    pub stages: Vec<StageSpec>,
    /// DPHuBERT-style structured pruning: the student gets hard-concrete gates, stages with
    /// `prune = true` distil and prune jointly, then the student is pruned physically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneSection>,
}

/// `[teacher]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherSection {
    /// HF model directory or fairseq `.pt` (`--teacher` overrides).
    pub path: Option<PathBuf>,
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// Training manifest (fairseq TSV, JSONL) or folder (`--data` overrides).
    pub train: Option<PathBuf>,
    /// Validation manifest or folder; `None`: no validation.
    pub dev: Option<PathBuf>,
    /// Utterances per batch (`--batch-size` overrides). Default 8.
    pub batch_size: usize,
    /// Random crop length in seconds (`--crop-seconds` overrides); `None`: whole utterances.
    /// Default `None`.
    pub crop_seconds: Option<f32>,
    /// Per-utterance zero-mean unit-variance normalisation; `None` follows the teacher
    /// directory's `preprocessor_config.json` (`do_normalize`), else off. Default `None`.
    pub normalize: Option<bool>,
    /// Leave unreadable utterances out (logged and counted) instead of stopping. Default false.
    pub skip_bad_audio: bool,
    /// Batches prepared ahead. Default 4.
    pub prefetch: usize,
    /// Validation batches evaluated each time (the first ones of the dev set). Default 8.
    pub dev_batches: usize,
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            train: None,
            dev: None,
            batch_size: 8,
            crop_seconds: None,
            normalize: None,
            skip_bad_audio: false,
            prefetch: 4,
            dev_batches: 8,
        }
    }
}

/// Which codewords the `disc` loss term compares posteriors over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodewordSource {
    /// The teacher's HuBERT head (`final_proj` + `label_embs_concat`) when its checkpoint has
    /// one, k-means otherwise.
    Auto,
    /// The teacher's HuBERT head; an error if the checkpoint has none.
    TeacherHead,
    /// k-means centroids of the teacher's features on a calibration sample.
    Kmeans,
}

/// `[disc]`: codewords of the discriminative term (Wang et al. do not publish k or τ for the
/// k-means case; these are fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscSection {
    /// Where the codewords come from. Default `auto`.
    pub codewords: CodewordSource,
    /// Number of k-means codewords. Default 100.
    pub kmeans_k: usize,
    /// Lloyd iterations. Default 30.
    pub kmeans_iters: usize,
    /// Utterances (the first of the training manifest) whose frames k-means sees. Default 32.
    pub calibration_utterances: usize,
    /// Temperature τ for k-means codewords (the HuBERT head keeps its 0.1 unless the loss term
    /// sets `tau`). Default 0.1.
    pub tau: f32,
}

impl Default for DiscSection {
    fn default() -> Self {
        Self {
            codewords: CodewordSource::Auto,
            kmeans_k: 100,
            kmeans_iters: 30,
            calibration_utterances: 32,
            tau: 0.1,
        }
    }
}

/// What a stage optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Regress the student front-end's output onto the teacher CNN's (`cnn_features`); only
    /// the front-end receives gradients (Wang et al.'s first stage for the Fbank front-end).
    FrontEnd,
    /// Distil the targets through the heads.
    Distill,
}

/// `[[stages]]`: one phase of a multi-stage recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Name (the stage's run directory is `OUT/stages/NAME` except for the last stage, which
    /// runs in `OUT`).
    pub name: String,
    /// What it optimises.
    pub objective: Objective,
    /// Share of the recipe's `max_steps` (the last stage takes what is left).
    pub fraction: f64,
    /// Loss terms of this stage; default: the recipe's `loss` (for `front_end`: L1).
    #[serde(default)]
    pub loss: Option<Vec<LossSpec>>,
    /// Peak learning rate of this stage; default the recipe's `train.lr`.
    #[serde(default)]
    pub lr: Option<f64>,
    /// Distil and prune jointly (needs `[prune]`; a `distill` stage); the student is pruned
    /// physically when the stage ends. Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prune: bool,
}

/// Command-line values that override a recipe (`None`: keep the recipe's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--teacher`.
    pub teacher: Option<PathBuf>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// `--dev` (validation manifest).
    pub dev: Option<PathBuf>,
    /// `--max-steps`, `--batch-size`, `--crop-seconds`, `--checkpoint-every`, `--seed`.
    pub schedule: ScheduleOverrides,
}

/// A resolved stage: its objective, steps, losses, and lr.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Name.
    pub name: String,
    /// What it optimises.
    pub objective: Objective,
    /// Optimizer steps of this stage.
    pub steps: u64,
    /// Its loss terms.
    pub loss: Vec<LossSpec>,
    /// Its peak lr.
    pub lr: f64,
    /// Joint distillation and structured pruning (see [`StageSpec::prune`]).
    pub prune: bool,
}

/// A TOML error on one line: `line L, column C: message` (toml's own text spans several lines
/// with a source excerpt).
pub(crate) fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().replace('\n', " ");
    let Some(before) = e.span().and_then(|s| text.get(..s.start)) else {
        return message;
    };
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("line {line}, column {column}: {message}")
}

impl Recipe {
    /// Parses recipe TOML; `path` names the source in errors.
    ///
    /// # Errors
    /// [`RecipeError::Parse`] (naming the field and line), [`RecipeError::Invalid`].
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, RecipeError> {
        let recipe: Self = toml::from_str(text).map_err(|e| RecipeError::Parse {
            path: path.to_path_buf(),
            message: toml_message(&e, text),
        })?;
        recipe.validate(path)?;
        Ok(recipe)
    }

    /// Reads and validates a recipe file.
    ///
    /// # Errors
    /// [`RecipeError::Io`], and those of [`Recipe::from_toml_str`].
    pub fn from_file(path: &Path) -> Result<Self, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, path)
    }

    /// Applies command-line overrides.
    pub fn apply(&mut self, o: &Overrides) {
        if let Some(t) = &o.teacher {
            self.teacher.path = Some(t.clone());
        }
        if let Some(d) = &o.data {
            self.data.train = Some(d.clone());
        }
        if let Some(d) = &o.dev {
            self.data.dev = Some(d.clone());
        }
        o.schedule.apply(
            &mut self.train,
            &mut self.data.batch_size,
            &mut self.data.crop_seconds,
        );
    }

    /// Checks every value that does not depend on the teacher.
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
        ssl_distill_losses::validate(&self.loss)
            .map_err(|e| RecipeError::invalid(path, "loss", e.to_string()))?;
        if self.disc.kmeans_k < 2 {
            return bad(
                "disc.kmeans_k",
                format!("must be >= 2, got {}", self.disc.kmeans_k),
            );
        }
        if self.disc.calibration_utterances == 0 {
            return bad("disc.calibration_utterances", "must be >= 1".into());
        }
        if !(self.disc.tau.is_finite() && self.disc.tau > 0.0) {
            return bad("disc.tau", format!("must be > 0, got {}", self.disc.tau));
        }
        self.student.validate(path)?;
        self.targets.validate(path)?;
        if let Some(p) = &self.prune {
            p.validate(path)?;
        }
        for (i, s) in self.stages.iter().enumerate() {
            if s.prune && self.prune.is_none() {
                return bad(
                    &format!("stages[{i}].prune"),
                    "is true but the recipe has no [prune] section".into(),
                );
            }
            if s.prune && s.objective != Objective::Distill {
                return bad(
                    &format!("stages[{i}].prune"),
                    "needs objective = \"distill\"".into(),
                );
            }
            if s.prune && self.stages[..i].iter().any(|o| o.prune) {
                return bad(
                    &format!("stages[{i}].prune"),
                    "a recipe prunes in one stage only".into(),
                );
            }
        }
        if self.prune.is_some() && !self.stages.is_empty() && !self.stages.iter().any(|s| s.prune) {
            return bad("prune", "is set but no stage has prune = true".into());
        }
        let mut total = 0.0;
        for (i, s) in self.stages.iter().enumerate() {
            if !(s.fraction.is_finite() && s.fraction > 0.0 && s.fraction <= 1.0) {
                return bad(
                    &format!("stages[{i}].fraction"),
                    format!("must be in (0, 1], got {}", s.fraction),
                );
            }
            total += s.fraction;
            if let Some(loss) = &s.loss {
                ssl_distill_losses::validate(loss).map_err(|e| {
                    RecipeError::invalid(path, format!("stages[{i}].loss"), e.to_string())
                })?;
                if s.objective == Objective::FrontEnd
                    && loss.iter().any(|l| l.kind == LossKind::Disc)
                {
                    return bad(
                        &format!("stages[{i}].loss"),
                        "a front_end stage regresses CNN features: `disc` does not apply".into(),
                    );
                }
            }
            if let Some(lr) = s.lr
                && !(lr.is_finite() && lr > 0.0)
            {
                return bad(&format!("stages[{i}].lr"), format!("must be > 0, got {lr}"));
            }
            if self.stages[..i].iter().any(|o| o.name == s.name) {
                return bad(
                    &format!("stages[{i}].name"),
                    format!("`{}` is used twice", s.name),
                );
            }
        }
        if total > 1.0 + 1e-9 {
            return bad("stages", format!("fractions add up to {total} > 1"));
        }
        Ok(())
    }

    /// The stages with their step counts for the recipe's `max_steps`: each gets
    /// `round(fraction × max_steps)` (at least 1), the last one what is left.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`] when `max_steps` is too small to give every stage a step.
    pub fn resolved_stages(&self, path: &Path) -> Result<Vec<Stage>, RecipeError> {
        let total = self.train.max_steps;
        if self.stages.is_empty() {
            return Ok(vec![Stage {
                name: "distill".into(),
                objective: Objective::Distill,
                steps: total,
                loss: self.loss.clone(),
                lr: self.train.lr,
                prune: self.prune.is_some(),
            }]);
        }
        let n = self.stages.len() as u64;
        if total < n {
            return Err(RecipeError::invalid(
                path,
                "train.max_steps",
                format!("{total} steps cannot be split into {n} stages"),
            ));
        }
        let mut left = total;
        let mut out = Vec::new();
        for (i, s) in self.stages.iter().enumerate() {
            let rest = n - 1 - i as u64;
            let steps = if rest == 0 {
                left
            } else {
                ((s.fraction * total as f64).round() as u64).clamp(1, left - rest)
            };
            left -= steps;
            let loss = match (&s.loss, s.objective) {
                (Some(l), _) => l.clone(),
                (None, Objective::FrontEnd) => vec![LossSpec::new(LossKind::L1, 1.0)],
                (None, Objective::Distill) => self.loss.clone(),
            };
            out.push(Stage {
                name: s.name.clone(),
                objective: s.objective,
                steps,
                loss,
                lr: s.lr.unwrap_or(self.train.lr),
                prune: s.prune,
            });
        }
        Ok(out)
    }
}
