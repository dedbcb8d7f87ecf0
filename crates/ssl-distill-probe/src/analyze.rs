//! Layer analysis: linear CKA (Kornblith et al. 2019, arXiv:1905.00414) between all hidden
//! states of a model on the valid frames of N utterances (concatenated, as SKILL calibrates),
//! optionally against a teacher's, and SKILL's agglomerative clustering of layers `1..=L` on
//! `1 − CKA` (`ssl_distill_targets::cluster`), with the merge tree for a dendrogram.

use std::path::{Path, PathBuf};

use burn::tensor::Tensor;
use serde::Serialize;
use ssl_distill_audio::{AudioDataset, DatasetConfig, Manifest};
use ssl_distill_targets::{
    CalibrationFeatures, Groups, Linkage, Merge, cka_matrix, cluster, merge_tree,
};

use crate::error::ProbeError;
use crate::plot;
use crate::upstream::Upstream;

/// What an analysis computes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisConfig {
    /// Utterances of the manifest used (its first ones). Default 16.
    pub utterances: usize,
    /// Groups of layers to cluster into (SKILL's `k`). Default 4 (fewer if the model has fewer
    /// layers).
    pub clusters: usize,
    /// Linkage. Default average (UPGMA).
    pub linkage: Linkage,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            utterances: 16,
            clusters: 4,
            linkage: Linkage::Average,
        }
    }
}

/// The result of an analysis (written as `cka.json`).
#[derive(Debug, Clone, Serialize)]
pub struct CkaReport {
    /// The model analysed.
    pub model: PathBuf,
    /// The manifest read.
    pub data: PathBuf,
    /// Utterances used.
    pub utterances: usize,
    /// Valid frames over which CKA is computed.
    pub frames: usize,
    /// Hidden-state indices of the matrix rows/columns (`0..=L`, 0 = transformer input).
    pub layers: Vec<usize>,
    /// Linear CKA between every pair of hidden states (symmetric, ones on the diagonal).
    pub cka: Vec<Vec<f64>>,
    /// The hidden states clustered (`1..=L`, or `[0]` for a model without layers).
    pub clustered_layers: Vec<usize>,
    /// Number of groups.
    pub clusters: usize,
    /// Linkage.
    pub linkage: Linkage,
    /// The groups, as hidden-state indices.
    pub groups: Groups,
    /// The whole merge tree over `clustered_layers` (`n − 1` merges; item `i < n` of a merge is
    /// layer `clustered_layers[i]`, `n + s` the cluster made at step `s`).
    pub dendrogram: Vec<Merge>,
    /// The teacher compared with, if any.
    pub teacher: Option<PathBuf>,
    /// Teacher hidden-state indices (columns of `cross_cka`).
    pub teacher_layers: Option<Vec<usize>>,
    /// CKA between model state `i` (rows) and teacher state `j` (columns).
    pub cross_cka: Option<Vec<Vec<f64>>>,
}

/// File names written by [`CkaReport::write`].
pub const CKA_JSON: &str = "cka.json";
/// Heatmap of the model's CKA matrix with the cluster boundaries.
pub const CKA_HEATMAP: &str = "cka-heatmap.png";
/// Dendrogram of the clustering.
pub const CKA_DENDROGRAM: &str = "cka-dendrogram.png";
/// Heatmap of model-vs-teacher CKA (with `--teacher`).
pub const CKA_TEACHER_HEATMAP: &str = "cka-teacher.png";

/// Linear CKA between every `a[i]` and `b[j]` (same frames): `‖Bᵀ A‖²_F / (‖Aᵀ A‖_F ‖Bᵀ B‖_F)`
/// on centred columns, as `ssl_distill_targets::linear_cka` (norms computed once).
///
/// # Panics
/// If the row counts differ.
pub fn cross_cka(a: &[Tensor<2>], b: &[Tensor<2>]) -> Vec<Vec<f64>> {
    let centre = |x: &Tensor<2>| x.clone() - x.clone().mean_dim(0);
    let cross = |x: &Tensor<2>, y: &Tensor<2>| -> f64 {
        let m = x.clone().transpose().matmul(y.clone());
        f64::from(m.powi_scalar(2).sum().into_scalar::<f32>())
    };
    let a: Vec<Tensor<2>> = a.iter().map(centre).collect();
    let b: Vec<Tensor<2>> = b.iter().map(centre).collect();
    if let (Some(x), Some(y)) = (a.first(), b.first()) {
        assert_eq!(
            x.dims()[0],
            y.dims()[0],
            "CKA needs the same frames on both sides"
        );
    }
    let na: Vec<f64> = a.iter().map(|x| cross(x, x).sqrt()).collect();
    let nb: Vec<f64> = b.iter().map(|y| cross(y, y).sqrt()).collect();
    a.iter()
        .zip(&na)
        .map(|(x, &nx)| {
            b.iter()
                .zip(&nb)
                .map(|(y, &ny)| {
                    if nx == 0.0 || ny == 0.0 {
                        0.0
                    } else {
                        cross(y, x) / (nx * ny)
                    }
                })
                .collect()
        })
        .collect()
}

