//! `OUT/metrics.jsonl`: one JSON object per logged step, appended and flushed.
//!
//! Besides the fields of [`MetricsRow`], the loop adds `rss_mib` (the process's resident set
//! size at that step, from `/proc/self/status`; Linux only) so a long run's memory can be
//! followed from its log (`tools/rss/run.sh`).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// File name of the metrics log inside the output directory.
pub const METRICS_FILE: &str = "metrics.jsonl";

/// One row of `metrics.jsonl`. Non-finite numbers are written as `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Optimizer step (1-based).
    pub step: u64,
    /// Total loss of the step (mean over accumulated micro-batches).
    #[serde(deserialize_with = "nullable_f64")]
    pub loss: f64,
    /// Learning rate used for the step.
    pub lr: f64,
    /// Global gradient L2 norm before clipping.
    #[serde(deserialize_with = "nullable_f64")]
    pub grad_norm: f64,
    /// Mean wall time per step since the previous row.
    pub sec_per_step: f64,
    /// Steps skipped so far by the `skip_step` NaN policy.
    pub skipped_steps: u64,
    /// Per-term losses of the step (mean over micro-batches), in the order the model returned them.
    pub terms: serde_json::Map<String, serde_json::Value>,
    /// Extra values supplied by the caller (e.g. audio seconds per second).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn nullable_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Appends rows to `OUT/metrics.jsonl`, flushing after each.
#[derive(Debug)]
pub struct MetricsWriter {
    path: PathBuf,
    file: fs::File,
}

impl MetricsWriter {
    /// Opens the log for a run starting after step `keep_up_to`: rows with a larger step (written
    /// after the checkpoint a resumed run restarts from) are dropped by an atomic rewrite, so the
    /// file never holds duplicates. `keep_up_to = 0` starts an empty file.
    pub fn open(out: &Path, keep_up_to: u64) -> Result<Self, TrainError> {
        fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
        let path = out.join(METRICS_FILE);
        truncate_after(&path, keep_up_to)?;
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        Ok(Self { path, file })
    }

    /// Appends one row and flushes it.
    pub fn write(&mut self, row: &MetricsRow) -> Result<(), TrainError> {
        let mut line =
            serde_json::to_string(row).map_err(|e| TrainError::ckpt(&self.path, e.to_string()))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| TrainError::io(&self.path, e))
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Keeps only the lines of `path` whose `step` is `<= keep_up_to` (a torn last line is dropped
/// too), rewriting through a temporary file and a rename.
pub fn truncate_after(path: &Path, keep_up_to: u64) -> Result<(), TrainError> {
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(TrainError::io(path, e)),
    };
    let mut kept = String::new();
    for line in BufReader::new(f).lines() {
        let line = line.map_err(|e| TrainError::io(path, e))?;
        let step = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64));
        if step.is_some_and(|s| s <= keep_up_to) {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    let tmp = path.with_extension(format!("jsonl.tmp-{}", std::process::id()));
    fs::write(&tmp, kept).map_err(|e| TrainError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// The resident set size of this process in MiB (`VmRSS` of `/proc/self/status`); `None` where
/// that file does not exist (not Linux) or does not parse.
pub fn resident_set_mib() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Reads every row of a metrics file (for tests and reports).
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>, TrainError> {
    let text = fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| TrainError::ckpt(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}
