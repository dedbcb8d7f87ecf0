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
    /// `--data` is none of the layouts the probes read.
    #[error(
        "{}: not a probe data directory: expected a synthetic corpus (train.jsonl, ks/), Speech \
         Commands v1 (validation_list.txt, testing_list.txt, _background_noise_/), VoxCeleb1 \
         (iden_split.txt, wav/) or LibriSpeech (train-clean-100/, dev-clean/, test-clean/); or \
         name one with --layout",
        path.display()
    )]
    UnknownLayout {
        /// The directory.
        path: PathBuf,
    },
    /// The directory's layout does not hold the task's labels.
    #[error(
        "{}: a {layout} directory has no labels for the {task} probe (it reads {reads})",
        path.display()
    )]
    WrongLayout {
        /// The directory.
        path: PathBuf,
        /// Its layout (`speech-commands`...).
        layout: &'static str,
        /// The task asked for (`sid`...).
        task: &'static str,
        /// The layouts that hold the task's labels.
        reads: &'static str,
    },
    /// A file or directory a real layout needs is absent.
    #[error("{}: missing ({what})", path.display())]
    MissingFile {
        /// The path looked for.
        path: PathBuf,
        /// What it is and who needs it.
        what: &'static str,
    },
    /// A line of a list, split, transcript or lexicon file that cannot be used.
    #[error("{}: line {line}: {reason}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A text file or directory of a real layout that cannot be read.
    #[error("{}: cannot read: {message}", path.display())]
    Unreadable {
        /// The file or directory.
        path: PathBuf,
        /// The I/O or encoding error.
        message: String,
    },
    /// An audio file named by a list, split or transcript file does not exist.
    #[error(
        "{}: audio file not found (listed in {} line {line}; --skip-bad-audio skips it)",
        path.display(),
        listed_in.display()
    )]
    MissingAudio {
        /// The audio file.
        path: PathBuf,
        /// The file that lists it.
        listed_in: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A dev or test utterance of a speaker with no training utterance (SID is closed-set).
    #[error(
        "{}: line {line}: speaker {speaker} has no training utterance (speaker identification \
         is closed-set; --skip-bad-audio skips it)",
        path.display()
    )]
    UnknownSpeaker {
        /// The split file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The speaker.
        speaker: String,
    },
    /// A transcript word the pronunciation lexicon lacks.
    #[error(
        "{}: line {line}: word {word:?} is not in the lexicon {} (--skip-bad-audio skips the \
         utterance)",
        path.display(),
        lexicon.display()
    )]
    NotInLexicon {
        /// The transcript file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The word.
        word: String,
        /// The lexicon.
        lexicon: PathBuf,
    },
    /// PR on LibriSpeech needs a pronunciation lexicon.
    #[error(
        "{}: the pr probe on LibriSpeech needs --lexicon FILE (one word and its phones a line, \
         as s3prl's librispeech-lexicon.txt)",
        path.display()
    )]
    LexiconRequired {
        /// The LibriSpeech directory.
        path: PathBuf,
    },
    /// An utterance lacks the label a task needs.
    #[error("{}: line {line} has no `{field}` (needed by the {task} probe)", path.display())]
    MissingLabel {
        /// The manifest.
        path: PathBuf,
        /// 1-based line of the utterance (blank lines not counted).
        line: usize,
        /// The field (`phones`, `speaker`, `label`, `text`).
        field: &'static str,
        /// The task (`pr`, `sid`, `ks`, `asr`).
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
