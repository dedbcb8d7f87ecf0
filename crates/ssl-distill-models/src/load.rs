//! Applying HF-named tensors to a model.
//!
//! [`load_hf_state_dict`] is the single place where HF-named tensors enter a model: it strips
//! the `hubert.` / `wav2vec2.` / `wavlm.` prefix of task checkpoints (`*ForCTC`,
//! `*ForPreTraining`...), converts layouts (Linear `[out, in]` → burn's `[in, out]`), folds the
//! positional conv's weight norm (`weight_g`/`weight_v` or
//! `parametrizations.weight.original0/1`; the norm runs over all dims except dim 2), checks
//! every shape, and fails on missing tensors and on unused tensors outside an allowlist (heads
//! and pretraining-only tensors; per family: [`unused_allowlist`]). Both checkpoint formats come
//! through it ([`crate::load_checkpoint`]: an HF directory as it is, a fairseq file renamed).

use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::ModelKind;
use crate::error::LoadError;
use crate::model::SslModel;
use crate::state::{StateDict, StateTensor};
use crate::weights::{Slot, walk};

/// Unused tensors every family's checkpoints may hold: task heads (`*ForCTC`,
/// `*ForSequenceClassification`...), `masked_spec_embed`, and `final_proj` (HuBERT's and
/// WavLM's label projection, wav2vec 2.0's contrastive projection).
const ANY_FAMILY: [&str; 6] = [
    "lm_head.",
    "projector.",
    "classifier.",
    "layer_weights",
    "masked_spec_embed",
    "final_proj.",
];
/// HuBERT's and WavLM's own pretraining tensor.
const HUBERT_ONLY: [&str; 1] = ["label_embs_concat"];
/// wav2vec 2.0's own pretraining tensors (its quantizer).
const WAV2VEC2_ONLY: [&str; 3] = ["quantizer.", "project_q.", "project_hid."];

const HUBERT_UNUSED: [&str; 7] = concat(ANY_FAMILY, HUBERT_ONLY);
const WAV2VEC2_UNUSED: [&str; 9] = concat(ANY_FAMILY, WAV2VEC2_ONLY);

/// Checkpoint tensors that may be present and unused in any model family: the union of every
/// [`unused_allowlist`] (used by [`load_hf_state_dict`], whose model does not record its family).
pub const IGNORABLE_PREFIXES: &[&str] = &concat::<7, 3, 10>(HUBERT_UNUSED, WAV2VEC2_ONLY);

/// `a` followed by `b` (`N` = `A + B`, checked when the constant is evaluated).
const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; N] {
    assert!(A + B == N, "N must be A + B");
    let mut out = [""; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// The tensors a checkpoint of family `kind` may hold without the model using them: task heads
/// (`*ForCTC`, `*ForSequenceClassification`...), `masked_spec_embed`, and the family's
/// pretraining-only tensors (HuBERT/WavLM: `final_proj`, `label_embs_concat`; wav2vec 2.0:
/// `quantizer`, `project_q`, `project_hid`, `final_proj`). Entries are name prefixes.
pub fn unused_allowlist(kind: ModelKind) -> &'static [&'static str] {
    match kind {
        ModelKind::Hubert | ModelKind::Wavlm => &HUBERT_UNUSED,
        ModelKind::Wav2vec2 => &WAV2VEC2_UNUSED,
    }
}

/// What a load did.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The checkpoint read.
    pub source: PathBuf,
    /// Checkpoint names applied to the model.
    pub loaded: Vec<String>,
    /// Checkpoint names present but not used (all on the allowlist).
    pub ignored: Vec<String>,
    /// The task-model prefix stripped from every name (`"hubert."`...), if any.
    pub stripped_prefix: Option<String>,
}

/// Applies HF-named `dict` to `model` (see the module docs); `source` names the file in errors.
///
/// # Errors
/// [`LoadError::Shape`] (names the key, the expected and the found shape),
/// [`LoadError::MissingKeys`], [`LoadError::UnexpectedKeys`] (all of them, sorted).
pub fn load_hf_state_dict(
    model: &mut SslModel,
    dict: StateDict,
    source: &Path,
    device: &Device,
) -> Result<LoadReport, LoadError> {
    load_hf_state_dict_with(model, dict, source, device, IGNORABLE_PREFIXES)
}

