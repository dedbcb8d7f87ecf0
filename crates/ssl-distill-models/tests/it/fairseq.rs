//! fairseq `.pt` checkpoints as fairseq writes them (`tools/reference/fairseq_fixture.py`):
//! the configuration read from `cfg` (omegaconf `DictConfig`, plain dict) or `args`
//! (`argparse.Namespace`) next to unimportable objects, hidden states equal to transformers',
//! the head, and errors for contradicting or broken files.

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use ssl_distill_models::{
    CfgSource, FairseqCfg, FairseqOverrides, FeatExtractNorm, LoadError, ModelKind, SslInput,
    load_checkpoint_full, load_fairseq, read_fairseq_cfg,
};

use crate::common::{Io, fixture, max_diff};

fn pt(case: &str) -> PathBuf {
    fixture("fairseq").join(format!("{case}.pt"))
}

fn io(case: &str) -> Io {
    Io::from_path(&fixture("fairseq").join(format!("{case}.io.safetensors")))
}

/// Worst difference between `model`'s hidden states on the fixture's wave (normalised when
/// `normalize`) and transformers'.
fn worst_diff(case: &str, model: &ssl_distill_models::SslModel, normalize: bool) -> f32 {
    let device = Device::flex();
    let io = io(case);
    let (shape, mut wave) = io.0["wave"].clone();
    if normalize {
        ssl_distill_audio::normalize(&mut wave);
    }
    // The input HF saw: the same normalisation, done by its feature extractor.
    let input_diff = wave
        .iter()
        .zip(&io.0["input_values"].1)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(input_diff <= 1e-5, "{case}: input differs by {input_diff}");
    let wave: Tensor<2> = Tensor::from_data(TensorData::new(wave, [shape[0], shape[1]]), &device);
    let out = model.forward(SslInput::new(wave));
    assert_eq!(out.hidden_states.len(), io.hidden_indices().len(), "{case}");
    out.hidden_states
        .iter()
        .enumerate()
        .map(|(i, h)| {
            max_diff(
                h,
                &io.0[&format!("hidden_states.{i}")],
                &format!("{case} h{i}"),
            )
        })
        .fold(0.0, f32::max)
}

#[test]
fn every_kind_matches_transformers_with_its_declared_config() {
    let device = Device::flex();
    for (case, kind, source, normalize) in [
        (
            "hubert_cfg",
            ModelKind::Hubert,
            CfgSource::DictConfig,
            false,
        ),
        (
            "wav2vec2_args",
            ModelKind::Wav2vec2,
            CfgSource::Namespace,
            false,
        ),
        ("wavlm_dict", ModelKind::Wavlm, CfgSource::Dict, false),
        (
            "hubert_large_cfg",
            ModelKind::Hubert,
            CfgSource::DictConfig,
            true,
        ),
    ] {
        let ckpt = load_checkpoint_full(pt(case), &device).unwrap();
        assert_eq!(ckpt.config.kind, kind, "{case}");
        // 32 wide with 4 heads: `hidden / 64` would say 1.
        assert_eq!(ckpt.config.num_attention_heads, 4, "{case}");
        assert_eq!(ckpt.preprocessor.do_normalize, normalize, "{case}");
        assert_eq!(ckpt.preprocessor.sampling_rate, 16_000, "{case}");
        for declared in [
            "family",
            "encoder_attention_heads",
            "layer_norm_first",
            "normalize",
        ] {
            assert!(
                !ckpt.inferred.contains(&declared),
                "{case}: {declared} inferred ({:?})",
                ckpt.inferred
            );
        }
        assert_eq!(read_fairseq_cfg(pt(case)).unwrap().source, source, "{case}");
        let d = worst_diff(case, &ckpt.model, ckpt.preprocessor.do_normalize);
        eprintln!("{case}: max diff {d:.2e}");
        assert!(d <= 1e-4, "{case}: max diff {d}");
    }
}

#[test]
fn large_style_cfg_gives_pre_ln_layer_norm_and_a_stride_shapes_cannot_tell() {
    let ckpt = load_fairseq(
        pt("hubert_large_cfg"),
        &FairseqOverrides::default(),
        &Device::flex(),
    )
    .unwrap();
    let c = &ckpt.config;
    assert!(c.do_stable_layer_norm && c.conv_bias);
    assert_eq!(c.feat_extract_norm, FeatExtractNorm::Layer);
    assert_eq!(c.conv_kernel, vec![10, 4, 3, 3]);
    // The kernel-4 layer has stride 3: guessed from the kernel it would be 2.
    assert_eq!(c.conv_stride, vec![5, 3, 2, 2]);
    assert!(ckpt.preprocessor.do_normalize);
    assert_eq!(ckpt.cfg.name.as_deref(), Some("hubert"));
    assert!(ckpt.inferred.is_empty(), "{:?}", ckpt.inferred);
}

