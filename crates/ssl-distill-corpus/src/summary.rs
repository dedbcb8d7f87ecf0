//! What a finished run produced ([`CorpusSummary`], written to `corpus.json`).

use crate::config::CorpusConfig;
use crate::voices::Speaker;

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
