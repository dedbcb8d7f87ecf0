//! The layouts of a data directory that the probes read ([`Layout`]), how a directory's layout
//! is found ([`detect_layout`]) and the options of reading one ([`DataOptions`]):
//! - [`Layout::Synthetic`]: a corpus as `ssl-distill corpus synth` writes it (PR, SID, KS, ASR);
//! - [`Layout::SpeechCommands`]: Speech Commands v0.01 as SUPERB's KS uses it (KS);
//! - [`Layout::VoxCeleb1`]: VoxCeleb1 with `iden_split.txt` (SID);
//! - [`Layout::LibriSpeech`]: LibriSpeech `train-clean-100` / `dev-clean` / `test-clean` (ASR;
//!   PR through a pronunciation lexicon).
//!
//! `docs/probes.md` shows each directory tree and how the protocol differs from SUPERB's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::task::Task;

/// SUPERB's train, dev and test splits of LibriSpeech.
pub const LIBRISPEECH_SPLITS: [&str; 3] = ["train-clean-100", "dev-clean", "test-clean"];

/// The layout of a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `ssl-distill corpus synth`'s corpus: `{train,valid,test}.jsonl` (+ `ks/`).
    #[default]
    Synthetic,
    /// Speech Commands v0.01: `<word>/<speaker>_nohash_<n>.wav`, `validation_list.txt`,
    /// `testing_list.txt`, `_background_noise_/`.
    SpeechCommands,
    /// VoxCeleb1: `wav/<id>/<video>/<n>.wav` and `iden_split.txt`.
    #[serde(rename = "voxceleb1")]
    VoxCeleb1,
    /// LibriSpeech: `<split>/<speaker>/<chapter>/*.flac` + `<speaker>-<chapter>.trans.txt`.
    #[serde(rename = "librispeech")]
    LibriSpeech,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 4] = [
        Self::Synthetic,
        Self::SpeechCommands,
        Self::VoxCeleb1,
        Self::LibriSpeech,
    ];

    /// Its name on the command line and in reports (`synthetic`, `speech-commands`,
    /// `voxceleb1`, `librispeech`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Synthetic => "synthetic",
            Self::SpeechCommands => "speech-commands",
            Self::VoxCeleb1 => "voxceleb1",
            Self::LibriSpeech => "librispeech",
        }
    }

    /// The tasks whose labels it holds.
    pub fn tasks(self) -> &'static [Task] {
        match self {
            Self::Synthetic => &[Task::Pr, Task::Sid, Task::Ks, Task::Asr],
            Self::SpeechCommands => &[Task::Ks],
            Self::VoxCeleb1 => &[Task::Sid],
            Self::LibriSpeech => &[Task::Pr, Task::Asr],
        }
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Layout {
    type Err = ProbeError;
    fn from_str(s: &str) -> Result<Self, ProbeError> {
        Self::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| ProbeError::InvalidOption {
                field: "layout",
                reason: format!(
                    "unknown layout {s:?} (expected synthetic, speech-commands, voxceleb1 or \
                     librispeech)"
                ),
            })
    }
}

/// The layouts that hold `task`'s labels, for messages.
pub(crate) fn layouts_for(task: Task) -> &'static str {
    match task {
        Task::Pr => "LibriSpeech with --lexicon, or a synthetic corpus",
        Task::Asr => "LibriSpeech or a synthetic corpus",
        Task::Sid => "VoxCeleb1 or a synthetic corpus",
        Task::Ks => "Speech Commands or a synthetic corpus",
    }
}

/// How to read a data directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataOptions {
    /// The layout; `None` detects it ([`detect_layout`]).
    pub layout: Option<Layout>,
    /// PR on LibriSpeech: the pronunciation lexicon ([`crate::Lexicon`]).
    pub lexicon: Option<PathBuf>,
    /// Real layouts: skip (and count) an entry whose audio file is missing, a dev/test
    /// speaker unseen in train (VoxCeleb1), a word the lexicon lacks (PR); [`crate::run_probe`]
    /// also skips clips that fail to decode when [`crate::ProbeConfig::skip_bad_audio`] is set.
    /// Without it, each is a one-line error naming the file.
    pub skip_bad: bool,
}

/// The layout of `dir` from the files it holds, in this order: `train.jsonl` or
/// `ks/train.jsonl` (synthetic); `iden_split.txt` or `wav/id*/` (VoxCeleb1);
/// `validation_list.txt`, `testing_list.txt` or `_background_noise_/` (Speech Commands);
/// `train-clean-100/`, `dev-clean/`, `test-clean/` or `LibriSpeech/` (LibriSpeech).
pub fn detect_layout(dir: &Path) -> Option<Layout> {
    let has = |name: &str| dir.join(name).exists();
    if has("train.jsonl") || has("ks/train.jsonl") {
        return Some(Layout::Synthetic);
    }
    let vox_ids = || {
        std::fs::read_dir(dir.join("wav")).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("id"))
        })
    };
    if has("iden_split.txt") || vox_ids() {
        return Some(Layout::VoxCeleb1);
    }
    if has("validation_list.txt") || has("testing_list.txt") || has("_background_noise_") {
        return Some(Layout::SpeechCommands);
    }
    if LIBRISPEECH_SPLITS.iter().any(|s| has(s)) || has("LibriSpeech") {
        return Some(Layout::LibriSpeech);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_names_round_trip() {
        for l in Layout::ALL {
            assert_eq!(l.name().parse::<Layout>().unwrap(), l);
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.name()));
        }
        let err = "libri".parse::<Layout>().unwrap_err().to_string();
        assert!(err.contains("librispeech"), "{err}");
    }
}
