//! Atomic step checkpoints: `OUT/checkpoints/step-N/`.
//!
//! Layout of one checkpoint directory:
//! - `model.safetensors`: the model's parameters under burn's names/layout (`SafetensorsStore`),
//!   loadable by any tool that reads safetensors;
//! - `param_ids.json`: module path → burn `ParamId` (safetensors stores no ids, and the optimizer
//!   state is keyed by them, so resume re-assigns these ids after loading the weights);
//! - `optim.bpk`: the optimizer state (`ModuleOptimizer::to_record()`, saved as burnpack);
//! - `state.json`: step, loop RNG state (ChaCha8 seed/stream/word position), skipped-step count
//!   and the data source's opaque cursor; the scheduler position is the step itself (the
//!   learning rate is a pure function of the step, see [`crate::TrainConfig::lr_at`]);
//! - `meta.json`: written LAST; a directory without it is incomplete and ignored.
//!
//! Everything is written into `step-N.tmp-<pid>` (files fsynced), which is then renamed to
//! `step-N`, so a SIGKILL at any moment leaves either no `step-N` or a complete one. Deleting
//! a checkpoint (pruning, or replacing one of the same step) renames it to
//! `step-N.tmp-del-<pid>` first, so a kill mid-delete leaves no partial `step-N` either;
//! [`clean_tmp_dirs`] removes both kinds of leftovers on resume.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::params::{param_ids_by_path, restore_param_ids};

/// Name of the model file inside a checkpoint directory.
pub const MODEL_FILE: &str = "model.safetensors";
/// Name of the optimizer-state file inside a checkpoint directory.
pub const OPTIM_FILE: &str = "optim.bpk";
/// Name of the completion marker, written last.
pub const META_FILE: &str = "meta.json";
const IDS_FILE: &str = "param_ids.json";
const STATE_FILE: &str = "state.json";
const FORMAT_VERSION: u32 = 1;

/// Serializable state of the loop's ChaCha8 RNG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte key, hex-encoded.
    pub seed_hex: String,
    /// The stream number.
    pub stream: u64,
    /// Word position, as a decimal string (u128).
    pub word_pos: String,
}

impl RngState {
    /// Captures `rng`.
    pub fn capture(rng: &ChaCha8Rng) -> Self {
        Self {
            seed_hex: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// Rebuilds the RNG; `None` if the fields are malformed.
    pub fn restore(&self) -> Option<ChaCha8Rng> {
        use rand::SeedableRng;
        let bytes = self.seed_hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut seed = [0u8; 32];
        for (i, s) in seed.iter_mut().enumerate() {
            let h = std::str::from_utf8(&bytes[2 * i..2 * i + 2]).ok()?;
            *s = u8::from_str_radix(h, 16).ok()?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse().ok()?);
        Some(rng)
    }
}

/// Loop state saved with each checkpoint (`state.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Optimizer steps completed.
    pub step: u64,
    /// The loop RNG after `step`.
    pub rng: RngState,
    /// Steps skipped so far by the `skip_step` NaN policy.
    pub skipped_steps: u64,
    /// The data source's cursor after `step` (opaque to the loop).
    pub data_cursor: serde_json::Value,
}

/// `meta.json`: the completion marker, with enough to identify the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Format version of the directory layout.
    pub format_version: u32,
    /// Optimizer steps completed.
    pub step: u64,
    /// Files of the checkpoint.
    pub files: Vec<String>,
    /// The training config of the run, as JSON.
    pub config: serde_json::Value,
}

/// `OUT/checkpoints`.
pub fn checkpoints_root(out: &Path) -> PathBuf {
    out.join("checkpoints")
}

/// `OUT/checkpoints/step-N`.
pub fn checkpoint_dir(out: &Path, step: u64) -> PathBuf {
    checkpoints_root(out).join(format!("step-{step}"))
}

fn parse_step(name: &str) -> Option<u64> {
    name.strip_prefix("step-")?.parse().ok()
}

