//! `ssl-distill corpus synth`: the synthetic speech corpus (espeak-ng), see ssl-distill-corpus.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ssl_distill_corpus::{AudioFormat, CorpusConfig, CorpusError, Preset, synthesize};

/// `ssl-distill corpus ...`.
#[derive(Debug, Args)]
pub struct CorpusArgs {
    #[command(subcommand)]
    command: CorpusCommand,
}

#[derive(Debug, Subcommand)]
enum CorpusCommand {
    /// Synthesize a corpus: 16 kHz WAVs, JSONL manifests with phones and alignments, a
    /// keyword-spotting set, corpus.json.
    Synth(SynthArgs),
}

/// Arguments of `ssl-distill corpus synth`.
#[derive(Debug, Args)]
struct SynthArgs {
    /// Size: `ci` (a few hundred clips, seconds), `small` (~2 h), `full` (~20 h), `probe` (a
    /// probing set: 420 utterances, 420 keyword clips), `asr` (1300 spoken commands over 49
    /// words, for the ASR probe).
    #[arg(long, default_value = "ci")]
    preset: String,
    /// Output directory (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
    /// Seed of speakers, texts and prosody (the same seed gives the same files).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Audio container of the clips: `wav` or `flac` (lossless, about a third of the size).
    #[arg(long, default_value = "wav")]
    format: String,
}

/// Runs `ssl-distill corpus ...`.
pub fn run_corpus(args: &CorpusArgs) -> Result<()> {
    match &args.command {
        CorpusCommand::Synth(a) => synth(a),
    }
}

fn synth(args: &SynthArgs) -> Result<()> {
    let preset: Preset = args
        .preset
        .parse()
        .with_context(|| format!("--preset {}", args.preset))?;
    let format: AudioFormat = args
        .format
        .parse()
        .with_context(|| format!("--format {}", args.format))?;
    let config = CorpusConfig::preset(preset)
        .with_seed(args.seed)
        .with_format(format);
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} clips {elapsed} (eta {eta})")
            .expect("a valid template"),
    );
    let mut last_logged = 0;
    let summary = synthesize(&config, &args.out, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        // Plain progress lines when stderr is not a terminal: every 10 %.
        if bar.is_hidden() && (done == total || done >= last_logged + total.div_ceil(10)) {
            last_logged = done;
            tracing::info!("{done}/{total} clips");
        }
    })
    .map_err(|e| match e {
        CorpusError::OutputExists { .. } => {
            anyhow::anyhow!("{e} (use a new or empty directory)")
        }
        other => anyhow::Error::new(other),
    })?;
    bar.finish_and_clear();
    println!(
        "corpus {} ({:?}, seed {}): {} utterances ({:.0} s), {} keyword clips ({:.0} s), espeak-ng {}",
        args.out.display(),
        preset,
        args.seed,
        summary.utts.iter().sum::<usize>(),
        summary.utt_seconds,
        summary.ks_clips.iter().sum::<usize>(),
        summary.ks_seconds,
        summary.espeak_version
    );
    Ok(())
}
