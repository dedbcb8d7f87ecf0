//! `ssl-distill features` / `inspect` on the models crate's parity fixtures; `features` over a
//! corpus (`features_corpus.rs`).

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use ssl_distill_audio::load_audio;
use ssl_distill_models::{SslInput, load_checkpoint};

use crate::{assert_one_line_error, assert_success, assets, read_tensor, run};

fn model_dir(case: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ssl-distill-models/tests/fixtures"
    ))
    .join(case)
}

#[test]
fn features_equal_the_library_on_a_22khz_wav() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.safetensors");
    let audio = assets().join("hello-22khz.wav");
    let model = model_dir("wavlm_tiny");
    let res = run(&[
        "features",
        "--model",
        model.to_str().unwrap(),
        "--audio",
        audio.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_success(&res);

    let device = Device::flex();
    let (_, m, _) = load_checkpoint(&model, &device).unwrap();
    let wave = load_audio(&audio, 16_000).unwrap();
    let len = wave.len();
    let lib = m.forward(SslInput::new(Tensor::<2>::from_data(
        TensorData::new(wave, [1, len]),
        &device,
    )));
    for (i, h) in lib.hidden_states.iter().enumerate() {
        let (shape, data) = read_tensor(&out, &format!("hidden_states.{i}"));
        assert_eq!(shape, h.dims().to_vec());
        assert_eq!(
            data,
            h.clone().try_into_vec_as::<f32>().unwrap(),
            "layer {i}"
        );
    }
    let (shape, _) = read_tensor(&out, "cnn_features");
    assert_eq!(shape, vec![1, (len - 400) / 320 + 1, 16]);
}

#[test]
fn a_subset_of_layers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.safetensors");
    let audio = assets().join("hello-22khz.wav");
    let res = run(&[
        "features",
        "--model",
        model_dir("hubert_tiny").to_str().unwrap(),
        "--audio",
        audio.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--layers",
        "1",
    ]);
    assert_success(&res);
    let bytes = std::fs::read(&out).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    assert_eq!(names, ["cnn_features", "hidden_states.1"]);
}

#[test]
fn errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("h.safetensors");
    let audio = assets().join("hello-22khz.wav");
    let a = audio.to_str().unwrap();
    let o = out.to_str().unwrap();
    let res = run(&[
        "features",
        "--model",
        "/no/model-dir",
        "--audio",
        a,
        "--out",
        o,
    ]);
    assert_one_line_error(&res, &["/no/model-dir"]);
    let m = model_dir("hubert_tiny");
    let res = run(&[
        "features",
        "--model",
        m.to_str().unwrap(),
        "--audio",
        a,
        "--out",
        o,
        "--layers",
        "9",
    ]);
    assert_one_line_error(&res, &["--layers", "out of range"]);
    let res = run(&[
        "features",
        "--model",
        m.to_str().unwrap(),
        "--audio",
        a,
        "--out",
        o,
        "--device",
        "cuda",
    ]);
    assert_one_line_error(&res, &["cuda", "--features cuda"]);
    assert!(!out.exists());
}

#[test]
fn inspect_prints_the_architecture() {
    let res = run(&[
        "inspect",
        "--model",
        model_dir("wavlm_tiny").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert_success(&res);
    assert!(stdout.contains("wavlm (WavLMModel)"), "{stdout}");
    assert!(
        stdout.contains("2 layers x 32 wide, 4 heads, FFN 64, post-LN"),
        "{stdout}"
    );
    assert!(stdout.contains("rel. pos.:   320 buckets"), "{stdout}");
}

#[test]
fn inspect_prints_a_fairseq_files_declared_heads_and_family() {
    let fairseq = model_dir("fairseq");
    let res = run(&[
        "inspect",
        "--model",
        fairseq.join("wav2vec2_args.pt").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert_success(&res);
    // `args.arch = "wav2vec2"`, `encoder_attention_heads = 4` (32 wide: the guess would be 1).
    assert!(
        stdout.contains("family:      wav2vec2 (Wav2Vec2Model)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 layers x 32 wide, 4 heads, FFN 64, post-LN\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("config:      fairseq `args` (argparse Namespace), model `wav2vec2`"),
        "{stdout}"
    );
    assert!(stdout.contains("inferred:    nothing"), "{stdout}");
    // WavLM's official dict has no sample rate; the Large-style HuBERT normalises its input.
    let res = run(&[
        "inspect",
        "--model",
        fairseq.join("wavlm_dict.pt").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        stdout.contains("inferred:    sample_rate (not in the file's configuration)"),
        "{stdout}"
    );
    let res = run(&[
        "inspect",
        "--model",
        fairseq.join("hubert_large_cfg.pt").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        stdout.contains("input:       16000 Hz, normalize true,"),
        "{stdout}"
    );
    assert!(stdout.contains("4 heads, FFN 64, pre-LN\n"), "{stdout}");
}

#[test]
fn inspect_refuses_a_fairseq_cfg_that_contradicts_its_tensors() {
    let path = model_dir("fairseq").join("contradicts_conv_pos.pt");
    let res = run(&["inspect", "--model", path.to_str().unwrap()]);
    assert_one_line_error(
        &res,
        &[
            "contradicts_conv_pos.pt",
            "conv_pos",
            "encoder.pos_conv.0.weight_v",
        ],
    );
}
