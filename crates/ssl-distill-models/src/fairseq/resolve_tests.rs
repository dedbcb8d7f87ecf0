//! Unit tests of [`resolve`]: each field declared, checked against the tensors, or inferred.

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
