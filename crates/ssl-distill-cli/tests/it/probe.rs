//! `ssl-distill probe` and `ssl-distill analyze` through the binary, on the bundled `ci` corpus
//! (`assets/demo-corpus`, so no espeak-ng is needed), on the real benchmarks' layouts written
//! from it (the probe crate's `real_layouts` test helper), and the tiny random toy teacher.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::{assert_one_line_error, assert_success, assets, run};

#[path = "../../../ssl-distill-probe/tests/it/real_layouts.rs"]
mod real_layouts;

/// The bundled `ci` corpus and a 4-layer toy teacher written to `dir`.
fn corpus_and_teacher(dir: &Path) -> (PathBuf, PathBuf) {
    let corpus = assets().join("demo-corpus");
    let teacher = dir.join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 4, 3, false, &Device::flex()).unwrap();
    (corpus, teacher)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn probe_and_analyze_write_their_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (corpus, teacher) = corpus_and_teacher(tmp.path());
    let out = tmp.path().join("out");
    let (c, t, o) = (
        corpus.to_str().unwrap(),
        teacher.to_str().unwrap(),
        out.to_str().unwrap(),
    );

    // SID for 2 epochs: the report has the metric, 5 layer weights summing to 1, 2 epochs.
    let res = run(&[
        "probe", "--model", t, "--task", "sid", "--data", c, "--out", o, "--epochs", "2",
    ]);
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert_success(&res);
    assert!(
        stdout.contains("sid") && stdout.contains("accuracy"),
        "{stdout}"
    );
    let report = json(&out.join("probe-sid.json"));
    assert_eq!(report["metric"], "accuracy");
    let acc = report["value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{acc}");
    let weights: Vec<f64> = report["layer_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    assert_eq!(weights.len(), 5);
    assert!(
        (weights.iter().sum::<f64>() - 1.0).abs() < 1e-4,
        "{weights:?}"
    );
    assert_eq!(report["history"].as_array().unwrap().len(), 2);

    // PR for 1 epoch: a phone error rate.
    let res = run(&[
        "probe", "--model", t, "--task", "pr", "--data", c, "--out", o, "--epochs", "1",
    ]);
    assert_success(&res);
    assert_eq!(json(&out.join("probe-pr.json"))["metric"], "per");

    // CKA of the teacher against itself: the diagonal is 1, the cross matrix too.
    let res = run(&[
        "analyze",
        "--model",
        t,
        "--teacher",
        t,
        "--data",
        c,
        "--out",
        o,
        "--utterances",
        "4",
        "--clusters",
        "2",
    ]);
    assert_success(&res);
    let cka = json(&out.join("cka.json"));
    let m = cka["cka"].as_array().unwrap();
    assert_eq!(m.len(), 5);
    for (i, row) in m.iter().enumerate() {
        assert!((row[i].as_f64().unwrap() - 1.0).abs() < 1e-4, "{row}");
    }
    let cross = cka["cross_cka"].as_array().unwrap();
    for (i, row) in cross.iter().enumerate() {
        assert!((row[i].as_f64().unwrap() - 1.0).abs() < 1e-4, "{row}");
    }
    assert_eq!(cka["groups"].as_array().unwrap().len(), 2);
    for png in ["cka-heatmap.png", "cka-dendrogram.png", "cka-teacher.png"] {
        let bytes = std::fs::read(out.join(png)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png}");
    }
}

#[test]
fn probe_and_analyze_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-model");
    let m = missing.to_str().unwrap();
    let o = tmp.path().join("out");
    let o = o.to_str().unwrap();
    let res = run(&[
        "probe", "--model", m, "--task", "sid", "--data", o, "--out", o,
    ]);
    assert_one_line_error(&res, &["no-model"]);
    let res = run(&[
        "probe", "--model", m, "--task", "tts", "--data", o, "--out", o,
    ]);
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("asr"));
    let res = run(&["analyze", "--model", m, "--data", o, "--out", o]);
    assert_one_line_error(&res, &["no-model"]);

    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 2, 3, false, &Device::flex()).unwrap();
    let t = teacher.to_str().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = empty.to_str().unwrap();
    let res = run(&[
        "probe", "--model", t, "--task", "sid", "--data", e, "--out", o,
    ]);
    assert_one_line_error(&res, &["empty"]);
}

