//! `ssl-distill demo` end to end on the bundled demo corpus with a tiny random teacher and a
//! tiny budget (the real demo uses the bundled mini HuBERT; see the README).

use burn::tensor::Device;

use crate::{assert_one_line_error, assert_success, assets, run};

#[test]
fn demo_writes_the_report_with_its_table_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 4, 3, false, &Device::flex()).unwrap();
    let out = tmp.path().join("demo");
    let corpus = assets().join("demo-corpus");
    let args = [
        "demo",
        "--teacher",
        teacher.to_str().unwrap(),
        "--data",
        corpus.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--steps",
        "4",
        "--probe-epochs",
        "0.02",
    ];
    let res = run(&args);
    assert_success(&res);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for needle in [
        "| teacher |",
        "| student |",
        "| trivial predictor |",
        "PR PER",
        "![loss](loss.png)",
        "cka/cka-teacher.png",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
    for png in ["loss.png", "cka/cka-teacher.png", "cka/cka-heatmap.png"] {
        let bytes = std::fs::read(out.join(png)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png}");
    }
    for who in ["teacher", "student"] {
        for task in ["pr", "sid", "ks"] {
            let f = out.join(format!("probes/{who}/probe-{task}.json"));
            assert!(f.is_file(), "{}", f.display());
        }
    }
    // The table's student row: its parameter count is below the teacher's.
    let params = |row: &str| -> f64 {
        let line = report.lines().find(|l| l.starts_with(row)).unwrap();
        line.split('|').nth(2).unwrap().trim().parse().unwrap()
    };
    assert!(params("| student |") < params("| teacher |"), "{report}");

    let missing = tmp.path().join("no-teacher");
    let res = run(&[
        "demo",
        "--teacher",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["no-teacher"]);
}

/// An installed binary finds the bundled assets through `SSL_DISTILL_HOME`; a home without them
/// is a one-line error naming the asset and the variable, before anything is written.
#[test]
fn demo_names_a_home_without_the_bundled_teacher() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let res = crate::command()
        .args(["demo", "--out", out.to_str().unwrap()])
        .env("SSL_DISTILL_HOME", tmp.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_one_line_error(&res, &["assets/mini-hubert", "SSL_DISTILL_HOME"]);
}