/// [`load_hf_state_dict`] with an explicit allowlist of unused tensors (name prefixes, matched
/// after the task prefix is stripped), e.g. [`unused_allowlist`] of the model's family.
///
/// # Errors
/// As [`load_hf_state_dict`]; unused tensors outside `allow_unused` are
/// [`LoadError::UnexpectedKeys`].
pub fn load_hf_state_dict_with(
    model: &mut SslModel,
    mut dict: StateDict,
    source: &Path,
    device: &Device,
    allow_unused: &[&str],
) -> Result<LoadReport, LoadError> {
    let stripped_prefix = strip_task_prefix(&mut dict);
    let mut taker = Taker {
        dict,
        device: device.clone(),
        source,
        missing: Vec::new(),
        loaded: Vec::new(),
        error: None,
    };
    walk(model, &mut |prefix, slot| taker.apply(prefix, slot));
    if let Some(err) = taker.error {
        return Err(err);
    }
    if !taker.missing.is_empty() {
        return Err(LoadError::MissingKeys {
            path: source.into(),
            keys: taker.missing,
        });
    }
    let (ignored, unexpected): (Vec<String>, Vec<String>) = taker
        .dict
        .into_keys()
        .partition(|k| allow_unused.iter().any(|p| k.starts_with(p)));
    if !unexpected.is_empty() {
        return Err(LoadError::UnexpectedKeys {
            path: source.into(),
            keys: unexpected,
        });
    }
    Ok(LoadReport {
        source: source.into(),
        loaded: taker.loaded,
        ignored,
        stripped_prefix,
    })
}

/// Removes a task model's base prefix (`hubert.`, `wav2vec2.`, `wavlm.`) from every key.
fn strip_task_prefix(dict: &mut StateDict) -> Option<String> {
    let prefix = ["hubert.", "wav2vec2.", "wavlm."].into_iter().find(|p| {
        dict.keys()
            .any(|k| k.starts_with(&format!("{p}feature_extractor.")))
    })?;
    let old = std::mem::take(dict);
    for (k, v) in old {
        let k = k.strip_prefix(prefix).map(str::to_string).unwrap_or(k);
        dict.insert(k, v);
    }
    Some(prefix.to_string())
}

struct Taker<'a> {
    dict: StateDict,
    device: Device,
    source: &'a Path,
    missing: Vec<String>,
    loaded: Vec<String>,
    error: Option<LoadError>,
}

