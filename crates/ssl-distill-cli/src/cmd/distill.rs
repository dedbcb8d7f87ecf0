//! `ssl-distill distill`: run a distillation recipe (see ssl-distill-recipes).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ssl_distill_recipes::{Overrides, Recipe, RunConfig, run};
use ssl_distill_train::ProgressMode;

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
    /// Total optimizer steps; the schedule (warm-up fraction, decay) follows it.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Utterances per batch.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Random crop length in seconds.
    #[arg(long)]
    crop_seconds: Option<f32>,
    /// Write a checkpoint every N steps (and at the end).
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// Seed of the student init, data order, crops and dropout.
    #[arg(long)]
    seed: Option<u64>,
    /// Continue the run in `--out` from its newest complete checkpoint (same flags).
    #[arg(long)]
    resume: bool,
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
        max_steps: args.max_steps,
        batch_size: args.batch_size,
        crop_seconds: args.crop_seconds,
        checkpoint_every: args.checkpoint_every,
        seed: args.seed,
    });
    recipe.validate(&args.recipe)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&recipe.name));
    let devices = args.device.devices(args.num_devices)?;
    let report = run(
        &recipe,
        &RunConfig {
            recipe_path: args.recipe.clone(),
            out: out.clone(),
            resume: args.resume,
            device: devices[0].clone(),
            progress: ProgressMode::Auto,
            stop_after: args.stop_after,
            data_parallel: devices[1..].to_vec(),
        },
    )?;
    for s in &report.stages {
        tracing::info!(
            "stage {}: {} steps, loss {:.4} -> {:.4} ({})",
            s.name,
            s.steps,
            s.first_loss,
            s.last_loss,
            s.dir.display()
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
