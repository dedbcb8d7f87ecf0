//! The helper of `tools/backends/wgpu-check.sh` (the CLI crate's binary `backend-compare`, built
//! with its feature `backend-compare`): it makes the check's inputs and compares the CLI's outputs
//! with the committed transformers fixtures and between backends, so the check needs no Python.
//!
//! ```text
//! backend-compare wav IO.safetensors DIR
//!     the fixture's input rows as 32-bit float WAVs DIR/row<r>.wav (each cut to its
//!     attention_mask's valid samples) and a fairseq TSV DIR/rows.tsv over them
//! backend-compare features IO.safetensors OUT TOL
//!     OUT (a `features --audio` file, or a `features --data` directory with index.jsonl) against
//!     the fixture's `hidden_states.<i>` and `cnn_features` on each row's valid frames (their
//!     count from the row's valid samples and the conv stack of the fixture's config.json)
//! backend-compare toy DIR LAYERS
//!     a random toy HuBERT teacher of LAYERS x 32 (DIR/teacher, seed 3, made on flex) and six
//!     one-second tone WAVs (DIR/audio/train.tsv)
//! backend-compare losses A/metrics.jsonl B/metrics.jsonl FIRST LAST TOL
//!     the `loss` of steps FIRST..=LAST in both logs, step by step
//! backend-compare weights A.safetensors B.safetensors TOL
//!     every tensor of two checkpoints (same names and shapes)
//! ```
//! Each comparison prints `max abs diff <d> ...` on one line and exits 1 when `d > TOL` (or when a
//! tensor, a step or a key is missing), 2 on bad usage or unreadable input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use burn::tensor::Device;
use ssl_distill_models::{StateDict, StateTensor, read_safetensors};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("backend-compare: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one subcommand; `Ok(false)` is a failed comparison.
fn run(args: &[String]) -> Result<bool> {
    let arg = |i: usize| -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("missing argument {i} (see the file's docs for the usage)"))
    };
    let num = |i: usize| -> Result<f64> {
        arg(i)?
            .parse()
            .with_context(|| format!("`{}` is not a number", args[i]))
    };
    match arg(0)? {
        "wav" => write_rows(Path::new(arg(1)?), Path::new(arg(2)?)).map(|()| true),
        "features" => compare_features(Path::new(arg(1)?), Path::new(arg(2)?), num(3)?),
        "toy" => toy(Path::new(arg(1)?), num(2)? as usize).map(|()| true),
        "losses" => compare_losses(
            Path::new(arg(1)?),
            Path::new(arg(2)?),
            num(3)? as u64,
            num(4)? as u64,
            num(5)?,
        ),
        "weights" => compare_weights(Path::new(arg(1)?), Path::new(arg(2)?), num(3)?),
        other => bail!("unknown subcommand `{other}` (wav, features, toy, losses, weights)"),
    }
}

fn read(path: &Path) -> Result<StateDict> {
    read_safetensors(path).with_context(|| format!("reading {}", path.display()))
}

fn tensor<'a>(dict: &'a StateDict, key: &str, path: &Path) -> Result<&'a StateTensor> {
    dict.get(key)
        .with_context(|| format!("{}: no tensor `{key}`", path.display()))
}

/// Valid samples of each row of the fixture's `wave` (all of them without an attention mask).
fn valid_lengths(io: &StateDict, path: &Path) -> Result<Vec<usize>> {
    let wave = tensor(io, "wave", path)?;
    let [rows, len] = wave.shape[..] else {
        bail!("{}: `wave` is not [batch, samples]", path.display());
    };
    Ok(match io.get("attention_mask") {
        Some(mask) => mask
            .data
            .chunks(len)
            .map(|row| row.iter().filter(|&&m| m != 0.0).count())
            .collect(),
        None => vec![len; rows],
    })
}

/// `wav`: the fixture's input rows as float WAVs plus a TSV manifest.
fn write_rows(io_path: &Path, dir: &Path) -> Result<()> {
    let io = read(io_path)?;
    let wave = tensor(&io, "wave", io_path)?;
    let len = wave.shape[1];
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut tsv = format!("{}\n", dir.display());
    for (r, valid) in valid_lengths(&io, io_path)?.into_iter().enumerate() {
        let name = format!("row{r}.wav");
        let path = dir.join(&name);
        let mut w = hound::WavWriter::create(&path, spec)
            .with_context(|| format!("creating {}", path.display()))?;
        for &x in &wave.data[r * len..r * len + valid] {
            w.write_sample(x)?;
        }
        w.finalize()?;
        tsv.push_str(&format!("{name}\t{valid}\n"));
    }
    std::fs::write(dir.join("rows.tsv"), tsv)?;
    Ok(())
}

/// Where each row's tensors are in `out`: (row, file, key prefix).
fn output_files(out: &Path, rows: usize) -> Result<Vec<(usize, PathBuf, String)>> {
    if out.is_file() {
        return Ok(vec![(0, out.to_path_buf(), String::new())]);
    }
    let index = out.join("index.jsonl");
    let text =
        std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let mut files = Vec::new();
    for line in text.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)?;
        let id = entry["id"]
            .as_str()
            .context("index.jsonl: an entry without `id`")?;
        let file = entry["file"]
            .as_str()
            .context("index.jsonl: an entry without `file`")?;
        let row: usize = id
            .strip_prefix("row")
            .and_then(|r| r.parse().ok())
            .with_context(|| format!("index.jsonl: id `{id}` is not row<r>"))?;
        ensure!(
            row < rows,
            "index.jsonl: {id} but the fixture has {rows} rows"
        );
        files.push((row, out.join(file), format!("{id}/")));
    }
    ensure!(
        files.len() == rows,
        "{} utterances for {rows} fixture rows",
        files.len()
    );
    Ok(files)
}

