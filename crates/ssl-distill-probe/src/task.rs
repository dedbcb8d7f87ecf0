//! The probing tasks ([`Task`]) and their labelled data ([`TaskData`]: one [`LabelledSet`] per
//! split), built from what a layout reader (see [`crate::read_task_with`]) found.
//!
//! Classes are sorted so they do not depend on listing order, except where SUPERB fixes them:
//! Speech Commands' 12 classes in s3prl's order, and ASR's character vocabulary
//! ([`CHARACTERS`], s3prl's `downstream/ctc/vocab/character.txt`). SID on a synthetic corpus is
//! closed-set: dev/test utterances of speakers absent from train are skipped (counted); so are
//! KS clips whose label is absent from train.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ssl_distill_audio::Utterance;

use crate::data::Layout;
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
        matches!(self, Self::Pr | Self::Asr)
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

/// A part of an audio file, in samples at 16 kHz (after resampling): Speech Commands'
/// `_silence_` clips are 1 s crops of the background-noise recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crop {
    /// First sample.
    pub start: usize,
    /// Number of samples.
    pub len: usize,
}

/// The utterances of one split and their labels.
#[derive(Debug, Clone, Default)]
pub struct LabelledSet {
    /// The manifest, list or directory it was read from.
    pub source: PathBuf,
    /// The utterances kept.
    pub utterances: Vec<Utterance>,
    /// Per utterance: its token indices into [`TaskData::classes`] (PR, ASR; never 0, the CTC
    /// blank), or one class index (SID, KS).
    pub labels: Vec<Vec<usize>>,
    /// Per utterance: the part of its file to use (`None`: all of it).
    pub crops: Vec<Option<Crop>>,
    /// Utterances left out: SID/KS labels unseen in train, PR/ASR empty label sequences, and
    /// with `skip_bad` the bad entries of a real layout (see [`crate::DataOptions`]).
    pub skipped: usize,
}

impl LabelledSet {
    /// Number of utterances kept.
    pub fn len(&self) -> usize {
        self.utterances.len()
    }

    /// Whether no utterance was kept.
    pub fn is_empty(&self) -> bool {
        self.utterances.is_empty()
    }
}

/// The labelled splits of a task.
#[derive(Debug, Clone)]
pub struct TaskData {
    /// The task.
    pub task: Task,
    /// The data directory.
    pub dir: PathBuf,
    /// The layout it was read as.
    pub layout: Layout,
    /// Class names: PR `["<blank>", phones...]` (index 0 is the CTC blank, phones sorted), ASR
    /// `["<blank>", " ", "A".."Z", "'"]`, SID the train speakers (sorted), KS the 12 SUPERB
    /// classes (Speech Commands) or the train labels (sorted, synthetic corpus).
    pub classes: Vec<String>,
    /// Training split.
    pub train: LabelledSet,
    /// Development split (model selection).
    pub dev: LabelledSet,
    /// Test split (the reported metric).
    pub test: LabelledSet,
}

/// The name of the CTC blank in [`TaskData::classes`].
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

/// The label of an item as a reader found it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawLabel {
    /// A class name (SID, KS).
    Class(String),
    /// A token sequence (PR phones, ASR characters).
    Tokens(Vec<String>),
}

/// One item of a split as a reader found it.
#[derive(Debug, Clone)]
pub(crate) struct RawItem {
    pub utterance: Utterance,
    pub label: RawLabel,
    pub crop: Option<Crop>,
}

/// One split as a reader found it.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawSplit {
    pub source: PathBuf,
    pub items: Vec<RawItem>,
    /// Entries the reader left out already (bad entries with `skip_bad`).
    pub skipped: usize,
}

/// Where the class list comes from.
#[derive(Debug, Clone)]
pub(crate) enum Classes {
    /// A fixed list (Speech Commands' 12 classes; ASR's blank + [`CHARACTERS`]).
    Fixed(Vec<String>),
    /// The sorted labels of the train split (SID; KS of a synthetic corpus).
    FromTrain,
    /// The blank, then the sorted tokens of all splits (PR: a symbol set, not labels, so
    /// dev/test phones that train lacks still count as errors rather than being dropped).
    AllTokens,
}

/// ASR's classes: the blank, then [`CHARACTERS`].
pub(crate) fn asr_classes() -> Vec<String> {
    std::iter::once(BLANK.to_string())
        .chain(CHARACTERS.chars().map(String::from))
        .collect()
}

/// ASR tokens of a transcript: the characters of [`normalize_transcript`].
pub(crate) fn asr_tokens(text: &str) -> Vec<String> {
    normalize_transcript(text)
        .chars()
        .map(String::from)
        .collect()
}

/// Turns the raw splits into [`TaskData`]: the class list, label indices; items whose label is
/// not a class, or whose token sequence is empty, are skipped (counted).
///
/// # Errors
/// [`ProbeError::EmptySplit`] when a split keeps nothing.
pub(crate) fn build(
    task: Task,
    dir: PathBuf,
    layout: Layout,
    splits: [RawSplit; 3],
    classes: Classes,
) -> Result<TaskData, ProbeError> {
    let classes: Vec<String> = match classes {
        Classes::Fixed(c) => c,
        Classes::FromTrain => splits[0]
            .items
            .iter()
            .filter_map(|i| match &i.label {
                RawLabel::Class(c) => Some(c.clone()),
                RawLabel::Tokens(_) => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        Classes::AllTokens => std::iter::once(BLANK.to_string())
            .chain(
                splits
                    .iter()
                    .flat_map(|s| &s.items)
                    .flat_map(|i| match &i.label {
                        RawLabel::Tokens(t) => t.clone(),
                        RawLabel::Class(_) => Vec::new(),
                    })
                    .collect::<BTreeSet<_>>(),
            )
            .collect(),
    };
    let index = |name: &str| classes.iter().position(|c| c == name);
    let mut sets = Vec::with_capacity(3);
    for split in splits {
        let mut set = LabelledSet {
            source: split.source,
            skipped: split.skipped,
            ..LabelledSet::default()
        };
        for item in split.items {
            let label: Option<Vec<usize>> = match &item.label {
                RawLabel::Tokens(tokens) => tokens
                    .iter()
                    .map(|t| index(t))
                    .collect::<Option<Vec<usize>>>()
                    .filter(|l| !l.is_empty() && !l.contains(&0)),
                RawLabel::Class(c) => index(c).map(|c| vec![c]),
            };
            match label {
                Some(l) => {
                    set.utterances.push(item.utterance);
                    set.labels.push(l);
                    set.crops.push(item.crop);
                }
                None => set.skipped += 1,
            }
        }
        if set.is_empty() {
            return Err(ProbeError::EmptySplit {
                path: set.source,
                task: task.name(),
            });
        }
        sets.push(set);
    }
    let test = sets.pop().expect("three splits");
    let dev = sets.pop().expect("three splits");
    let train = sets.pop().expect("three splits");
    Ok(TaskData {
        task,
        dir,
        layout,
        classes,
        train,
        dev,
        test,
    })
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
        assert_eq!(asr_classes().len(), 29);
        assert_eq!(asr_tokens("go, up"), vec!["G", "O", " ", "U", "P"]);
    }
}
