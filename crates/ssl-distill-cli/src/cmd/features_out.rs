//! The output directory of `ssl-distill features --data` (layout in `cmd/features.rs`): shards
//! or one file per utterance, `index.jsonl` and `features.json`, built in a temporary sibling
//! directory and renamed into place when complete, so `OUT` never holds a partial result.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use ssl_distill_models::{StateDict, StateTensor, write_atomic, write_safetensors};

/// Writes the features of a corpus, utterance by utterance.
pub struct Writer {
    out: PathBuf,
    tmp: PathBuf,
    per_utterance: bool,
    shard_bytes: usize,
    shard: StateDict,
    shard_size: usize,
    shards: usize,
    index: Vec<Value>,
    skipped: Vec<Value>,
}

impl Writer {
    /// A writer for `out` (which must not exist or be empty): one file per utterance, or shards
    /// of about `shard_bytes` of tensor data.
    pub fn create(out: &Path, per_utterance: bool, shard_bytes: usize) -> Result<Self> {
        if out.exists()
            && std::fs::read_dir(out)
                .with_context(|| format!("cannot read {}", out.display()))?
                .next()
                .is_some()
        {
            bail!(
                "{}: exists and is not empty; features go to a new directory",
                out.display()
            );
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok(Self {
            out: out.into(),
            tmp,
            per_utterance,
            shard_bytes: shard_bytes.max(1),
            shard: StateDict::new(),
            shard_size: 0,
            shards: 0,
            index: Vec::new(),
            skipped: Vec::new(),
        })
    }

    fn shard_name(&self) -> String {
        format!("shard-{:05}.safetensors", self.shards)
    }

    /// Adds the tensors of utterance `id` (audio `path`, `frames` valid frames from `samples`
    /// samples).
    pub fn add(
        &mut self,
        id: &str,
        path: &Path,
        frames: usize,
        samples: usize,
        tensors: Vec<(String, StateTensor)>,
    ) -> Result<()> {
        let (file, keys) = if self.per_utterance {
            let file = format!("{id}.safetensors");
            let keys: Vec<String> = tensors.iter().map(|(k, _)| k.clone()).collect();
            let dict: StateDict = tensors.into_iter().collect();
            write_safetensors(&dict, &self.tmp.join(&file))?;
            (file, keys)
        } else {
            let file = self.shard_name();
            let mut keys = Vec::with_capacity(tensors.len());
            for (key, t) in tensors {
                let key = format!("{id}/{key}");
                self.shard_size += 4 * t.data.len();
                self.shard.insert(key.clone(), t);
                keys.push(key);
            }
            (file, keys)
        };
        self.index.push(json!({
            "id": id,
            "path": path,
            "file": file,
            "frames": frames,
            "samples": samples,
            "keys": keys,
        }));
        if self.shard_size >= self.shard_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Records a file left out, with its error.
    pub fn skip(&mut self, path: Option<&Path>, error: String) {
        self.skipped.push(json!({ "path": path, "error": error }));
    }

    fn flush(&mut self) -> Result<()> {
        if self.shard.is_empty() {
            return Ok(());
        }
        write_safetensors(&self.shard, &self.tmp.join(self.shard_name()))?;
        self.shards += 1;
        self.shard.clear();
        self.shard_size = 0;
        Ok(())
    }

    /// Writes the last shard, `index.jsonl` and `features.json` (`summary` + counts), and moves
    /// the directory into place; returns (utterances written, files skipped).
    pub fn finish(mut self, mut summary: Value) -> Result<(usize, usize)> {
        let done = (|| -> Result<()> {
            self.flush()?;
            let mut index = String::new();
            for line in &self.index {
                index.push_str(&line.to_string());
                index.push('\n');
            }
            write_atomic(&self.tmp.join("index.jsonl"), index.as_bytes())?;
            summary["format"] = json!(if self.per_utterance {
                "per-utterance"
            } else {
                "shards"
            });
            summary["shards"] = json!(self.shards);
            summary["utterances"] = json!(self.index.len());
            summary["skipped"] = json!(self.skipped);
            let text = serde_json::to_string_pretty(&summary).expect("JSON values serialize");
            write_atomic(&self.tmp.join("features.json"), text.as_bytes())?;
            if self.out.exists() {
                std::fs::remove_dir(&self.out)
                    .with_context(|| format!("cannot replace {}", self.out.display()))?;
            }
            std::fs::rename(&self.tmp, &self.out)
                .with_context(|| format!("cannot move the features to {}", self.out.display()))
        })();
        if done.is_err() {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
        done.map(|()| (self.index.len(), self.skipped.len()))
    }

    /// Removes what was written so far.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}
