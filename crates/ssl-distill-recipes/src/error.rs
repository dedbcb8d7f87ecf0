//! Errors of recipes and distillation runs.

use std::path::PathBuf;

/// Everything that can stop a recipe from being read, resolved against a teacher, or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecipeError {
    /// The recipe file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The recipe TOML does not parse (unknown field, wrong type, ...); the message names the
    /// field and line.
    #[error("{}: invalid recipe: {message}", path.display())]
    Parse {
        /// The recipe file (`<string>` for text).
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A recipe value is invalid (on its own or for this teacher).
    #[error("{}: recipe field `{field}` {problem}", path.display())]
    Invalid {
        /// The recipe file (`<string>` for text).
        path: PathBuf,
        /// The field, in TOML spelling (`student.layers`, `targets.layers`, ...).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A required input was given neither in the recipe nor on the command line.
    #[error("no {what}: set `{field}` in the recipe or pass {flag}")]
    Missing {
        /// What is missing (`teacher checkpoint`, `training data`).
        what: &'static str,
        /// The recipe field.
        field: &'static str,
        /// The command-line flag.
        flag: &'static str,
    },
    /// The teacher checkpoint could not be loaded.
    #[error(transparent)]
    Teacher(#[from] ssl_distill_models::LoadError),
    /// Audio or a manifest could not be read.
    #[error(transparent)]
    Audio(#[from] ssl_distill_audio::AudioError),
    /// Acoustic features (the MFCCs of pretraining units) could not be computed.
    #[error("features: {0}")]
    Features(#[from] ssl_distill_audio::FeatureError),
    /// The student could not be built, initialised, saved or loaded.
    #[error(transparent)]
    Student(#[from] ssl_distill_students::StudentError),
    /// Layer targets could not be computed (calibration, clustering).
    #[error("layer targets: {0}")]
    Targets(#[from] ssl_distill_targets::TargetError),
    /// A loss is misconfigured.
    #[error("loss: {0}")]
    Loss(#[from] ssl_distill_losses::LossError),
    /// k-means codewords could not be fitted.
    #[error("k-means codewords: {0}")]
    KMeans(#[from] ssl_distill_losses::KMeansError),
    /// The training loop failed (checkpoint, NaN, data).
    #[error(transparent)]
    Train(#[from] ssl_distill_train::TrainError),
    /// Writing a run file failed.
    #[error("{}: {message}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl RecipeError {
    pub(crate) fn invalid(
        path: &std::path::Path,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}
