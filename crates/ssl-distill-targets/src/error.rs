//! Errors of target strategies.

use std::path::PathBuf;

/// A target configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// No layer given.
    #[error("a fixed target list needs at least one layer")]
    Empty,
    /// A group count or `k` out of range.
    #[error("k = {k} is out of range for {layers} layers (need 1 <= k <= {layers})")]
    BadK {
        /// The requested count.
        k: usize,
        /// Layers available.
        layers: usize,
    },
    /// Calibration batches disagree with each other.
    #[error("calibration: {what}: expected {expected}, got {got}")]
    Calibration {
        /// What differs.
        what: &'static str,
        /// Expected count or size.
        expected: usize,
        /// Count or size found.
        got: usize,
    },
    /// No calibration frames were accumulated.
    #[error("calibration: no valid frames accumulated")]
    NoFrames,
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A saved target file is not valid JSON for this type.
    #[error("{}: invalid targets file: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
}
