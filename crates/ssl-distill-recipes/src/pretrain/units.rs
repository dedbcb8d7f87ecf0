//! Frame labels of HuBERT pretraining: k-means units of MFCCs (iteration 1) or of a model's
//! hidden states (iteration 2), one per 20 ms frame of the model being trained.
//!
//! HuBERT (Hsu et al. 2021, arXiv:2106.07447, §IV-B): iteration 1 clusters 39-dimensional
//! MFCCs (13 cepstra + Δ + ΔΔ) into 100 units; iteration 2 clusters layer 6 of the
//! iteration-1 model into 500 units. fairseq's `examples/hubert/simple_kmeans`
//! (`dump_mfcc_feature.py`: `torchaudio.compliance.kaldi.mfcc(use_energy=False)`, then
//! `compute_deltas` twice with its default window 5) writes MFCC labels at 100 Hz, and the model
//! (`HubertModel.forward_targets` with `feat2tar_ratio = 2`) keeps label `2t` for frame `t`.
//! This module does the same in one step: model frame `t` (samples `320t .. 320t + 400`) gets
//! the unit of MFCC frame `2t`, whose 25 ms window (`snip_edges`, 10 ms hop) covers exactly the
//! same samples; `2(T − 1) ≤ M − 1` always holds, so every one of the
//! `T = ⌊(L − 400) / 320⌋ + 1` model frames has a label.
//!
//! Differences from fairseq, on purpose: MFCCs are computed on each training crop (deltas see
//! the crop's edges, not the whole utterance), and on the samples scaled to the int16 range as
//! Kaldi expects (fairseq passes `[-1, 1]` floats; that only shifts c0 by a constant, which
//! k-means does not care about, but keeps fewer mel energies at the log floor). k-means is our
//! seeded k-means++ / Lloyd ([`KMeans`]), not scikit-learn's `MiniBatchKMeans`.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use ssl_distill_audio::{AudioDataset, Batch, Mfcc, MfccConfig, append_deltas, epoch_order};
use ssl_distill_losses::KMeans;
use ssl_distill_models::{SslInput, SslModel, write_atomic};

use crate::error::RecipeError;

/// What the units cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitSource {
    /// 39-dim MFCC + Δ + ΔΔ (HuBERT iteration 1).
    Mfcc,
    /// Hidden states of `units.model` at `units.layer` (HuBERT iteration 2).
    Model,
}

/// `[units]` of a pretraining recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnitsConfig {
    /// Features clustered. Default `mfcc`.
    pub source: UnitSource,
    /// The model whose hidden states are clustered (`source = "model"`): an HF directory or a
    /// fairseq `.pt`, e.g. the output of an iteration-1 run (`OUT/model`). Default none.
    pub model: Option<PathBuf>,
    /// Its hidden state (HF index: 0 = transformer input, `i` = output of layer `i`).
    /// Default 6 (HuBERT Base iteration 2).
    pub layer: usize,
    /// Number of units (= codewords of the head). Default 100 (HuBERT iteration 1; 500 in
    /// iteration 2).
    pub k: usize,
    /// Lloyd iterations of k-means (fairseq: `max_iter` 100 of `MiniBatchKMeans`). Default 100.
    pub kmeans_iters: usize,
    /// Utterances (crops of epoch 0, first of the seeded epoch order) whose frames k-means
    /// sees. fairseq fits on a 10 % sample of LibriSpeech 960 h. Default 256.
    pub kmeans_utterances: usize,
}

impl Default for UnitsConfig {
    fn default() -> Self {
        Self {
            source: UnitSource::Mfcc,
            model: None,
            layer: 6,
            k: 100,
            kmeans_iters: 100,
            kmeans_utterances: 256,
        }
    }
}

/// The features that are clustered, per utterance.
#[derive(Debug)]
pub enum UnitFeatures {
    /// MFCC + Δ + ΔΔ at 100 Hz.
    Mfcc(Box<Mfcc>),
    /// A frozen model's hidden state `layer`, on a plain device.
    Model {
        /// The model.
        model: Box<SslModel>,
        /// Its hidden-state index.
        layer: usize,
        /// Its width (the feature dimension).
        hidden: usize,
        /// Its device.
        device: Device,
    },
}

impl UnitFeatures {
    /// MFCC features with torchaudio's `mfcc()` defaults (13 cepstra, 23 mel bins, no energy),
    /// as fairseq's `dump_mfcc_feature.py`.
    pub fn mfcc() -> Self {
        Self::Mfcc(Box::new(
            Mfcc::new(MfccConfig::default()).expect("the default MFCC config is valid"),
        ))
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        match self {
            Self::Mfcc(m) => 3 * m.num_bins(),
            Self::Model { hidden, .. } => *hidden,
        }
    }

    /// Features of one utterance for fitting: MFCCs at 100 Hz (every frame, as fairseq fits),
    /// model features at 50 Hz; row-major `[rows, dim]`. Empty below one 400-sample window.
    fn fit_rows(&self, wave: &[f32]) -> Result<Vec<f32>, RecipeError> {
        match self {
            Self::Mfcc(m) => {
                if wave.len() < 400 {
                    return Ok(Vec::new());
                }
                let c = m.compute(wave)?;
                Ok(append_deltas(&c, 2, 5)?.data)
            }
            Self::Model { .. } => Ok(self.frame_rows(&[wave])?.remove(0)),
        }
    }

