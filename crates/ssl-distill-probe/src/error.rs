//! Errors of this crate: [`ProbeError`] (loading an upstream, reading a task's data, running a
//! probe or an analysis, writing results).

use std::path::PathBuf;

/// Anything that stops a probe or an analysis. Every variant that comes from a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// A path given by the user does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// The path is neither a teacher checkpoint nor a student directory.
    #[error(
        "{}: not an upstream model: expected a teacher (an HF directory with config.json, or a \
         fairseq .pt file) or a student directory (student.json + model.safetensors)",
        path.display()
    )]
    NotAnUpstream {
        /// The path given.
        path: PathBuf,
    },
    /// A teacher checkpoint that cannot be loaded (the source names the file).
    #[error(transparent)]
    Teacher(#[from] ssl_distill_models::LoadError),
    /// A student directory that cannot be loaded (the source names the file).
    #[error(transparent)]
    Student(#[from] ssl_distill_students::StudentError),
    /// A manifest or an audio file that cannot be read (the source names the file).
    #[error(transparent)]
    Audio(#[from] ssl_distill_audio::AudioError),
    /// A file of the corpus directory a task needs is absent.
    #[error(
        "{}: missing; --data must be a corpus directory as `ssl-distill corpus synth` writes it \
         ({expected})",
        path.display()
    )]
    MissingSplit {
        /// The file looked for.
        path: PathBuf,
        /// What the task reads.
        expected: &'static str,
    },
    /// An utterance lacks the label a task needs.
    #[error("{}: line {line} has no `{field}` (needed by the {task} probe)", path.display())]
    MissingLabel {
        /// The manifest.
        path: PathBuf,
        /// 1-based line of the utterance (blank lines not counted).
        line: usize,
        /// The field (`phones`, `speaker`, `label`).
        field: &'static str,
        /// The task (`pr`, `sid`, `ks`).
        task: &'static str,
    },
    /// A split has no usable utterance.
    #[error("{}: no usable utterances for the {task} probe", path.display())]
    EmptySplit {
        /// The manifest.
        path: PathBuf,
        /// The task.
        task: &'static str,
    },
    /// An audio file is too short to give a single frame.
    #[error(
        "{}: {samples} samples is shorter than the model's receptive field (no frame)",
        path.display()
    )]
    TooShort {
        /// The audio file.
        path: PathBuf,
        /// Its length at 16 kHz.
        samples: usize,
    },
    /// The model and the teacher of an analysis give different frame counts for an utterance.
    #[error(
        "{}: the model gives {model} frames and the teacher {teacher}; CKA needs the same frames \
         (same conv kernels and strides)",
        path.display()
    )]
    FrameMismatch {
        /// The audio file.
        path: PathBuf,
        /// Frames of the model.
        model: usize,
        /// Frames of the teacher.
        teacher: usize,
    },
    /// An option out of range.
    #[error("invalid {field}: {reason}")]
    InvalidOption {
        /// The option (`clusters`, `utterances`, `epochs`...).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A probe report (`probe-<task>.json`) that cannot be read or parsed.
    #[error("{}: not a readable probe report: {message}", path.display())]
    BadReport {
        /// The file.
        path: PathBuf,
        /// The I/O or JSON error.
        message: String,
    },
    /// A result file could not be written (the source names the file).
    #[error(transparent)]
    Write(#[from] ssl_distill_models::ExportError),
    /// A plot could not be drawn or encoded.
    #[error("{}: cannot draw the plot: {message}", path.display())]
    Plot {
        /// The PNG file.
        path: PathBuf,
        /// The drawing or encoding library's message.
        message: String,
    },
}
