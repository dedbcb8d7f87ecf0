//! fairseq checkpoints (`.pt`) of HuBERT, wav2vec 2.0 and WavLM, as fairseq writes them.
//!
//! The tensors are read with burn's PyTorch reader under the top-level key `model` (a plain
//! state dict works too). The configuration pickled beside them is read by a small pickle
//! interpreter ([`FairseqCfg`], see the `cfg` module): `cfg` as an omegaconf `DictConfig`
//! (sections `model` and `task`), `cfg` as a plain dict (WavLM's official files), or `args` as
//! an `argparse.Namespace` (2020 files); objects of classes that cannot be imported
//! (`task_state`'s `Dictionary`, meters, optimizer state) are skipped. Each field comes from
//! the configuration when it says it, and is checked against the tensors
//! ([`LoadError::FairseqMismatch`] names both on a contradiction); only what the file does not
//! say is inferred from tensor names and shapes, and [`FairseqCheckpoint::inferred`] lists it:
//!
//! | field (HF) | declared by (fairseq) | inferred from the tensors when absent |
//! |---|---|---|
//! | family | `model._name` / `args.arch` (`hubert*`, `wav2vec2*`, `wavlm*`); `relative_position_embedding` → WavLM | `self_attn.relative_attention_bias` / `grep_linear` → WavLM; `quantizer` / `project_q` → wav2vec 2.0; else HuBERT |
//! | `hidden_size`, `num_hidden_layers`, `intermediate_size` | `encoder_embed_dim`, `encoder_layers`, `encoder_ffn_embed_dim` (checked) | `post_extract_proj`, `encoder.layers.N`, `fc1` shapes |
//! | `num_attention_heads` | `encoder_attention_heads` | `hidden / 64` (right for every published Base and Large) |
//! | `do_stable_layer_norm` | `layer_norm_first` | true iff the extractor uses layer norm (as every published Large model) |
//! | `feat_extract_norm` | `extractor_mode` `default` → group, `layer_norm` → layer (checked) | `conv_layers.N.2.1.weight` → layer norm, `conv_layers.0.2.weight` → group norm |
//! | `conv_dim`, `conv_kernel` | `conv_feature_layers` (checked) | `feature_extractor.conv_layers.N.0.weight` shapes |
//! | `conv_stride` | `conv_feature_layers` | 5 for a kernel of 10, else 2 |
//! | `conv_bias` | `conv_bias` (checked) | `conv_layers.0.0.bias` |
//! | `num_conv_pos_embeddings`, `…_groups` | `conv_pos`, `conv_pos_groups` (checked) | `encoder.pos_conv.0.weight_v` shape |
//! | `num_buckets`, `max_bucket_distance` | `num_buckets` (checked), `max_distance` | `relative_attention_bias` shape; 800 |
//! | `do_normalize`, `sampling_rate` | `task.normalize`, `task.sample_rate` (flat in `args` / WavLM) | `do_stable_layer_norm`; 16000 |
//!
//! `activation_fn` other than `gelu`, and WavLM without `gru_rel_pos` or
//! `relative_position_embedding`, are refused ([`LoadError::FairseqConfig`]).
//! [`FairseqOverrides`] replaces any of heads, pre-LN and strides. HuBERT's pretraining head
//! (`final_proj`, `label_embs_concat`) is returned as [`HubertHead`] for the discriminative loss.
//!
//! Renaming to HF names (one ordered table, most specific first):
//! `feature_extractor.conv_layers.N.0.` → `…conv_layers.N.conv.`;
//! `…conv_layers.N.2.1.` (layer norm) and `…conv_layers.0.2.` (group norm) → `…conv_layers.N.layer_norm.`;
//! `layer_norm.` → `feature_projection.layer_norm.`; `post_extract_proj.` → `feature_projection.projection.`;
//! `encoder.pos_conv.0.` → `encoder.pos_conv_embed.conv.`;
//! `self_attn.relative_attention_bias.` → `attention.rel_attn_embed.`; `self_attn.grep_linear.` →
//! `attention.gru_rel_pos_linear.`; `self_attn.grep_a` → `attention.gru_rel_pos_const`;
//! `self_attn_layer_norm.` → `layer_norm.`; `self_attn.` → `attention.`; `fc1.` →
//! `feed_forward.intermediate_dense.`; `fc2.` → `feed_forward.output_dense.`; `mask_emb` →
//! `masked_spec_embed`.