/// Runs `model` (and `teacher`) on the first `config.utterances` utterances of `manifest`, each
/// alone (resampled to 16 kHz, normalised as each model says), computes the CKA matrices and
/// clusters the model's layers.
///
/// # Errors
/// [`ProbeError::InvalidOption`] (`utterances` 0, `clusters` 0 or above the layers),
/// decoding errors, [`ProbeError::TooShort`], [`ProbeError::FrameMismatch`].
pub fn analyze(
    model: &Upstream,
    teacher: Option<&Upstream>,
    manifest: &Manifest,
    config: &AnalysisConfig,
) -> Result<CkaReport, ProbeError> {
    if config.utterances == 0 {
        return Err(ProbeError::InvalidOption {
            field: "utterances",
            reason: "must be at least 1".into(),
        });
    }
    let layers = model.num_hidden_states() - 1;
    let clustered: Vec<usize> = if layers == 0 {
        vec![0]
    } else {
        (1..=layers).collect()
    };
    if config.clusters == 0 || config.clusters > clustered.len() {
        return Err(ProbeError::InvalidOption {
            field: "clusters",
            reason: format!(
                "{} groups asked for, the model has {} layers to cluster",
                config.clusters,
                clustered.len()
            ),
        });
    }
    let n = config.utterances.min(manifest.len());
    let subset = Manifest {
        source: manifest.source.clone(),
        utterances: manifest.utterances[..n].to_vec(),
    };
    // Raw samples: each upstream normalises as its own preprocessing says.
    let model_data = AudioDataset::new(subset.clone(), DatasetConfig::default())?;
    let mut feats = CalibrationFeatures::new(true);
    let mut teacher_feats = CalibrationFeatures::new(true);
    let calibration = |e| ProbeError::InvalidOption {
        field: "model",
        reason: format!("inconsistent hidden states: {e}"),
    };
    for (i, utt) in subset.utterances.iter().enumerate() {
        let item = model_data.load(i, 0)?;
        let frames = model.num_frames(item.samples.len());
        if frames == 0 {
            return Err(ProbeError::TooShort {
                path: utt.path.clone(),
                samples: item.samples.len(),
            });
        }
        feats
            .add(&model.hidden_states(&item.samples), None)
            .map_err(calibration)?;
        if let Some(t) = teacher {
            let samples = item.samples;
            let tf = t.num_frames(samples.len());
            if tf != frames {
                return Err(ProbeError::FrameMismatch {
                    path: utt.path.clone(),
                    model: frames,
                    teacher: tf,
                });
            }
            teacher_feats
                .add(&t.hidden_states(&samples), None)
                .map_err(calibration)?;
        }
    }
    let tensors = feats.to_tensors(model.device());
    let cka = cka_matrix(&tensors);
    let dist: Vec<Vec<f64>> = clustered
        .iter()
        .map(|&i| clustered.iter().map(|&j| 1.0 - cka[i][j]).collect())
        .collect();
    let groups: Groups = cluster(&dist, config.clusters, config.linkage, false)
        .into_iter()
        .map(|g| g.into_iter().map(|i| clustered[i]).collect())
        .collect();
    let dendrogram = merge_tree(&dist, config.linkage);
    let (teacher_layers, cross) = match teacher {
        Some(t) => {
            let tt = teacher_feats.to_tensors(t.device());
            let moved: Vec<Tensor<2>> = tt
                .into_iter()
                .map(|x| x.to_device(model.device()))
                .collect();
            (
                Some((0..t.num_hidden_states()).collect()),
                Some(cross_cka(&tensors, &moved)),
            )
        }
        None => (None, None),
    };
    Ok(CkaReport {
        model: model.path().into(),
        data: manifest.source.clone(),
        utterances: n,
        frames: feats.frames(),
        layers: (0..model.num_hidden_states()).collect(),
        cka,
        clustered_layers: clustered,
        clusters: config.clusters,
        linkage: config.linkage,
        groups,
        dendrogram,
        teacher: teacher.map(|t| t.path().into()),
        teacher_layers,
        cross_cka: cross,
    })
}

impl CkaReport {
    /// Writes `cka.json`, `cka-heatmap.png`, `cka-dendrogram.png` (and `cka-teacher.png` with
    /// a teacher) into `out_dir`, each atomically; returns their paths.
    ///
    /// # Errors
    /// [`ProbeError::Write`], [`ProbeError::Plot`], naming the file.
    pub fn write(&self, out_dir: &Path) -> Result<Vec<PathBuf>, ProbeError> {
        let mut written = Vec::new();
        let json_path = out_dir.join(CKA_JSON);
        let json = serde_json::to_vec_pretty(self).expect("reports serialize");
        ssl_distill_models::write_atomic(&json_path, &json)?;
        written.push(json_path);

        let heatmap = out_dir.join(CKA_HEATMAP);
        plot::heatmap_png(
            &plot::Heatmap {
                title: "Linear CKA between hidden states",
                values: &self.cka,
                rows: &self.layers,
                cols: &self.layers,
                row_axis: "hidden state",
                col_axis: "hidden state",
                groups: Some(&self.groups),
            },
            &heatmap,
        )?;
        written.push(heatmap);

        let dendrogram = out_dir.join(CKA_DENDROGRAM);
        plot::dendrogram_png(
            &plot::Dendrogram {
                title: "Layer clustering (1 - CKA)",
                leaves: &self.clustered_layers,
                merges: &self.dendrogram,
                groups: &self.groups,
            },
            &dendrogram,
        )?;
        written.push(dendrogram);

        if let (Some(cross), Some(cols)) = (&self.cross_cka, &self.teacher_layers) {
            let path = out_dir.join(CKA_TEACHER_HEATMAP);
            plot::heatmap_png(
                &plot::Heatmap {
                    title: "Linear CKA: model (rows) vs teacher (columns)",
                    values: cross,
                    rows: &self.layers,
                    cols,
                    row_axis: "model hidden state",
                    col_axis: "teacher hidden state",
                    groups: None,
                },
                &path,
            )?;
            written.push(path);
        }
        Ok(written)
    }
}
