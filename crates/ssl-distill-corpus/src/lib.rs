#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(feature = "espeak"),
    allow(
        dead_code,
        reason = "the generator internals are only used with espeak-ng"
    )
)]

mod config;
mod error;
#[cfg(feature = "espeak")]
mod espeak;
mod phones;
mod resample;
mod rng;
#[cfg(feature = "espeak")]
mod synth;
mod text;
mod voices;

pub use config::{AudioFormat, CorpusConfig, Preset};
pub use error::CorpusError;
pub use phones::{INVENTORY, SIL, SPN};
pub use text::WORDNET_DIR;
pub use voices::{DIALECTS, MAX_SPEAKERS, Speaker, make_speakers};

/// Keyword-spotting labels: the 10 commands, then `_unknown_` and `_silence_`.
pub const KS_LABELS: &[&str] = &[
    "yes",
    "no",
    "up",
    "down",
    "left",
    "right",
    "on",
    "off",
    "stop",
    "go",
    "_unknown_",
    "_silence_",
];

/// Words spoken for the `_unknown_` class.
pub const UNKNOWN_WORDS: &[&str] = &[
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
    "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero",
];

/// Sample rate of every written WAV file.
pub const SAMPLE_RATE: u32 = 16_000;

/// What a finished run produced (also written to `corpus.json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CorpusSummary {
    /// The configuration used.
    pub config: CorpusConfig,
    /// espeak-ng version string.
    pub espeak_version: String,
    /// Utterances per split (train, valid, test).
    pub utts: [usize; 3],
    /// Keyword clips per split (train, valid, test).
    pub ks_clips: [usize; 3],
    /// Seconds of utterance audio.
    pub utt_seconds: f64,
    /// Seconds of keyword audio.
    pub ks_seconds: f64,
    /// Number of distinct filtered sentences available.
    pub sentences_available: usize,
    /// Phone segments that fell outside the table (class `spn`).
    pub unknown_phones: usize,
    /// Samples that hit the i16 limits (should be 0).
    pub clipped_samples: usize,
    /// The phone inventory.
    pub inventory: Vec<String>,
    /// The speakers.
    pub speakers: Vec<Speaker>,
}

/// Generate a corpus into `out_dir` (must not exist or be empty). Work happens in a sibling
/// temporary directory renamed into place at the end, so a killed run leaves no half corpus.
/// `progress(done, total)` is called after every clip.
///
/// Not thread-safe across processes' worth of state: calls are serialized by a process-wide lock
/// (libespeak-ng has global state).
pub fn synthesize(
    config: &CorpusConfig,
    out_dir: &std::path::Path,
    progress: impl FnMut(usize, usize),
) -> Result<CorpusSummary, CorpusError> {
    #[cfg(feature = "espeak")]
    {
        synth::run(config, out_dir, progress)
    }
    #[cfg(not(feature = "espeak"))]
    {
        let _ = (config, out_dir, progress);
        Err(CorpusError::EspeakMissing)
    }
}
