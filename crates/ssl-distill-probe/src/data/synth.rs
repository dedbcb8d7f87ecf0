//! [`Layout::Synthetic`]: a corpus directory as `ssl-distill corpus synth` writes it:
//! - PR, SID, ASR: `train.jsonl`, `valid.jsonl` (or `dev.jsonl`), `test.jsonl` with `phones`
//!   (space-separated, `sil` excluded), `speaker` and `text`;
//! - KS: `ks/train.jsonl`, `ks/valid.jsonl`, `ks/test.jsonl` with `label` (12 classes: 10
//!   commands, `_unknown_`, `_silence_`); the corpus makes these splits speaker-disjoint.

use std::path::Path;

use ssl_distill_audio::{Manifest, Utterance};

use super::labelled::{
    Classes, RawItem, RawLabel, RawSplit, TaskData, asr_classes, asr_tokens, build,
};
use crate::error::ProbeError;
use crate::layout::Layout;
use crate::task::Task;

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

/// The label field of an utterance for `task`, and its name.
fn field(task: Task, u: &Utterance) -> (Option<String>, &'static str) {
    match task {
        Task::Pr => (u.phones.clone(), "phones"),
        Task::Sid => (u.speaker.clone(), "speaker"),
        Task::Asr => (u.text.clone(), "text"),
        Task::Ks => (
            u.extra
                .get("label")
                .and_then(|v| v.as_str())
                .map(String::from),
            "label",
        ),
    }
}

/// Reads `task`'s three splits from the corpus directory `dir`.
pub(super) fn read(dir: &Path, task: Task) -> Result<TaskData, ProbeError> {
    let (base, expected) = match task {
        Task::Pr | Task::Sid | Task::Asr => (
            dir.to_path_buf(),
            "train.jsonl, valid.jsonl and test.jsonl with phones, speakers and text",
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
    let mut splits: [RawSplit; 3] = Default::default();
    for (m, split) in manifests.into_iter().zip(&mut splits) {
        split.source = m.source.clone();
        for (i, u) in m.utterances.into_iter().enumerate() {
            let (value, name) = field(task, &u);
            let value = value.ok_or_else(|| ProbeError::MissingLabel {
                path: m.source.clone(),
                line: i + 1,
                field: name,
                task: task.name(),
            })?;
            let label = match task {
                Task::Pr => RawLabel::Tokens(value.split_whitespace().map(String::from).collect()),
                Task::Asr => RawLabel::Tokens(asr_tokens(&value)),
                Task::Sid | Task::Ks => RawLabel::Class(value),
            };
            split.items.push(RawItem {
                utterance: u,
                label,
                crop: None,
            });
        }
    }
    let classes = match task {
        Task::Pr => Classes::AllTokens,
        Task::Asr => Classes::Fixed(asr_classes()),
        Task::Sid | Task::Ks => Classes::FromTrain,
    };
    build(task, dir.into(), Layout::Synthetic, splits, classes)
}
