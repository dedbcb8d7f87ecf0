//! Steps shared by `demo` and `study`: finding the bundled assets, probing an upstream with a
//! progress bar, timing its forward pass, plotting a run's loss curve.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use burn::tensor::{Device, Distribution, Tensor};
use ssl_distill_models::SslInput;
use ssl_distill_probe::plot::{Curves, Series, curves_png};
use ssl_distill_probe::{
    Budget, ProbeConfig, ProbeEvent, ProbeReport, Task, Upstream, read_task, run_probe,
};

use ssl_distill_recipes::{DistillReport, Recipe, RunConfig, ScheduleOverrides, run};
use ssl_distill_train::ProgressMode;

use crate::cmd::probe::progress_bar;

/// The bundled mini teacher and corpus, relative to the repository root.
pub const TEACHER_ASSET: &str = "assets/mini-hubert";
pub const CORPUS_ASSET: &str = "assets/demo-corpus";

/// Names a directory laid out like the repository (`assets/`, `recipes/`): where an installed
/// binary (`cargo install`) finds the bundled teacher, corpus and study recipes.
pub const HOME_ENV: &str = "SSL_DISTILL_HOME";

/// Finds the bundled file or directory `path` (relative to the repository root, e.g.
/// [`TEACHER_ASSET`]). With `SSL_DISTILL_HOME` set, only there; otherwise relative to the working
/// directory, then beside the executable (`BIN/PATH`, `BIN/../share/ssl-distill/PATH`), then in
/// the checkout the binary was built from (so `cargo run` and `cargo install --path` work from
/// any directory while the checkout exists). The error lists every place looked at.
pub fn bundled(path: &str) -> Result<PathBuf> {
    let home = std::env::var_os(HOME_ENV).map(PathBuf::from);
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    let checkout = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let places = asset_candidates(path, home.as_deref(), exe_dir.as_deref(), checkout);
    if let Some(found) = places.iter().find(|p| p.exists()) {
        return Ok(found.canonicalize().unwrap_or_else(|_| found.clone()));
    }
    let looked: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
    let hint = match home {
        Some(h) => format!("{HOME_ENV}={} has no `{path}`", h.display()),
        None => format!("set {HOME_ENV} to a checkout of ssl-distill"),
    };
    bail!(
        "the bundled `{path}` was not found (looked in {}): {hint}, or pass the path explicitly",
        looked.join(", ")
    )
}

/// The places [`bundled`] looks for `path`, in order.
fn asset_candidates(
    path: &str,
    home: Option<&Path>,
    exe_dir: Option<&Path>,
    checkout: &Path,
) -> Vec<PathBuf> {
    if let Some(home) = home {
        return vec![home.join(path)];
    }
    let mut places = vec![PathBuf::from(path)];
    if let Some(bin) = exe_dir {
        places.push(bin.join(path));
        places.push(bin.join("../share/ssl-distill").join(path));
    }
    places.push(checkout.join(path));
    places
}

/// Runs `recipe` into `out` on `device` with a progress bar, continuing (or reusing) the run
/// already there.
pub fn run_resumable(
    recipe: &Recipe,
    recipe_path: &Path,
    out: &Path,
    device: &Device,
) -> Result<DistillReport> {
    Ok(run(
        recipe,
        &RunConfig {
            recipe_path: recipe_path.to_path_buf(),
            out: out.to_path_buf(),
            resume: true,
            device: device.clone(),
            progress: ProgressMode::Auto,
            stop_after: None,
            data_parallel: Vec::new(),
        },
    )?)
}

/// The schedule flags of `distill` and `pretrain` (each overrides its recipe's field).
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// Total optimizer steps; the schedule (warm-up fraction, decay) follows it.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Utterances per batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Random crop length in seconds.
    #[arg(long)]
    pub crop_seconds: Option<f32>,
    /// Write a checkpoint every N steps (and at the end).
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    /// Seed of the model's initialisation, the data order and crops, dropout, and (pretraining)
    /// k-means and masks.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Continue the run in `--out` from its newest complete checkpoint (same flags).
    #[arg(long)]
    pub resume: bool,
}

impl ScheduleArgs {
    /// The recipe overrides these flags ask for.
    pub fn overrides(&self) -> ScheduleOverrides {
        ScheduleOverrides {
            max_steps: self.max_steps,
            batch_size: self.batch_size,
            crop_seconds: self.crop_seconds,
            checkpoint_every: self.checkpoint_every,
            seed: self.seed,
        }
    }
}

