//! `ssl-distill corpus synth` (needs libespeak-ng and wordnet-base, installed by .ci/run).

use crate::{assert_one_line_error, assert_success, run};

#[test]
fn synth_ci_preset_then_refuse_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("corpus");
    let o = out.to_str().unwrap();
    let res = run(&[
        "corpus", "synth", "--preset", "ci", "--out", o, "--seed", "3",
    ]);
    assert_success(&res);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        stdout.contains("180 utterances") && stdout.contains("192 keyword clips"),
        "{stdout}"
    );
    for f in [
        "train.jsonl",
        "valid.jsonl",
        "test.jsonl",
        "ks/train.jsonl",
        "corpus.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let manifest = ssl_distill_audio::Manifest::open(out.join("train.jsonl")).unwrap();
    assert_eq!(manifest.len(), 120);
    assert!(manifest.utterances[0].phones.is_some());
    let res = run(&["corpus", "synth", "--preset", "ci", "--out", o]);
    assert_one_line_error(&res, &["new or empty directory"]);

    // The same seed as FLAC: the same samples in `.flac` files, in less space.
    let flac = dir.path().join("flac");
    let res = run(&[
        "corpus",
        "synth",
        "--preset",
        "ci",
        "--out",
        flac.to_str().unwrap(),
        "--seed",
        "3",
        "--format",
        "flac",
    ]);
    assert_success(&res);
    let flac_manifest = ssl_distill_audio::Manifest::open(flac.join("train.jsonl")).unwrap();
    let (mut wav_bytes, mut flac_bytes) = (0, 0);
    for (w, f) in manifest
        .utterances
        .iter()
        .zip(&flac_manifest.utterances)
        .take(5)
    {
        assert_eq!(f.path.extension().unwrap(), "flac");
        let a = ssl_distill_audio::load_audio(&w.path, 16_000).unwrap();
        let b = ssl_distill_audio::load_audio(&f.path, 16_000).unwrap();
        assert!(
            a == b,
            "{} and {} differ",
            w.path.display(),
            f.path.display()
        );
        wav_bytes += std::fs::metadata(&w.path).unwrap().len();
        flac_bytes += std::fs::metadata(&f.path).unwrap().len();
    }
    assert!(flac_bytes < wav_bytes, "{flac_bytes} >= {wav_bytes}");
    let res = run(&[
        "corpus", "synth", "--preset", "ci", "--out", o, "--format", "mp3",
    ]);
    assert_one_line_error(&res, &["--format mp3"]);
    let res = run(&[
        "corpus",
        "synth",
        "--preset",
        "huge",
        "--out",
        dir.path().join("x").to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["--preset huge"]);
}
