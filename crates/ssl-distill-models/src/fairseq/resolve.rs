//! The architecture of a fairseq checkpoint: what its configuration declares, checked against
//! its tensors, and inferred from the tensors where the configuration is silent (see the
//! table in the module docs of [`crate::fairseq`]).

use std::collections::BTreeMap;

use super::cfg::FairseqCfg;
use crate::config::{FeatExtractNorm, ModelKind, SslConfig};
use crate::preprocessor::Preprocessor;

/// What to use instead of a fairseq checkpoint's configuration (or of the guesses from its
/// tensors, when it has none). Each set field wins over the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FairseqOverrides {
    /// Attention heads (default: `encoder_attention_heads`, else `hidden / 64`).
    pub num_attention_heads: Option<usize>,
    /// Pre-LN encoder, fairseq `layer_norm_first` (default: the file's, else true iff
    /// layer-norm extractor).
    pub layer_norm_first: Option<bool>,
    /// Conv strides (default: `conv_feature_layers`'s, else 5 for a kernel of 10, else 2).
    pub conv_stride: Option<Vec<usize>>,
}

/// Tensor shapes by fairseq name.
pub type Shapes = BTreeMap<String, Vec<usize>>;

/// An architecture and where its fields came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The architecture.
    pub config: SslConfig,
    /// The input preprocessing (`normalize`, `sample_rate`).
    pub preprocessor: Preprocessor,
    /// The fairseq fields the configuration did not give and that were inferred.
    pub inferred: Vec<&'static str>,
}

/// Why a checkpoint's architecture cannot be settled.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveError {
    /// The tensors do not describe a supported model.
    Infer(String),
    /// A declared field has a value this crate does not implement.
    Unsupported {
        /// The fairseq field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A declared field contradicts a tensor.
    Mismatch {
        /// The fairseq field.
        field: &'static str,
        /// Its declared value.
        declared: String,
        /// The tensor.
        tensor: String,
        /// What the tensor says.
        found: String,
    },
}

type Result<T> = std::result::Result<T, ResolveError>;

fn mismatch<T>(
    field: &'static str,
    declared: impl std::fmt::Debug,
    tensor: &str,
    found: impl Into<String>,
) -> Result<T> {
    Err(ResolveError::Mismatch {
        field,
        declared: format!("{declared:?}"),
        tensor: tensor.to_string(),
        found: found.into(),
    })
}

/// Checks a declared value against the tensors' value.
fn check<T: PartialEq + std::fmt::Debug>(
    field: &'static str,
    declared: Option<T>,
    actual: T,
    tensor: &str,
    found: impl FnOnce() -> String,
) -> Result<()> {
    match declared {
        Some(d) if d != actual => mismatch(field, d, tensor, found()),
        _ => Ok(()),
    }
}