mod cfg;
mod conv_layers;
mod pickle;
mod resolve;

use std::path::Path;

use burn::store::pytorch_reader::{DType, PytorchReader};
use burn::tensor::Device;

pub use self::cfg::{CfgSource, FairseqCfg};
pub use self::conv_layers::{ConvLayer, parse_conv_layers};
pub use self::resolve::FairseqOverrides;
use self::resolve::{ResolveError, Shapes, resolve};
use crate::config::SslConfig;
use crate::error::LoadError;
use crate::head::HubertHead;
use crate::load::{LoadReport, load_hf_state_dict_with, unused_allowlist};
use crate::model::SslModel;
use crate::preprocessor::Preprocessor;
use crate::state::{FloatKind, StateDict, StateTensor, floats_from_le_bytes};

/// A loaded fairseq checkpoint.
#[derive(Debug)]
pub struct FairseqCheckpoint {
    /// The architecture: declared by the file's configuration, inferred where it is silent,
    /// and overridden.
    pub config: SslConfig,
    /// The input preprocessing the configuration declares (`task.normalize`,
    /// `task.sample_rate`).
    pub preprocessor: Preprocessor,
    /// What the file's configuration declares.
    pub cfg: FairseqCfg,
    /// The fairseq fields the configuration does not give and that were inferred from the
    /// tensors (`encoder_attention_heads`, `normalize`...), in the order they were settled.
    pub inferred: Vec<&'static str>,
    /// The model.
    pub model: SslModel,
    /// What was loaded and ignored.
    pub report: LoadReport,
    /// HuBERT's pretraining head, when the checkpoint has one.
    pub head: Option<HubertHead>,
}

/// Reads every float tensor of a PyTorch checkpoint under `top_level_key` (or the whole file).
///
/// # Errors
/// [`LoadError::Pytorch`] (unreadable or not a PyTorch file). Non-float tensors are skipped.
pub fn read_pytorch(path: &Path, top_level_key: Option<&str>) -> Result<StateDict, LoadError> {
    let reader = match top_level_key {
        Some(key) => PytorchReader::with_top_level_key(path, key),
        None => PytorchReader::new(path),
    }
    .map_err(|e| LoadError::Pytorch {
        path: path.into(),
        message: e.to_string(),
    })?;
    let mut dict = StateDict::new();
    for (name, tensor) in reader.tensors() {
        let bytes = tensor.read().map_err(|e| LoadError::Pytorch {
            path: path.into(),
            message: e.to_string(),
        })?;
        let kind = match tensor.dtype() {
            DType::F32 => FloatKind::F32,
            DType::F64 => FloatKind::F64,
            DType::F16 => FloatKind::F16,
            DType::BF16 => FloatKind::BF16,
            // Integer and bool buffers (e.g. fairseq's `_float_tensor`, step counters) carry no
            // weights.
            _ => continue,
        };
        let data = floats_from_le_bytes(kind, &bytes);
        dict.insert(
            name.clone(),
            StateTensor::new(tensor.shape().to_vec(), data),
        );
    }
    Ok(dict)
}

/// Loads a fairseq `.pt` checkpoint of HuBERT, wav2vec 2.0 or WavLM onto `device`.
///
/// # Errors
/// Reading errors ([`LoadError::Pytorch`] for an unreadable file or pickle),
/// [`LoadError::FairseqConfig`] for a configuration field of the wrong type or an unsupported
/// value, [`LoadError::FairseqMismatch`] when the configuration contradicts the tensors,
/// [`LoadError::Infer`] when the tensors do not describe a supported model, and every error of
/// [`load_hf_state_dict_with`] (missing, unexpected, wrongly shaped tensors).
pub fn load_fairseq(
    path: impl AsRef<Path>,
    overrides: &FairseqOverrides,
    device: &Device,
) -> Result<FairseqCheckpoint, LoadError> {
    let path = path.as_ref();
    let raw = match read_pytorch(path, Some("model")) {
        Ok(d) if !d.is_empty() => d,
        _ => read_pytorch(path, None)?,
    };
    let cfg = cfg::read_cfg(path)?;
    let shapes: Shapes = raw
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.clone()))
        .collect();
    let resolved = resolve(&shapes, &cfg, overrides).map_err(|e| resolve_error(path, e))?;
    let config = resolved.config;
    let mut dict: StateDict = raw.into_iter().map(|(k, v)| (rename(&k), v)).collect();
    let head = HubertHead::take(&mut dict);
    let mut model = config.init(device);
    let report = load_hf_state_dict_with(
        &mut model,
        dict,
        path,
        device,
        unused_allowlist(config.kind),
    )?;
    Ok(FairseqCheckpoint {
        config,
        preprocessor: resolved.preprocessor,
        cfg,
        inferred: resolved.inferred,
        model,
        report,
        head,
    })
}

