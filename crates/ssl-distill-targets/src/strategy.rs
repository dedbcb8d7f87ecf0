//! Which teacher layers a student learns, as one trait and four strategies.
//!
//! Hidden-state indices follow HF: `0` is the transformer input, `i` the output of layer `i`.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::calibration::CalibrationFeatures;
use crate::cka::cka_matrix;
use crate::cluster::{Groups, Linkage, cluster};
use crate::error::TargetError;

/// A rule turning a teacher's hidden states into the student's regression targets.
pub trait LayerTargets: std::fmt::Debug + Send + Sync {
    /// The deepest hidden state needed (the teacher can stop there, `forward_until`).
    fn deepest_layer(&self) -> usize;
    /// How many targets [`LayerTargets::targets`] returns.
    fn num_targets(&self) -> usize;
    /// The targets, from `hidden_states` (index 0 = transformer input), each `[batch, frames, dim]`.
    ///
    /// # Panics
    /// If `hidden_states` is shorter than `deepest_layer() + 1`.
    fn targets(&self, hidden_states: &[Tensor<3>]) -> Vec<Tensor<3>>;
    /// The groups of layers averaged into each target, for logs and `student.json`.
    fn groups(&self) -> Groups;
    /// A JSON description for logs and `student.json`: `strategy`, `groups`, and the
    /// strategy's settings (for [`Clustered`], the linkage and the CKA matrix).
    fn describe(&self) -> serde_json::Value;
}

fn mean_of(hidden_states: &[Tensor<3>], layers: &[usize]) -> Tensor<3> {
    let sum = layers
        .iter()
        .map(|&i| hidden_states[i].clone())
        .reduce(|a, b| a + b)
        .expect("a group has at least one layer");
    sum / layers.len() as f32
}

/// Fixed layers, one target each (DistilHuBERT: 4, 8, 12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixed {
    /// The layers.
    pub layers: Vec<usize>,
}

impl Fixed {
    /// Fixed layers.
    ///
    /// # Errors
    /// [`TargetError::Empty`] for no layer.
    pub fn new(layers: Vec<usize>) -> Result<Self, TargetError> {
        if layers.is_empty() {
            return Err(TargetError::Empty);
        }
        Ok(Self { layers })
    }

    /// DistilHuBERT's targets: layers 4, 8 and 12.
    pub fn distilhubert() -> Self {
        Self {
            layers: vec![4, 8, 12],
        }
    }
}

impl LayerTargets for Fixed {
    fn deepest_layer(&self) -> usize {
        self.layers.iter().copied().max().unwrap_or(0)
    }
    fn num_targets(&self) -> usize {
        self.layers.len()
    }
    fn targets(&self, hidden_states: &[Tensor<3>]) -> Vec<Tensor<3>> {
        self.layers
            .iter()
            .map(|&i| hidden_states[i].clone())
            .collect()
    }
    fn groups(&self) -> Groups {
        self.layers.iter().map(|&i| vec![i]).collect()
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({ "strategy": "fixed", "groups": self.groups(), "config": self })
    }
}

/// One target: the mean of the last `k` layers (LightHuBERT uses the last 8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanOfLastK {
    /// Number of layers averaged.
    pub k: usize,
    /// The teacher's number of layers `L` (targets average layers `L - k + 1 ..= L`).
    pub num_layers: usize,
}

impl MeanOfLastK {
    /// The mean of the last `k` of `num_layers` layers.
    ///
    /// # Errors
    /// [`TargetError::BadK`] unless `1 <= k <= num_layers`.
    pub fn new(k: usize, num_layers: usize) -> Result<Self, TargetError> {
        if k == 0 || k > num_layers {
            return Err(TargetError::BadK {
                k,
                layers: num_layers,
            });
        }
        Ok(Self { k, num_layers })
    }
}

impl LayerTargets for MeanOfLastK {
    fn deepest_layer(&self) -> usize {
        self.num_layers
    }
    fn num_targets(&self) -> usize {
        1
    }
    fn targets(&self, hidden_states: &[Tensor<3>]) -> Vec<Tensor<3>> {
        vec![mean_of(hidden_states, &self.groups()[0])]
    }
    fn groups(&self) -> Groups {
        vec![(self.num_layers - self.k + 1..=self.num_layers).collect()]
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({ "strategy": "mean_of_last_k", "groups": self.groups(), "config": self })
    }
}

