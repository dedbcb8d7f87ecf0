//! Exporting to an HF model directory that `transformers.AutoModel.from_pretrained` loads.
//!
//! Writes `config.json` ([`SslConfig::to_hf_json`]), `model.safetensors` (HF names, PyTorch
//! layouts, the positional conv as `parametrizations.weight.original0/1` with `g = ||w||` per
//! tap and `v = w`, which reproduces `w` exactly) and `preprocessor_config.json`. The directory
//! is written under a temporary name and renamed into place, so a crash never leaves a
//! half-written export.

use std::path::Path;

use burn::module::Param;
use burn::tensor::Tensor;

use crate::config::{FeatExtractNorm, SslConfig};
use crate::error::ExportError;
use crate::load::tap_norms;
use crate::model::SslModel;
use crate::state::{StateDict, StateTensor, write_safetensors};
use crate::weights::{Slot, walk};

/// The model's tensors with HF names and PyTorch layouts.
pub fn hf_state_dict(model: &SslModel) -> StateDict {
    let mut model = model.clone();
    let mut dict = StateDict::new();
    walk(&mut model, &mut |prefix, slot| put(&mut dict, prefix, slot));
    dict
}

/// Writes `model` as an HF directory at `dir` (which must not exist yet, or be empty).
///
/// `preprocessor_config.json` says `do_normalize` and `return_attention_mask` true for
/// layer-norm extractors (as the Large checkpoints on the hub do) and false otherwise.
///
/// # Errors
/// [`ExportError::Io`] (also when `dir` exists and is not empty), [`ExportError::Safetensors`].
pub fn export_hf(model: &SslModel, config: &SslConfig, dir: &Path) -> Result<(), ExportError> {
    let io = |path: &Path, source| ExportError::Io {
        path: path.into(),
        source,
    };
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .next()
            .is_some()
    {
        return Err(io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "directory exists and is not empty",
            ),
        ));
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    let result = (|| {
        let json =
            |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON values serialize");
        let cfg = tmp.join("config.json");
        std::fs::write(&cfg, json(&config.to_hf_json())).map_err(|e| io(&cfg, e))?;
        let layer = config.feat_extract_norm == FeatExtractNorm::Layer;
        let pre = serde_json::json!({
            "feature_extractor_type": "Wav2Vec2FeatureExtractor",
            "feature_size": 1,
            "sampling_rate": 16000,
            "padding_value": 0.0,
            "padding_side": "right",
            "do_normalize": layer,
            "return_attention_mask": layer,
        });
        let pre_path = tmp.join("preprocessor_config.json");
        std::fs::write(&pre_path, json(&pre)).map_err(|e| io(&pre_path, e))?;
        write_safetensors(&hf_state_dict(model), &tmp.join("model.safetensors"))?;
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn vector(dict: &mut StateDict, key: String, p: &Param<Tensor<1>>) {
    dict.insert(key, StateTensor::from_tensor(p.val()));
}

fn put(dict: &mut StateDict, prefix: &str, slot: Slot<'_>) {
    let opt = |dict: &mut StateDict, key: String, p: &Option<Param<Tensor<1>>>| {
        if let Some(p) = p {
            vector(dict, key, p);
        }
    };
    match slot {
        Slot::Linear(l) => {
            dict.insert(
                format!("{prefix}.weight"),
                StateTensor::from_tensor(l.weight.val().transpose()),
            );
            opt(dict, format!("{prefix}.bias"), &l.bias);
        }
        Slot::LayerNorm(n) => {
            vector(dict, format!("{prefix}.weight"), &n.gamma);
            opt(dict, format!("{prefix}.bias"), &n.beta);
        }
        Slot::GroupNorm(n) => {
            opt(dict, format!("{prefix}.weight"), &n.gamma);
            opt(dict, format!("{prefix}.bias"), &n.beta);
        }
        Slot::Conv(c) => {
            dict.insert(
                format!("{prefix}.weight"),
                StateTensor::from_tensor(c.weight.val()),
            );
            opt(dict, format!("{prefix}.bias"), &c.bias);
        }
        Slot::WeightNormConv(c) => {
            let w = StateTensor::from_tensor(c.weight.val());
            let taps = w.shape[2];
            let g = tap_norms(&w.data, taps)
                .into_iter()
                .map(|n| n as f32)
                .collect();
            dict.insert(
                format!("{prefix}.parametrizations.weight.original0"),
                StateTensor::new(vec![1, 1, taps], g),
            );
            dict.insert(format!("{prefix}.parametrizations.weight.original1"), w);
            opt(dict, format!("{prefix}.bias"), &c.bias);
        }
        Slot::Embedding(e) => {
            dict.insert(
                format!("{prefix}.weight"),
                StateTensor::from_tensor(e.weight.val()),
            );
        }
        Slot::Vector(p) => vector(dict, prefix.to_string(), p),
        Slot::Rank4(p) => {
            dict.insert(prefix.to_string(), StateTensor::from_tensor(p.val()));
        }
    }
}