/// Shapes are read with `Param::lazy_shape`: a freshly built model's parameters are lazy, and
/// reading `val()` would draw every random init the checkpoint then replaces (0.8 s of a
/// HuBERT Base load on flex).
impl Taker<'_> {
    /// Takes `key`, checking its shape; records it missing if absent.
    fn take(&mut self, key: &str, expected: &[usize]) -> Option<StateTensor> {
        let Some(t) = self.dict.remove(key) else {
            self.missing.push(key.to_string());
            return None;
        };
        if t.shape != expected {
            self.error.get_or_insert(LoadError::Shape {
                path: self.source.into(),
                key: key.to_string(),
                expected: expected.to_vec(),
                found: t.shape.clone(),
            });
            return None;
        }
        self.loaded.push(key.to_string());
        Some(t)
    }

    fn tensor<const D: usize>(&self, t: StateTensor) -> Tensor<D> {
        let shape: [usize; D] = t.shape.clone().try_into().expect("rank checked by take()");
        Tensor::from_data(TensorData::new(t.data, shape), &self.device)
    }

    fn vector(&mut self, key: &str, param: &mut Param<Tensor<1>>) {
        let dims = param.lazy_shape().to_vec();
        if let Some(t) = self.take(key, &dims) {
            *param = Param::from_tensor(self.tensor(t));
        }
    }

    fn opt_vector(&mut self, key: &str, param: &mut Option<Param<Tensor<1>>>) {
        if let Some(p) = param {
            self.vector(key, p);
        }
    }

    fn apply(&mut self, prefix: &str, slot: Slot<'_>) {
        if self.error.is_some() {
            return;
        }
        match slot {
            Slot::Linear(l) => {
                let [d_in, d_out] = l.weight.lazy_shape().dims();
                if let Some(t) = self.take(&format!("{prefix}.weight"), &[d_out, d_in]) {
                    l.weight = Param::from_tensor(self.tensor::<2>(t).transpose());
                }
                self.opt_vector(&format!("{prefix}.bias"), &mut l.bias);
            }
            Slot::LayerNorm(n) => {
                self.vector(&format!("{prefix}.weight"), &mut n.gamma);
                self.opt_vector(&format!("{prefix}.bias"), &mut n.beta);
            }
            Slot::GroupNorm(n) => {
                self.opt_vector(&format!("{prefix}.weight"), &mut n.gamma);
                self.opt_vector(&format!("{prefix}.bias"), &mut n.beta);
            }
            Slot::Conv(c) => {
                let dims = c.weight.lazy_shape().dims::<3>();
                if let Some(t) = self.take(&format!("{prefix}.weight"), &dims) {
                    c.weight = Param::from_tensor(self.tensor(t));
                }
                self.opt_vector(&format!("{prefix}.bias"), &mut c.bias);
            }
            Slot::WeightNormConv(c) => {
                let dims = c.weight.lazy_shape().dims::<3>();
                if let Some(w) = self.weight_normed(prefix, dims) {
                    c.weight = Param::from_tensor(self.tensor(w));
                }
                self.opt_vector(&format!("{prefix}.bias"), &mut c.bias);
            }
            Slot::Embedding(e) => {
                let dims = e.weight.lazy_shape().dims::<2>();
                if let Some(t) = self.take(&format!("{prefix}.weight"), &dims) {
                    e.weight = Param::from_tensor(self.tensor(t));
                }
            }
            Slot::Vector(p) => self.vector(prefix, p),
            Slot::Rank4(p) => {
                let dims = p.lazy_shape().dims::<4>();
                if let Some(t) = self.take(prefix, &dims) {
                    *p = Param::from_tensor(self.tensor(t));
                }
            }
        }
    }

    /// The folded weight `[out, in/groups, k]` of a weight-normed conv, from whichever form the
    /// checkpoint uses: `w = g * v / ||v||`, the norm over dims 0 and 1 for each tap `k`.
    fn weight_normed(&mut self, prefix: &str, dims: [usize; 3]) -> Option<StateTensor> {
        let plain = format!("{prefix}.weight");
        if self.dict.contains_key(&plain) {
            return self.take(&plain, &dims);
        }
        let forms = [
            (format!("{prefix}.weight_g"), format!("{prefix}.weight_v")),
            (
                format!("{prefix}.parametrizations.weight.original0"),
                format!("{prefix}.parametrizations.weight.original1"),
            ),
        ];
        let (g_key, v_key) = forms
            .iter()
            .find(|(g, _)| self.dict.contains_key(g))
            .cloned()
            .unwrap_or_else(|| forms[1].clone());
        let k = dims[2];
        let g = self.take(&g_key, &[1, 1, k]);
        let v = self.take(&v_key, &dims);
        let (g, v) = (g?, v?);
        Some(StateTensor::new(
            dims.to_vec(),
            fold_weight_norm(&g.data, &v.data, dims),
        ))
    }
}

/// `w[:, :, k] = g[k] * v[:, :, k] / ||v[:, :, k]||` for a `[out, in, taps]` `v`.
pub(crate) fn fold_weight_norm(g: &[f32], v: &[f32], dims: [usize; 3]) -> Vec<f32> {
    let taps = dims[2];
    let norms = tap_norms(v, taps);
    v.iter()
        .enumerate()
        .map(|(i, x)| {
            let k = i % taps;
            (f64::from(g[k]) * f64::from(*x) / norms[k]) as f32
        })
        .collect()
}

/// `||w[:, :, k]||` for each tap `k` of a row-major `[out, in, taps]` weight: the norm weight
/// norm (`dim=2`) divides by on load and stores as `g` on export.
pub(crate) fn tap_norms(w: &[f32], taps: usize) -> Vec<f64> {
    let mut squares = vec![0.0f64; taps];
    for (i, x) in w.iter().enumerate() {
        squares[i % taps] += f64::from(*x).powi(2);
    }
    squares.into_iter().map(f64::sqrt).collect()
}
