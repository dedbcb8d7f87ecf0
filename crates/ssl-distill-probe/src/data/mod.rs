//! Reading a task's labelled splits ([`read_task`], [`read_task_with`]) from a data directory
//! in one of the four [`Layout`]s: one reader per layout, and [`labelled::build`] turning what
//! a reader found into [`TaskData`].

mod files;
mod labelled;
mod lexicon;
mod librispeech;
mod speech_commands;
mod synth;
mod voxceleb;

use std::path::Path;

use crate::error::ProbeError;
use crate::layout::{DataOptions, Layout, detect_layout, layouts_for};
use crate::task::Task;

pub use labelled::{Crop, LabelledSet, TaskData};
pub use lexicon::Lexicon;
pub use speech_commands::{SILENCE, SPEECH_COMMANDS_CLASSES, UNKNOWN};

/// Reads the three splits of `task` from `dir`, detecting its layout; see [`read_task_with`].
///
/// # Errors
/// As [`read_task_with`].
pub fn read_task(dir: impl AsRef<Path>, task: Task) -> Result<TaskData, ProbeError> {
    read_task_with(dir, task, &DataOptions::default())
}

/// Reads the three splits of `task` from `dir` as `options` say.
///
/// # Errors
/// [`ProbeError::NotFound`] (no directory), [`ProbeError::UnknownLayout`],
/// [`ProbeError::WrongLayout`] (the layout has no labels for `task`), and the layout's own:
/// synthetic [`ProbeError::MissingSplit`], [`ProbeError::Audio`] (an invalid manifest line),
/// [`ProbeError::MissingLabel`]; real layouts [`ProbeError::MissingFile`],
/// [`ProbeError::BadLine`], [`ProbeError::MissingAudio`], [`ProbeError::UnknownSpeaker`],
/// [`ProbeError::NotInLexicon`], [`ProbeError::LexiconRequired`]; and
/// [`ProbeError::EmptySplit`].
pub fn read_task_with(
    dir: impl AsRef<Path>,
    task: Task,
    options: &DataOptions,
) -> Result<TaskData, ProbeError> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(ProbeError::NotFound { path: dir.into() });
    }
    let layout = match options.layout {
        Some(l) => l,
        None => detect_layout(dir).ok_or_else(|| ProbeError::UnknownLayout { path: dir.into() })?,
    };
    if !layout.tasks().contains(&task) {
        return Err(ProbeError::WrongLayout {
            path: dir.into(),
            layout: layout.name(),
            task: task.name(),
            reads: layouts_for(task),
        });
    }
    match layout {
        Layout::Synthetic => synth::read(dir, task),
        Layout::SpeechCommands => speech_commands::read(dir, options),
        Layout::VoxCeleb1 => voxceleb::read(dir, options),
        Layout::LibriSpeech => librispeech::read(dir, task, options),
    }
}
