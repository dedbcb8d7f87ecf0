//! Bad checkpoints give typed errors that name the problem.

use burn::tensor::Device;
use ssl_distill_models::{ConfigError, LoadError, StateTensor, load_checkpoint};

use crate::common::fixture;

/// A copy of the `hubert_tiny` fixture whose weights are rewritten by `edit`.
fn broken(edit: impl FnOnce(&mut ssl_distill_models::StateDict)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("hubert_tiny");
    std::fs::copy(src.join("config.json"), dir.path().join("config.json")).unwrap();
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut dict = ssl_distill_models::StateDict::new();
    for (k, v) in st.tensors() {
        let data = v
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        dict.insert(k, StateTensor::new(v.shape().to_vec(), data));
    }
    edit(&mut dict);
    let views: Vec<(String, Vec<u8>, Vec<usize>)> = dict
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                t.data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                t.shape.clone(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = views
        .iter()
        .map(|(k, b, s)| {
            (
                k.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.path().join("model.safetensors")).unwrap();
    dir
}

#[test]
fn missing_key() {
    let dir = broken(|d| {
        d.remove("encoder.layers.1.attention.q_proj.weight");
    });
    let err = load_checkpoint(dir.path(), &Device::flex()).unwrap_err();
    assert!(
        matches!(&err, LoadError::MissingKeys { keys, .. } if keys == &["encoder.layers.1.attention.q_proj.weight"]),
        "{err}"
    );
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn unexpected_key() {
    let dir = broken(|d| {
        d.insert(
            "encoder.layers.7.surprise".into(),
            StateTensor::new(vec![2], vec![0.0, 1.0]),
        );
        d.insert(
            "lm_head.weight".into(),
            StateTensor::new(vec![1], vec![0.0]),
        );
    });
    let err = load_checkpoint(dir.path(), &Device::flex()).unwrap_err();
    assert!(
        matches!(&err, LoadError::UnexpectedKeys { keys, .. } if keys == &["encoder.layers.7.surprise"]),
        "{err}"
    );
}

#[test]
fn allowlisted_heads_are_reported_not_rejected() {
    let dir = broken(|d| {
        d.insert(
            "lm_head.weight".into(),
            StateTensor::new(vec![1], vec![0.0]),
        );
    });
    let (_, _, report) = load_checkpoint(dir.path(), &Device::flex()).unwrap();
    assert_eq!(report.ignored, vec!["lm_head.weight".to_string()]);
}

/// The allowlist is per family: wav2vec 2.0's quantizer is not an ignorable tensor in a HuBERT
/// checkpoint, HuBERT's pretraining head is.
#[test]
fn allowlist_is_per_model_family() {
    use ssl_distill_models::{ModelKind, unused_allowlist};
    let dir = broken(|d| {
        d.insert(
            "quantizer.codevectors".into(),
            StateTensor::new(vec![1], vec![0.0]),
        );
        d.insert(
            "label_embs_concat".into(),
            StateTensor::new(vec![1], vec![0.0]),
        );
    });
    let err = load_checkpoint(dir.path(), &Device::flex()).unwrap_err();
    assert!(
        matches!(&err, LoadError::UnexpectedKeys { keys, .. } if keys == &["quantizer.codevectors"]),
        "{err}"
    );
    assert!(unused_allowlist(ModelKind::Wav2vec2).contains(&"quantizer."));
    assert!(!unused_allowlist(ModelKind::Wav2vec2).contains(&"label_embs_concat"));
}

#[test]
fn task_model_prefix_is_stripped() {
    let dir = broken(|d| {
        let old = std::mem::take(d);
        d.extend(old.into_iter().map(|(k, v)| (format!("hubert.{k}"), v)));
    });
    let (_, _, report) = load_checkpoint(dir.path(), &Device::flex()).unwrap();
    assert_eq!(report.stripped_prefix.as_deref(), Some("hubert."));
}

#[test]
fn wrong_shape_names_key_and_shapes() {
    let dir = broken(|d| {
        d.insert(
            "encoder.layers.0.feed_forward.output_dense.bias".into(),
            StateTensor::new(vec![31], vec![0.0; 31]),
        );
    });
    let err = load_checkpoint(dir.path(), &Device::flex()).unwrap_err();
    match &err {
        LoadError::Shape {
            key,
            expected,
            found,
            ..
        } => {
            assert_eq!(key, "encoder.layers.0.feed_forward.output_dense.bias");
            assert_eq!(
                (expected.as_slice(), found.as_slice()),
                (&[32][..], &[31][..])
            );
        }
        other => panic!("expected a shape error, got {other}"),
    }
    assert!(err.to_string().contains("output_dense.bias"), "{err}");
}

#[test]
fn truncated_safetensors() {
    let dir = broken(|_| {});
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_checkpoint(dir.path(), &Device::flex()).unwrap_err();
    assert!(matches!(err, LoadError::Safetensors { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
}

#[test]
fn config_missing_field() {
    let dir = broken(|_| {});
    let path = dir.path().join("config.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("num_attention_heads");
    std::fs::write(&path, json.to_string()).unwrap();
    let err = load_checkpoint(dir.path(), &Device::flex()).unwrap_err();
    assert!(
        matches!(
            &err,
            LoadError::Config(ConfigError::MissingKey {
                key: "num_attention_heads",
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("config.json"), "{err}");
}

#[test]
fn missing_directory_and_bad_paths() {
    let err = load_checkpoint("/no/such/model", &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("/no/such/model"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.bin");
    std::fs::write(&file, b"x").unwrap();
    let err = load_checkpoint(&file, &Device::flex()).unwrap_err();
    assert!(matches!(err, LoadError::NotACheckpoint { .. }), "{err}");
}

#[test]
fn pytorch_model_bin_loads_like_safetensors() {
    use ssl_distill_models::hf_state_dict;
    let device = Device::flex();
    let (c1, a, _) = load_checkpoint(fixture("hubert_tiny"), &device).unwrap();
    let (c2, b, report) = load_checkpoint(fixture("hubert_tiny_bin"), &device).unwrap();
    assert_eq!(c1, c2);
    assert!(report.source.ends_with("pytorch_model.bin"));
    assert_eq!(hf_state_dict(&a), hf_state_dict(&b));
}
