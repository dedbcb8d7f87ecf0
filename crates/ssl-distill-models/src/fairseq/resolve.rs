//! The architecture of a fairseq checkpoint: what its configuration declares, checked against
//! its tensors, and inferred from the tensors where the configuration is silent (see the
//! table in the module docs of [`crate::fairseq`]).

use std::collections::BTreeMap;

use super::FairseqOverrides;
use super::cfg::FairseqCfg;
use crate::config::{FeatExtractNorm, ModelKind, SslConfig};
use crate::preprocessor::Preprocessor;

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
    let heads = match (o.num_attention_heads, cfg.encoder_attention_heads) {
        (Some(h), _) => h,
        (None, Some(h)) if h == 0 || !hidden.is_multiple_of(h) => {
            return mismatch(
                "encoder_attention_heads",
                h,
                proj_key,
                format!("has {hidden} outputs, which {h} heads cannot split"),
            );
        }
        (None, Some(h)) => h,
        (None, None) => {
            inferred.push("encoder_attention_heads");
            (hidden / 64).max(1)
        }
    };
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
    let preprocessor = Preprocessor {
        do_normalize: cfg.normalize.unwrap_or_else(|| {
            inferred.push("normalize");
            pre_ln
        }),
        sampling_rate: cfg.sample_rate.unwrap_or_else(|| {
            inferred.push("sample_rate");
            16_000
        }),
    };
    if preprocessor.sampling_rate == 0 {
        return Err(ResolveError::Unsupported {
            field: "sample_rate",
            reason: "0".into(),
        });
    }
    Ok(Resolved {
        config,
        preprocessor,
        inferred,
    })
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
mod tests {
    use super::*;

    /// [`TINY_SHAPES`](crate::fairseq::TINY_SHAPES) plus `extra`.
    fn base(extra: &[(&str, &[usize])]) -> Shapes {
        let mut shapes = crate::fairseq::TINY_SHAPES.to_vec();
        shapes.extend_from_slice(extra);
        shapes
            .into_iter()
            .map(|(k, s)| (k.to_string(), s.to_vec()))
            .collect()
    }

    fn declared() -> FairseqCfg {
        FairseqCfg {
            name: Some("hubert".into()),
            family: Some(ModelKind::Hubert),
            encoder_layers: Some(2),
            encoder_embed_dim: Some(128),
            encoder_ffn_embed_dim: Some(256),
            encoder_attention_heads: Some(4),
            layer_norm_first: Some(true),
            extractor_mode: Some("default".into()),
            conv_feature_layers: Some(vec![(32, 10, 4), (32, 3, 3)]),
            conv_bias: Some(false),
            conv_pos: Some(16),
            conv_pos_groups: Some(16),
            normalize: Some(true),
            sample_rate: Some(8000),
            ..FairseqCfg::default()
        }
    }

    #[test]
    fn declared_fields_win_over_guesses_and_nothing_is_inferred() {
        let r = resolve(&base(&[]), &declared(), &FairseqOverrides::default()).unwrap();
        assert_eq!(r.config.num_attention_heads, 4);
        assert_eq!(r.config.conv_stride, vec![4, 3]);
        assert!(r.config.do_stable_layer_norm);
        assert_eq!(
            r.preprocessor,
            Preprocessor {
                do_normalize: true,
                sampling_rate: 8000
            }
        );
        assert!(r.inferred.is_empty(), "{:?}", r.inferred);
    }

    #[test]
    fn without_a_cfg_everything_is_inferred_and_listed() {
        let r = resolve(
            &base(&[]),
            &FairseqCfg::default(),
            &FairseqOverrides::default(),
        )
        .unwrap();
        assert_eq!(r.config.num_attention_heads, 2);
        assert_eq!(r.config.conv_stride, vec![5, 2]);
        for field in [
            "family",
            "encoder_attention_heads",
            "layer_norm_first",
            "normalize",
        ] {
            assert!(r.inferred.contains(&field), "{field}: {:?}", r.inferred);
        }
    }

    #[test]
    fn contradictions_name_the_field_and_the_tensor() {
        let cases: Vec<(FairseqCfg, Shapes, &str, &str)> = vec![
            (
                FairseqCfg {
                    encoder_attention_heads: Some(5),
                    ..declared()
                },
                base(&[]),
                "encoder_attention_heads",
                "post_extract_proj.weight",
            ),
            (
                FairseqCfg {
                    conv_pos: Some(128),
                    ..declared()
                },
                base(&[]),
                "conv_pos",
                "encoder.pos_conv.0.weight_v",
            ),
            (
                FairseqCfg {
                    conv_feature_layers: Some(vec![(32, 10, 5), (32, 2, 2)]),
                    ..declared()
                },
                base(&[]),
                "conv_feature_layers",
                "feature_extractor.conv_layers.1.0.weight",
            ),
            (
                FairseqCfg {
                    extractor_mode: Some("layer_norm".into()),
                    ..declared()
                },
                base(&[]),
                "extractor_mode",
                "feature_extractor.conv_layers.0.2.1.weight",
            ),
            (
                FairseqCfg {
                    encoder_layers: Some(3),
                    ..declared()
                },
                base(&[]),
                "encoder_layers",
                "encoder.layers.2",
            ),
            (
                declared(),
                base(&[("quantizer.vars", &[1, 8, 4])]),
                "_name/arch",
                "quantizer.vars",
            ),
            (
                FairseqCfg {
                    conv_bias: Some(true),
                    ..declared()
                },
                base(&[]),
                "conv_bias",
                "feature_extractor.conv_layers.0.0.bias",
            ),
        ];
        for (cfg, shapes, want_field, want_tensor) in cases {
            match resolve(&shapes, &cfg, &FairseqOverrides::default()) {
                Err(ResolveError::Mismatch { field, tensor, .. }) => {
                    assert_eq!((field, tensor.as_str()), (want_field, want_tensor));
                }
                other => panic!("{want_field}: expected a mismatch, got {other:?}"),
            }
        }
    }

    #[test]
    fn unsupported_values_are_refused() {
        let cfg = FairseqCfg {
            activation_fn: Some("relu".into()),
            ..declared()
        };
        let err = resolve(&base(&[]), &cfg, &FairseqOverrides::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ResolveError::Unsupported {
                    field: "activation_fn",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
