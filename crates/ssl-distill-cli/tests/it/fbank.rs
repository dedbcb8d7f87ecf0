//! `ssl-distill fbank` / `mfcc`.

use ssl_distill_audio::{Fbank, FbankConfig, Mfcc, MfccConfig, load_audio};

use crate::{assert_one_line_error, assert_success, assets, read_tensor, run};

#[test]
fn fbank_of_bundled_clip_equals_library() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sub/hello.safetensors");
    let audio = assets().join("hello-22khz.wav");
    let res = run(&[
        "fbank",
        "--audio",
        audio.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--num-mel-bins",
        "40",
    ]);
    assert_success(&res);
    let (shape, data) = read_tensor(&out, "fbank");

    let wave = load_audio(&audio, 16_000).unwrap();
    let expected_frames = (wave.len() - 400) / 160 + 1;
    assert_eq!(shape, vec![expected_frames, 40]);
    let lib = Fbank::new(FbankConfig::default().with_num_mel_bins(40)).unwrap();
    assert_eq!(data, lib.compute(&wave).unwrap().data);
}

#[test]
fn mfcc_of_bundled_clip_equals_library() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hello-mfcc.safetensors");
    let audio = assets().join("hello-22khz.wav");
    let res = run(&[
        "mfcc",
        "--audio",
        audio.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_success(&res);
    let (shape, data) = read_tensor(&out, "mfcc");
    let wave = load_audio(&audio, 16_000).unwrap();
    let lib = Mfcc::new(MfccConfig::default())
        .unwrap()
        .compute(&wave)
        .unwrap();
    assert_eq!(shape, vec![lib.frames, 13]);
    assert_eq!(data, lib.data);
}

#[test]
fn missing_audio_is_one_line_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.safetensors");
    let missing = dir.path().join("no-such-clip.wav");
    let res = run(&[
        "fbank",
        "--audio",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["no-such-clip.wav", "not found"]);
    assert!(!out.exists());
}

#[test]
fn corrupt_audio_is_one_line_error_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("garbage.wav");
    std::fs::write(&bad, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").unwrap();
    let out = dir.path().join("x.safetensors");
    let res = run(&[
        "mfcc",
        "--audio",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["garbage.wav"]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the input remains");
}

#[test]
fn bad_option_is_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.safetensors");
    let audio = assets().join("hello-22khz.wav");
    let res = run(&[
        "fbank",
        "--audio",
        audio.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--num-mel-bins",
        "0",
    ]);
    assert_one_line_error(&res, &["bins"]);
    assert!(!out.exists());
}