#[test]
fn a_wrong_head_count_is_measurably_wrong() {
    // The fixtures discriminate: the guess `hidden / 64` = 1 head is far from transformers.
    let ckpt = load_fairseq(
        pt("hubert_cfg"),
        &FairseqOverrides {
            num_attention_heads: Some(1),
            ..Default::default()
        },
        &Device::flex(),
    )
    .unwrap();
    let d = worst_diff("hubert_cfg", &ckpt.model, false);
    assert!(d > 1e-3, "one head should differ from four, max diff {d}");
}

#[test]
fn hubert_head_comes_with_the_model() {
    let ckpt = load_fairseq(
        pt("hubert_cfg"),
        &FairseqOverrides::default(),
        &Device::flex(),
    )
    .unwrap();
    let head = ckpt.head.expect("HuBERT head");
    let io = io("hubert_cfg");
    assert_eq!(head.label_embs.shape, vec![10, 8]);
    assert_eq!(head.label_embs.data, io.0["label_embs_concat"].1);
    assert_eq!(head.final_proj_weight.data, io.0["final_proj.weight"].1);
    assert_eq!(head.final_proj_bias.data, io.0["final_proj.bias"].1);
    // wav2vec 2.0's `final_proj` is not a HuBERT head.
    let w2v = load_fairseq(
        pt("wav2vec2_args"),
        &FairseqOverrides::default(),
        &Device::flex(),
    )
    .unwrap();
    assert!(w2v.head.is_none());
    assert!(
        w2v.report
            .ignored
            .iter()
            .any(|k| k.starts_with("quantizer."))
    );
}

#[test]
fn preprocessor_read_takes_normalisation_from_the_task_section() {
    let pre = ssl_distill_models::Preprocessor::read(&pt("hubert_large_cfg")).unwrap();
    assert!(pre.do_normalize);
    let pre = ssl_distill_models::Preprocessor::read(&pt("wavlm_dict")).unwrap();
    assert!(!pre.do_normalize);
}

#[test]
fn a_cfg_contradicting_the_tensors_names_both() {
    let err = load_fairseq(
        pt("contradicts_conv_pos"),
        &FairseqOverrides::default(),
        &Device::flex(),
    )
    .unwrap_err();
    match &err {
        LoadError::FairseqMismatch {
            field,
            declared,
            tensor,
            ..
        } => {
            assert_eq!(*field, "conv_pos");
            assert_eq!(declared, "32");
            assert_eq!(tensor, "encoder.pos_conv.0.weight_v");
        }
        other => panic!("expected FairseqMismatch, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("contradicts_conv_pos.pt") && msg.contains("conv_pos"),
        "{msg}"
    );
}

/// The top-level pickle of a zip checkpoint.
fn data_pkl(path: &Path) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let name = zip
        .file_names()
        .flatten()
        .find(|n| n.ends_with("/data.pkl"))
        .unwrap()
        .to_string();
    let mut bytes = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn truncated_pickles_are_errors_naming_the_source() {
    let bytes = data_pkl(&pt("hubert_cfg"));
    let source = Path::new("hubert_cfg/data.pkl");
    let full = FairseqCfg::from_pickle(&bytes, source).unwrap();
    assert_eq!(full.encoder_attention_heads, Some(4));
    assert_eq!(full.conv_feature_layers.as_ref().map(Vec::len), Some(4));
    for len in (0..bytes.len() - 1).step_by(97) {
        let err = FairseqCfg::from_pickle(&bytes[..len], source).unwrap_err();
        assert!(matches!(err, LoadError::Pytorch { .. }), "{len}: {err}");
        assert!(err.to_string().contains("hubert_cfg/data.pkl"), "{err}");
    }
}

#[test]
fn not_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.pt");
    std::fs::write(&path, b"not a pickle").unwrap();
    let err = load_fairseq(&path, &FairseqOverrides::default(), &Device::flex()).unwrap_err();
    assert!(matches!(err, LoadError::Pytorch { .. }), "{err}");
    assert!(err.to_string().contains("junk.pt"), "{err}");
    // A zip checkpoint cut in half.
    let bytes = std::fs::read(pt("hubert_cfg")).unwrap();
    let cut = dir.path().join("cut.pt");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_fairseq(&cut, &FairseqOverrides::default(), &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("cut.pt"), "{err}");
}
