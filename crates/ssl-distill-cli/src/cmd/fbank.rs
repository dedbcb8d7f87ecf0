//! `ssl-distill fbank` and `ssl-distill mfcc`: Kaldi features of one audio file.
//!
//! The audio is decoded (WAV or FLAC, any rate, channels averaged) and resampled to
//! `--sample-rate` (16 kHz by default) before the features are computed, with Kaldi's
//! defaults (25 ms / 10 ms frames, povey window, no dither). The values equal
//! `torchaudio.compliance.kaldi.fbank(wave * 32768, ...)` on the resampled waveform.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ssl_distill_audio::{Fbank, FbankConfig, FeatureMatrix, Mfcc, MfccConfig, load_audio};
use ssl_distill_models::{StateDict, StateTensor, write_safetensors};

/// Arguments of `ssl-distill fbank`.
#[derive(Debug, Args)]
pub struct FbankArgs {
    /// Input audio (WAV or FLAC, any sample rate and channel count).
    #[arg(long)]
    audio: PathBuf,
    /// Output safetensors file; the key `fbank` holds `[frames, num_mel_bins]`.
    #[arg(long)]
    out: PathBuf,
    /// Number of mel bins.
    #[arg(long, default_value_t = 80)]
    num_mel_bins: usize,
    /// Rate the audio is resampled to before feature extraction (Hz).
    #[arg(long, default_value_t = ssl_distill_audio::SAMPLE_RATE)]
    sample_rate: u32,
    /// Dither amount (Kaldi's `--dither`; 0 = deterministic).
    #[arg(long, default_value_t = 0.0)]
    dither: f32,
}

/// Arguments of `ssl-distill mfcc`.
#[derive(Debug, Args)]
pub struct MfccArgs {
    /// Input audio (WAV or FLAC, any sample rate and channel count).
    #[arg(long)]
    audio: PathBuf,
    /// Output safetensors file; the key `mfcc` holds `[frames, num_ceps]`.
    #[arg(long)]
    out: PathBuf,
    /// Number of mel bins of the underlying filter bank.
    #[arg(long, default_value_t = 23)]
    num_mel_bins: usize,
    /// Number of cepstral coefficients kept.
    #[arg(long, default_value_t = 13)]
    num_ceps: usize,
    /// Rate the audio is resampled to before feature extraction (Hz).
    #[arg(long, default_value_t = ssl_distill_audio::SAMPLE_RATE)]
    sample_rate: u32,
}

/// Runs `ssl-distill fbank`.
pub fn run_fbank(args: &FbankArgs) -> Result<()> {
    let wave = load_audio(&args.audio, args.sample_rate)?;
    let config = FbankConfig {
        sample_frequency: f64::from(args.sample_rate),
        dither: args.dither,
        ..FbankConfig::default().with_num_mel_bins(args.num_mel_bins)
    };
    let fbank = Fbank::new(config).context("invalid filter-bank options")?;
    let features = fbank
        .compute(&wave)
        .with_context(|| format!("{}: cannot compute filter banks", args.audio.display()))?;
    save("fbank", features, &args.out)
}

/// Runs `ssl-distill mfcc`.
pub fn run_mfcc(args: &MfccArgs) -> Result<()> {
    let wave = load_audio(&args.audio, args.sample_rate)?;
    let defaults = MfccConfig::default();
    let config = MfccConfig {
        fbank: FbankConfig {
            sample_frequency: f64::from(args.sample_rate),
            num_mel_bins: args.num_mel_bins,
            ..defaults.fbank.clone()
        },
        num_ceps: args.num_ceps,
        ..defaults
    };
    let mfcc = Mfcc::new(config).context("invalid MFCC options")?;
    let features = mfcc
        .compute(&wave)
        .with_context(|| format!("{}: cannot compute MFCCs", args.audio.display()))?;
    save("mfcc", features, &args.out)
}

fn save(key: &str, features: FeatureMatrix, out: &std::path::Path) -> Result<()> {
    let (frames, bins) = (features.frames, features.bins);
    let tensor = StateTensor::new(vec![frames, bins], features.data);
    write_safetensors(&StateDict::from([(key.to_string(), tensor)]), out)?;
    tracing::info!("wrote {key} [{frames}, {bins}] to {}", out.display());
    Ok(())
}