/// The (kernel, stride) of each conv layer in the `config.json` next to `io_path`.
fn conv_stack(io_path: &Path) -> Result<Vec<(usize, usize)>> {
    let path = io_path.with_file_name("config.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let list = |key: &str| -> Result<Vec<usize>> {
        config[key]
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_u64().map(|v| v as usize)).collect())
            .with_context(|| format!("{}: no integer list `{key}`", path.display()))
    };
    let (kernels, strides) = (list("conv_kernel")?, list("conv_stride")?);
    ensure!(
        kernels.len() == strides.len(),
        "{}: conv_kernel and conv_stride differ in length",
        path.display()
    );
    Ok(kernels.into_iter().zip(strides).collect())
}

/// `features`: every hidden state and the CNN features against the fixture, on valid frames.
fn compare_features(io_path: &Path, out: &Path, tol: f64) -> Result<bool> {
    let io = read(io_path)?;
    let valid = valid_lengths(&io, io_path)?;
    let rows = valid.len();
    let conv = conv_stack(io_path)?;
    let keys: Vec<String> = io
        .keys()
        .filter(|k| k.starts_with("hidden_states.") || *k == "cnn_features")
        .cloned()
        .collect();
    let mut worst = 0.0f64;
    let mut worst_at = String::new();
    let mut compared = 0usize;
    for (row, file, prefix) in output_files(out, rows)? {
        let ours = read(&file)?;
        for key in &keys {
            let want = tensor(&io, key, io_path)?;
            let got = tensor(&ours, &format!("{prefix}{key}"), &file)?;
            let [_, frames, width] = got.shape[..] else {
                bail!(
                    "{}: `{prefix}{key}` is not [1, frames, width]",
                    file.display()
                );
            };
            let [_, ref_frames, ref_width] = want.shape[..] else {
                bail!(
                    "{}: `{key}` is not [batch, frames, width]",
                    io_path.display()
                );
            };
            let want_frames = conv.iter().try_fold(valid[row], |len, &(k, s)| {
                len.checked_sub(k).map(|l| l / s + 1)
            });
            ensure!(
                width == ref_width && Some(frames) == want_frames && frames <= ref_frames,
                "{}: `{prefix}{key}` is {:?}, expected [1, {want_frames:?}, {ref_width}] \
                 ({} valid samples)",
                file.display(),
                got.shape,
                valid[row]
            );
            let start = row * ref_frames * width;
            let reference = &want.data[start..start + frames * width];
            for (a, b) in got.data.iter().zip(reference) {
                let d = f64::from((a - b).abs());
                if d > worst || d.is_nan() {
                    worst = d;
                    worst_at = format!("{prefix}{key}");
                }
            }
            compared += 1;
        }
    }
    println!("max abs diff {worst:.2e} ({compared} tensors; worst {worst_at})");
    Ok(worst <= tol)
}

/// `toy`: the check's teacher and corpus (made on flex, so every backend reads the same files).
fn toy(dir: &Path, layers: usize) -> Result<()> {
    let device = Device::flex();
    ssl_distill_recipes::toy::write_tiny_teacher(&dir.join("teacher"), layers, 3, false, &device)?;
    ssl_distill_recipes::toy::write_tone_corpus(&dir.join("audio"), 6, 1.0, 3)?;
    Ok(())
}

/// The `loss` of each step of a metrics.jsonl (training rows; the last row of a step wins).
fn losses(path: &Path) -> Result<BTreeMap<u64, f64>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}: bad line", path.display()))?;
        if let (Some(step), Some(loss)) = (row["step"].as_u64(), row["loss"].as_f64()) {
            out.insert(step, loss);
        }
    }
    Ok(out)
}

/// `losses`: steps `first..=last` of two runs.
fn compare_losses(a: &Path, b: &Path, first: u64, last: u64, tol: f64) -> Result<bool> {
    let (la, lb) = (losses(a)?, losses(b)?);
    let mut worst = 0.0f64;
    let mut steps = Vec::new();
    for step in first..=last {
        let (Some(x), Some(y)) = (la.get(&step), lb.get(&step)) else {
            println!(
                "step {step} missing in {}",
                if la.contains_key(&step) { b } else { a }.display()
            );
            return Ok(false);
        };
        let d = (x - y).abs();
        worst = if worst.is_nan() || d.is_nan() {
            f64::NAN
        } else {
            worst.max(d)
        };
        steps.push(format!("{step}: {x:.6}/{y:.6}"));
    }
    println!("max abs diff {worst:.2e} (steps {})", steps.join(", "));
    Ok(worst <= tol)
}

/// `weights`: two checkpoints tensor by tensor.
fn compare_weights(a: &Path, b: &Path, tol: f64) -> Result<bool> {
    let (da, db) = (read(a)?, read(b)?);
    ensure!(
        da.keys().eq(db.keys()),
        "{} and {} hold different tensor names",
        a.display(),
        b.display()
    );
    let mut worst = 0.0f64;
    let mut worst_at = "";
    for (key, ta) in &da {
        let tb = &db[key];
        ensure!(
            ta.shape == tb.shape,
            "`{key}`: {:?} vs {:?}",
            ta.shape,
            tb.shape
        );
        for (x, y) in ta.data.iter().zip(&tb.data) {
            let d = f64::from((x - y).abs());
            if d > worst || d.is_nan() {
                worst = d;
                worst_at = key;
            }
        }
    }
    let at = if worst_at.is_empty() {
        "all equal".to_string()
    } else {
        format!("worst {worst_at}")
    };
    println!("max abs diff {worst:.2e} ({} tensors; {at})", da.len());
    Ok(worst <= tol)
}