/// The seed of a probe and the factor applied to every task's default epoch budget.
#[derive(Debug, Clone, Copy)]
pub struct ProbeBudget {
    /// Seed of the head's initialisation and the batch order.
    pub seed: u64,
    /// Multiplies the task's default epochs (at least one epoch is run).
    pub epochs_scale: f64,
}

/// The default epoch budget of `task` times `scale`, at least 1.
pub fn scaled_epochs(task: Task, scale: f64) -> usize {
    ((Budget::default_for(task).epochs as f64 * scale).round() as usize).max(1)
}

/// Probes `upstream` (called `name` in the progress bar and log) on `task` of `corpus` and
/// writes `out/probe-<task>.json`.
pub fn probe(
    name: &str,
    upstream: &Upstream,
    task: Task,
    corpus: &Path,
    out: &Path,
    budget: ProbeBudget,
    device: &Device,
) -> Result<ProbeReport> {
    let data = read_task(corpus, task)?;
    let mut config = ProbeConfig::new(task);
    config.seed = budget.seed;
    config.budget.epochs = scaled_epochs(task, budget.epochs_scale);
    let epochs = config.budget.epochs;
    tracing::info!(
        "probing {name} on {task}: {} / {} / {} utterances, {epochs} epochs",
        data.train.len(),
        data.dev.len(),
        data.test.len()
    );
    let bar = progress_bar();
    let report = run_probe(upstream, &data, &config, device, &mut |event| {
        if let ProbeEvent::Epoch(e) = event {
            bar.set_length(epochs as u64);
            bar.set_position(e.epoch as u64);
            bar.set_message(format!("{name} {task}: dev {:.3}", e.dev));
        }
    })?;
    bar.finish_and_clear();
    tracing::info!(
        "{name} {task}: test {} {:.4} (trivial {:.4})",
        report.metric,
        report.value,
        report.baseline
    );
    report.write(out)?;
    Ok(report)
}

/// Seconds of audio processed per second of compute: 10 s of noise, one warm-up run, the
/// median of 9 (3 varied by 12% between a model and its random twin on a shared machine).
pub fn realtime_factor(upstream: &Upstream, device: &Device) -> f64 {
    let wave = Tensor::<2>::random([1, 160_000], Distribution::Normal(0.0, 0.1), device);
    let run_once = || {
        let t = Instant::now();
        let out = upstream.forward(SslInput::new(wave.clone()));
        // Read the last state back so asynchronous backends finish the work.
        let _ = out
            .hidden_states
            .last()
            .map(|h| h.clone().sum().into_scalar::<f32>());
        t.elapsed().as_secs_f64()
    };
    run_once();
    let mut times: Vec<f64> = (0..9).map(|_| run_once()).collect();
    times.sort_by(f64::total_cmp);
    10.0 / times[4]
}

/// Training (and validation) loss against step from a run's `metrics.jsonl`.
pub fn plot_loss(metrics: &Path, png: &Path, title: &str) -> Result<()> {
    let rows = ssl_distill_train::read_metrics(metrics)?;
    let train: Vec<(f64, f64)> = rows.iter().map(|r| (r.step as f64, r.loss)).collect();
    let dev: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            r.extra
                .get("val_loss")
                .and_then(serde_json::Value::as_f64)
                .map(|v| (r.step as f64, v))
        })
        .collect();
    let mut series = vec![Series {
        label: "train loss",
        points: &train,
    }];
    if !dev.is_empty() {
        series.push(Series {
            label: "dev loss",
            points: &dev,
        });
    }
    curves_png(
        &Curves {
            title,
            x_axis: "step",
            y_axis: "loss",
            series: &series,
        },
        png,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::asset_candidates;

    #[test]
    fn assets_are_looked_for_in_order() {
        let checkout = Path::new("/src/ssl-distill");
        let places = asset_candidates("assets/x", None, Some(Path::new("/opt/bin")), checkout);
        assert_eq!(
            places,
            [
                PathBuf::from("assets/x"),
                PathBuf::from("/opt/bin/assets/x"),
                PathBuf::from("/opt/bin/../share/ssl-distill/assets/x"),
                PathBuf::from("/src/ssl-distill/assets/x"),
            ]
        );
        // An explicit home is the only place.
        let places = asset_candidates("assets/x", Some(Path::new("/h")), None, checkout);
        assert_eq!(places, [PathBuf::from("/h/assets/x")]);
    }
}
