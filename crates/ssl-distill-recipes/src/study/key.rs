//! Keys of the study's reusable pieces (a distilled student, a probe result, the random twin):
//! everything that made a piece, written beside it once it is complete. A piece is reused only
//! when its key matches the one the current invocation would write; otherwise it is made again,
//! and the log says which parts changed.
//!
//! Fingerprints are FNV-1a (64-bit) of file bytes: not cryptographic, only a guard against
//! reusing a piece made from other inputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RecipeError;

/// The code version in every key: the recipe crate's version plus a study revision, bumped
/// whenever a change to the code changes what a piece holds (the probes' per-item outcomes,
/// how a student is distilled or probed).
pub const STUDY_CODE_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+study.2");

/// The file a piece's key is written to, inside the piece's directory (or beside its file).
pub const KEY_FILE: &str = "study-key.json";

/// What made a piece: named parts (`recipe`, `seed`, `teacher`, ...), each a value or a
/// fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceKey {
    /// The parts, by name.
    pub parts: BTreeMap<String, String>,
}

/// Whether a stored piece can be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// Same key: reuse.
    Same,
    /// No key beside the piece (not finished, or made by an older study).
    Absent,
    /// The key differs: the names of the parts that changed (added, removed or different).
    Changed(Vec<String>),
}

impl PieceKey {
    /// A key with the code version only.
    pub fn new() -> Self {
        Self::default().with("code", STUDY_CODE_VERSION)
    }

    /// Adds (or replaces) a part.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.parts.insert(name.to_string(), value.to_string());
        self
    }

    /// A fingerprint of the whole key (16 hex digits): how a piece made from this one (a probe
    /// of a student) names its input.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("keys serialize");
        format!("{:016x}", fnv1a(FNV_OFFSET, &json))
    }

    /// Compares with the key stored at `path`.
    pub fn check(&self, path: &Path) -> KeyCheck {
        let Ok(bytes) = std::fs::read(path) else {
            return KeyCheck::Absent;
        };
        let Ok(stored) = serde_json::from_slice::<PieceKey>(&bytes) else {
            return KeyCheck::Changed(vec!["(unreadable key)".into()]);
        };
        let mut changed: Vec<String> = self
            .parts
            .iter()
            .filter(|(k, v)| stored.parts.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        changed.extend(
            stored
                .parts
                .keys()
                .filter(|k| !self.parts.contains_key(*k))
                .cloned(),
        );
        if changed.is_empty() {
            KeyCheck::Same
        } else {
            KeyCheck::Changed(changed)
        }
    }

    /// Writes the key to `path` atomically.
    ///
    /// # Errors
    /// [`RecipeError::Io`] naming the file.
    pub fn write(&self, path: &Path) -> Result<(), RecipeError> {
        let json = serde_json::to_vec_pretty(self).expect("keys serialize");
        ssl_distill_models::write_atomic(path, &json).map_err(|e| RecipeError::Io {
            path: path.into(),
            source: std::io::Error::other(e.to_string()),
        })
    }
}

/// FNV-1a 64 of `bytes`, continuing from `hash`.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The fingerprint (16 hex digits) of the files `paths`, in order, each with its file name;
/// a path that does not exist counts as absent (so a missing optional file changes the key
/// when it appears).
///
/// # Errors
/// [`RecipeError::Io`] for a file that exists but cannot be read.
pub fn fingerprint_files(paths: &[PathBuf]) -> Result<String, RecipeError> {
    let mut hash = FNV_OFFSET;
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        hash = fnv1a(hash, name.unwrap_or_default().as_bytes());
        if path.is_file() {
            let bytes = std::fs::read(path).map_err(|source| RecipeError::Io {
                path: path.clone(),
                source,
            })?;
            hash = fnv1a(hash, &(bytes.len() as u64).to_le_bytes());
            hash = fnv1a(hash, &bytes);
        } else {
            hash = fnv1a(hash, b"\0absent");
        }
    }
    Ok(format!("{hash:016x}"))
}

/// The fingerprint of every regular file directly in `dir` (sorted by name): a checkpoint
/// directory (`config.json`, `model.safetensors`, ...).
///
/// # Errors
/// [`RecipeError::Io`] when the directory or a file cannot be read.
pub fn fingerprint_dir(dir: &Path) -> Result<String, RecipeError> {
    let io = |source| RecipeError::Io {
        path: dir.into(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    fingerprint_files(&files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference (isthe.com/chongo/tech/comp/fnv): "" and "a".
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_key_is_same_absent_or_names_what_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(KEY_FILE);
        let key = PieceKey::new().with("seed", 1).with("steps", 20);
        assert_eq!(key.check(&path), KeyCheck::Absent);
        key.write(&path).unwrap();
        assert_eq!(key.check(&path), KeyCheck::Same);
        let other = PieceKey::new()
            .with("seed", 1)
            .with("steps", 30)
            .with("device", "cpu");
        assert_eq!(
            other.check(&path),
            KeyCheck::Changed(vec!["device".into(), "steps".into()])
        );
        assert_ne!(key.digest(), other.digest());
        assert_eq!(key.digest(), key.clone().with("seed", 1).digest());
        let fewer = PieceKey::new().with("seed", 1);
        assert_eq!(fewer.check(&path), KeyCheck::Changed(vec!["steps".into()]));
    }

    #[test]
    fn fingerprints_follow_file_contents() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("a.json");
        std::fs::write(&f, "1").unwrap();
        let one = fingerprint_files(std::slice::from_ref(&f)).unwrap();
        assert_eq!(one, fingerprint_dir(tmp.path()).unwrap());
        std::fs::write(&f, "2").unwrap();
        assert_ne!(one, fingerprint_files(std::slice::from_ref(&f)).unwrap());
        let absent = fingerprint_files(&[tmp.path().join("b.json")]).unwrap();
        assert_ne!(absent, one);
    }
}
