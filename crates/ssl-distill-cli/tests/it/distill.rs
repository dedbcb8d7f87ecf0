//! `ssl-distill distill` through the binary: the CLI contract's files, `--resume`, and
//! one-line errors.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::{assert_one_line_error, assert_success, run};

fn recipe(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipes"))
        .join(format!("{name}.toml"))
}

/// The toy 12-layer teacher and 6 one-second toy WAVs (a folder, no manifest file needed).
pub fn teacher_and_data(dir: &Path) -> (PathBuf, PathBuf) {
    let teacher = dir.join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 12, 3, false, &Device::flex()).unwrap();
    let audio = dir.join("audio");
    let manifest = ssl_distill_recipes::toy::write_tone_corpus(&audio, 6, 1.0, 3).unwrap();
    std::fs::remove_file(manifest).unwrap();
    (teacher, audio)
}

pub fn distill(teacher: &Path, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let r = recipe("distilhubert");
    let mut args = vec![
        "distill",
        "--recipe",
        r.to_str().unwrap(),
        "--teacher",
        teacher.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-steps",
        "4",
        "--batch-size",
        "2",
        "--crop-seconds",
        "0.5",
        "--checkpoint-every",
        "2",
        "--seed",
        "5",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// The saved student's tensors as raw bits by name (burn writes the file's metadata map in
/// arbitrary order, so the files' bytes may differ where the weights do not).
fn weight_bits(out: &Path) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    let dict =
        ssl_distill_models::read_safetensors(&out.join("student/model.safetensors")).unwrap();
    dict.into_iter()
        .map(|(k, t)| (k, t.shape, t.data.iter().map(|v| v.to_bits()).collect()))
        .collect()
}

#[test]
fn distill_writes_the_contract_files_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let (teacher, data) = teacher_and_data(tmp.path());
    let out = tmp.path().join("run");
    let res = distill(&teacher, &data, &out, &[]);
    assert_success(&res);
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.last().unwrap()["step"], 4);
    assert!(
        rows.iter()
            .all(|r| r["loss"].as_f64().is_some_and(f64::is_finite))
    );
    for step in [2, 4] {
        let f = out.join(format!("checkpoints/step-{step}/model.safetensors"));
        assert!(f.is_file(), "{}", f.display());
    }
    assert!(out.join("student/student.json").is_file());
    assert!(out.join("student/model.safetensors").is_file());

    // Stopped after 2 steps, then resumed with the same flags: the same student.
    let split = tmp.path().join("split");
    let res = distill(&teacher, &data, &split, &["--stop-after", "2"]);
    assert_success(&res);
    assert!(!split.join("student").exists());
    let res = distill(&teacher, &data, &split, &["--resume"]);
    assert_success(&res);
    assert!(
        weight_bits(&out) == weight_bits(&split),
        "resumed student differs"
    );

    // A second fresh run into the same directory is refused.
    let res = distill(&teacher, &data, &out, &[]);
    assert_one_line_error(&res, &["--resume"]);
}

#[test]
fn distill_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.toml");
    let res = run(&["distill", "--recipe", missing.to_str().unwrap()]);
    assert_one_line_error(&res, &["nope.toml"]);

    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[student]\nlayers = 2\nbogus = 1\n").unwrap();
    let res = run(&["distill", "--recipe", bad.to_str().unwrap()]);
    assert_one_line_error(&res, &["bad.toml", "bogus"]);

    let r = recipe("distilhubert");
    let res = run(&[
        "distill",
        "--recipe",
        r.to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["--teacher"]);

    let (teacher, _) = teacher_and_data(tmp.path());
    let res = run(&[
        "distill",
        "--recipe",
        r.to_str().unwrap(),
        "--teacher",
        teacher.to_str().unwrap(),
        "--data",
        tmp.path().join("no-such-manifest.tsv").to_str().unwrap(),
        "--out",
        tmp.path().join("o2").to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["no-such-manifest.tsv"]);
}
