//! A student on disk: `student.json` (the [`StudentConfig`]) and `model.safetensors` (every
//! weight, heads included, under burn's module paths such as
//! `backbone.encoder.layers.0.attention.q_proj.weight`, Linear weights `[in, out]`).
//!
//! Both files are written under a temporary name and renamed into place, the weights first, so
//! a crash leaves either the previous files or complete new ones. Loading rebuilds the
//! architecture from `student.json` and requires every tensor of the file to match it: missing,
//! extra or differently shaped tensors are an error naming the file and the tensors.

use std::path::{Path, PathBuf};

use burn::store::{ApplyError, ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use crate::error::StudentError;
use crate::student::{Student, StudentConfig};

/// The architecture file in a student directory.
pub const STUDENT_CONFIG_FILE: &str = "student.json";
/// The weights file in a student directory.
pub const STUDENT_WEIGHTS_FILE: &str = "model.safetensors";

impl Student {
    /// Writes `dir/student.json` and `dir/model.safetensors`, creating `dir` and replacing
    /// those two files if present (other files in `dir` are left alone).
    ///
    /// # Errors
    /// [`StudentError::Io`] or [`StudentError::Weights`] naming the path.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<(), StudentError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
        let weights = dir.join(STUDENT_WEIGHTS_FILE);
        let tmp = temp_sibling(&weights);
        let mut store = SafetensorsStore::from_file(&tmp).overwrite(true);
        let written = self
            .save_into(&mut store)
            .map_err(|source| StudentError::Weights {
                path: weights.clone(),
                source,
            })
            .and_then(|()| std::fs::rename(&tmp, &weights).map_err(|e| io(&weights, e)));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        let json = serde_json::to_string_pretty(self.config()).expect("configs serialize");
        write_atomic(&dir.join(STUDENT_CONFIG_FILE), json.as_bytes())
    }

    /// Reads a student written by [`Student::save`] onto `device`.
    ///
    /// # Errors
    /// [`StudentError::NotFound`] for a missing directory or file, [`StudentError::Io`],
    /// [`StudentError::Json`] (not JSON, or not a student config), [`StudentError::ConfigFile`]
    /// (an invalid architecture), [`StudentError::Weights`] (not a safetensors file),
    /// [`StudentError::Shape`], [`StudentError::Tensor`], [`StudentError::MissingKeys`],
    /// [`StudentError::UnexpectedKeys`]; each names the file.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Student, StudentError> {
        let dir = dir.as_ref();
        let config_path = dir.join(STUDENT_CONFIG_FILE);
        let weights = dir.join(STUDENT_WEIGHTS_FILE);
        for path in [dir, &config_path, &weights] {
            if !path.exists() {
                return Err(StudentError::NotFound {
                    path: path.to_path_buf(),
                });
            }
        }
        let text = std::fs::read_to_string(&config_path).map_err(|e| io(&config_path, e))?;
        let config: StudentConfig =
            serde_json::from_str(&text).map_err(|source| StudentError::Json {
                path: config_path.clone(),
                source,
            })?;
        let in_file = |e: StudentError| match e {
            StudentError::Config { field, reason } => StudentError::ConfigFile {
                path: config_path.clone(),
                field,
                reason,
            },
            other => other,
        };
        config.validate().map_err(in_file)?;
        let mut student = config.init(device).map_err(in_file)?;
        let mut store = SafetensorsStore::from_file(&weights)
            .validate(false)
            .allow_partial(true);
        let result = student
            .load_from(&mut store)
            .map_err(|source| StudentError::Weights {
                path: weights.clone(),
                source,
            })?;
        if let Some(error) = result.errors.into_iter().next() {
            return Err(apply_error(&weights, error));
        }
        if !result.missing.is_empty() {
            return Err(StudentError::MissingKeys {
                path: weights,
                keys: result.missing.into_iter().map(|(key, _)| key).collect(),
            });
        }
        if !result.unused.is_empty() {
            return Err(StudentError::UnexpectedKeys {
                path: weights,
                keys: result.unused,
            });
        }
        Ok(student)
    }
}

fn apply_error(path: &Path, error: ApplyError) -> StudentError {
    let path = path.to_path_buf();
    match error {
        ApplyError::ShapeMismatch {
            path: key,
            expected,
            found,
        } => StudentError::Shape {
            path,
            key,
            expected: expected.to_vec(),
            got: found.to_vec(),
        },
        ApplyError::DTypeMismatch {
            path: key,
            expected,
            found,
        } => StudentError::Tensor {
            path,
            key,
            message: format!("dtype {found:?}, expected {expected:?}"),
        },
        ApplyError::AdapterError { path: key, message }
        | ApplyError::LoadError { path: key, message } => {
            StudentError::Tensor { path, key, message }
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> StudentError {
    StudentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `dir/.name.tmp-PID` for `dir/name`.
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// `bytes` at `path` through the models crate's atomic writer (temp sibling, sync, rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StudentError> {
    ssl_distill_models::write_atomic(path, bytes).map_err(|e| match e {
        ssl_distill_models::ExportError::Io { path, source } => io(&path, source),
        other => io(path, std::io::Error::other(other.to_string())),
    })
}
