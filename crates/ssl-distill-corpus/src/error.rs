//! Error type of the corpus generator.
use std::path::PathBuf;

/// Everything that can go wrong while generating a corpus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorpusError {
    /// The crate was built without the `espeak` feature.
    #[error(
        "espeak-ng support not compiled in: install it (`apt-get install libespeak-ng-dev`) and build with the `espeak` feature"
    )]
    EspeakMissing,
    /// A FLAC clip could not be encoded or written.
    #[error("{}: cannot write FLAC: {message}", path.display())]
    Flac {
        /// The clip.
        path: std::path::PathBuf,
        /// The encoder's message.
        message: String,
    },
    /// libespeak-ng could not be loaded at run time.
    #[error(
        "libespeak-ng not found ({reason}): install it (`apt-get install libespeak-ng1 espeak-ng-data wordnet-base`)"
    )]
    EspeakNotFound {
        /// The loader's messages for each library name tried.
        reason: String,
    },
    /// The espeak-ng data directory was not found.
    #[error(
        "espeak-ng data directory not found at {path} (install `espeak-ng-data`, or set ESPEAK_DATA_PATH to the directory containing it)"
    )]
    EspeakDataMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A libespeak-ng call failed.
    #[error("espeak-ng call {call} failed with code {code}")]
    Espeak {
        /// The C function.
        call: &'static str,
        /// Its return code.
        code: i32,
    },
    /// The WordNet data files were not found.
    #[error("WordNet data not found at {path} (install it: `apt-get install wordnet-base`)")]
    WordnetMissing {
        /// Where they were looked for.
        path: PathBuf,
    },
    /// Too few sentences survived filtering for the requested preset.
    #[error("not enough sentences: expected at least {expected}, got {got}")]
    NotEnoughText {
        /// Needed.
        expected: usize,
        /// Available.
        got: usize,
    },
    /// The configuration is invalid.
    #[error("invalid corpus config: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The output directory exists and is not empty.
    #[error("output directory {path} already exists and is not empty")]
    OutputExists {
        /// The directory.
        path: PathBuf,
    },
    /// An I/O error on a path.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a WAV file failed.
    #[error("WAV error on {path}: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: hound::Error,
    },
    /// Serializing a manifest failed.
    #[error("JSON error on {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// Attach a path to an I/O error.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CorpusError {
    let path = path.into();
    move |source| CorpusError::Io { path, source }
}
