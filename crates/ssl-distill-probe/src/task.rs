//! The probing tasks ([`Task`]) and what they predict: PR phones, SID speakers, KS keyword
//! classes, ASR characters ([`CHARACTERS`], with transcripts brought to that alphabet by
//! [`normalize_transcript`]).

use serde::{Deserialize, Serialize};

use crate::error::ProbeError;

/// A SUPERB task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Phoneme recognition: CTC over phones, phone error rate.
    Pr,
    /// Speaker identification: closed-set classification of utterances, accuracy.
    Sid,
    /// Keyword spotting: 12-way classification of 1 s clips, accuracy.
    Ks,
    /// Speech recognition: CTC over characters, greedy decoding, word error rate.
    Asr,
}

impl Task {
    /// Lower-case name (`pr`, `sid`, `ks`, `asr`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pr => "pr",
            Self::Sid => "sid",
            Self::Ks => "ks",
            Self::Asr => "asr",
        }
    }

    /// The metric reported (`per`, `accuracy` or `wer`).
    pub fn metric(self) -> &'static str {
        match self {
            Self::Pr => "per",
            Self::Sid | Self::Ks => "accuracy",
            Self::Asr => "wer",
        }
    }

    /// Whether a lower metric is better (PER, WER) or a higher one (accuracy).
    pub fn lower_is_better(self) -> bool {
        self.is_sequence()
    }

    /// Whether the task is a CTC sequence task (PR, ASR) rather than a classification.
    pub fn is_sequence(self) -> bool {
        matches!(self, Self::Pr | Self::Asr)
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Task {
    type Err = ProbeError;
    fn from_str(s: &str) -> Result<Self, ProbeError> {
        match s {
            "pr" => Ok(Self::Pr),
            "sid" => Ok(Self::Sid),
            "ks" => Ok(Self::Ks),
            "asr" => Ok(Self::Asr),
            other => Err(ProbeError::InvalidOption {
                field: "task",
                reason: format!("unknown task {other:?} (expected pr, sid, ks or asr)"),
            }),
        }
    }
}

/// The name of the CTC blank in [`crate::TaskData::classes`].
pub const BLANK: &str = "<blank>";

/// The ASR output characters after the blank: space, `A`-`Z`, apostrophe (s3prl's
/// `downstream/ctc/vocab/character.txt`, LibriSpeech's transcript alphabet).
pub const CHARACTERS: &str = " ABCDEFGHIJKLMNOPQRSTUVWXYZ'";

/// A transcript in the ASR alphabet: upper-cased; letters `A`-`Z` and `'` kept; whitespace and
/// `-` become word breaks; everything else (punctuation, digits, other scripts) dropped; words
/// separated by one space. LibriSpeech transcripts come out unchanged.
pub fn normalize_transcript(text: &str) -> String {
    let mapped: String = text
        .chars()
        .filter_map(|c| {
            let c = c.to_ascii_uppercase();
            if c.is_ascii_uppercase() || c == '\'' {
                Some(c)
            } else if c.is_whitespace() || c == '-' {
                Some(' ')
            } else {
                None
            }
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_are_normalized_to_the_character_set() {
        assert_eq!(
            normalize_transcript("a compilation of esoteric theories. he used a wad-of cotton!"),
            "A COMPILATION OF ESOTERIC THEORIES HE USED A WAD OF COTTON"
        );
        assert_eq!(normalize_transcript("  don't   STOP 42 "), "DON'T STOP");
        assert_eq!(
            normalize_transcript("CHAPTER ONE MISSUS RACHEL LYNDE IS SURPRISED"),
            "CHAPTER ONE MISSUS RACHEL LYNDE IS SURPRISED"
        );
    }

    #[test]
    fn task_names_round_trip() {
        for t in [Task::Pr, Task::Sid, Task::Ks, Task::Asr] {
            assert_eq!(t.name().parse::<Task>().unwrap(), t);
        }
        assert!(Task::Asr.lower_is_better() && !Task::Ks.lower_is_better());
        let err = "wer".parse::<Task>().unwrap_err().to_string();
        assert!(err.contains("asr"), "{err}");
    }
}