/// `probe --task ks|sid|asr|pr` on Speech Commands, VoxCeleb1 and LibriSpeech (detected), and
/// ASR on the synthetic corpus: each writes its report with the layout and the task's metric.
#[test]
fn probe_reads_the_real_layouts() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = real_layouts::demo_corpus();
    let (sc, vox, libri) = (
        tmp.path().join("sc"),
        tmp.path().join("vox"),
        tmp.path().join("LibriSpeech"),
    );
    real_layouts::write_speech_commands(&corpus, &sc);
    real_layouts::write_voxceleb1(&corpus, &vox, Some(4));
    let lexicon = real_layouts::write_librispeech(&corpus, &libri);
    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 2, 3, false, &Device::flex()).unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = tmp.path().join("out");
    let runs: [(&str, &PathBuf, &str, &str, Vec<String>); 5] = [
        ("ks", &sc, "speech-commands", "accuracy", vec![]),
        ("sid", &vox, "voxceleb1", "accuracy", vec![]),
        ("asr", &libri, "librispeech", "wer", vec![]),
        (
            "pr",
            &libri,
            "librispeech",
            "per",
            vec!["--lexicon".into(), s(&lexicon)],
        ),
        ("asr", &corpus, "synthetic", "wer", vec![]),
    ];
    for (task, data, layout, metric, extra) in runs {
        let mut args: Vec<String> = vec![
            "probe".into(),
            "--model".into(),
            s(&teacher),
            "--task".into(),
            task.into(),
            "--data".into(),
            s(data),
            "--out".into(),
            s(&out),
            "--epochs".into(),
            "1".into(),
        ];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let res = run(&args);
        assert_success(&res);
        let stdout = String::from_utf8_lossy(&res.stdout);
        assert!(stdout.contains(metric), "{stdout}");
        let report = json(&out.join(format!("probe-{task}.json")));
        assert_eq!(report["data"]["layout"], layout, "{task}");
        assert_eq!(report["metric"], metric);
        assert!(report["value"].as_f64().unwrap().is_finite());
        if task == "asr" {
            assert!(stdout.contains("cer"), "{stdout}");
            assert!(report["cer"].as_f64().unwrap().is_finite());
        }
    }
}

/// Bad real layouts: one line naming the file or directory.
#[test]
fn probe_layout_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = real_layouts::demo_corpus();
    let libri = tmp.path().join("libri");
    real_layouts::write_librispeech(&corpus, &libri);
    let sc = tmp.path().join("sc");
    std::fs::create_dir_all(sc.join("_background_noise_")).unwrap();
    std::fs::write(sc.join("validation_list.txt"), "").unwrap();
    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 1, 3, false, &Device::flex()).unwrap();
    let (t, l, s) = (
        teacher.to_str().unwrap(),
        libri.to_str().unwrap(),
        sc.to_str().unwrap(),
    );
    let o = tmp.path().join("out");
    let o = o.to_str().unwrap();
    let probe = |task: &str, data: &str, extra: &[&str]| {
        let mut args = vec![
            "probe", "--model", t, "--task", task, "--data", data, "--out", o,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    assert_one_line_error(&probe("pr", l, &[]), &["libri", "--lexicon"]);
    assert_one_line_error(
        &probe("pr", l, &["--lexicon", "/no/such/lexicon.txt"]),
        &["lexicon.txt", "missing"],
    );
    assert_one_line_error(
        &probe("ks", l, &[]),
        &["libri", "librispeech", "Speech Commands"],
    );
    assert_one_line_error(&probe("ks", s, &[]), &["testing_list.txt", "missing"]);
    assert_one_line_error(
        &probe("sid", s, &["--layout", "voxceleb1"]),
        &["iden_split.txt", "missing"],
    );
    let unknown = tmp.path().join("empty");
    std::fs::create_dir_all(&unknown).unwrap();
    assert_one_line_error(
        &probe("ks", unknown.to_str().unwrap(), &[]),
        &["empty", "not a probe data directory"],
    );
    std::fs::remove_dir_all(libri.join("test-clean")).unwrap();
    assert_one_line_error(&probe("asr", l, &[]), &["test-clean", "missing"]);
}
