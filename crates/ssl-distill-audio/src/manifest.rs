//! Manifests: the list of utterances of a corpus.
//!
//! Three forms are read, and [`Manifest::open`] picks one from the path:
//! - **fairseq TSV** (`*.tsv`): the first line is the root directory, then one
//!   `relative/path<TAB>num_samples` line per utterance (`num_samples` at the file's own rate);
//! - **JSONL** (`*.jsonl`): one object per line with `path` (relative to the manifest's
//!   directory unless absolute) and optional `speaker`, `text`, `phones` (a string or a list of
//!   strings), `num_samples`; other fields (`align`, `label`...) are kept in
//!   [`Utterance::extra`];
//! - **a LibriSpeech-style folder**: every `*.flac` / `*.wav` below it, sorted by path; the
//!   speaker is the first directory level (`SPEAKER/CHAPTER/ID.flac`) and the text comes from
//!   the `*.trans.txt` files (`ID TEXT` lines) when present.
//!
//! Blank lines are skipped; any other line that does not parse is an error naming the
//! manifest and the line number.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::AudioError;

/// One utterance of a manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Utterance {
    /// Absolute or working-directory-relative path of the audio file.
    pub path: PathBuf,
    /// Declared length in samples at the file's own rate (fairseq TSV, or JSONL `num_samples`).
    pub num_samples: Option<u64>,
    /// Speaker label.
    pub speaker: Option<String>,
    /// Transcript.
    pub text: Option<String>,
    /// Phone sequence, space-separated.
    pub phones: Option<String>,
    /// Other JSONL fields, as read.
    pub extra: Map<String, Value>,
}

/// The utterances of a corpus, in manifest order.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The manifest file or folder it was read from.
    pub source: PathBuf,
    /// The utterances.
    pub utterances: Vec<Utterance>,
}