/// The architecture of fairseq tensors `shapes` with configuration `cfg`; `overrides` win.
pub fn resolve(shapes: &Shapes, cfg: &FairseqCfg, o: &FairseqOverrides) -> Result<Resolved> {
    let mut inferred = Vec::new();
    let kind = family(shapes, cfg, &mut inferred)?;
    let shape = |k: &str| shapes.get(k).cloned();
    let proj_key = "post_extract_proj.weight";
    let proj = shape(proj_key).ok_or(ResolveError::Infer(
        "no `post_extract_proj.weight`: not a fairseq HuBERT/wav2vec2/WavLM checkpoint".into(),
    ))?;
    let (hidden, conv_out) = match proj.as_slice() {
        [h, c] if *h > 0 && *c > 0 => (*h, *c),
        s => return Err(ResolveError::Infer(format!("{proj_key} has shape {s:?}"))),
    };
    check(
        "encoder_embed_dim",
        cfg.encoder_embed_dim,
        hidden,
        proj_key,
        || format!("has {hidden} outputs"),
    )?;
    let conv = conv_stack(shapes, cfg, o, conv_out, &mut inferred)?;
    let mut layers = 0;
    while shapes.contains_key(&format!("encoder.layers.{layers}.fc1.weight")) {
        layers += 1;
    }
    check(
        "encoder_layers",
        cfg.encoder_layers,
        layers,
        &format!("encoder.layers.{layers}"),
        || format!("is the first absent layer ({layers} present)"),
    )?;
    let fc1 = "encoder.layers.0.fc1.weight";
    let ffn = match shape(fc1).as_deref() {
        Some([ffn, _]) if *ffn > 0 => *ffn,
        Some(s) => return Err(ResolveError::Infer(format!("{fc1} has shape {s:?}"))),
        None => return Err(ResolveError::Infer(format!("no `{fc1}`"))),
    };
    check(
        "encoder_ffn_embed_dim",
        cfg.encoder_ffn_embed_dim,
        ffn,
        fc1,
        || format!("has {ffn} outputs"),
    )?;
    let heads = attention_heads(cfg, o, hidden, &mut inferred)?;
    let (pos_kernel, groups) = pos_conv(shapes, cfg, hidden)?;
    let pre_ln = match (o.layer_norm_first, cfg.layer_norm_first) {
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => {
            inferred.push("layer_norm_first");
            conv.norm == FeatExtractNorm::Layer
        }
    };
    if let Some(act) = cfg.activation_fn.as_deref().filter(|a| *a != "gelu") {
        return Err(ResolveError::Unsupported {
            field: "activation_fn",
            reason: format!("`{act}` (only gelu is implemented)"),
        });
    }
    let mut config = SslConfig::new(
        kind,
        hidden,
        layers,
        heads,
        ffn,
        conv.dims,
        conv.kernels,
        conv.strides,
    )
    .with_feat_extract_norm(conv.norm)
    .with_conv_bias(conv.bias)
    .with_feat_proj_layer_norm(shapes.contains_key("layer_norm.weight"))
    .with_num_conv_pos_embeddings(pos_kernel)
    .with_num_conv_pos_embedding_groups(groups)
    .with_do_stable_layer_norm(pre_ln)
    .with_mask_time_prob(if shapes.contains_key("mask_emb") {
        0.05
    } else {
        0.0
    });
    if kind == ModelKind::Wavlm {
        wavlm(shapes, cfg, &mut config, &mut inferred)?;
    }
    config.validate().map_err(ResolveError::Infer)?;
    let preprocessor = preprocessor(cfg, pre_ln, &mut inferred)?;
    Ok(Resolved {
        config,
        preprocessor,
        inferred,
    })
}

/// The attention heads: the override, else `encoder_attention_heads` (which must split
/// `hidden`), else `hidden / 64`.
fn attention_heads(
    cfg: &FairseqCfg,
    o: &FairseqOverrides,
    hidden: usize,
    inferred: &mut Vec<&'static str>,
) -> Result<usize> {
    Ok(match (o.num_attention_heads, cfg.encoder_attention_heads) {
        (Some(h), _) => h,
        (None, Some(h)) if h == 0 || !hidden.is_multiple_of(h) => {
            return mismatch(
                "encoder_attention_heads",
                h,
                "post_extract_proj.weight",
                format!("has {hidden} outputs, which {h} heads cannot split"),
            );
        }
        (None, Some(h)) => h,
        (None, None) => {
            inferred.push("encoder_attention_heads");
            (hidden / 64).max(1)
        }
    })
}

/// The input preprocessing: `task.normalize` (else as the encoder is pre-LN) and
/// `task.sample_rate` (else 16 kHz, never 0).
fn preprocessor(
    cfg: &FairseqCfg,
    pre_ln: bool,
    inferred: &mut Vec<&'static str>,
) -> Result<Preprocessor> {
    let preprocessor = Preprocessor {
        do_normalize: cfg.normalize.unwrap_or_else(|| {
            inferred.push("normalize");
            pre_ln
        }),
        sampling_rate: cfg.sample_rate.unwrap_or_else(|| {
            inferred.push("sample_rate");
            ssl_distill_audio::SAMPLE_RATE
        }),
    };
    if preprocessor.sampling_rate == 0 {
        return Err(ResolveError::Unsupported {
            field: "sample_rate",
            reason: "0".into(),
        });
    }
    Ok(preprocessor)
}

