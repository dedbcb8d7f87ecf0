//! End-to-end tests of the `ssl-distill` binary: outputs, and one-line errors on bad input.

mod bad_inputs;
mod corpus;
mod demo;
mod distill;
mod faults;
mod fbank;
mod features;
mod features_corpus;
mod pretrain;
mod probe;
mod prune;
mod study;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary as a [`Command`] with no stdin, for runs that need more than arguments (a working
/// directory, the environment, a child to kill).
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssl-distill"));
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs the binary with `args` and no stdin.
pub fn run(args: &[&str]) -> Output {
    command()
        .args(args)
        .output()
        .expect("the ssl-distill binary runs")
}

/// Asserts a successful run, showing its stderr otherwise.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts a failed run: non-zero exit, exactly one line on stderr starting with `error:` that
/// contains every string of `needles`, and no panic message.
pub fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} not in {stderr:?}");
    }
}

/// The workspace's `assets/` directory.
pub fn assets() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets"))
}

/// Reads one f32 tensor of a safetensors file: (shape, values).
pub fn read_tensor(path: &Path, key: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor(key).unwrap();
    let data = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (view.shape().to_vec(), data)
}
