#![doc = include_str!("../README.md")]
#![cfg_attr(
    not(feature = "espeak"),
    allow(
        dead_code,
        reason = "the generator internals are only used with espeak-ng"
    )
)]

mod commands;
mod config;
mod error;
#[cfg(feature = "espeak")]
mod espeak;
mod generate;
mod keywords;
mod phones;
mod resample;
mod rng;
mod summary;
#[cfg(feature = "espeak")]
mod synth;
mod text;
mod voices;

pub use config::{AudioFormat, CorpusConfig, Preset, TextSource};
pub use error::CorpusError;
pub use generate::synthesize;
pub use keywords::{KS_LABELS, UNKNOWN_WORDS};
pub use phones::{INVENTORY, SIL, SPN};
pub use resample::SAMPLE_RATE;
pub use summary::CorpusSummary;
pub use text::WORDNET_DIR;
pub use voices::{DIALECTS, MAX_SPEAKERS, Speaker, make_speakers};
