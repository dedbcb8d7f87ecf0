//! fairseq `.pt` checkpoints (written by `tools/reference/fairseq_fixture.py` in fairseq's
//! format): the inferred architecture, the head, and hidden states equal to HF's.

use burn::tensor::Device;
use ssl_distill_models::{
    FairseqOverrides, FeatExtractNorm, LoadError, ModelKind, SslInput, load_fairseq,
};

use crate::common::{Io, fixture, max_diff};

fn run(case: &str, overrides: &FairseqOverrides) -> f32 {
    let device = Device::flex();
    let path = fixture("fairseq").join(format!("{case}.pt"));
    let ckpt = load_fairseq(&path, overrides, &device).unwrap();
    let io = Io::from_path(&fixture("fairseq").join(format!("{case}.io.safetensors")));
    let out = ckpt
        .model
        .forward(SslInput::new(io.tensor("wave", &device)));
    let mut worst = 0.0f32;
    for (i, h) in out.hidden_states.iter().enumerate() {
        worst = worst.max(max_diff(
            h,
            &io.0[&format!("hidden_states.{i}")],
            &format!("{case} h{i}"),
        ));
    }
    worst
}

#[test]
fn hubert_with_pretraining_head() {
    let device = Device::flex();
    let overrides = FairseqOverrides {
        num_attention_heads: Some(2),
        ..Default::default()
    };
    let path = fixture("fairseq").join("hubert_base_like.pt");
    let ckpt = load_fairseq(&path, &overrides, &device).unwrap();
    assert_eq!(ckpt.config.kind, ModelKind::Hubert);
    assert_eq!(ckpt.config.feat_extract_norm, FeatExtractNorm::Group);
    assert!(!ckpt.config.do_stable_layer_norm);
    assert_eq!(
        (ckpt.config.num_hidden_layers, ckpt.config.hidden_size),
        (2, 32)
    );
    assert_eq!(ckpt.config.conv_stride, vec![5, 2, 2, 2, 2, 2, 2]);
    let head = ckpt.head.expect("HuBERT head");
    let io = Io::from_path(&fixture("fairseq").join("hubert_base_like.io.safetensors"));
    assert_eq!(head.label_embs.shape, vec![10, 16]);
    assert_eq!(head.label_embs.data, io.0["label_embs_concat"].1);
    assert_eq!(head.final_proj_weight.data, io.0["final_proj.weight"].1);
    let d = run("hubert_base_like", &overrides);
    assert!(d <= 1e-4, "max diff {d}");
}

#[test]
fn wavlm_large_like_is_inferred_pre_ln() {
    let overrides = FairseqOverrides {
        num_attention_heads: Some(2),
        ..Default::default()
    };
    let device = Device::flex();
    let ckpt = load_fairseq(
        fixture("fairseq").join("wavlm_large_like.pt"),
        &overrides,
        &device,
    )
    .unwrap();
    assert_eq!(ckpt.config.kind, ModelKind::Wavlm);
    assert!(ckpt.config.do_stable_layer_norm && ckpt.config.conv_bias);
    assert!(ckpt.head.is_none());
    let d = run("wavlm_large_like", &overrides);
    assert!(d <= 1e-4, "max diff {d}");
}

#[test]
fn not_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.pt");
    std::fs::write(&path, b"not a pickle").unwrap();
    let err = load_fairseq(&path, &FairseqOverrides::default(), &Device::flex()).unwrap_err();
    assert!(matches!(err, LoadError::Pytorch { .. }), "{err}");
    assert!(err.to_string().contains("junk.pt"), "{err}");
}
