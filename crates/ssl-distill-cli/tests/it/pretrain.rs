//! `ssl-distill pretrain` through the binary: the run's files, an output directory that
//! `features` reads with its HuBERT head, `--resume`, and one-line errors.

use std::path::PathBuf;

use crate::{assert_one_line_error, assert_success, read_tensor, run};

fn recipe() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../recipes/mini-hubert.toml"
    ))
}

#[test]
fn pretrain_writes_a_model_with_its_head() {
    let tmp = tempfile::tempdir().unwrap();
    let audio = tmp.path().join("audio");
    let manifest = ssl_distill_recipes::toy::write_tone_corpus(&audio, 6, 1.0, 4).unwrap();
    std::fs::remove_file(manifest).unwrap();
    let out = tmp.path().join("run");
    let r = recipe();
    let args = |extra: &[&'static str]| {
        let mut a: Vec<String> = [
            "pretrain",
            "--recipe",
            r.to_str().unwrap(),
            "--data",
            audio.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--max-steps",
            "3",
            "--batch-size",
            "2",
            "--crop-seconds",
            "0.5",
            "--checkpoint-every",
            "2",
            "--seed",
            "3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let call = |a: Vec<String>| run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let res = call(args(&["--stop-after", "2"]));
    assert_success(&res);
    assert!(out.join("checkpoints/step-2/model.safetensors").is_file());
    assert!(!out.join("model").exists(), "a stopped run exports nothing");
    let res = call(args(&["--resume"]));
    assert_success(&res);

    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.last().unwrap()["step"], 3);
    assert!(
        rows.iter()
            .all(|r| r["terms"]["masked_ce"].as_f64().is_some_and(f64::is_finite))
    );
    assert!(out.join("units.json").is_file());

    // The recipe's model: 4 x 256, a 256-dim head over 100 units.
    let model = out.join("model");
    let weights = model.join("model.safetensors");
    assert_eq!(read_tensor(&weights, "final_proj.weight").0, vec![256, 256]);
    assert_eq!(read_tensor(&weights, "final_proj.bias").0, vec![256]);
    assert_eq!(read_tensor(&weights, "label_embs_concat").0, vec![100, 256]);
    let wav = audio.join("utt0000.wav");
    let feats = tmp.path().join("feats.safetensors");
    let res = run(&[
        "features",
        "--model",
        model.to_str().unwrap(),
        "--audio",
        wav.to_str().unwrap(),
        "--out",
        feats.to_str().unwrap(),
    ]);
    assert_success(&res);
    assert_eq!(read_tensor(&feats, "hidden_states.4").0, vec![1, 49, 256]);

    // A fresh run into the same directory is refused.
    let res = call(args(&[]));
    assert_one_line_error(&res, &["--resume"]);
}

#[test]
fn pretrain_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[masking]\nspan = 3\n").unwrap();
    let res = run(&["pretrain", "--recipe", bad.to_str().unwrap()]);
    assert_one_line_error(&res, &["bad.toml", "span"]);

    let r = recipe();
    let res = run(&["pretrain", "--recipe", r.to_str().unwrap()]);
    assert_one_line_error(&res, &["--data"]);

    let res = run(&[
        "pretrain",
        "--recipe",
        r.to_str().unwrap(),
        "--data",
        tmp.path().join("missing").to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["missing"]);
}
