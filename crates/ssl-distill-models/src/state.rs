//! A checkpoint's tensors by name ([`StateDict`]): read from and written to safetensors, in
//! PyTorch layout, as `f32` on the host.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use crate::error::{ExportError, LoadError};

/// One tensor of a checkpoint: its shape and row-major `f32` values.
#[derive(Debug, Clone, PartialEq)]
pub struct StateTensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values (`shape.iter().product()` of them).
    pub data: Vec<f32>,
}

impl StateTensor {
    /// The values of `t`, read back from its device as `f32`.
    pub fn from_tensor<const D: usize>(t: burn::tensor::Tensor<D>) -> Self {
        let shape = t.dims().to_vec();
        let data = t.try_into_vec_as::<f32>().expect("f32 after convert");
        Self { shape, data }
    }

    /// A tensor of `shape` holding `data`.
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?} vs data"
        );
        Self { shape, data }
    }
}

/// Tensors by checkpoint name, sorted.
pub type StateDict = BTreeMap<String, StateTensor>;

/// Reads every tensor of a safetensors file (`f32`, `f16`, `bf16` or `f64`, converted to `f32`).
///
/// # Errors
/// [`LoadError::Io`], [`LoadError::Safetensors`] (truncated or malformed file),
/// [`LoadError::Dtype`] for integer or other tensors.
pub fn read_safetensors(path: &Path) -> Result<StateDict, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.into(),
        source,
    })?;
    parse_safetensors(&bytes, path)
}

/// Parses the bytes of a safetensors file as [`read_safetensors`] does; `path` names it in
/// errors.
///
/// # Errors
/// [`LoadError::Safetensors`], [`LoadError::Dtype`].
pub fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<StateDict, LoadError> {
    let st =
        safetensors::SafeTensors::deserialize(bytes).map_err(|source| LoadError::Safetensors {
            path: path.into(),
            source,
        })?;
    let mut dict = StateDict::new();
    for (name, view) in st.tensors() {
        let kind = match view.dtype() {
            Dtype::F32 => FloatKind::F32,
            Dtype::F64 => FloatKind::F64,
            Dtype::F16 => FloatKind::F16,
            Dtype::BF16 => FloatKind::BF16,
            other => {
                return Err(LoadError::Dtype {
                    path: path.into(),
                    key: name,
                    dtype: format!("{other:?}"),
                });
            }
        };
        let data = floats_from_le_bytes(kind, view.data());
        dict.insert(
            name,
            StateTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok(dict)
}

/// Writes `dict` as an `f32` safetensors file at `path` (not atomically; see [`crate::export_hf`]).
///
/// # Errors
/// [`ExportError::Safetensors`], [`ExportError::Io`].
pub fn write_safetensors(dict: &StateDict, path: &Path) -> Result<(), ExportError> {
    let st_err = |source| ExportError::Safetensors {
        path: path.into(),
        source,
    };
    let bytes: Vec<(&String, Vec<u8>)> = dict
        .iter()
        .map(|(k, t)| (k, t.data.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(k, b)| {
            Ok((
                (*k).clone(),
                TensorView::new(Dtype::F32, dict[*k].shape.clone(), b).map_err(st_err)?,
            ))
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    let mut metadata = std::collections::HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
    let serialized = safetensors::serialize(views, Some(metadata)).map_err(st_err)?;
    write_atomic(path, &serialized)
}

/// Writes `bytes` to `path` through a temporary sibling and a rename (creating the parent
/// directory), so `path` is either unchanged or complete.
///
/// # Errors
/// [`ExportError::Io`] naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |p: &Path, source| ExportError::Io {
        path: p.into(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, e));
    }
    Ok(())
}

/// Writes the directory `dir` atomically: an existing non-empty `dir` is refused, `fill` writes a
/// temporary sibling (`.NAME.tmp-PID`, passed to it not yet created), which is then renamed into
/// place; on any error the temporary directory is removed and `dir` is left as it was. `io` turns
/// an I/O error at a path into the caller's error type.
///
/// # Errors
/// `io(dir, AlreadyExists)` for a non-empty `dir`, any other I/O error through `io`, and what
/// `fill` returns.
pub fn write_dir_atomic<E>(
    dir: &Path,
    io: impl Fn(&Path, std::io::Error) -> E,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .next()
            .is_some()
    {
        return Err(io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "directory exists and is not empty",
            ),
        ));
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = fill(&tmp).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// The float encodings a checkpoint may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatKind {
    F32,
    F64,
    F16,
    BF16,
}

/// Little-endian values of `kind` as `f32` (safetensors is little-endian; burn's PyTorch reader
/// returns native-endian bytes, which is little-endian on every target we build for).
pub(crate) fn floats_from_le_bytes(kind: FloatKind, raw: &[u8]) -> Vec<f32> {
    match kind {
        FloatKind::F32 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        FloatKind::F64 => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        FloatKind::F16 => raw
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        FloatKind::BF16 => raw
            .chunks_exact(2)
            .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
            .collect(),
    }
}

/// IEEE half to single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = (h >> 10) & 0x1f;
    let frac = u32::from(h & 0x3ff);
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: normalise.
            let mut e = 127 - 15 + 1;
            let mut f = frac;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((f & 0x3ff) << 13)
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((u32::from(exp) + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
