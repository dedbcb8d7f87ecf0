//! fairseq checkpoints (`.pt`) of HuBERT, wav2vec 2.0 and WavLM.
//!
//! The tensors are read with burn's PyTorch reader under the top-level key `model` (a plain
//! state dict works too). fairseq's `cfg` is an omegaconf object that cannot be read here, so
//! the architecture is **inferred from tensor names and shapes** ([`infer_config`]):
//!
//! | field | from |
//! |---|---|
//! | family | `self_attn.relative_attention_bias` / `grep_linear` → WavLM; `quantizer` / `project_q` → wav2vec 2.0; `label_embs_concat` / `final_proj` → HuBERT; else HuBERT |
//! | widths, layers, FFN | `post_extract_proj`, `encoder.layers.N`, `fc1` shapes |
//! | conv stack | `feature_extractor.conv_layers.N.0.weight` shapes; strides from kernels (10→5, else 2) |
//! | extractor norm, conv bias | `conv_layers.N.2.1.weight` → layer norm, `conv_layers.0.2.weight` → group norm; `.0.bias` |
//! | positional conv | `encoder.pos_conv.0.weight_v` shape: kernel and groups |
//! | heads | **not in the tensors**: `hidden / 64` (right for every published Base and Large) |
//! | pre-LN | **not in the tensors**: true iff the extractor uses layer norm (as every published Large model) |
//!
//! [`FairseqOverrides`] replaces what cannot be inferred. HuBERT's pretraining head
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

use std::path::Path;

use burn::store::pytorch_reader::{DType, PytorchReader};
use burn::tensor::Device;

use crate::config::{FeatExtractNorm, ModelKind, SslConfig};
use crate::error::LoadError;
use crate::load::{LoadReport, load_hf_state_dict};
use crate::model::SslModel;
use crate::state::{FloatKind, StateDict, StateTensor, floats_from_le_bytes};

/// What a fairseq checkpoint's tensors cannot tell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FairseqOverrides {
    /// Attention heads (default: `hidden / 64`).
    pub num_attention_heads: Option<usize>,
    /// Pre-LN encoder, fairseq `layer_norm_first` (default: true iff layer-norm extractor).
    pub layer_norm_first: Option<bool>,
    /// Conv strides (default: 5 for a kernel of 10, else 2).
    pub conv_stride: Option<Vec<usize>>,
}

/// HuBERT's pretraining head: `logits = cos(final_proj(h), label_embs) / 0.1`.
#[derive(Debug, Clone, PartialEq)]
pub struct HubertHead {
    /// `final_proj.weight` `[proj_dim, hidden]` (PyTorch layout).
    pub final_proj_weight: StateTensor,
    /// `final_proj.bias` `[proj_dim]`.
    pub final_proj_bias: StateTensor,
    /// `label_embs_concat` `[num_codewords, proj_dim]`.
    pub label_embs: StateTensor,
}

