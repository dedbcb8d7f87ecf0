//! Errors of decoding, resampling, manifests, datasets and loaders.
//!
//! Every variant that comes from a file carries its `path`, and its message names it, so a
//! user can tell which of a corpus's thousands of files is broken.

use std::path::PathBuf;

/// What can go wrong when reading audio, a manifest, or a batch of utterances.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The file does not exist.
    #[error("{}: file not found", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, I/O failure...).
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file has 0 bytes.
    #[error("{}: file is empty (0 bytes)", path.display())]
    EmptyFile {
        /// The empty file.
        path: PathBuf,
    },
    /// The file is not a format this crate decodes (only WAV and FLAC are).
    #[error(
        "{}: unsupported audio format ({detected}); expected WAV (PCM or 32-bit float) or FLAC",
        path.display()
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// What the magic bytes look like (`"OGG"`, `"MP3"`, `"text"`, `"unknown"`...).
        detected: &'static str,
    },
    /// The file has a WAV or FLAC signature but its content cannot be decoded.
    #[error("{}: corrupt {format} file: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// `"WAV"` or `"FLAC"`.
        format: &'static str,
        /// What the decoder reported.
        reason: String,
    },
    /// The file holds fewer samples than its header declares.
    #[error(
        "{}: truncated {format} file: header declares {expected} samples per channel, only {got} present",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// `"WAV"` or `"FLAC"`.
        format: &'static str,
        /// Samples per channel the header declares.
        expected: u64,
        /// Samples per channel actually decoded.
        got: u64,
    },
    /// The file decodes to zero samples (for instance a WAV header with an empty data chunk).
    #[error("{}: audio has zero samples", path.display())]
    NoSamples {
        /// The file.
        path: PathBuf,
    },
    /// The decoded audio contains NaN or infinite samples.
    #[error(
        "{}: {count} non-finite samples (NaN or inf), first at sample {first_index}",
        path.display()
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Index (in mono samples) of the first non-finite sample.
        first_index: usize,
        /// How many mono samples are non-finite.
        count: usize,
    },
    /// The header's sample rate is 0 or absurdly large.
    #[error("{}: invalid sample rate {rate} Hz (must be in 1..={max})", path.display())]
    BadSampleRate {
        /// The file.
        path: PathBuf,
        /// The declared rate.
        rate: u32,
        /// Largest accepted rate ([`MAX_SAMPLE_RATE`](crate::MAX_SAMPLE_RATE)).
        max: u32,
    },
    /// The file's channel count is 0.
    #[error("{}: invalid channel count {channels}", path.display())]
    BadChannels {
        /// The file.
        path: PathBuf,
        /// The declared number of channels.
        channels: u32,
    },
    /// Resampling the file failed.
    #[error("{}: {source}", path.display())]
    Resample {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: ResampleError,
    },
    /// A manifest line does not parse.
    #[error("{}:{line}: bad manifest line: {reason}", path.display())]
    ManifestLine {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A fairseq TSV manifest whose first line is not the root directory.
    #[error(
        "{}:1: a fairseq TSV manifest must start with the root directory, found a data row `{first_line}`",
        path.display()
    )]
    MissingTsvRoot {
        /// The manifest.
        path: PathBuf,
        /// The first line as read.
        first_line: String,
    },
    /// A manifest lists no utterance (or a folder holds no audio file).
    #[error("{}: manifest lists no audio file", path.display())]
    EmptyManifest {
        /// The manifest file or folder.
        path: PathBuf,
    },
    /// The manifest path is neither a folder nor a `.tsv` / `.jsonl` file.
    #[error("{}: unknown manifest kind (expected a folder, a .tsv or a .jsonl file)", path.display())]
    UnknownManifest {
        /// The path given.
        path: PathBuf,
    },
    /// A manifest's declared length disagrees with the decoded file.
    #[error(
        "{}: manifest declares {declared} samples, the file has {got} (at its native rate)",
        path.display()
    )]
    LengthMismatch {
        /// The audio file.
        path: PathBuf,
        /// The manifest's `num_samples`.
        declared: u64,
        /// The decoded length in samples at the file's own rate.
        got: u64,
    },
    /// With `skip_bad_audio`, a whole epoch gave no readable utterance.
    #[error("{}: none of the utterances could be loaded ({skipped} skipped)", path.display())]
    NoUsableAudio {
        /// The manifest.
        path: PathBuf,
        /// Utterances skipped in that epoch.
        skipped: usize,
    },
    /// An utterance index outside the dataset.
    #[error("utterance index {index} out of range (dataset has {len})")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The dataset's length.
        len: usize,
    },
    /// A loader option is invalid.
    #[error("invalid loader option `{field}`: {reason}")]
    InvalidOption {
        /// The option's name.
        field: &'static str,
        /// What it must satisfy.
        reason: &'static str,
    },
}

impl AudioError {
    /// The file the error is about, when there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Self::NotFound { path }
            | Self::Io { path, .. }
            | Self::EmptyFile { path }
            | Self::UnsupportedFormat { path, .. }
            | Self::Corrupt { path, .. }
            | Self::Truncated { path, .. }
            | Self::NoSamples { path }
            | Self::NonFinite { path, .. }
            | Self::BadSampleRate { path, .. }
            | Self::BadChannels { path, .. }
            | Self::Resample { path, .. }
            | Self::ManifestLine { path, .. }
            | Self::MissingTsvRoot { path, .. }
            | Self::EmptyManifest { path }
            | Self::UnknownManifest { path }
            | Self::LengthMismatch { path, .. }
            | Self::NoUsableAudio { path, .. } => Some(path),
            Self::IndexOutOfRange { .. } | Self::InvalidOption { .. } => None,
        }
    }

    /// Builds [`AudioError::NotFound`] or [`AudioError::Io`] from an I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Self::NotFound { path }
        } else {
            Self::Io { path, source }
        }
    }
}

/// What can go wrong in [`resample`](crate::resample) (no file involved).
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ResampleError {
    /// A rate is 0 or larger than [`MAX_SAMPLE_RATE`](crate::MAX_SAMPLE_RATE).
    #[error("invalid sample rate {rate} Hz for resampling")]
    BadRate {
        /// The offending rate.
        rate: u32,
    },
    /// rubato refused the configuration or the buffers.
    #[error("resampler failed: {reason}")]
    Resampler {
        /// rubato's message.
        reason: String,
    },
}
