//! `ssl-distill distill`: run a distillation recipe (see ssl-distill-recipes).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use ssl_distill_recipes::{Overrides, Recipe, RecipeError, RunConfig, run};
use ssl_distill_train::{ProgressMode, TrainError, latest_checkpoint};

use crate::cmd::pipeline::ScheduleArgs;
use crate::device::DeviceArg;

/// Arguments of `ssl-distill distill`. Flags override the recipe.
#[derive(Debug, Args)]
pub struct DistillArgs {
    /// The recipe (TOML), e.g. `recipes/distilhubert.toml`.
    #[arg(long)]
    recipe: PathBuf,
    /// Teacher: an HF model directory or a fairseq `.pt` checkpoint.
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Training data: a fairseq TSV or JSONL manifest, or a folder of audio files.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Validation data (manifest or folder): the stage loss on its first batches, logged as
    /// `val_*` every `train.val_every` steps and at the end.
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Output directory (metrics.jsonl, checkpoints/, student/). Default: `runs/<recipe name>`.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Leave unreadable audio files out (each one logged, counted in `metrics.jsonl` as
    /// `skipped_audio` and in the final summary) instead of stopping at the first one; sets
    /// the recipe's `data.skip_bad_audio`.
    #[arg(long)]
    skip_bad_audio: bool,
    /// Stop after this many steps in total (a checkpoint is written; `--resume` continues).
    #[arg(long, hide = true)]
    stop_after: Option<u64>,
    /// Backend.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
    /// Data-parallel training over this many devices of `--device` (CUDA or wgpu GPUs 0..N):
    /// each step runs one micro-batch of `--batch-size` per device and sums the gradients on
    /// the first (see docs/multi-device.md).
    #[arg(long, default_value_t = 1)]
    num_devices: usize,
}

/// Runs `ssl-distill distill`.
pub fn run_distill(args: &DistillArgs) -> Result<()> {
    let mut recipe = Recipe::from_file(&args.recipe)?;
    recipe.apply(&Overrides {
        teacher: args.teacher.clone(),
        data: args.data.clone(),
        dev: args.dev.clone(),
        schedule: args.schedule.overrides(),
    });
    if args.skip_bad_audio {
        recipe.data.skip_bad_audio = true;
    }
    recipe.validate(&args.recipe)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&recipe.name));
    let devices = args.device.devices(args.num_devices)?;
    let result = run(
        &recipe,
        &RunConfig {
            recipe_path: args.recipe.clone(),
            out: out.clone(),
            resume: args.schedule.resume,
            device: devices[0].clone(),
            progress: ProgressMode::Auto,
            stop_after: args.stop_after,
            data_parallel: devices[1..].to_vec(),
        },
    );
    let report = match result {
        Err(RecipeError::Train(TrainError::NonFinite { step, what })) => {
            bail!("{}", non_finite_message(&out, step, what))
        }
        other => other?,
    };
    for s in &report.stages {
        tracing::info!(
            "stage {}: {} steps, loss {:.4} -> {:.4} ({})",
            s.name,
            s.steps,
            s.first_loss,
            s.last_loss,
            s.dir.display()
        );
        if s.skipped_audio > 0 {
            tracing::warn!(
                "stage {}: skipped {} unreadable audio file(s) (--skip-bad-audio)",
                s.name,
                s.skipped_audio
            );
        }
    }
    if let Some(p) = &report.pruning {
        tracing::info!(
            "pruned {} -> {} backbone parameters (target {}, {:+.2}%)",
            p.original_params,
            p.pruned_params,
            p.target_params,
            100.0 * (p.pruned_params as f64 / p.target_params as f64 - 1.0)
        );
    }
    match &report.student_dir {
        Some(dir) => tracing::info!(
            "student ({:.2} M parameters without heads) saved to {}",
            report.backbone_params as f64 / 1e6,
            dir.display()
        ),
        None => tracing::info!(
            "stopped early; continue with --resume --out {}",
            out.display()
        ),
    }
    Ok(())
}

/// The one-line error of a run stopped by a NaN/inf loss or gradient (`nan_policy = "stop"`):
/// the run directory, the step, and the newest checkpoint, which the stop left intact (in `out`,
/// else in an earlier stage's `out/stages/NAME`).
fn non_finite_message(out: &Path, step: u64, what: &str) -> String {
    let mut dirs = vec![out.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(out.join("stages")) {
        let mut stages: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        stages.sort();
        dirs.extend(stages.into_iter().rev());
    }
    let newest = dirs
        .iter()
        .find_map(|d| latest_checkpoint(d).ok().flatten());
    let kept = match newest {
        Some((_, dir)) => format!("the newest checkpoint {} is intact", dir.display()),
        None => "no checkpoint was written before it".into(),
    };
    format!(
        "{}: non-finite {what} at step {step}; the run stopped and {kept} (set \
         train.nan_policy = \"skip_step\" in the recipe to skip such steps)",
        out.display()
    )
}