/// The input preprocessing of the fairseq checkpoint at `path`: its configuration's
/// `normalize` and `sample_rate`, or what [`load_fairseq`] infers (reads tensor shapes only).
///
/// # Errors
/// As [`load_fairseq`], before the model is built.
pub fn read_fairseq_preprocessor(path: &Path) -> Result<Preprocessor, LoadError> {
    let fail = |e: burn::store::pytorch_reader::PytorchError| LoadError::Pytorch {
        path: path.into(),
        message: e.to_string(),
    };
    let reader = match PytorchReader::with_top_level_key(path, "model") {
        Ok(r) if !r.is_empty() => r,
        _ => PytorchReader::new(path).map_err(fail)?,
    };
    let shapes: Shapes = reader
        .tensors()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape().to_vec()))
        .collect();
    let cfg = cfg::read_cfg(path)?;
    let resolved =
        resolve(&shapes, &cfg, &FairseqOverrides::default()).map_err(|e| resolve_error(path, e))?;
    Ok(resolved.preprocessor)
}

/// Reads the configuration of the fairseq checkpoint at `path` without loading the model.
///
/// # Errors
/// [`LoadError::Pytorch`] for an unreadable file or pickle, [`LoadError::FairseqConfig`] for a
/// field of the wrong type.
pub fn read_fairseq_cfg(path: impl AsRef<Path>) -> Result<FairseqCfg, LoadError> {
    cfg::read_cfg(path.as_ref())
}

impl FairseqCfg {
    /// The configuration in a checkpoint's top-level pickle (the bytes of a zip checkpoint's
    /// `data.pkl`, or a plain pickle); `source` names it in errors.
    ///
    /// # Errors
    /// As [`read_fairseq_cfg`].
    pub fn from_pickle(bytes: &[u8], source: &Path) -> Result<Self, LoadError> {
        cfg::cfg_from_pickle(bytes, source)
    }
}

fn resolve_error(path: &Path, e: ResolveError) -> LoadError {
    let path = path.into();
    match e {
        ResolveError::Infer(reason) => LoadError::Infer { path, reason },
        ResolveError::Unsupported { field, reason } => LoadError::FairseqConfig {
            path,
            field: field.into(),
            reason,
        },
        ResolveError::Mismatch {
            field,
            declared,
            tensor,
            found,
        } => LoadError::FairseqMismatch {
            path,
            field,
            declared,
            tensor,
            found,
        },
    }
}

/// The HF name of a fairseq tensor name.
fn rename(key: &str) -> String {
    const TABLE: &[(&str, &str)] = &[
        (
            ".self_attn.relative_attention_bias.",
            ".attention.rel_attn_embed.",
        ),
        (".self_attn.grep_linear.", ".attention.gru_rel_pos_linear."),
        (".self_attn.grep_a", ".attention.gru_rel_pos_const"),
        (".self_attn_layer_norm.", ".layer_norm."),
        (".self_attn.", ".attention."),
        (".fc1.", ".feed_forward.intermediate_dense."),
        (".fc2.", ".feed_forward.output_dense."),
        ("encoder.pos_conv.0.", "encoder.pos_conv_embed.conv."),
    ];
    if let Some(rest) = key.strip_prefix("feature_extractor.conv_layers.") {
        let (n, tail) = rest.split_once('.').unwrap_or((rest, ""));
        let tail = if let Some(t) = tail.strip_prefix("0.") {
            format!("conv.{t}")
        } else if let Some(t) = tail.strip_prefix("2.1.") {
            format!("layer_norm.{t}")
        } else if let Some(t) = tail.strip_prefix("2.") {
            format!("layer_norm.{t}")
        } else {
            tail.to_string()
        };
        return format!("feature_extractor.conv_layers.{n}.{tail}");
    }
    if let Some(t) = key.strip_prefix("layer_norm.") {
        return format!("feature_projection.layer_norm.{t}");
    }
    if let Some(t) = key.strip_prefix("post_extract_proj.") {
        return format!("feature_projection.projection.{t}");
    }
    if key == "mask_emb" {
        return "masked_spec_embed".into();
    }
    let mut out = key.to_string();
    for (from, to) in TABLE {
        if out.contains(from) {
            out = out.replacen(from, to, 1);
        }
    }
    out
}

