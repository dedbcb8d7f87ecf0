//! The bad-input corpus (`tests/bad_inputs/`, written by its `make.py`) through the binary, and
//! `--skip-bad-audio`.
//!
//! Each line of `cases.tsv` is one command on one broken file (audio, manifest, HF config,
//! checkpoint, recipe). Every case must exit with status 1, print exactly one line on stderr
//! (`error: ...`) naming the file and containing the case's expected text, never panic, and
//! leave no output file behind. Control cases (`expect = OK`) must succeed: they show the
//! corpus's valid inputs are valid, so the broken ones fail for the reason they were built for.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// `tests/bad_inputs/` at the workspace root.
pub fn corpus() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/bad_inputs"
    ))
}

#[derive(Debug)]
struct Case {
    id: String,
    command: String,
    names: String,
    expect: String,
    what: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus().join("cases.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "cases.tsv line {l:?}");
            Case {
                id: f[0].into(),
                command: f[1].into(),
                names: f[2].into(),
                expect: f[3].into(),
                what: f[4].into(),
            }
        })
        .collect()
}

/// Runs the binary in the corpus directory (the cases' paths are relative to it), logging
/// errors only, so a failed run's stderr is its error line.
fn run_in_corpus(args: &[String]) -> Output {
    crate::command()
        .args(["--log", "error"])
        .args(args)
        .current_dir(corpus())
        .stdin(Stdio::null())
        .output()
        .expect("the ssl-distill binary runs")
}

/// Files under `dir` that a failed command must not leave: weights, optimizer state, plots,
/// analysis/probe reports, and temporaries of atomic writes.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name.contains(".tmp") {
                found.push(path.clone());
            }
            found.extend(leftovers(&path));
        } else if name.contains(".tmp")
            || [".safetensors", ".png", ".bpk"]
                .iter()
                .any(|e| name.ends_with(e))
            || name == "cka.json"
            || name.starts_with("probe-")
        {
            found.push(path);
        }
    }
    found
}

/// What is wrong with a case's outcome, if anything.
fn check(case: &Case, out: &Output, work: &Path) -> Result<(), String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if case.expect == "OK" {
        return if out.status.success() {
            Ok(())
        } else {
            Err(format!("control case failed: {stderr}"))
        };
    }
    if out.status.code() != Some(1) {
        return Err(format!("exit status {:?} (want 1): {stderr}", out.status));
    }
    if stderr.contains("panicked") {
        return Err(format!("panic: {stderr}"));
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let [line] = lines.as_slice() else {
        return Err(format!("{} stderr lines, want 1: {stderr}", lines.len()));
    };
    if !line.starts_with("error: ") {
        return Err(format!("not an `error: ` line: {line}"));
    }
    if !line.contains(&case.names) {
        return Err(format!("does not name {:?}: {line}", case.names));
    }
    if !line.contains(&case.expect) {
        return Err(format!("lacks {:?}: {line}", case.expect));
    }
    let left = leftovers(work);
    if !left.is_empty() {
        return Err(format!("left output behind: {left:?}"));
    }
    Ok(())
}

#[test]
fn every_bad_input_fails_with_one_line_naming_the_file() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let work = tmp.path().join(&case.id);
        std::fs::create_dir_all(&work).unwrap();
        let writes_a_file = ["fbank", "mfcc", "features"]
            .iter()
            .any(|c| case.command.starts_with(c));
        let out_path = work.join(if writes_a_file {
            "out.safetensors"
        } else {
            "out"
        });
        let args: Vec<String> = case
            .command
            .split_whitespace()
            .map(|a| a.replace("{out}", out_path.to_str().unwrap()))
            .collect();
        let out = run_in_corpus(&args);
        if let Err(problem) = check(case, &out, &work) {
            failures.push(format!(
                "{} ({}): `ssl-distill {}`: {problem}",
                case.id, case.what, case.command
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `ssl-distill distill` of the corpus's tiny teacher and recipe on `data`, 4 steps.
fn distill_tiny(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let good = corpus().join("good");
    crate::command()
        .arg("distill")
        .arg("--recipe")
        .arg(good.join("recipe.toml"))
        .arg("--teacher")
        .arg(good.join("teacher"))
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--max-steps", "4", "--seed", "1"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("the ssl-distill binary runs")
}

#[test]
fn a_bad_file_stops_distill_unless_skip_bad_audio() {
    let tmp = tempfile::tempdir().unwrap();
    // Three good tones and a truncated WAV: 2 batches of 2 per epoch, so 4 steps read the bad
    // file twice.
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..3 {
        let name = format!("utt{i}.wav");
        std::fs::copy(corpus().join("good/data").join(&name), data.join(&name)).unwrap();
    }
    std::fs::copy(
        corpus().join("audio/truncated.wav"),
        data.join("utt3-bad.wav"),
    )
    .unwrap();

    let out = tmp.path().join("stop");
    let res = distill_tiny(&data, &out, &[]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("utt3-bad.wav") && errors[0].contains("truncated WAV"),
        "{stderr}"
    );
    assert!(!out.join("student").exists());

    let out = tmp.path().join("skip");
    let res = distill_tiny(&data, &out, &["--skip-bad-audio"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    let warned = stderr
        .lines()
        .filter(|l| l.contains("skipped unreadable audio") && l.contains("utt3-bad.wav"))
        .count();
    assert_eq!(warned, 2, "{stderr}");
    assert!(
        stderr.contains("skipped 2 unreadable audio file(s)"),
        "{stderr}"
    );
    let rows = ssl_distill_train::read_metrics(&out.join("metrics.jsonl")).unwrap();
    let last = rows.last().unwrap();
    assert_eq!(last.step, 4);
    assert_eq!(last.extra["skipped_audio"], 2, "{last:?}");
    assert!(out.join("student/model.safetensors").is_file());

    // The count survives a resume (it is saved with the data cursor).
    let split = tmp.path().join("split");
    let res = distill_tiny(&data, &split, &["--skip-bad-audio", "--stop-after", "2"]);
    assert!(res.status.success());
    let res = distill_tiny(&data, &split, &["--skip-bad-audio", "--resume"]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    let rows = ssl_distill_train::read_metrics(&split.join("metrics.jsonl")).unwrap();
    assert_eq!(rows.last().unwrap().extra["skipped_audio"], 2);
    assert!(
        stderr.contains("skipped 2 unreadable audio file(s)"),
        "{stderr}"
    );
}
