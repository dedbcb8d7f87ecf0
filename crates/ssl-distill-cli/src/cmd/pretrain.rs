//! `ssl-distill pretrain`: HuBERT masked-prediction pretraining of a teacher from a recipe
//! (see `ssl_distill_recipes::pretrain`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ssl_distill_recipes::RunConfig;
use ssl_distill_recipes::pretrain::{PretrainOverrides, PretrainRecipe, pretrain};
use ssl_distill_train::ProgressMode;

use crate::cmd::pipeline::ScheduleArgs;
use crate::device::DeviceArg;

/// Arguments of `ssl-distill pretrain`. Flags override the recipe.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// The recipe (TOML), e.g. `recipes/mini-hubert.toml`.
    #[arg(long)]
    recipe: PathBuf,
    /// Training data: a fairseq TSV or JSONL manifest, or a folder of audio files.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory (metrics.jsonl, checkpoints/, units.json, model/). Default:
    /// `runs/<recipe name>`.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Stop after this many steps (a checkpoint is written; `--resume` continues).
    #[arg(long, hide = true)]
    stop_after: Option<u64>,
    /// Backend.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

/// Runs `ssl-distill pretrain`.
pub fn run_pretrain(args: &PretrainArgs) -> Result<()> {
    let mut recipe = PretrainRecipe::from_file(&args.recipe)?;
    recipe.apply(&PretrainOverrides {
        data: args.data.clone(),
        schedule: args.schedule.overrides(),
    });
    recipe.validate(&args.recipe)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&recipe.name));
    let device = args.device.device()?;
    let report = pretrain(
        &recipe,
        &RunConfig {
            recipe_path: args.recipe.clone(),
            out: out.clone(),
            resume: args.schedule.resume,
            device,
            progress: ProgressMode::Auto,
            stop_after: args.stop_after,
            data_parallel: Vec::new(),
        },
    )?;
    tracing::info!(
        "{} steps, loss {:.4} -> {:.4}",
        report.steps,
        report.first_loss,
        report.last_loss
    );
    match &report.model_dir {
        Some(dir) => tracing::info!(
            "model ({:.2} M parameters without the head) saved to {}",
            report.params as f64 / 1e6,
            dir.display()
        ),
        None => tracing::info!(
            "stopped early; continue with --resume --out {}",
            out.display()
        ),
    }
    Ok(())
}
