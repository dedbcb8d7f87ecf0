//! Errors of student construction, initialisation from a teacher, and checkpoint files.

use std::path::PathBuf;

/// A student that cannot be built, initialised from a teacher, saved or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudentError {
    /// The architecture is invalid.
    #[error("invalid student config: `{field}` {reason}")]
    Config {
        /// The offending field (`backbone`, `head.num_targets`, `front_end.kernel_size`...).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The architecture read from a file is invalid.
    #[error("{}: invalid student config: `{field}` {reason}", path.display())]
    ConfigFile {
        /// The `student.json`.
        path: PathBuf,
        /// The offending field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Initialisation from a teacher: a part has different parameter shapes.
    #[error(
        "cannot initialise the student from the teacher: `{part}` differs \
         (student parameter shape {student:?}, teacher {teacher:?})"
    )]
    TeacherMismatch {
        /// The part being copied (`feature_extractor`, `encoder.layers.1`...).
        part: String,
        /// Shape of the student's first differing parameter (empty: it has fewer parameters).
        student: Vec<usize>,
        /// Shape of the teacher's (empty: it has fewer parameters).
        teacher: Vec<usize>,
    },
    /// Initialisation from a teacher: more layers asked for than one of them has.
    #[error(
        "cannot copy {requested} layers from the teacher: the student has {student}, \
         the teacher {teacher}"
    )]
    TooFewLayers {
        /// Layers to copy.
        requested: usize,
        /// Layers of the student.
        student: usize,
        /// Layers of the teacher.
        teacher: usize,
    },
    /// A checkpoint directory or file does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A file or directory could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `student.json` is not valid JSON or not a student config.
    #[error("{} is not a valid student.json: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser error (names line and column, or the missing field).
        source: serde_json::Error,
    },
    /// The weights file cannot be read (not safetensors, truncated) or written.
    #[error("{}: {source}", path.display())]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// burn-store's error.
        source: burn::store::SafetensorsStoreError,
    },
    /// A tensor in the weights file has another shape than the architecture implies.
    #[error("{}: tensor `{key}` has shape {got:?}, the architecture needs {expected:?}", path.display())]
    Shape {
        /// The weights file.
        path: PathBuf,
        /// The tensor (module path, e.g. `backbone.encoder.layers.0.attention.q_proj.weight`).
        key: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
        /// The shape in the file.
        got: Vec<usize>,
    },
    /// A tensor in the weights file cannot be used (wrong dtype, unreadable data).
    #[error("{}: tensor `{key}`: {message}", path.display())]
    Tensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor.
        key: String,
        /// burn-store's message.
        message: String,
    },
    /// Tensors the architecture needs are absent from the weights file.
    #[error("{}: missing tensors: {}", path.display(), keys.join(", "))]
    MissingKeys {
        /// The weights file.
        path: PathBuf,
        /// The missing tensors.
        keys: Vec<String>,
    },
    /// A `preprocessor_config.json` that cannot be read (the source names the file).
    #[error(transparent)]
    Preprocessor(#[from] ssl_distill_models::ConfigError),
    /// A (pruned) student that no HF model class can hold.
    #[error(
        "cannot export to HF: {reason}; export it in this project's format (Student::export_dir)"
    )]
    NotHfExportable {
        /// Why (e.g. layers of different FFN widths, fewer heads than the width implies).
        reason: String,
    },
    /// Tensors in the weights file that the architecture does not have.
    #[error("{}: unexpected tensors: {}", path.display(), keys.join(", "))]
    UnexpectedKeys {
        /// The weights file.
        path: PathBuf,
        /// The extra tensors.
        keys: Vec<String>,
    },
}

impl StudentError {
    /// A [`StudentError::Config`].
    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
