//! Errors of this crate: [`ConfigError`] (reading `config.json`), [`LoadError`] (checkpoints) and
//! [`ExportError`] (writing an HF directory).

use std::path::PathBuf;

/// A `config.json` that cannot be read or describes an unsupported model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid JSON (or a field has the wrong JSON type).
    #[error("{} is not a valid config.json: {source}", path.display())]
    Json {
        /// The config file.
        path: PathBuf,
        /// The parser error (names the line and column).
        source: serde_json::Error,
    },
    /// A required key is absent.
    #[error("{} lacks the required key `{key}`", path.display())]
    MissingKey {
        /// The config file.
        path: PathBuf,
        /// The missing key.
        key: &'static str,
    },
    /// A key has a value this crate does not implement.
    #[error("{}: unsupported value {value:?} for `{key}`", path.display())]
    Unsupported {
        /// The config file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// Its value.
        value: String,
    },
    /// The sizes do not fit together.
    #[error("{}: invalid architecture: {reason}", path.display())]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
}

/// A checkpoint that cannot be loaded into a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The model's `config.json` is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The path is neither an HF directory (config.json + weights) nor a fairseq `.pt`.
    #[error("{}: not a checkpoint ({reason})", path.display())]
    NotACheckpoint {
        /// The path given.
        path: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// The safetensors file is malformed or truncated.
    #[error("{} is not a valid safetensors file: {source}", path.display())]
    Safetensors {
        /// The weights file.
        path: PathBuf,
        /// The parser error.
        source: safetensors::SafeTensorError,
    },
    /// A PyTorch pickle (`pytorch_model.bin`, fairseq `.pt`) could not be read.
    #[error("cannot read the PyTorch checkpoint {}: {message}", path.display())]
    Pytorch {
        /// The weights file.
        path: PathBuf,
        /// burn-store's error message.
        message: String,
    },
    /// A tensor has a dtype we cannot convert to f32.
    #[error("{}: tensor `{key}` has unsupported dtype {dtype}", path.display())]
    Dtype {
        /// The weights file.
        path: PathBuf,
        /// The tensor key.
        key: String,
        /// Its dtype.
        dtype: String,
    },
    /// Tensors the model needs are absent.
    #[error("{}: missing tensors: {}", path.display(), keys.join(", "))]
    MissingKeys {
        /// The weights file.
        path: PathBuf,
        /// Missing keys (checkpoint names).
        keys: Vec<String>,
    },
    /// Tensors the model does not use and that are not on its allowlist.
    #[error("{}: unexpected tensors: {}", path.display(), keys.join(", "))]
    UnexpectedKeys {
        /// The weights file.
        path: PathBuf,
        /// Unexpected keys (checkpoint names).
        keys: Vec<String>,
    },
    /// A tensor has a shape other than the one the config implies.
    #[error("{}: tensor `{key}` has shape {found:?}, expected {expected:?}", path.display())]
    Shape {
        /// The weights file.
        path: PathBuf,
        /// The tensor key (checkpoint name).
        key: String,
        /// The shape the model needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// `config.json` describes a model far larger than its weights file holds (checked before
    /// the model is allocated, so absurd sizes give this error instead of an out-of-memory
    /// abort; smaller mismatches are [`LoadError::Shape`] or [`LoadError::MissingKeys`]).
    #[error(
        "{}: the sizes describe a model of at least {needed} weights, but {} holds only {held} values",
        config.display(),
        weights.display()
    )]
    SizeMismatch {
        /// The `config.json`.
        config: PathBuf,
        /// The weights file.
        weights: PathBuf,
        /// A lower bound of the weights the config's model has.
        needed: u128,
        /// Values in the weights file.
        held: u128,
    },
    /// A fairseq checkpoint's pickled configuration (`cfg` / `args`) has a field of the wrong
    /// type or a value this crate does not implement.
    #[error("{}: fairseq configuration field `{field}`: {reason}", path.display())]
    FairseqConfig {
        /// The checkpoint.
        path: PathBuf,
        /// The field (`cfg.model.encoder_attention_heads`, `args.arch`...).
        field: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// A fairseq checkpoint whose configuration contradicts its tensors.
    #[error(
        "{}: the configuration says `{field}` = {declared}, but tensor `{tensor}` {found}",
        path.display()
    )]
    FairseqMismatch {
        /// The checkpoint.
        path: PathBuf,
        /// The fairseq field.
        field: &'static str,
        /// Its declared value.
        declared: String,
        /// The tensor that contradicts it.
        tensor: String,
        /// What the tensor says.
        found: String,
    },
    /// A fairseq checkpoint whose architecture cannot be inferred from its tensors.
    #[error("{}: cannot infer the architecture: {reason}", path.display())]
    Infer {
        /// The checkpoint.
        path: PathBuf,
        /// What is missing or inconsistent.
        reason: String,
    },
}

/// Features that cannot be extracted ([`crate::Extractor`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// An utterance gives no frame.
    #[error(
        "utterance {index}: {samples} samples is shorter than the model's receptive field (no frame)"
    )]
    TooShort {
        /// Its position in the input.
        index: usize,
        /// Its length in samples.
        samples: usize,
    },
    /// A hidden state the model does not have.
    #[error("hidden state {layer} does not exist: the model has hidden states 0..={}", available - 1)]
    Layer {
        /// The index asked for.
        layer: usize,
        /// The model's number of hidden states, `L + 1`.
        available: usize,
    },
    /// An empty list of hidden states.
    #[error("no hidden state to extract: the list of layers is empty")]
    NoLayers,
}

/// An HF directory that cannot be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The safetensors serialiser failed.
    #[error("cannot serialise {}: {source}", path.display())]
    Safetensors {
        /// The weights file.
        path: PathBuf,
        /// The serialiser error.
        source: safetensors::SafeTensorError,
    },
    /// A parameter could not be read back from the device.
    #[error("cannot read parameter `{key}` from the device: {message}")]
    Data {
        /// The parameter (HF name).
        key: String,
        /// The backend's message.
        message: String,
    },
}