/// The positional conv's kernel and groups, from `encoder.pos_conv.0.weight_v`
/// `[hidden, hidden / groups, kernel]`, checked against `conv_pos` / `conv_pos_groups`.
fn pos_conv(shapes: &Shapes, cfg: &FairseqCfg, hidden: usize) -> Result<(usize, usize)> {
    let shape = |k: &str| shapes.get(k).cloned();
    let (pos_key, pos) = ["encoder.pos_conv.0.weight_v", "encoder.pos_conv.0.weight"]
        .into_iter()
        .find_map(|k| shape(k).map(|s| (k, s)))
        .ok_or(ResolveError::Infer(
            "no `encoder.pos_conv.0.weight_v`".into(),
        ))?;
    if pos.len() != 3 || pos[1] == 0 {
        return Err(ResolveError::Infer(format!("{pos_key} has shape {pos:?}")));
    }
    let groups = hidden / pos[1];
    check("conv_pos", cfg.conv_pos, pos[2], pos_key, || {
        format!("has shape {pos:?} (kernel {})", pos[2])
    })?;
    check(
        "conv_pos_groups",
        cfg.conv_pos_groups,
        groups,
        pos_key,
        || format!("has shape {pos:?} ({groups} groups)"),
    )?;
    Ok((pos[2], groups))
}

/// The model family: declared (and checked against the tensors' markers) or inferred.
fn family(
    shapes: &Shapes,
    cfg: &FairseqCfg,
    inferred: &mut Vec<&'static str>,
) -> Result<ModelKind> {
    let find = |pred: &dyn Fn(&str) -> bool| shapes.keys().find(|k| pred(k)).cloned();
    let wavlm = find(&|k| k.contains("relative_attention_bias") || k.contains("grep_linear"));
    let w2v = find(&|k| k.starts_with("quantizer.") || k.starts_with("project_q."));
    let hubert = find(&|k| k == "label_embs_concat");
    let Some(kind) = cfg.family else {
        inferred.push("family");
        return Ok(if wavlm.is_some() {
            ModelKind::Wavlm
        } else if w2v.is_some() {
            // Before HuBERT: wav2vec 2.0 checkpoints have a `final_proj` too.
            ModelKind::Wav2vec2
        } else {
            ModelKind::Hubert
        });
    };
    let declared = cfg
        .name
        .clone()
        .unwrap_or_else(|| kind.model_type().to_string());
    let field = if cfg.name.is_some() {
        "_name/arch"
    } else {
        "relative_position_embedding"
    };
    let contradiction = match kind {
        ModelKind::Wavlm if wavlm.is_none() => Some((
            "encoder.layers.0.self_attn.relative_attention_bias.weight".to_string(),
            "is absent (every WavLM has it)",
        )),
        ModelKind::Wavlm => None,
        _ if wavlm.is_some() => wavlm.map(|k| (k, "is present (a WavLM tensor)")),
        ModelKind::Hubert if w2v.is_some() => {
            w2v.map(|k| (k, "is present (a wav2vec 2.0 quantizer)"))
        }
        ModelKind::Wav2vec2 if hubert.is_some() => {
            hubert.map(|k| (k, "is present (HuBERT's label embeddings)"))
        }
        _ => None,
    };
    match contradiction {
        Some((tensor, found)) => mismatch(field, declared, &tensor, found),
        None => Ok(kind),
    }
}

/// A conv feature extractor.
struct Conv {
    dims: Vec<usize>,
    kernels: Vec<usize>,
    strides: Vec<usize>,
    norm: FeatExtractNorm,
    bias: bool,
}