impl Manifest {
    /// Reads a manifest, choosing the form from the path: a folder is scanned, `*.tsv` is a
    /// fairseq TSV, `*.jsonl` / `*.json` is JSONL.
    ///
    /// # Errors
    /// [`AudioError::NotFound`], [`AudioError::UnknownManifest`], and the errors of the
    /// reader chosen.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|e| AudioError::io(path, e))?;
        if meta.is_dir() {
            return Self::scan_folder(path);
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("tsv") => Self::read_tsv(path),
            Some("jsonl" | "json") => Self::read_jsonl(path),
            _ => Err(AudioError::UnknownManifest { path: path.into() }),
        }
    }

    /// Reads a fairseq TSV manifest.
    ///
    /// # Errors
    /// I/O errors, [`AudioError::MissingTsvRoot`], [`AudioError::ManifestLine`],
    /// [`AudioError::EmptyManifest`].
    pub fn read_tsv(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let path = path.as_ref();
        Self::parse_tsv(&read_text(path)?, path)
    }

    /// Parses the text of a fairseq TSV manifest; `path` names it in errors and becomes
    /// [`Manifest::source`].
    ///
    /// # Errors
    /// [`AudioError::MissingTsvRoot`], [`AudioError::ManifestLine`],
    /// [`AudioError::EmptyManifest`].
    pub fn parse_tsv(text: &str, path: &Path) -> Result<Self, AudioError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, root_line)) = lines.next() else {
            return Err(AudioError::EmptyManifest { path: path.into() });
        };
        let root_line = root_line.trim_end_matches('\r');
        if root_line.contains('\t') {
            return Err(AudioError::MissingTsvRoot {
                path: path.into(),
                first_line: root_line.chars().take(80).collect(),
            });
        }
        let root = PathBuf::from(root_line.trim());
        let mut utterances = Vec::new();
        for (i, line) in lines {
            let line = line.trim_end_matches('\r');
            let bad = |reason: String| AudioError::ManifestLine {
                path: path.into(),
                line: i + 1,
                reason,
            };
            let mut fields = line.split('\t');
            let (Some(rel), Some(count), None) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(bad(format!(
                    "expected `path<TAB>num_samples`, got {} tab-separated fields",
                    line.split('\t').count()
                )));
            };
            if rel.is_empty() {
                return Err(bad("empty path".into()));
            }
            let num_samples = count.trim().parse::<u64>().map_err(|_| {
                bad(format!(
                    "num_samples `{count}` is not a non-negative integer"
                ))
            })?;
            utterances.push(Utterance {
                path: root.join(rel),
                num_samples: Some(num_samples),
                ..Utterance::default()
            });
        }
        Self::non_empty(path, utterances)
    }

    /// Reads a JSONL manifest.
    ///
    /// # Errors
    /// I/O errors, [`AudioError::ManifestLine`] (invalid JSON, not an object, missing or
    /// non-string `path`, wrongly typed known field), [`AudioError::EmptyManifest`].
    pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        let path = path.as_ref();
        Self::parse_jsonl(&read_text(path)?, path)
    }

    /// Parses the text of a JSONL manifest; `path` names it in errors, becomes
    /// [`Manifest::source`], and its directory is the base of relative audio paths.
    ///
    /// # Errors
    /// [`AudioError::ManifestLine`] (as [`Manifest::read_jsonl`]),
    /// [`AudioError::EmptyManifest`].
    pub fn parse_jsonl(text: &str, path: &Path) -> Result<Self, AudioError> {
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut utterances = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| AudioError::ManifestLine {
                path: path.into(),
                line: i + 1,
                reason,
            };
            let value: Value =
                serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
            let Value::Object(mut obj) = value else {
                return Err(bad("expected a JSON object".into()));
            };
            let rel = match obj.remove("path") {
                Some(Value::String(s)) if !s.is_empty() => s,
                Some(_) => return Err(bad("`path` must be a non-empty string".into())),
                None => return Err(bad("missing `path`".into())),
            };
            let string = |obj: &mut Map<String, Value>, key: &str| match obj.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(Value::Number(n)) if key == "speaker" => Ok(Some(n.to_string())),
                Some(_) => Err(bad(format!("`{key}` must be a string"))),
            };
            let speaker = string(&mut obj, "speaker")?;
            let text = string(&mut obj, "text")?;
            let phones = match obj.remove("phones") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|v| v.as_str().ok_or(()))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|()| bad("`phones` list must hold strings".into()))?
                        .join(" "),
                ),
                Some(_) => return Err(bad("`phones` must be a string or a list".into())),
            };
            let num_samples =
                match obj.remove("num_samples") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_u64().ok_or_else(|| {
                        bad("`num_samples` must be a non-negative integer".into())
                    })?),
                };
            let rel = PathBuf::from(rel);
            let full = if rel.is_absolute() {
                rel
            } else {
                base.join(rel)
            };
            utterances.push(Utterance {
                path: full,
                num_samples,
                speaker,
                text,
                phones,
                extra: obj,
            });
        }
        Self::non_empty(path, utterances)
    }

    /// Scans a LibriSpeech-style folder for `*.flac` and `*.wav` files.
    ///
    /// # Errors
    /// I/O errors, [`AudioError::ManifestLine`] for a transcript line without an id,
    /// [`AudioError::EmptyManifest`] when no audio file is found.
    pub fn scan_folder(root: impl AsRef<Path>) -> Result<Self, AudioError> {
        let root = root.as_ref();
        let mut audio = Vec::new();
        let mut transcripts = HashMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| AudioError::io(&dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| AudioError::io(&dir, e))?;
                let path = entry.path();
                let file_type = entry.file_type().map_err(|e| AudioError::io(&path, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if file_type.is_dir() {
                    stack.push(path);
                } else if name.ends_with(".trans.txt") {
                    read_transcripts(&path, &mut transcripts)?;
                } else if matches!(
                    path.extension()
                        .and_then(|e| e.to_str())
                        .map(str::to_ascii_lowercase)
                        .as_deref(),
                    Some("flac" | "wav")
                ) {
                    audio.push(path);
                }
            }
        }
        audio.sort();
        let utterances = audio
            .into_iter()
            .map(|path| {
                let speaker = path.strip_prefix(root).ok().and_then(|rel| {
                    let mut parts = rel.components();
                    let first = parts.next()?;
                    // Only a file inside a sub-folder has a speaker folder.
                    parts
                        .next()
                        .map(|_| first.as_os_str().to_string_lossy().into_owned())
                });
                let id = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                let text = id.and_then(|id| transcripts.get(&id).cloned());
                Utterance {
                    path,
                    speaker,
                    text,
                    ..Utterance::default()
                }
            })
            .collect();
        Self::non_empty(root, utterances)
    }

    /// Number of utterances.
    pub fn len(&self) -> usize {
        self.utterances.len()
    }

    /// Whether the manifest lists no utterance (never true for a manifest read from disk).
    pub fn is_empty(&self) -> bool {
        self.utterances.is_empty()
    }

    fn non_empty(path: &Path, utterances: Vec<Utterance>) -> Result<Self, AudioError> {
        if utterances.is_empty() {
            return Err(AudioError::EmptyManifest { path: path.into() });
        }
        Ok(Self {
            source: path.into(),
            utterances,
        })
    }
}

fn read_text(path: &Path) -> Result<String, AudioError> {
    let bytes = std::fs::read(path).map_err(|e| AudioError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| AudioError::ManifestLine {
        path: path.into(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        reason: "not valid UTF-8".into(),
    })
}

fn read_transcripts(path: &Path, into: &mut HashMap<String, String>) -> Result<(), AudioError> {
    for (i, line) in read_text(path)?.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (id, text) = line.split_once(' ').unwrap_or((line, ""));
        if id.is_empty() {
            return Err(AudioError::ManifestLine {
                path: path.into(),
                line: i + 1,
                reason: "transcript line without an utterance id".into(),
            });
        }
        into.insert(id.to_string(), text.trim().to_string());
    }
    Ok(())
}