/// The architecture a fairseq state dict describes when no configuration comes with it (see
/// the module docs).
///
/// # Errors
/// A sentence saying which tensor is missing or malformed.
pub fn infer_config(dict: &StateDict, overrides: &FairseqOverrides) -> Result<SslConfig, String> {
    let shapes: Shapes = dict
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.clone()))
        .collect();
    match resolve(&shapes, &FairseqCfg::default(), overrides) {
        Ok(r) => Ok(r.config),
        Err(ResolveError::Infer(reason)) => Err(reason),
        Err(other) => Err(format!("{other:?}")),
    }
}

/// The tensor shapes of a 2-layer, 128-wide fairseq model with a 2-layer conv stack (kernels 10,
/// 3), shared by this module's and `resolve`'s tests.
#[cfg(test)]
const TINY_SHAPES: &[(&str, &[usize])] = &[
    ("feature_extractor.conv_layers.0.0.weight", &[32, 1, 10]),
    ("feature_extractor.conv_layers.0.2.weight", &[32]),
    ("feature_extractor.conv_layers.0.2.bias", &[32]),
    ("feature_extractor.conv_layers.1.0.weight", &[32, 32, 3]),
    ("layer_norm.weight", &[32]),
    ("post_extract_proj.weight", &[128, 32]),
    ("encoder.pos_conv.0.weight_v", &[128, 8, 16]),
    ("encoder.layers.0.fc1.weight", &[256, 128]),
    ("encoder.layers.1.fc1.weight", &[256, 128]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FeatExtractNorm, ModelKind};

    /// A fairseq-named state dict with the given shapes (zeros).
    fn dict(shapes: &[(&str, &[usize])]) -> StateDict {
        shapes
            .iter()
            .map(|(k, s)| {
                let n = s.iter().product();
                ((*k).to_string(), StateTensor::new(s.to_vec(), vec![0.0; n]))
            })
            .collect()
    }

    /// [`TINY_SHAPES`](super::TINY_SHAPES) plus `extra`, as zero tensors.
    fn base(extra: &[(&str, &[usize])]) -> StateDict {
        let mut shapes = super::TINY_SHAPES.to_vec();
        shapes.extend_from_slice(extra);
        dict(&shapes)
    }

    #[test]
    fn renames_every_fairseq_module() {
        let cases = [
            (
                "feature_extractor.conv_layers.3.0.weight",
                "feature_extractor.conv_layers.3.conv.weight",
            ),
            (
                "feature_extractor.conv_layers.0.2.bias",
                "feature_extractor.conv_layers.0.layer_norm.bias",
            ),
            (
                "feature_extractor.conv_layers.5.2.1.weight",
                "feature_extractor.conv_layers.5.layer_norm.weight",
            ),
            ("layer_norm.weight", "feature_projection.layer_norm.weight"),
            (
                "post_extract_proj.bias",
                "feature_projection.projection.bias",
            ),
            (
                "encoder.pos_conv.0.weight_g",
                "encoder.pos_conv_embed.conv.weight_g",
            ),
            (
                "encoder.layers.1.self_attn.k_proj.weight",
                "encoder.layers.1.attention.k_proj.weight",
            ),
            (
                "encoder.layers.0.self_attn_layer_norm.bias",
                "encoder.layers.0.layer_norm.bias",
            ),
            (
                "encoder.layers.0.self_attn.relative_attention_bias.weight",
                "encoder.layers.0.attention.rel_attn_embed.weight",
            ),
            (
                "encoder.layers.2.self_attn.grep_linear.bias",
                "encoder.layers.2.attention.gru_rel_pos_linear.bias",
            ),
            (
                "encoder.layers.2.self_attn.grep_a",
                "encoder.layers.2.attention.gru_rel_pos_const",
            ),
            (
                "encoder.layers.4.fc1.weight",
                "encoder.layers.4.feed_forward.intermediate_dense.weight",
            ),
            (
                "encoder.layers.4.fc2.bias",
                "encoder.layers.4.feed_forward.output_dense.bias",
            ),
            (
                "encoder.layers.4.final_layer_norm.weight",
                "encoder.layers.4.final_layer_norm.weight",
            ),
            ("encoder.layer_norm.weight", "encoder.layer_norm.weight"),
            ("mask_emb", "masked_spec_embed"),
            ("final_proj.weight", "final_proj.weight"),
            ("label_embs_concat", "label_embs_concat"),
        ];
        for (from, to) in cases {
            assert_eq!(rename(from), to, "{from}");
        }
    }

    #[test]
    fn infers_a_post_ln_group_norm_hubert() {
        let c = infer_config(
            &base(&[("label_embs_concat", &[5, 4])]),
            &FairseqOverrides::default(),
        )
        .unwrap();
        assert_eq!(c.kind, ModelKind::Hubert);
        assert_eq!((c.hidden_size, c.num_hidden_layers), (128, 2));
        assert_eq!(c.intermediate_size, 256);
        assert_eq!(c.num_attention_heads, 2);
        assert_eq!(c.conv_dim, vec![32, 32]);
        assert_eq!(c.conv_kernel, vec![10, 3]);
        assert_eq!(c.conv_stride, vec![5, 2]);
        assert_eq!(c.feat_extract_norm, FeatExtractNorm::Group);
        assert!(!c.conv_bias && !c.do_stable_layer_norm && c.feat_proj_layer_norm);
        assert_eq!(
            (c.num_conv_pos_embeddings, c.num_conv_pos_embedding_groups),
            (16, 16)
        );
    }

    #[test]
    fn wav2vec2_with_final_proj_is_not_hubert() {
        let d = base(&[
            ("final_proj.weight", &[16, 128]),
            ("quantizer.vars", &[1, 8, 16]),
        ]);
        let c = infer_config(&d, &FairseqOverrides::default()).unwrap();
        assert_eq!(c.kind, ModelKind::Wav2vec2);
    }

    #[test]
    fn layer_norm_extractor_implies_pre_ln_unless_overridden() {
        let d = base(&[
            ("feature_extractor.conv_layers.0.2.1.weight", &[32]),
            ("feature_extractor.conv_layers.0.0.bias", &[32]),
            (
                "encoder.layers.0.self_attn.relative_attention_bias.weight",
                &[40, 2],
            ),
        ]);
        let c = infer_config(&d, &FairseqOverrides::default()).unwrap();
        assert_eq!(c.kind, ModelKind::Wavlm);
        assert_eq!(c.feat_extract_norm, FeatExtractNorm::Layer);
        assert!(c.conv_bias && c.do_stable_layer_norm);
        assert_eq!(c.num_buckets, 40);
        let o = FairseqOverrides {
            num_attention_heads: Some(4),
            layer_norm_first: Some(false),
            conv_stride: Some(vec![4, 3]),
        };
        let c = infer_config(&d, &o).unwrap();
        assert!(!c.do_stable_layer_norm);
        assert_eq!(c.num_attention_heads, 4);
        assert_eq!(c.conv_stride, vec![4, 3]);
    }

    #[test]
    fn malformed_dicts_say_what_is_missing() {
        let err = infer_config(&StateDict::new(), &FairseqOverrides::default()).unwrap_err();
        assert!(err.contains("post_extract_proj"), "{err}");
        let mut d = base(&[]);
        d.remove("feature_extractor.conv_layers.0.0.weight");
        let err = infer_config(&d, &FairseqOverrides::default()).unwrap_err();
        assert!(err.contains("conv"), "{err}");
    }
}
