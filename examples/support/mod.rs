//! Shared by the method examples: argument parsing, the smoke world, running a recipe.
//!
//! Every example runs `recipes/<name>.toml` either on real inputs
//! (`-- --teacher DIR_OR_PT --data MANIFEST --out DIR [--max-steps N]`) or, with `--smoke`, on
//! a tiny random 12-layer teacher and a synthetic corpus for a few steps (what CI runs).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use ssl_distill::recipes::{
    DistillReport, Overrides, Recipe, RunConfig, ScheduleOverrides, run, toy,
};
use ssl_distill::train::ProgressMode;

/// Command-line options of an example.
pub struct Options {
    /// Smoke mode: toy teacher and data in a temporary directory.
    pub smoke: bool,
    teacher: Option<PathBuf>,
    data: Option<PathBuf>,
    out: Option<PathBuf>,
    max_steps: Option<u64>,
}

impl Options {
    /// Parses `std::env::args`.
    pub fn from_args() -> Result<Self> {
        let mut o = Self {
            smoke: false,
            teacher: None,
            data: None,
            out: None,
            max_steps: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().with_context(|| format!("{a} needs a value"));
            match a.as_str() {
                "--smoke" => o.smoke = true,
                "--teacher" => o.teacher = Some(value()?.into()),
                "--data" => o.data = Some(value()?.into()),
                "--out" => o.out = Some(value()?.into()),
                "--max-steps" => o.max_steps = Some(value()?.parse()?),
                other => bail!(
                    "unknown argument {other}; use --smoke, or --teacher PATH --data PATH --out DIR \
                     [--max-steps N]"
                ),
            }
        }
        if !o.smoke && (o.teacher.is_none() || o.data.is_none()) {
            bail!("pass --smoke, or --teacher PATH --data PATH (and --out DIR)");
        }
        Ok(o)
    }
}

/// The repository's `recipes/NAME.toml`.
pub fn recipe_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recipes")
        .join(format!("{name}.toml"))
}

/// Runs recipe `name` as `opts` says and returns its report. In smoke mode: 8 steps of batch
/// 2 x 1 s on a tiny random 12-layer teacher (with a HuBERT head) and 8 toy utterances.
pub fn run_recipe(name: &str, opts: &Options, work: &Path) -> Result<DistillReport> {
    let path = recipe_path(name);
    let mut recipe = Recipe::from_file(&path)?;
    let out = if opts.smoke {
        let teacher = work.join("teacher");
        if !teacher.exists() {
            toy::write_tiny_teacher(&teacher, 12, 1, true, &Device::flex())?;
        }
        let data = work.join("audio/train.tsv");
        let data = if data.exists() {
            data
        } else {
            toy::write_tone_corpus(&work.join("audio"), 8, 1.0, 1)?
        };
        recipe.apply(&Overrides {
            teacher: Some(teacher),
            data: Some(data),
            schedule: ScheduleOverrides {
                max_steps: Some(opts.max_steps.unwrap_or(8)),
                batch_size: Some(2),
                crop_seconds: Some(1.0),
                checkpoint_every: Some(4),
                ..ScheduleOverrides::default()
            },
            ..Overrides::default()
        });
        recipe.train.log_every = 2;
        recipe.disc.calibration_utterances = 4;
        recipe.disc.kmeans_k = 8;
        work.join(name)
    } else {
        recipe.apply(&Overrides {
            teacher: opts.teacher.clone(),
            data: opts.data.clone(),
            schedule: ScheduleOverrides {
                max_steps: opts.max_steps,
                ..ScheduleOverrides::default()
            },
            ..Overrides::default()
        });
        opts.out
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(name))
    };
    recipe.validate(&path)?;
    let report = run(
        &recipe,
        &RunConfig {
            recipe_path: path,
            out,
            resume: false,
            device: Device::flex(),
            progress: if opts.smoke {
                ProgressMode::Plain
            } else {
                ProgressMode::Auto
            },
            stop_after: None,
            data_parallel: Vec::new(),
        },
    )?;
    for s in &report.stages {
        println!(
            "{name} / {}: {} steps, loss {:.4} -> {:.4}",
            s.name, s.steps, s.first_loss, s.last_loss
        );
    }
    println!(
        "{name}: student {:.3} M parameters without heads, targets {}",
        report.backbone_params as f64 / 1e6,
        report.targets["groups"]
    );
    Ok(report)
}