    /// Per-model-frame features of each waveform: `num_frames(len)` rows of `dim` values.
    fn frame_rows(&self, waves: &[&[f32]]) -> Result<Vec<Vec<f32>>, RecipeError> {
        match self {
            Self::Mfcc(_) => waves
                .iter()
                .map(|w| {
                    let all = self.fit_rows(w)?;
                    let dim = self.dim();
                    let frames = ssl_distill_audio::num_frames(w.len());
                    let mut out = Vec::with_capacity(frames * dim);
                    for t in 0..frames {
                        out.extend_from_slice(&all[2 * t * dim..(2 * t + 1) * dim]);
                    }
                    Ok(out)
                })
                .collect(),
            Self::Model {
                model,
                layer,
                device,
                ..
            } => waves
                .iter()
                .map(|w| {
                    let frames = model.num_frames(w.len());
                    if frames == 0 {
                        return Ok(Vec::new());
                    }
                    let wave =
                        Tensor::<2>::from_data(TensorData::new(w.to_vec(), [1, w.len()]), device);
                    let out = model.forward_until(SslInput::new(wave), *layer);
                    let h = out.hidden_states[*layer].clone();
                    Ok(h.try_into_vec_as::<f32>().expect("f32 data"))
                })
                .collect(),
        }
    }
}

/// The units: features and their fitted k-means.
#[derive(Debug)]
pub struct Units {
    /// What is clustered.
    pub features: UnitFeatures,
    /// The centroids.
    pub kmeans: KMeans,
}

/// `OUT/units.json`: the centroids and what they cluster.
#[derive(Debug, Serialize, Deserialize)]
struct UnitsFile {
    source: UnitSource,
    model: Option<PathBuf>,
    layer: usize,
    k: usize,
    dim: usize,
    inertia: f64,
    iterations: usize,
    centroids: Vec<f32>,
}

impl Units {
    /// Fits k-means on the first `cfg.kmeans_utterances` utterances of epoch 0's seeded order.
    ///
    /// # Errors
    /// Unreadable audio, too few frames for `k` ([`RecipeError::KMeans`]).
    pub fn fit(
        features: UnitFeatures,
        cfg: &UnitsConfig,
        dataset: &AudioDataset,
        seed: u64,
    ) -> Result<Self, RecipeError> {
        let order = epoch_order(dataset.len(), seed, 0, true);
        let mut rows = Vec::new();
        for &i in order.iter().take(cfg.kmeans_utterances) {
            rows.extend(features.fit_rows(&dataset.load(i, 0)?.samples)?);
        }
        let dim = features.dim();
        let kmeans = KMeans::fit(&rows, dim, cfg.k, cfg.kmeans_iters, seed)?;
        tracing::info!(
            k = cfg.k,
            frames = rows.len() / dim.max(1),
            inertia = kmeans.inertia,
            iterations = kmeans.iterations,
            "k-means units fitted"
        );
        Ok(Self { features, kmeans })
    }

    /// Writes `units.json` (atomically).
    ///
    /// # Errors
    /// [`RecipeError::Write`].
    pub fn save(&self, path: &Path, cfg: &UnitsConfig) -> Result<(), RecipeError> {
        let file = UnitsFile {
            source: cfg.source,
            model: cfg.model.clone(),
            layer: cfg.layer,
            k: self.kmeans.k,
            dim: self.kmeans.dim,
            inertia: self.kmeans.inertia,
            iterations: self.kmeans.iterations,
            centroids: self.kmeans.centroids.clone(),
        };
        let text = serde_json::to_string(&file).expect("units serialise");
        write_atomic(path, text.as_bytes()).map_err(|e| RecipeError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Reads `units.json` written by [`Units::save`] for `features`.
    ///
    /// # Errors
    /// [`RecipeError::Io`], or [`RecipeError::Invalid`] when the file does not parse or does
    /// not match the recipe's `[units]` (source, k, dimension).
    pub fn load(
        path: &Path,
        features: UnitFeatures,
        cfg: &UnitsConfig,
    ) -> Result<Self, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let f: UnitsFile = serde_json::from_str(&text)
            .map_err(|e| RecipeError::invalid(path, "units", format!("does not parse: {e}")))?;
        let dim = features.dim();
        if f.source != cfg.source || f.k != cfg.k || f.dim != dim || f.centroids.len() != f.k * dim
        {
            return Err(RecipeError::invalid(
                path,
                "units",
                format!(
                    "holds {} units of {:?} features ({} values), but the recipe asks for {} of \
                     {:?} ({dim} values)",
                    f.k, f.source, f.dim, cfg.k, cfg.source
                ),
            ));
        }
        Ok(Self {
            features,
            kmeans: KMeans {
                centroids: f.centroids,
                dim,
                k: f.k,
                inertia: f.inertia,
                iterations: f.iterations,
            },
        })
    }

    /// The unit of every model frame of `batch`, row-major `[batch, frames]` (`frames` = the
    /// model's frames of the padded length); frames past a row's own `num_frames(len)` get
    /// unit 0 (they are padding and carry no loss). Also returns each row's valid frames.
    ///
    /// # Errors
    /// MFCC errors (none for rows of at least 400 samples).
    pub fn label(
        &self,
        batch: &Batch,
        frames: usize,
    ) -> Result<(Vec<i64>, Vec<usize>), RecipeError> {
        let rows: Vec<&[f32]> = (0..batch.batch_size).map(|r| batch.row(r)).collect();
        let feats = self.features.frame_rows(&rows)?;
        let dim = self.kmeans.dim;
        let mut labels = vec![0i64; batch.batch_size * frames];
        let mut valid = Vec::with_capacity(batch.batch_size);
        for (r, f) in feats.iter().enumerate() {
            let n = f.len() / dim;
            assert!(
                n <= frames,
                "row {r}: {n} unit frames > {frames} model frames"
            );
            let units = self.kmeans.assign(f)?;
            for (t, u) in units.into_iter().enumerate() {
                labels[r * frames + t] = u as i64;
            }
            valid.push(n);
        }
        Ok((labels, valid))
    }
}
