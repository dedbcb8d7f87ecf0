//! `ssl-distill`: the command-line tool of the ssl-distill workspace.
//!
//! Every command prints one clear line on failure (`error: <file>: <problem>`) and exits
//! non-zero; output files are written to a temporary name and renamed, so a failed or killed
//! run never leaves a partial file behind.

mod cmd;
mod device;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Knowledge distillation of self-supervised speech models (HuBERT, WavLM, wav2vec 2.0).
#[derive(Debug, Parser)]
#[command(name = "ssl-distill", version, about, long_about = None)]
struct Cli {
    /// Log level filter (e.g. `info`, `debug`, `ssl_distill=trace`); overrides `RUST_LOG`.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Kaldi log-mel filter-bank features of one audio file (key `fbank`, `[frames, bins]`).
    Fbank(cmd::fbank::FbankArgs),
    /// Kaldi MFCCs of one audio file (key `mfcc`, `[frames, ceps]`).
    Mfcc(cmd::fbank::MfccArgs),
    /// Hidden states of a teacher or student on one audio file or a corpus (sharded + index).
    Features(cmd::features::FeaturesArgs),
    /// Architecture, parameter count and loaded/ignored tensors of a checkpoint.
    Inspect(cmd::inspect::InspectArgs),
    /// The synthetic speech corpus (espeak-ng).
    Corpus(cmd::corpus::CorpusArgs),
    /// Distil a student from a teacher with a recipe (recipes/*.toml).
    Distill(cmd::distill::DistillArgs),
    /// A student as an HF model directory (transformers' AutoModel loads it), or in this
    /// project's format when HF cannot hold it.
    Export(cmd::export::ExportArgs),
    /// Pretrain a HuBERT teacher by masked prediction of k-means units (recipes/mini-hubert.toml).
    Pretrain(cmd::pretrain::PretrainArgs),
    /// SUPERB-style probe (PR, SID, KS) of a frozen teacher or student.
    Probe(cmd::probe::ProbeArgs),
    /// Linear CKA between hidden states, layer clustering, heatmap and dendrogram.
    Analyze(cmd::analyze::AnalyzeArgs),
    /// The whole pipeline on the bundled mini teacher and corpus: distil, probe, compare, report.
    Demo(cmd::demo::DemoArgs),
    /// The science check (docs/results.md): every study recipe distilled, probed and compared
    /// with its paper's claim.
    Study(cmd::study::StudyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());
    let result = match cli.command {
        Command::Fbank(args) => cmd::fbank::run_fbank(&args),
        Command::Mfcc(args) => cmd::fbank::run_mfcc(&args),
        Command::Features(args) => cmd::features::run_features(&args),
        Command::Inspect(args) => cmd::inspect::run_inspect(&args),
        Command::Corpus(args) => cmd::corpus::run_corpus(&args),
        Command::Distill(args) => cmd::distill::run_distill(&args),
        Command::Export(args) => cmd::export::run_export(&args),
        Command::Pretrain(args) => cmd::pretrain::run_pretrain(&args),
        Command::Probe(args) => cmd::probe::run_probe(&args),
        Command::Analyze(args) => cmd::analyze::run_analyze(&args),
        Command::Demo(args) => cmd::demo::run_demo(&args),
        Command::Study(args) => cmd::study::run_study(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line (`writing out.safetensors: ...`), leaving out a cause
/// whose text is already there (an error that prints its source and also returns it from
/// `source()` would otherwise repeat it).
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(text.trim()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text.trim());
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The default log filter: our `info`, without the FLAC encoder's per-file statistics.
const DEFAULT_LOG: &str = "info,flacenc=warn";

fn init_logging(filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
