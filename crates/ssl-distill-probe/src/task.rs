//! The probing tasks and their labelled data, read from a corpus directory as
//! `ssl-distill corpus synth` writes it:
//! - PR and SID: `train.jsonl`, `valid.jsonl` (or `dev.jsonl`), `test.jsonl` with `phones`
//!   (space-separated, `sil` excluded) and `speaker`;
//! - KS: `ks/train.jsonl`, `ks/valid.jsonl`, `ks/test.jsonl` with `label` (12 classes: 10
//!   commands, `_unknown_`, `_silence_`); the corpus makes these splits speaker-disjoint.
//!
//! Classes are sorted so they do not depend on manifest order. SID is closed-set: dev/test
//! utterances of speakers absent from train are skipped (counted); so are KS clips whose label
//! is absent from train.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ssl_distill_audio::{Manifest, Utterance};

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
}

impl Task {
    /// Lower-case name (`pr`, `sid`, `ks`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pr => "pr",
            Self::Sid => "sid",
            Self::Ks => "ks",
        }
    }

    /// The metric reported (`per` or `accuracy`).
    pub fn metric(self) -> &'static str {
        match self {
            Self::Pr => "per",
            Self::Sid | Self::Ks => "accuracy",
        }
    }

    /// Whether a lower metric is better (PER) or a higher one (accuracy).
    pub fn lower_is_better(self) -> bool {
        self == Self::Pr
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
            other => Err(ProbeError::InvalidOption {
                field: "task",
                reason: format!("unknown task {other:?} (expected pr, sid or ks)"),
            }),
        }
    }
}

/// The utterances of one split and their labels.
#[derive(Debug, Clone, Default)]
pub struct LabelledSet {
    /// The manifest it was read from.
    pub source: PathBuf,
    /// The utterances kept.
    pub utterances: Vec<Utterance>,
    /// Per utterance: its phone indices into [`TaskData::classes`] (PR; never 0, the CTC
    /// blank), or one class index (SID, KS).
    pub labels: Vec<Vec<usize>>,
    /// Utterances of the manifest left out (SID: speaker unseen in train; KS: label unseen in
    /// train; PR: no phone).
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
    /// The corpus directory.
    pub dir: PathBuf,
    /// Class names: PR `["<blank>", phones...]` (index 0 is the CTC blank), SID the train
    /// speakers, KS the train labels; sorted.
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

fn manifest(dir: &Path, names: &[&str], expected: &'static str) -> Result<Manifest, ProbeError> {
    let path = names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
        .ok_or_else(|| ProbeError::MissingSplit {
            path: dir.join(names[0]),
            expected,
        })?;
    Ok(Manifest::read_jsonl(&path)?)
}

/// The label field of an utterance for `task`.
fn field(task: Task, u: &Utterance) -> Option<String> {
    match task {
        Task::Pr => u.phones.clone(),
        Task::Sid => u.speaker.clone(),
        Task::Ks => u
            .extra
            .get("label")
            .and_then(|v| v.as_str())
            .map(String::from),
    }
}

/// Reads the three splits of `task` from the corpus directory `dir`.
///
/// # Errors
/// [`ProbeError::NotFound`] (no directory), [`ProbeError::MissingSplit`],
/// [`ProbeError::Audio`] (an invalid manifest line), [`ProbeError::MissingLabel`] (an
/// utterance without the task's field), [`ProbeError::EmptySplit`].
pub fn read_task(dir: impl AsRef<Path>, task: Task) -> Result<TaskData, ProbeError> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(ProbeError::NotFound { path: dir.into() });
    }
    let (base, expected) = match task {
        Task::Pr | Task::Sid => (
            dir.to_path_buf(),
            "train.jsonl, valid.jsonl and test.jsonl with phones and speakers",
        ),
        Task::Ks => (
            dir.join("ks"),
            "ks/train.jsonl, ks/valid.jsonl and ks/test.jsonl with labels",
        ),
    };
    let manifests = [
        manifest(&base, &["train.jsonl"], expected)?,
        manifest(&base, &["valid.jsonl", "dev.jsonl"], expected)?,
        manifest(&base, &["test.jsonl"], expected)?,
    ];
    let field_name = match task {
        Task::Pr => "phones",
        Task::Sid => "speaker",
        Task::Ks => "label",
    };
    let mut raw: Vec<Vec<String>> = Vec::new();
    for m in &manifests {
        let mut values = Vec::with_capacity(m.len());
        for (i, u) in m.utterances.iter().enumerate() {
            let value = field(task, u).ok_or_else(|| ProbeError::MissingLabel {
                path: m.source.clone(),
                line: i + 1,
                field: field_name,
                task: task.name(),
            })?;
            values.push(value);
        }
        raw.push(values);
    }
    let classes: Vec<String> = match task {
        // The phone set of all splits: a symbol set, not labels, so dev/test phones that train
        // lacks still count as errors rather than being dropped.
        Task::Pr => std::iter::once(BLANK.to_string())
            .chain(
                raw.iter()
                    .flatten()
                    .flat_map(|p| p.split_whitespace().map(String::from))
                    .collect::<BTreeSet<_>>(),
            )
            .collect(),
        Task::Sid | Task::Ks => raw[0]
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let index = |name: &str| classes.iter().position(|c| c == name);
    let mut sets = Vec::with_capacity(3);
    for (m, values) in manifests.into_iter().zip(raw) {
        let mut set = LabelledSet {
            source: m.source.clone(),
            ..LabelledSet::default()
        };
        for (u, value) in m.utterances.into_iter().zip(values) {
            let label: Option<Vec<usize>> = match task {
                Task::Pr => {
                    let phones: Vec<usize> = value
                        .split_whitespace()
                        .map(|p| index(p).expect("every phone is a class"))
                        .collect();
                    (!phones.is_empty()).then_some(phones)
                }
                Task::Sid | Task::Ks => index(&value).map(|c| vec![c]),
            };
            match label {
                Some(l) => {
                    set.utterances.push(u);
                    set.labels.push(l);
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
        dir: dir.into(),
        classes,
        train,
        dev,
        test,
    })
}
