//! What distillation and pretraining recipes share: the command-line overrides of the batching
//! and the schedule, and their checks.

use std::path::Path;

use ssl_distill_train::TrainConfig;

use crate::error::RecipeError;

/// Command-line values that override the batching and the schedule of a distillation or
/// pretraining recipe (`None`: keep the recipe's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScheduleOverrides {
    /// `--max-steps` (the schedule follows it).
    pub max_steps: Option<u64>,
    /// `--batch-size`.
    pub batch_size: Option<usize>,
    /// `--crop-seconds`.
    pub crop_seconds: Option<f32>,
    /// `--checkpoint-every`.
    pub checkpoint_every: Option<u64>,
    /// `--seed`.
    pub seed: Option<u64>,
}

impl ScheduleOverrides {
    /// Writes the overrides that are set into a recipe's fields.
    pub(crate) fn apply(
        &self,
        train: &mut TrainConfig,
        batch_size: &mut usize,
        crop_seconds: &mut Option<f32>,
    ) {
        if let Some(n) = self.max_steps {
            train.max_steps = n;
        }
        if let Some(b) = self.batch_size {
            *batch_size = b;
        }
        if let Some(c) = self.crop_seconds {
            *crop_seconds = Some(c);
        }
        if let Some(c) = self.checkpoint_every {
            train.checkpoint_every = c;
        }
        if let Some(s) = self.seed {
            train.seed = s;
        }
    }
}

/// Checks the schedule, the batch size and the crop length of the recipe at `path`.
///
/// # Errors
/// [`RecipeError::Invalid`] naming the first bad field.
pub(crate) fn validate_schedule(
    path: &Path,
    train: &TrainConfig,
    batch_size: usize,
    crop_seconds: Option<f32>,
) -> Result<(), RecipeError> {
    train
        .validate()
        .map_err(|e| RecipeError::invalid(path, "train", e.to_string()))?;
    if batch_size == 0 {
        return Err(RecipeError::invalid(
            path,
            "data.batch_size",
            "must be >= 1",
        ));
    }
    if let Some(c) = crop_seconds
        && !(c.is_finite() && c >= 0.025)
    {
        return Err(RecipeError::invalid(
            path,
            "data.crop_seconds",
            format!("must be a number >= 0.025 (one 400-sample frame), got {c}"),
        ));
    }
    Ok(())
}
