//! A task's labelled data ([`TaskData`]: one [`LabelledSet`] per split), built from what a
//! layout reader found ([`RawSplit`]s) by [`build`].
//!
//! Classes are sorted so they do not depend on listing order, except where SUPERB fixes them:
//! Speech Commands' 12 classes in s3prl's order, and ASR's character vocabulary
//! ([`crate::CHARACTERS`], s3prl's `downstream/ctc/vocab/character.txt`). SID on a synthetic
//! corpus is closed-set: dev/test utterances of speakers absent from train are skipped
//! (counted); so are KS clips whose label is absent from train.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ssl_distill_audio::Utterance;

use crate::error::ProbeError;
use crate::layout::Layout;
use crate::task::{BLANK, CHARACTERS, Task, normalize_transcript};

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

/// The class names that `classes` says, from the raw splits.
fn class_list(splits: &[RawSplit; 3], classes: Classes) -> Vec<String> {
    let tokens = |i: &RawItem| match &i.label {
        RawLabel::Tokens(t) => t.clone(),
        RawLabel::Class(_) => Vec::new(),
    };
    match classes {
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
                    .flat_map(tokens)
                    .collect::<BTreeSet<_>>(),
            )
            .collect(),
    }
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
    let classes = class_list(&splits, classes);
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
    let [train, dev, test]: [LabelledSet; 3] = sets.try_into().expect("three splits");
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
    fn asr_classes_are_blank_then_characters() {
        let c = asr_classes();
        assert_eq!(c.len(), 29);
        assert_eq!(
            (c[0].as_str(), c[1].as_str(), c[28].as_str()),
            (BLANK, " ", "'")
        );
        assert_eq!(asr_tokens("go, up"), vec!["G", "O", " ", "U", "P"]);
    }

    #[test]
    fn unknown_classes_and_empty_sequences_are_skipped() {
        let item = |label| RawItem {
            utterance: Utterance::default(),
            label,
            crop: None,
        };
        let class = |c: &str| item(RawLabel::Class(c.into()));
        let split = |items| RawSplit {
            items,
            ..RawSplit::default()
        };
        let data = build(
            Task::Sid,
            PathBuf::new(),
            Layout::Synthetic,
            [
                split(vec![class("b"), class("a")]),
                split(vec![class("a"), class("c")]),
                split(vec![class("b")]),
            ],
            Classes::FromTrain,
        )
        .unwrap();
        assert_eq!(data.classes, ["a", "b"]);
        assert_eq!(data.train.labels, [[1], [0]]);
        assert_eq!((data.dev.labels.len(), data.dev.skipped), (1, 1));
        let tokens = |t: &[&str]| item(RawLabel::Tokens(t.iter().map(|s| s.to_string()).collect()));
        let data = build(
            Task::Pr,
            PathBuf::new(),
            Layout::Synthetic,
            [
                split(vec![tokens(&["k", "a"]), tokens(&[])]),
                split(vec![tokens(&["a"])]),
                split(vec![tokens(&["t"])]),
            ],
            Classes::AllTokens,
        )
        .unwrap();
        assert_eq!(data.classes, [BLANK, "a", "k", "t"]);
        assert_eq!(
            (data.train.labels.clone(), data.train.skipped),
            (vec![vec![2, 1]], 1)
        );
    }
}