/// All complete checkpoints (`step-N` directories holding `meta.json`), sorted by step.
/// Temporary (`step-N.tmp-*`) and incomplete directories are ignored.
pub fn complete_checkpoints(out: &Path) -> Result<Vec<(u64, PathBuf)>, TrainError> {
    let root = checkpoints_root(out);
    let rd = match fs::read_dir(&root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainError::io(&root, e)),
    };
    let mut found = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| TrainError::io(&root, e))?;
        let name = entry.file_name();
        let Some(step) = name.to_str().and_then(parse_step) else {
            continue;
        };
        let path = entry.path();
        if path.join(META_FILE).is_file() {
            found.push((step, path));
        }
    }
    found.sort();
    Ok(found)
}

/// The newest complete checkpoint, if any.
pub fn latest_checkpoint(out: &Path) -> Result<Option<(u64, PathBuf)>, TrainError> {
    Ok(complete_checkpoints(out)?.pop())
}

/// Removes leftover `step-*.tmp-*` directories (from killed runs). Returns how many were removed.
pub fn clean_tmp_dirs(out: &Path) -> Result<usize, TrainError> {
    let root = checkpoints_root(out);
    let Ok(rd) = fs::read_dir(&root) else {
        return Ok(0);
    };
    let mut n = 0;
    for entry in rd {
        let entry = entry.map_err(|e| TrainError::io(&root, e))?;
        let name = entry.file_name();
        if name
            .to_str()
            .is_some_and(|n| n.starts_with("step-") && n.contains(".tmp-"))
        {
            let p = entry.path();
            fs::remove_dir_all(&p).map_err(|e| TrainError::io(&p, e))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Deletes all but the newest `keep` complete checkpoints (`keep == 0` keeps all).
pub fn prune_checkpoints(out: &Path, keep: usize) -> Result<(), TrainError> {
    if keep == 0 {
        return Ok(());
    }
    let all = complete_checkpoints(out)?;
    let n = all.len().saturating_sub(keep);
    for (step, p) in all.into_iter().take(n) {
        discard(out, step, &p)?;
    }
    Ok(())
}

/// Deletes checkpoint directory `dir` of `step`: renamed first to a temporary name (which
/// [`clean_tmp_dirs`] removes), so a crash mid-delete never leaves a partial `step-N`.
fn discard(out: &Path, step: u64, dir: &Path) -> Result<(), TrainError> {
    let doomed = checkpoints_root(out).join(format!("step-{step}.tmp-del-{}", std::process::id()));
    if doomed.exists() {
        fs::remove_dir_all(&doomed).map_err(|e| TrainError::io(&doomed, e))?;
    }
    fs::rename(dir, &doomed).map_err(|e| TrainError::io(dir, e))?;
    fs::remove_dir_all(&doomed).map_err(|e| TrainError::io(&doomed, e))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let mut f = fs::File::create(path).map_err(|e| TrainError::io(path, e))?;
    f.write_all(bytes).map_err(|e| TrainError::io(path, e))?;
    f.sync_all().map_err(|e| TrainError::io(path, e))
}

fn sync_file(path: &Path) -> Result<(), TrainError> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| TrainError::io(path, e))
}

fn to_json<T: Serialize>(v: &T, path: &Path) -> Result<Vec<u8>, TrainError> {
    serde_json::to_vec_pretty(v).map_err(|e| TrainError::ckpt(path, e.to_string()))
}

/// Writes `OUT/checkpoints/step-N/` atomically (tmp dir, fsync, `meta.json` last, rename).
/// An existing complete `step-N` is replaced.
pub fn write_checkpoint<M: Module>(
    out: &Path,
    model: &M,
    optim: &ModuleOptimizer,
    state: &LoopState,
    config: serde_json::Value,
) -> Result<PathBuf, TrainError> {
    let root = checkpoints_root(out);
    fs::create_dir_all(&root).map_err(|e| TrainError::io(&root, e))?;
    let final_dir = checkpoint_dir(out, state.step);
    let tmp = root.join(format!("step-{}.tmp-{}", state.step, std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    }
    fs::create_dir(&tmp).map_err(|e| TrainError::io(&tmp, e))?;

    let mp = tmp.join(MODEL_FILE);
    model
        .save_into(&mut SafetensorsStore::from_file(&mp))
        .map_err(|e| TrainError::ckpt(&mp, format!("{e:?}")))?;
    sync_file(&mp)?;
    let op = tmp.join(OPTIM_FILE);
    optim
        .save(&op)
        .map_err(|e| TrainError::ckpt(&op, format!("{e:?}")))?;
    sync_file(&op)?;
    let ip = tmp.join(IDS_FILE);
    write_synced(&ip, &to_json(&param_ids_by_path(model), &ip)?)?;
    let sp = tmp.join(STATE_FILE);
    write_synced(&sp, &to_json(state, &sp)?)?;
    let meta = CheckpointMeta {
        format_version: FORMAT_VERSION,
        step: state.step,
        files: [MODEL_FILE, OPTIM_FILE, IDS_FILE, STATE_FILE]
            .map(String::from)
            .to_vec(),
        config,
    };
    let metap = tmp.join(META_FILE);
    write_synced(&metap, &to_json(&meta, &metap)?)?;

    let replaced = root.join(format!(
        "step-{}.tmp-del-{}",
        state.step,
        std::process::id()
    ));
    if final_dir.exists() {
        fs::rename(&final_dir, &replaced).map_err(|e| TrainError::io(&final_dir, e))?;
    }
    fs::rename(&tmp, &final_dir).map_err(|e| TrainError::io(&final_dir, e))?;
    sync_file(&root)?;
    if replaced.exists() {
        fs::remove_dir_all(&replaced).map_err(|e| TrainError::io(&replaced, e))?;
    }
    Ok(final_dir)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, TrainError> {
    let bytes = fs::read(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| TrainError::ckpt(path, e.to_string()))
}

/// Reads `meta.json` of a checkpoint directory.
pub fn read_meta(dir: &Path) -> Result<CheckpointMeta, TrainError> {
    read_json(&dir.join(META_FILE))
}

/// Loads a checkpoint directory into `model` (weights and ParamIds) and `optim`, and returns the
/// loop state. Every parameter of `model` must be present in the checkpoint.
pub fn load_checkpoint<M: Module>(
    dir: &Path,
    mut model: M,
    optim: ModuleOptimizer,
) -> Result<(M, ModuleOptimizer, LoopState), TrainError> {
    let meta = read_meta(dir)?;
    if meta.format_version != FORMAT_VERSION {
        return Err(TrainError::ckpt(
            dir.join(META_FILE),
            format!(
                "format_version {} (expected {FORMAT_VERSION})",
                meta.format_version
            ),
        ));
    }
    let mp = dir.join(MODEL_FILE);
    let res = model
        .load_from(&mut SafetensorsStore::from_file(&mp))
        .map_err(|e| TrainError::ckpt(&mp, format!("{e:?}")))?;
    if !res.errors.is_empty() {
        return Err(TrainError::ckpt(&mp, format!("{:?}", res.errors)));
    }
    let ids: BTreeMap<String, u64> = read_json(&dir.join(IDS_FILE))?;
    let (model, missing) = restore_param_ids(model, &ids);
    if !missing.is_empty() {
        return Err(TrainError::ckpt(
            dir.join(IDS_FILE),
            format!("no ParamId for parameters {missing:?}"),
        ));
    }
    let op = dir.join(OPTIM_FILE);
    let record = OptimizerRecord::load(&op).map_err(|e| TrainError::ckpt(&op, format!("{e:?}")))?;
    let optim = optim.load_record(record);
    let state: LoopState = read_json(&dir.join(STATE_FILE))?;
    if state.step != meta.step {
        return Err(TrainError::ckpt(
            dir.join(STATE_FILE),
            format!("step {} but meta.json says {}", state.step, meta.step),
        ));
    }
    Ok((model, optim, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn rng_state_roundtrip_continues_the_stream() {
        let mut a = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..7 {
            a.next_u32();
        }
        let state = RngState::capture(&a);
        let json = serde_json::to_string(&state).unwrap();
        let mut b = serde_json::from_str::<RngState>(&json)
            .unwrap()
            .restore()
            .unwrap();
        let xa: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xa, xb);
        let bad = RngState {
            seed_hex: "zz".into(),
            ..state
        };
        assert!(bad.restore().is_none());
    }
}
