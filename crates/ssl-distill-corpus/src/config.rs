//! Corpus presets and configuration.
use serde::Serialize;

use crate::error::CorpusError;

/// Size preset of a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// A few hundred clips, seconds to make.
    Ci,
    /// About 2 h of utterances.
    Small,
    /// A probing set for the study (`docs/results.md`): 24 speakers, 240 / 60 / 600
    /// utterances and 20 / 5 / 50 keyword clips per class: a test split large enough for a
    /// paired comparison of two models to resolve a few points of accuracy, while training
    /// (the cost of every probe) stays as small as before.
    Probe,
    /// A speech-recognition set: 24 speakers, 1000 / 100 / 200 utterances of one spoken
    /// command each ([`TextSource::Commands`]: 49 words that recur), so a character ASR probe
    /// can learn words; a few keyword clips so every probe runs on it.
    Asr,
    /// About 20 h of utterances.
    Full,
}

impl std::str::FromStr for Preset {
    type Err = CorpusError;
    fn from_str(s: &str) -> Result<Self, CorpusError> {
        match s {
            "ci" => Ok(Self::Ci),
            "small" => Ok(Self::Small),
            "full" => Ok(Self::Full),
            "probe" => Ok(Self::Probe),
            "asr" => Ok(Self::Asr),
            other => Err(CorpusError::InvalidConfig {
                reason: format!(
                    "unknown preset {other:?} (expected ci, small, full, probe or asr)"
                ),
            }),
        }
    }
}

/// How the clips are stored (both 16 kHz, 16-bit mono; the samples are identical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioFormat {
    /// RIFF WAVE (`.wav`), the default.
    #[default]
    Wav,
    /// FLAC (`.flac`, lossless, about a third of the size on synthetic speech).
    Flac,
}

impl std::str::FromStr for AudioFormat {
    type Err = CorpusError;
    fn from_str(s: &str) -> Result<Self, CorpusError> {
        match s {
            "wav" => Ok(Self::Wav),
            "flac" => Ok(Self::Flac),
            other => Err(CorpusError::InvalidConfig {
                reason: format!("unknown audio format {other:?} (expected wav or flac)"),
            }),
        }
    }
}

impl AudioFormat {
    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Flac => "flac",
        }
    }
}

/// Where the sentences of the utterances come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TextSource {
    /// WordNet example sentences (5-20 words, a large vocabulary), the default.
    #[default]
    WordNet,
    /// The sentences of a small command grammar (2-8 words over 49 words: commands, digits,
    /// colours, objects, directions), for speech recognition.
    Commands,
}

/// Everything that determines a corpus (together with the espeak-ng version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorpusConfig {
    /// The preset these values came from.
    pub preset: Preset,
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of synthetic speakers (at most [`crate::MAX_SPEAKERS`]).
    pub speakers: usize,
    /// Utterances in `train.jsonl`.
    pub train_utts: usize,
    /// Utterances in `valid.jsonl`.
    pub valid_utts: usize,
    /// Utterances in `test.jsonl`.
    pub test_utts: usize,
    /// Probability that an utterance joins two sentences.
    pub join_prob: f64,
    /// Keyword-spotting clips per class in train / valid / test.
    pub ks_per_class: [usize; 3],
    /// espeak-ng volume (0-200); 45 keeps resampled audio from clipping.
    pub volume: i32,
    /// Directory of the WordNet `data.*` files.
    pub wordnet_dir: std::path::PathBuf,
    /// The sentences spoken. Default WordNet; the `asr` preset's are commands.
    pub text: TextSource,
    /// Container of the clips. Default WAV.
    pub format: AudioFormat,
}

impl CorpusConfig {
    /// The values of a preset with the default seed 0.
    pub fn preset(preset: Preset) -> Self {
        let (speakers, train, valid, test, ks) = match preset {
            Preset::Ci => (24, 120, 30, 30, [10, 3, 3]),
            Preset::Small => (100, 1800, 100, 100, [200, 20, 20]),
            Preset::Full => (300, 18000, 1000, 1000, [1000, 100, 100]),
            Preset::Probe => (24, 240, 60, 600, [20, 5, 50]),
            Preset::Asr => (24, 1000, 100, 200, [10, 3, 3]),
        };
        let (text, join_prob) = match preset {
            Preset::Asr => (TextSource::Commands, 0.0),
            _ => (TextSource::WordNet, 0.5),
        };
        Self {
            preset,
            seed: 0,
            speakers,
            train_utts: train,
            valid_utts: valid,
            test_utts: test,
            join_prob,
            ks_per_class: ks,
            volume: 45,
            wordnet_dir: crate::text::WORDNET_DIR.into(),
            text,
            format: AudioFormat::Wav,
        }
    }

    /// Same config storing its clips as `format`.
    #[must_use]
    pub fn with_format(mut self, format: AudioFormat) -> Self {
        self.format = format;
        self
    }

    /// Same config with another seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Check the values.
    pub fn validate(&self) -> Result<(), CorpusError> {
        let bad = |reason: &str| {
            Err(CorpusError::InvalidConfig {
                reason: reason.into(),
            })
        };
        if self.speakers < 3 || self.speakers > crate::voices::MAX_SPEAKERS {
            return bad("speakers must be in 3..=320 (espeak-ng voice-list limit)");
        }
        if !(0.0..=1.0).contains(&self.join_prob) {
            return bad("join_prob must be in [0, 1]");
        }
        if !(1..=200).contains(&self.volume) {
            return bad("volume must be in 1..=200");
        }
        Ok(())
    }
}