/// A loaded fairseq checkpoint.
#[derive(Debug)]
pub struct FairseqCheckpoint {
    /// The inferred (and overridden) architecture.
    pub config: SslConfig,
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
/// Reading errors, [`LoadError::Infer`] when the tensors do not describe a supported model, and
/// every error of [`load_hf_state_dict`] (missing, unexpected, wrongly shaped tensors).
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
    let config = infer_config(&raw, overrides).map_err(|reason| LoadError::Infer {
        path: path.into(),
        reason,
    })?;
    let mut dict: StateDict = raw.into_iter().map(|(k, v)| (rename(&k), v)).collect();
    let head = match (
        dict.remove("final_proj.weight"),
        dict.remove("final_proj.bias"),
        dict.remove("label_embs_concat"),
    ) {
        (Some(w), Some(b), Some(e)) => Some(HubertHead {
            final_proj_weight: w,
            final_proj_bias: b,
            label_embs: e,
        }),
        (w, b, e) => {
            // Put back whatever half-head there is so the report lists it.
            for (k, v) in [
                ("final_proj.weight", w),
                ("final_proj.bias", b),
                ("label_embs_concat", e),
            ] {
                if let Some(v) = v {
                    dict.insert(k.into(), v);
                }
            }
            None
        }
    };
    let mut model = config.init(device);
    let report = load_hf_state_dict(&mut model, dict, path, device)?;
    Ok(FairseqCheckpoint {
        config,
        model,
        report,
        head,
    })
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

/// The architecture a fairseq state dict describes (see the module docs).
///
/// # Errors
/// A sentence saying which tensor is missing or malformed.
pub fn infer_config(dict: &StateDict, overrides: &FairseqOverrides) -> Result<SslConfig, String> {
    let shape = |k: &str| dict.get(k).map(|t| t.shape.clone());
    let has = |pred: &dyn Fn(&str) -> bool| dict.keys().any(|k| pred(k));
    let kind = if has(&|k| k.contains("relative_attention_bias") || k.contains("grep_linear")) {
        ModelKind::Wavlm
    } else if has(&|k| k.starts_with("quantizer.") || k.starts_with("project_q.")) {
        // Before HuBERT: wav2vec 2.0 checkpoints have a `final_proj` too.
        ModelKind::Wav2vec2
    } else {
        // `label_embs_concat` / `final_proj` (HuBERT's head), or no family marker at all.
        ModelKind::Hubert
    };
    let proj = shape("post_extract_proj.weight")
        .ok_or("no `post_extract_proj.weight`: not a fairseq HuBERT/wav2vec2/WavLM checkpoint")?;
    let (hidden, conv_out) = (proj[0], proj[1]);
    let mut conv_dim = Vec::new();
    let mut conv_kernel = Vec::new();
    while let Some(s) = shape(&format!(
        "feature_extractor.conv_layers.{}.0.weight",
        conv_dim.len()
    )) {
        if s.len() != 3 {
            return Err(format!(
                "conv layer {} weight has shape {s:?}",
                conv_dim.len()
            ));
        }
        conv_dim.push(s[0]);
        conv_kernel.push(s[2]);
    }
    if conv_dim.is_empty() || conv_dim.last() != Some(&conv_out) {
        return Err(
            "the conv feature extractor's layers are missing or do not match post_extract_proj"
                .into(),
        );
    }
    let conv_stride = overrides.conv_stride.clone().unwrap_or_else(|| {
        conv_kernel
            .iter()
            .map(|&k| if k == 10 { 5 } else { 2 })
            .collect()
    });
    let layer_norm_extractor = dict.contains_key("feature_extractor.conv_layers.0.2.1.weight");
    let mut num_layers = 0;
    while dict.contains_key(&format!("encoder.layers.{num_layers}.fc1.weight")) {
        num_layers += 1;
    }
    let ffn = shape("encoder.layers.0.fc1.weight").ok_or("no `encoder.layers.0.fc1.weight`")?[0];
    let pos = shape("encoder.pos_conv.0.weight_v")
        .or_else(|| shape("encoder.pos_conv.0.weight"))
        .ok_or("no `encoder.pos_conv.0.weight_v`")?;
    let heads = overrides
        .num_attention_heads
        .unwrap_or((hidden / 64).max(1));
    let mut config = SslConfig::new(
        kind,
        hidden,
        num_layers,
        heads,
        ffn,
        conv_dim,
        conv_kernel,
        conv_stride,
    )
    .with_feat_extract_norm(if layer_norm_extractor {
        FeatExtractNorm::Layer
    } else {
        FeatExtractNorm::Group
    })
    .with_conv_bias(dict.contains_key("feature_extractor.conv_layers.0.0.bias"))
    .with_feat_proj_layer_norm(dict.contains_key("layer_norm.weight"))
    .with_num_conv_pos_embeddings(pos[2])
    .with_num_conv_pos_embedding_groups(hidden / pos[1].max(1))
    .with_do_stable_layer_norm(overrides.layer_norm_first.unwrap_or(layer_norm_extractor))
    .with_mask_time_prob(if dict.contains_key("mask_emb") {
        0.05
    } else {
        0.0
    });
    if let Some(s) = shape("encoder.layers.0.self_attn.relative_attention_bias.weight") {
        config.num_buckets = s[0];
    }
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A 2-layer, 64-wide model with a 2-layer conv stack (kernels 10, 3).
    fn base(extra: &[(&str, &[usize])]) -> StateDict {
        let mut shapes: Vec<(&str, &[usize])> = vec![
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
