//! Loading a checkpoint whatever its format: an HF directory with `config.json` +
//! `model.safetensors` (or `pytorch_model.bin`), or a fairseq `.pt` file (see
//! [`crate::load_fairseq`]: the architecture and the input preprocessing come from its pickled
//! configuration, and from its tensors where the configuration is silent). The weights of both
//! go through [`load_hf_state_dict_with`].

use std::path::Path;

use burn::tensor::Device;

use crate::config::SslConfig;
use crate::error::{ConfigError, LoadError};
use crate::fairseq::{load_fairseq, read_fairseq_preprocessor, read_pytorch};
use crate::head::HubertHead;
use crate::load::{LoadReport, load_hf_state_dict_with, unused_allowlist};
use crate::model::SslModel;
use crate::preprocessor::Preprocessor;
use crate::state::read_safetensors;

/// Loads an HF model directory (`config.json` + `model.safetensors` or `pytorch_model.bin`)
/// or a fairseq `.pt` file onto `device`.
///
/// # Errors
/// Every [`LoadError`]: unreadable or invalid files, missing/unexpected tensors, wrong shapes,
/// unsupported dtypes.
pub fn load_checkpoint(
    path: impl AsRef<Path>,
    device: &Device,
) -> Result<(SslConfig, SslModel, LoadReport), LoadError> {
    let c = load_checkpoint_full(path, device)?;
    Ok((c.config, c.model, c.report))
}

/// A checkpoint with everything a teacher needs besides its weights.
#[derive(Debug)]
pub struct Checkpoint {
    /// The architecture.
    pub config: SslConfig,
    /// The model.
    pub model: SslModel,
    /// What was loaded and ignored.
    pub report: LoadReport,
    /// HuBERT's pretraining head (`final_proj` + `label_embs_concat`) when the checkpoint has
    /// one: fairseq HuBERT checkpoints, and HF directories whose weights carry those tensors
    /// (this project's pretrained teachers do; `transformers` ignores them).
    pub head: Option<HubertHead>,
    /// The input preprocessing (`preprocessor_config.json`; a fairseq file's `task.normalize`
    /// and `task.sample_rate`).
    pub preprocessor: Preprocessor,
    /// For a fairseq file, the fields its configuration does not give and that were inferred
    /// from its tensors ([`FairseqCheckpoint::inferred`](crate::FairseqCheckpoint)); empty for
    /// an HF directory, whose `config.json` says everything.
    pub inferred: Vec<&'static str>,
}

/// As [`load_checkpoint`], also returning the pretraining head and the preprocessing.
///
/// # Errors
/// As [`load_checkpoint`], and [`ConfigError`](crate::ConfigError) for an invalid
/// `preprocessor_config.json`.
pub fn load_checkpoint_full(
    path: impl AsRef<Path>,
    device: &Device,
) -> Result<Checkpoint, LoadError> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(LoadError::Io {
            path: path.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        });
    }
    if !path.is_dir() {
        if path.extension().is_some_and(|e| e == "pt") {
            let ckpt = load_fairseq(path, &Default::default(), device)?;
            return Ok(Checkpoint {
                config: ckpt.config,
                model: ckpt.model,
                report: ckpt.report,
                head: ckpt.head,
                preprocessor: ckpt.preprocessor,
                inferred: ckpt.inferred,
            });
        }
        return Err(LoadError::NotACheckpoint {
            path: path.into(),
            reason: "expected an HF model directory (config.json + model.safetensors) or a \
                     fairseq .pt checkpoint"
                .into(),
        });
    }
    let config = SslConfig::from_hf_json(path.join("config.json"))?;
    let preprocessor = Preprocessor::read(path)?;
    let safetensors = path.join("model.safetensors");
    let bin = path.join("pytorch_model.bin");
    let (dict, weights) = if safetensors.exists() {
        (read_safetensors(&safetensors)?, safetensors)
    } else if bin.exists() {
        (read_pytorch(&bin, None)?, bin)
    } else {
        return Err(LoadError::NotACheckpoint {
            path: path.into(),
            reason: "no model.safetensors or pytorch_model.bin in the directory".into(),
        });
    };
    let head = HubertHead::copied(&dict);
    let needed = weights_lower_bound(&config);
    let held: u128 = dict.values().map(|t| t.data.len() as u128).sum();
    // Far more, not just more: a few missing or mis-shaped tensors get their precise errors below.
    if needed > held.saturating_mul(4).saturating_add(1 << 20) {
        return Err(LoadError::SizeMismatch {
            config: path.join("config.json"),
            weights,
            needed,
            held,
        });
    }
    let mut model = config.init(device);
    let allow = unused_allowlist(config.kind);
    let report = load_hf_state_dict_with(&mut model, dict, &weights, device, allow)?;
    Ok(Checkpoint {
        config,
        model,
        report,
        head,
        preprocessor,
        inferred: Vec::new(),
    })
}

/// A lower bound of the number of weights of `config`'s model: its conv kernels, feature
/// projection, positional conv and attention/FFN matrices (no biases or norms), which every
/// family has. A weights file holding far fewer values cannot fit the config.
fn weights_lower_bound(config: &SslConfig) -> u128 {
    let n = |v: usize| v as u128;
    let mut total = 0u128;
    let mut channels_in = 1u128;
    for (&c, &k) in config.conv_dim.iter().zip(&config.conv_kernel) {
        total = total.saturating_add(channels_in.saturating_mul(n(c)).saturating_mul(n(k)));
        channels_in = n(c);
    }
    let h = n(config.hidden_size);
    let groups = n(config.num_conv_pos_embedding_groups.max(1));
    let layer = h.saturating_mul(h).saturating_mul(4).saturating_add(
        h.saturating_mul(n(config.intermediate_size))
            .saturating_mul(2),
    );
    total
        .saturating_add(channels_in.saturating_mul(h))
        .saturating_add(
            (h.saturating_mul(h) / groups).saturating_mul(n(config.num_conv_pos_embeddings)),
        )
        .saturating_add(layer.saturating_mul(n(config.num_hidden_layers)))
}

impl Preprocessor {
    /// Reads `model_dir/preprocessor_config.json`; the defaults when the file is absent. Given
    /// a fairseq `.pt` file instead of a directory, its configuration's `normalize` and
    /// `sample_rate` ([`read_fairseq_preprocessor`](crate::read_fairseq_preprocessor)).
    ///
    /// # Errors
    /// [`ConfigError::Io`], [`ConfigError::Json`] for an unreadable file or invalid JSON,
    /// [`ConfigError::Unsupported`] for a `sampling_rate` that is not a positive integer;
    /// [`ConfigError::Invalid`] for a fairseq file that cannot be read (the reason says why).
    pub fn read(model_dir: &Path) -> Result<Self, ConfigError> {
        if model_dir.is_file() && model_dir.extension().is_some_and(|e| e == "pt") {
            return read_fairseq_preprocessor(model_dir).map_err(|e| ConfigError::Invalid {
                path: model_dir.into(),
                reason: e.to_string(),
            });
        }
        Self::read_hf_dir(model_dir)
    }
}
