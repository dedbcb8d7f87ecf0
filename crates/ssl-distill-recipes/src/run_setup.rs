//! What the distillation run ([`run`](crate::run)) and the pretraining run
//! ([`pretrain`](crate::pretrain::pretrain)) share: where and how they run ([`RunConfig`]), and
//! their set-up and bookkeeping (required paths, the refusal of an output directory that holds
//! another run, the training manifest, the loop's [`RunOptions`], the losses of a finished run).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ssl_distill_audio::{LoaderConfig, Manifest};
use ssl_distill_models::write_atomic;
use ssl_distill_train::{ProgressMode, RunOptions, latest_checkpoint};

use crate::error::RecipeError;

/// Where and how a recipe runs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The recipe file (for error messages and `student.json`).
    pub recipe_path: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Continue from the newest complete checkpoint in `out`.
    pub resume: bool,
    /// The device (the student trains on its autodiff twin, the teacher runs on it plainly).
    pub device: Device,
    /// More devices for data parallelism (burn's multi-device pieces, see
    /// `ssl_distill_train::RunOptions::devices`): each step also runs one micro-batch per
    /// device here on a replica of the student, and the gradients are summed on `device`.
    /// Empty (the default) trains on `device` alone.
    pub data_parallel: Vec<Device>,
    /// Progress display.
    pub progress: ProgressMode,
    /// Stop after this many optimizer steps in total (over all stages), writing a checkpoint;
    /// a later `resume` continues. Used to split runs into jobs and by tests.
    pub stop_after: Option<u64>,
}

/// The value of an optional recipe field the run needs, or [`RecipeError::Missing`] naming it
/// and the flag that gives it.
pub(crate) fn required<T: Clone>(
    value: &Option<T>,
    what: &'static str,
    field: &'static str,
    flag: &'static str,
) -> Result<T, RecipeError> {
    value
        .clone()
        .ok_or(RecipeError::Missing { what, field, flag })
}

/// Refuses to start a fresh run in directories that hold a run's checkpoints.
///
/// # Errors
/// [`RecipeError::Invalid`] (`--out`) naming the first such directory.
pub(crate) fn refuse_existing_runs(dirs: &[PathBuf]) -> Result<(), RecipeError> {
    for dir in dirs {
        if latest_checkpoint(dir)?.is_some() {
            return Err(RecipeError::invalid(
                dir,
                "--out",
                "already holds a run's checkpoints: pass --resume to continue it, or choose \
                 another output directory",
            ));
        }
    }
    Ok(())
}

/// The training manifest `data.train`, which must hold an utterance.
pub(crate) fn open_training_data(path: &Path) -> Result<Manifest, RecipeError> {
    let manifest = Manifest::open(path)?;
    if manifest.is_empty() {
        return Err(RecipeError::invalid(
            path,
            "data.train",
            "holds no utterance",
        ));
    }
    Ok(manifest)
}

/// Creates the output directory.
pub(crate) fn create_out_dir(out: &Path) -> Result<(), RecipeError> {
    std::fs::create_dir_all(out).map_err(|source| RecipeError::Io {
        path: out.to_path_buf(),
        source,
    })
}

/// The loader settings of a `[data]` section.
pub(crate) fn loader_config(
    batch_size: usize,
    prefetch: usize,
    skip_bad_audio: bool,
) -> LoaderConfig {
    LoaderConfig {
        batch_size,
        prefetch,
        skip_bad_audio,
        ..LoaderConfig::default()
    }
}

/// The loop's options for a run in `out_dir` (resuming whenever the run does; a finished
/// stage then runs 0 steps), stopping after `stop_after` steps.
pub(crate) fn run_options(
    cfg: &RunConfig,
    out_dir: PathBuf,
    stop_after: Option<u64>,
    train_device: &Device,
) -> RunOptions {
    RunOptions {
        out_dir,
        resume: cfg.resume,
        stop_after,
        progress: cfg.progress,
        devices: parallel_devices(train_device, &cfg.data_parallel),
    }
}

/// The training devices of a data-parallel run: the main autodiff device first, then the
/// autodiff twins of `extra`; empty (train on the model's own device) without `extra`.
fn parallel_devices(main: &Device, extra: &[Device]) -> Vec<Device> {
    if extra.is_empty() {
        return Vec::new();
    }
    std::iter::once(main.clone())
        .chain(extra.iter().map(|d| d.clone().inner().autodiff()))
        .collect()
}

/// The first logged loss of the run in `dir` (from `metrics.jsonl`; NaN without one) and its
/// last (`last_loss` without one).
pub(crate) fn logged_losses(dir: &Path, last_loss: f64) -> (f64, f64) {
    let rows = ssl_distill_train::read_metrics(&dir.join(ssl_distill_train::METRICS_FILE))
        .unwrap_or_default();
    (
        rows.first().map_or(f64::NAN, |r| r.loss),
        rows.last().map_or(last_loss, |r| r.loss),
    )
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), RecipeError> {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    write_atomic(path, text.as_bytes()).map_err(|e| RecipeError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
