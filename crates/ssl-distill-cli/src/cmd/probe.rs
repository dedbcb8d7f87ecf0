//! `ssl-distill probe`: a SUPERB-style probe (PR, SID, KS, ASR) of a frozen teacher or student
//! on a synthetic corpus or a real benchmark's directory (see ssl-distill-probe and
//! docs/probes.md).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ssl_distill_probe::{
    Budget, DataOptions, Layout, PrBody, ProbeConfig, ProbeEvent, ProbeReport, Task, load_upstream,
    read_task_with,
};

use crate::device::DeviceArg;

/// `--pr-head`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PrHeadArg {
    /// A small transformer encoder.
    Transformer,
    /// A BiLSTM.
    Lstm,
}

/// Arguments of `ssl-distill probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The upstream: a teacher (HF directory or fairseq `.pt`) or a student directory.
    #[arg(long)]
    model: PathBuf,
    /// `pr` (phoneme recognition, PER), `sid` (speaker identification, accuracy), `ks`
    /// (keyword spotting, accuracy) or `asr` (character CTC, word error rate).
    #[arg(long)]
    task: Task,
    /// The data: a corpus directory as `ssl-distill corpus synth` writes it (every task), or
    /// Speech Commands v0.01 (ks), VoxCeleb1 with iden_split.txt (sid), LibriSpeech with
    /// train-clean-100, dev-clean and test-clean (asr; pr with --lexicon). See docs/probes.md.
    #[arg(long)]
    data: PathBuf,
    /// The layout of --data: `synthetic`, `speech-commands`, `voxceleb1` or `librispeech`
    /// (default: detected from the files it holds).
    #[arg(long)]
    layout: Option<Layout>,
    /// PR on LibriSpeech: a pronunciation lexicon, one word and its phones a line (as s3prl's
    /// librispeech-lexicon-200k-g2p.txt).
    #[arg(long)]
    lexicon: Option<PathBuf>,
    /// Skip (and count in the report) clips that are missing or fail to decode, dev/test
    /// speakers unseen in train (VoxCeleb1) and words the lexicon lacks, instead of stopping
    /// with an error naming the file.
    #[arg(long)]
    skip_bad_audio: bool,
    /// Output directory: `probe-<task>.json` (metric, layer weights, per-epoch history).
    #[arg(long)]
    out: PathBuf,
    /// Training epochs (default per task: PR 30, ASR 30, SID 60, KS 60).
    #[arg(long)]
    epochs: Option<usize>,
    /// Utterances per step (default per task: PR 4, ASR 4, SID 16, KS 16).
    #[arg(long)]
    batch_size: Option<usize>,
    /// AdamW learning rate, constant (default per task: PR 2e-3, ASR 2e-3, SID 5e-3, KS 2e-3).
    #[arg(long)]
    lr: Option<f64>,
    /// PR's and ASR's sequence model: `transformer` (2 pre-LN layers of width 128, the
    /// default) or `lstm` (a 2-layer BiLSTM of 128 units per direction, as s3prl; much slower
    /// on a CPU).
    #[arg(long, value_enum, default_value = "transformer")]
    pr_head: PrHeadArg,
    /// PR's and ASR's head width: the transformer's, or each LSTM direction's.
    #[arg(long, default_value_t = 128)]
    pr_hidden: usize,
    /// PR's and ASR's head depth: transformer or BiLSTM layers.
    #[arg(long, default_value_t = 2)]
    pr_layers: usize,
    /// Seed of the head's initialisation and the batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

/// Runs `ssl-distill probe`.
pub fn run_probe(args: &ProbeArgs) -> Result<()> {
    let device = args.device.device()?;
    let upstream = load_upstream(&args.model, &device)?;
    let options = DataOptions {
        layout: args.layout,
        lexicon: args.lexicon.clone(),
        skip_bad: args.skip_bad_audio,
    };
    let data = read_task_with(&args.data, args.task, &options)?;
    let config = probe_config(args);
    tracing::info!(
        "probe {} of {} on {} ({}): {} / {} / {} utterances, {} classes",
        args.task,
        args.model.display(),
        args.data.display(),
        data.layout,
        data.train.len(),
        data.dev.len(),
        data.test.len(),
        data.classes.len()
    );

    let bar = progress_bar();
    let epochs = config.budget.epochs;
    let report =
        ssl_distill_probe::run_probe(
            &upstream,
            &data,
            &config,
            &device,
            &mut |event| match event {
                ProbeEvent::Extracting { split, done, total } => {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    bar.set_message(format!("features ({split})"));
                    if bar.is_hidden() && done == total {
                        tracing::info!("features of {split}: {total} utterances");
                    }
                }
                ProbeEvent::Epoch(e) => {
                    bar.set_length(epochs as u64);
                    bar.set_position(e.epoch as u64);
                    bar.set_message(format!("loss {:.4}, dev {:.4}", e.loss, e.dev));
                    if bar.is_hidden() {
                        tracing::info!(
                            "epoch {}/{epochs}: loss {:.4}, dev {} {:.4}",
                            e.epoch,
                            e.loss,
                            args.task.metric(),
                            e.dev
                        );
                    }
                }
            },
        )?;
    bar.finish_and_clear();
    let path = report
        .write(&args.out)
        .with_context(|| format!("writing the report into {}", args.out.display()))?;
    print_summary(args, &report, &path);
    Ok(())
}

/// The probe's configuration from the flags (the task's defaults where a flag is absent).
fn probe_config(args: &ProbeArgs) -> ProbeConfig {
    let defaults = Budget::default_for(args.task);
    let mut config = ProbeConfig::new(args.task);
    config.seed = args.seed;
    config.skip_bad_audio = args.skip_bad_audio;
    config.pr_body = match args.pr_head {
        PrHeadArg::Transformer => PrBody::Transformer,
        PrHeadArg::Lstm => PrBody::Lstm,
    };
    config.pr_hidden = args.pr_hidden;
    config.pr_layers = args.pr_layers;
    config.budget = Budget {
        epochs: args.epochs.unwrap_or(defaults.epochs),
        batch_size: args.batch_size.unwrap_or(defaults.batch_size),
        lr: args.lr.unwrap_or(defaults.lr),
        ..defaults
    };
    config
}

/// The one-line result on stdout (and a warning when utterances were skipped).
fn print_summary(args: &ProbeArgs, report: &ProbeReport, path: &std::path::Path) {
    let skipped: usize = report.data.skipped.iter().sum();
    if skipped > 0 {
        tracing::warn!(
            "{skipped} utterances skipped (train / dev / test: {:?}); see {}",
            report.data.skipped,
            path.display()
        );
    }
    let cer = report
        .cer
        .map(|c| format!(", cer {c:.4}"))
        .unwrap_or_default();
    let weights: Vec<String> = report
        .layer_weights
        .iter()
        .map(|w| format!("{w:.3}"))
        .collect();
    println!(
        "{} {}: test {} {:.4}{cer} (trivial {:.4}), dev {:.4} at epoch {}; layer weights [{}]; {}",
        args.task,
        args.model.display(),
        report.metric,
        report.value,
        report.baseline,
        report.dev,
        report.best_epoch,
        weights.join(", "),
        path.display()
    );
}

/// A bar on a TTY; hidden (plain log lines instead) otherwise.
pub fn progress_bar() -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:32} {bar:40} {pos}/{len} {elapsed} (eta {eta})")
            .expect("a valid template"),
    );
    bar
}
