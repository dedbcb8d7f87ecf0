//! Every method example runs its `--smoke` mode (tiny random teacher, toy corpus, a few steps)
//! to the end, so the examples cannot rot.

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/NAME`, next to this test binary's `deps/` directory (cargo builds
/// the examples before running tests).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join(name)
}

fn smoke(name: &str, expect: &[&str]) {
    let bin = example(name);
    assert!(bin.is_file(), "{} not built", bin.display());
    let out = Command::new(&bin)
        .arg("--smoke")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    for e in expect {
        assert!(stdout.contains(e), "{name}: {e:?} not in output:\n{stdout}");
    }
}

#[test]
fn distilhubert_example() {
    smoke("distilhubert", &["distilhubert / distill: 8 steps"]);
}

#[test]
fn deep_vs_wide_example() {
    smoke("deep_vs_wide", &["deep-narrow", "shallow-wide"]);
}

#[test]
fn wang_disc_fbank_example() {
    smoke(
        "wang_disc_fbank",
        &["wang-disc-fbank / front-end", "wang-disc-fbank / distill"],
    );
}

#[test]
fn skill_example() {
    smoke("skill", &["clustered groups: [["]);
}

#[test]
fn gendistiller_example() {
    smoke("gendistiller", &["gendistiller / distill: 8 steps"]);
}