/// SKILL's targets: groups of layers found by clustering their CKA similarity; each target is
/// the mean of its group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clustered {
    /// The groups (hidden-state indices), ordered.
    pub groups: Groups,
    /// The CKA matrix over the clustered layers, if computed here.
    pub cka: Option<Vec<Vec<f64>>>,
    /// The hidden-state index of the CKA matrix's first row.
    pub first_layer: usize,
    /// Linkage used.
    pub linkage: Linkage,
    /// Whether groups were restricted to consecutive layers.
    pub contiguous: bool,
}

impl Clustered {
    /// Clusters layers `first_layer ..` into `k` groups from their features on a calibration set:
    /// `layer_features[i]` holds hidden state `first_layer + i` for the same `n` valid frames.
    ///
    /// # Errors
    /// [`TargetError::BadK`] unless `1 <= k <= layer_features.len()`.
    pub fn calibrate(
        layer_features: &[Tensor<2>],
        first_layer: usize,
        k: usize,
        linkage: Linkage,
        contiguous: bool,
    ) -> Result<Self, TargetError> {
        if k == 0 || k > layer_features.len() {
            return Err(TargetError::BadK {
                k,
                layers: layer_features.len(),
            });
        }
        let cka = cka_matrix(layer_features);
        let dist: Vec<Vec<f64>> = cka
            .iter()
            .map(|row| row.iter().map(|v| 1.0 - v).collect())
            .collect();
        let groups = cluster(&dist, k, linkage, contiguous)
            .into_iter()
            .map(|g| g.into_iter().map(|i| i + first_layer).collect())
            .collect();
        Ok(Self {
            groups,
            cka: Some(cka),
            first_layer,
            linkage,
            contiguous,
        })
    }

    /// Clusters the layers accumulated in `features` (valid frames of a calibration set) into
    /// `k` groups; hidden-state indices follow `features.first_layer()`.
    ///
    /// # Errors
    /// [`TargetError::NoFrames`] if nothing was accumulated; [`TargetError::BadK`].
    pub fn from_calibration(
        features: &CalibrationFeatures,
        k: usize,
        linkage: Linkage,
        contiguous: bool,
        device: &burn::tensor::Device,
    ) -> Result<Self, TargetError> {
        if features.frames() == 0 || features.num_layers() == 0 {
            return Err(TargetError::NoFrames);
        }
        Self::calibrate(
            &features.to_tensors(device),
            features.first_layer(),
            k,
            linkage,
            contiguous,
        )
    }

    /// Writes the groups and CKA matrix as JSON.
    ///
    /// # Errors
    /// [`TargetError::Io`].
    pub fn save(&self, path: &std::path::Path) -> Result<(), TargetError> {
        let text = serde_json::to_string_pretty(self).expect("serializable");
        std::fs::write(path, text).map_err(|source| TargetError::Io {
            path: path.into(),
            source,
        })
    }

    /// Reads groups saved by [`Clustered::save`].
    ///
    /// # Errors
    /// [`TargetError::Io`], [`TargetError::Json`].
    pub fn load(path: &std::path::Path) -> Result<Self, TargetError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Io {
            path: path.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| TargetError::Json {
            path: path.into(),
            source,
        })
    }
}

impl LayerTargets for Clustered {
    fn deepest_layer(&self) -> usize {
        self.groups.iter().flatten().copied().max().unwrap_or(0)
    }
    fn num_targets(&self) -> usize {
        self.groups.len()
    }
    fn targets(&self, hidden_states: &[Tensor<3>]) -> Vec<Tensor<3>> {
        self.groups
            .iter()
            .map(|g| mean_of(hidden_states, g))
            .collect()
    }
    fn groups(&self) -> Groups {
        self.groups.clone()
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({ "strategy": "clustered", "groups": self.groups(), "config": self })
    }
}

/// GenDistiller's targets: layers 1..=L in order, one per generation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Autoregressive {
    /// The teacher's number of layers `L`.
    pub num_layers: usize,
}

impl LayerTargets for Autoregressive {
    fn deepest_layer(&self) -> usize {
        self.num_layers
    }
    fn num_targets(&self) -> usize {
        self.num_layers
    }
    fn targets(&self, hidden_states: &[Tensor<3>]) -> Vec<Tensor<3>> {
        (1..=self.num_layers)
            .map(|i| hidden_states[i].clone())
            .collect()
    }
    fn groups(&self) -> Groups {
        (1..=self.num_layers).map(|i| vec![i]).collect()
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({ "strategy": "autoregressive", "groups": self.groups(), "config": self })
    }
}
