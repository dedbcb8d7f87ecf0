//! Typed errors of the training loop.

use std::path::PathBuf;

/// Everything that can go wrong while configuring, running, checkpointing or resuming training.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A configuration value is out of its valid range.
    #[error("invalid training config: `{field}` {expected}, got {got}")]
    InvalidConfig {
        /// The offending field name (as spelled in TOML).
        field: &'static str,
        /// What the value must satisfy.
        expected: &'static str,
        /// The value found.
        got: String,
    },
    /// The TOML text could not be parsed into a [`crate::TrainConfig`] (unknown field, wrong type...).
    #[error("{}: cannot parse training config: {message}", path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<string>".into()))]
    ConfigParse {
        /// File the config came from, if any.
        path: Option<PathBuf>,
        /// The field involved, when the parser names one.
        field: Option<String>,
        /// The parser's message (it names the field and line).
        message: String,
    },
    /// Loss or gradient norm was NaN or infinite and the policy is `stop`.
    #[error("non-finite {what} at step {step}; the run stopped, last good checkpoint is untouched")]
    NonFinite {
        /// The optimizer step (1-based) that produced the value.
        step: u64,
        /// `"loss"` or `"grad_norm"`.
        what: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A checkpoint could not be written or read.
    #[error("{}: checkpoint error: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file or directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The data source failed to produce a batch or to restore its cursor.
    #[error("data source error at step {step}: {message}")]
    Data {
        /// The optimizer step being assembled.
        step: u64,
        /// The data source's message.
        message: String,
    },
    /// The validator failed.
    #[error("validation error at step {step}: {message}")]
    Validation {
        /// The optimizer step after which validation ran.
        step: u64,
        /// The validator's message.
        message: String,
    },
    /// A parameter group (`TrainConfig::param_groups`) is malformed or does not fit the model.
    #[error("parameter group `{group}`: expected {expected}, got {got}")]
    ParamGroup {
        /// The group's name.
        group: String,
        /// What the group must satisfy.
        expected: &'static str,
        /// What was found.
        got: String,
    },
    /// `RunOptions::devices` cannot be used.
    #[error("RunOptions::devices[{index}] ({device}): expected {expected}")]
    Device {
        /// Position in `RunOptions::devices`.
        index: usize,
        /// The device, as `Debug` prints it.
        device: String,
        /// What the device must satisfy.
        expected: &'static str,
    },
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn ckpt(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Checkpoint {
            path: path.into(),
            message: message.into(),
        }
    }
}