/// The conv stack: channels and kernels from the tensors (checked against
/// `conv_feature_layers`), strides from `conv_feature_layers` (else guessed), norm and bias.
fn conv_stack(
    shapes: &Shapes,
    cfg: &FairseqCfg,
    o: &FairseqOverrides,
    conv_out: usize,
    inferred: &mut Vec<&'static str>,
) -> Result<Conv> {
    let (mut dims, mut kernels) = (Vec::new(), Vec::new());
    let key = |i: usize| format!("feature_extractor.conv_layers.{i}.0.weight");
    while let Some(s) = shapes.get(&key(dims.len())) {
        if s.len() != 3 {
            return Err(ResolveError::Infer(format!(
                "{} has shape {s:?}",
                key(dims.len())
            )));
        }
        dims.push(s[0]);
        kernels.push(s[2]);
    }
    if dims.is_empty() || dims.last() != Some(&conv_out) {
        return Err(ResolveError::Infer(
            "the conv feature extractor's layers are missing or do not match post_extract_proj"
                .into(),
        ));
    }
    if let Some(declared) = &cfg.conv_feature_layers {
        for (i, &(d, k, _)) in declared.iter().enumerate() {
            let Some(s) = shapes.get(&key(i)) else {
                return mismatch("conv_feature_layers", declared, &key(i), "is absent");
            };
            if s[0] != d || s[2] != k {
                return mismatch(
                    "conv_feature_layers",
                    declared,
                    &key(i),
                    format!("has shape {s:?} (dim {}, kernel {})", s[0], s[2]),
                );
            }
        }
        if declared.len() < dims.len() {
            return mismatch(
                "conv_feature_layers",
                declared,
                &key(declared.len()),
                "is present",
            );
        }
    }
    let strides = match (&o.conv_stride, &cfg.conv_feature_layers) {
        (Some(s), _) => s.clone(),
        (None, Some(declared)) => declared.iter().map(|l| l.2).collect(),
        (None, None) => {
            inferred.push("conv_feature_layers (strides)");
            kernels
                .iter()
                .map(|&k| if k == 10 { 5 } else { 2 })
                .collect()
        }
    };
    let ln_key = "feature_extractor.conv_layers.0.2.1.weight";
    let gn_key = "feature_extractor.conv_layers.0.2.weight";
    let tensor_norm = if shapes.contains_key(ln_key) {
        FeatExtractNorm::Layer
    } else {
        FeatExtractNorm::Group
    };
    let norm = match cfg.extractor_mode.as_deref() {
        None => {
            inferred.push("extractor_mode");
            tensor_norm
        }
        Some("default") if tensor_norm == FeatExtractNorm::Layer => {
            return mismatch(
                "extractor_mode",
                "default",
                ln_key,
                "is present (layer norm)",
            );
        }
        Some("default") => FeatExtractNorm::Group,
        Some("layer_norm") if !shapes.contains_key(ln_key) => {
            let found = if shapes.contains_key(gn_key) {
                "is absent, and `feature_extractor.conv_layers.0.2.weight` (group norm) present"
            } else {
                "is absent"
            };
            return mismatch("extractor_mode", "layer_norm", ln_key, found);
        }
        Some("layer_norm") => FeatExtractNorm::Layer,
        Some(other) => {
            return Err(ResolveError::Unsupported {
                field: "extractor_mode",
                reason: format!("`{other}` (expected `default` or `layer_norm`)"),
            });
        }
    };
    let bias_key = "feature_extractor.conv_layers.0.0.bias";
    let bias = shapes.contains_key(bias_key);
    check("conv_bias", cfg.conv_bias, bias, bias_key, || {
        if bias { "is present" } else { "is absent" }.to_string()
    })?;
    if cfg.conv_bias.is_none() {
        inferred.push("conv_bias");
    }
    Ok(Conv {
        dims,
        kernels,
        strides,
        norm,
        bias,
    })
}

/// WavLM's relative position bias: buckets from the tensors, `max_distance` declared or 800.
fn wavlm(
    shapes: &Shapes,
    cfg: &FairseqCfg,
    config: &mut SslConfig,
    inferred: &mut Vec<&'static str>,
) -> Result<()> {
    for (field, value) in [
        (
            "relative_position_embedding",
            cfg.relative_position_embedding,
        ),
        ("gru_rel_pos", cfg.gru_rel_pos),
    ] {
        if value == Some(false) {
            return Err(ResolveError::Unsupported {
                field,
                reason: "false (WavLM is implemented with the gated relative position bias)".into(),
            });
        }
    }
    let key = "encoder.layers.0.self_attn.relative_attention_bias.weight";
    if let Some(&buckets) = shapes.get(key).and_then(|s| s.first()) {
        check("num_buckets", cfg.num_buckets, buckets, key, || {
            format!("has {buckets} rows")
        })?;
        config.num_buckets = buckets;
    }
    match cfg.max_distance {
        Some(d) => config.max_bucket_distance = d,
        None => inferred.push("max_distance"),
    }
    Ok(())
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
