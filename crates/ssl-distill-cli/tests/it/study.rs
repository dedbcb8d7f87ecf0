//! `ssl-distill study` end to end: two of the study recipes on a tiny random teacher with a tiny
//! budget and two seeds, the report's tables and verdicts, a second invocation that reuses every
//! piece, and a third after one recipe changed that makes only that student and its probes again.

use std::path::Path;

use burn::tensor::Device;

use crate::{assert_one_line_error, assets, run};

fn study_args<'a>(
    teacher: &'a str,
    recipes: &'a str,
    corpus: &'a str,
    out: &'a str,
) -> Vec<&'a str> {
    vec![
        "study",
        "--teacher",
        teacher,
        "--recipes",
        recipes,
        "--data",
        corpus,
        "--out",
        out,
        "--steps",
        "3",
        "--probe-epochs",
        "0.02",
        "--seeds",
        "2",
    ]
}

#[test]
fn study_distils_probes_and_judges_the_claims_then_reuses_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 4, 3, false, &Device::flex()).unwrap();
    let recipes = tmp.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    let study = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipes/study"));
    for name in ["gendistiller.toml", "gendistiller-nar.toml"] {
        std::fs::copy(study.join(name), recipes.join(name)).unwrap();
    }
    let out = tmp.path().join("study");
    let corpus = assets().join("demo-corpus");
    let doc = tmp.path().join("results.md");
    let (t, r, c, o) = (
        teacher.to_str().unwrap(),
        recipes.to_str().unwrap(),
        corpus.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let mut args = study_args(t, r, c, o);
    args.extend(["--doc", doc.to_str().unwrap()]);
    let res = run(&args);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let report = std::fs::read_to_string(&doc).unwrap();
    assert_eq!(
        report,
        std::fs::read_to_string(out.join("results.md")).unwrap()
    );
    for needle in [
        "| teacher |",
        "| random-twin |",
        "| gendistiller |",
        "| gendistiller-nar |",
        "| trivial predictor |",
        "### GenDistiller (Gao et al. 2024)",
        "| PR per | gendistiller | gendistiller-nar |",
        "| PR per | teacher | random-twin |",
        "seeds 0, 1",
        "McNemar p ",
        "--seeds 2 --device cpu",
        // Recipes left out of this study are reported as such, not dropped.
        "| PR per | skill | dphubert | – | – | – | – | – | – | not run |",
    ] {
        assert!(report.contains(needle), "{needle:?} not in:\n{report}");
    }
    // Every comparison that ran has a verdict.
    let verdicts = report
        .lines()
        .filter(|l| l.starts_with("| PR per | gendistiller |"))
        .filter(|l| {
            ["holds", "contradicted", "inconclusive"]
                .iter()
                .any(|v| l.contains(v))
        })
        .count();
    assert_eq!(verdicts, 1, "{report}");
    for seed in [0, 1] {
        for model in ["teacher", "random-twin", "gendistiller", "gendistiller-nar"] {
            for task in ["pr", "sid", "ks"] {
                let file = out.join(format!("seed-{seed}/probes/{model}/probe-{task}.json"));
                let probe: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
                // One outcome per test utterance, for the paired comparisons.
                let items = probe["items"].as_array().unwrap();
                assert_eq!(items.len(), probe["data"]["utterances"][2], "{file:?}");
            }
        }
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let rows = &results["models"];
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert_eq!(rows[2]["seeds"][1]["seed"], 1);
    assert_eq!(rows[2]["seeds"][0]["distill"]["steps"], 3);
    let judged = &results["claims"][0]["comparisons"][0]["judgement"]["detail"]["Quality"];
    assert_eq!(judged["per_seed"].as_array().unwrap().len(), 2, "{results}");

    // Again: nothing is distilled or probed twice, the numbers are the same.
    let probe_json = out.join("seed-1/probes/gendistiller/probe-pr.json");
    let summary = out.join("seed-1/distill/gendistiller/study-distill.json");
    let distilled = std::fs::metadata(&summary).unwrap().modified().unwrap();
    let before = std::fs::metadata(&probe_json).unwrap().modified().unwrap();
    let res = run(&study_args(t, r, c, o));
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert_eq!(
        std::fs::metadata(&probe_json).unwrap().modified().unwrap(),
        before
    );
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    for (a, b) in rows
        .as_array()
        .unwrap()
        .iter()
        .zip(again["models"].as_array().unwrap())
    {
        for (sa, sb) in a["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["seeds"].as_array().unwrap())
        {
            assert_eq!(sa["probes"], sb["probes"]);
            assert_eq!(sa["distill"], sb["distill"]);
        }
    }

    // One recipe edited: its student (both seeds) and its probes are made again, nothing else.
    let edited = recipes.join("gendistiller.toml");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{text}\n# edited\n")).unwrap();
    let other = out.join("seed-1/distill/gendistiller-nar/study-distill.json");
    let other_before = std::fs::metadata(&other).unwrap().modified().unwrap();
    let teacher_probe = out.join("seed-1/probes/teacher/probe-pr.json");
    let teacher_before = std::fs::metadata(&teacher_probe)
        .unwrap()
        .modified()
        .unwrap();
    let res = run(&study_args(t, r, c, o));
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let modified = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    assert_ne!(modified(&summary), distilled);
    assert_ne!(modified(&probe_json), before);
    assert_eq!(modified(&other), other_before);
    assert_eq!(modified(&teacher_probe), teacher_before);
    let log = String::from_utf8_lossy(&res.stderr);
    assert!(
        log.contains("gendistiller: made with other recipe than now"),
        "{log}"
    );
}

#[test]
fn study_refuses_a_folder_that_is_not_a_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let res = run(&["study", "--data", dir, "--out", dir]);
    assert_one_line_error(&res, &[dir, "not a corpus directory", "train.jsonl"]);
}
