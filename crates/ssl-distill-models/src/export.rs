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
use crate::preprocessor::Preprocessor;
use crate::state::{StateDict, StateTensor, write_dir_atomic, write_safetensors};
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
    write_dir_atomic(dir, io, |tmp| {
        std::fs::create_dir_all(tmp).map_err(|e| io(tmp, e))?;
        let json =
            |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON values serialize");
        let cfg = tmp.join("config.json");
        std::fs::write(&cfg, json(&config.to_hf_json())).map_err(|e| io(&cfg, e))?;
        let layer = config.feat_extract_norm == FeatExtractNorm::Layer;
        let pre = Preprocessor {
            do_normalize: layer,
            sampling_rate: ssl_distill_audio::SAMPLE_RATE,
        };
        let pre_path = tmp.join("preprocessor_config.json");
        std::fs::write(&pre_path, json(&pre.hf_json(layer))).map_err(|e| io(&pre_path, e))?;
        write_safetensors(&hf_state_dict(model), &tmp.join("model.safetensors"))
    })
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
