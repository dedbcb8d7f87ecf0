//! Student heads: DistilHuBERT's prediction heads and layer-to-layer projections.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::gelu};

/// DistilHuBERT's heads (Chang et al. 2022, arXiv:2110.01900, §3.1): the last student layer
/// goes through `Linear(d → d·N)` and GELU, is split into `N` chunks, and chunk `i` through its own
/// `Linear(d → d_target)` predicts target `i` (s3prl: `pred_heads`).
#[derive(Config, Debug)]
pub struct PredictionHeadsConfig {
    /// Student width `d`.
    pub d_model: usize,
    /// Number of targets `N`.
    pub num_targets: usize,
    /// Teacher width `d_target`.
    pub d_target: usize,
}

impl PredictionHeadsConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> PredictionHeads {
        PredictionHeads {
            expand: LinearConfig::new(self.d_model, self.d_model * self.num_targets).init(device),
            heads: (0..self.num_targets)
                .map(|_| LinearConfig::new(self.d_model, self.d_target).init(device))
                .collect(),
        }
    }
}

/// The prediction heads.
#[derive(Module, Debug)]
pub struct PredictionHeads {
    /// `Linear(d → d·N)`.
    pub expand: Linear,
    /// One `Linear(d → d_target)` per target.
    pub heads: Vec<Linear>,
}

impl PredictionHeads {
    /// One prediction per target.
    ///
    /// # Shapes
    /// - `last`: `[batch, frames, d]` → `N` × `[batch, frames, d_target]`
    pub fn forward(&self, last: Tensor<3>) -> Vec<Tensor<3>> {
        let d = last.dims()[2];
        let x = gelu(self.expand.forward(last));
        self.heads
            .iter()
            .enumerate()
            .map(|(i, head)| head.forward(x.clone().narrow(2, i * d, d)))
            .collect()
    }
}

/// Layer-to-layer projections (Ashihara et al. 2022, "deep vs wide"): student layer `l_i` goes
/// through `Linear(d → d_target)` to predict target `i`.
#[derive(Config, Debug)]
pub struct LayerProjectionsConfig {
    /// Student width `d`.
    pub d_model: usize,
    /// Teacher width `d_target`.
    pub d_target: usize,
    /// The student hidden state (HF index, 1 = first layer's output) feeding each target.
    pub student_layers: Vec<usize>,
}

impl LayerProjectionsConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> LayerProjections {
        LayerProjections {
            projections: self
                .student_layers
                .iter()
                .map(|_| LinearConfig::new(self.d_model, self.d_target).init(device))
                .collect(),
            student_layers: self.student_layers.clone(),
        }
    }
}

/// The projections.
#[derive(Module, Debug)]
pub struct LayerProjections {
    /// One `Linear(d → d_target)` per target.
    pub projections: Vec<Linear>,
    /// The student hidden state feeding each target.
    pub student_layers: Vec<usize>,
}

impl LayerProjections {
    /// One prediction per target from the student's hidden states (HF indexing).
    ///
    /// # Panics
    /// If a configured layer is beyond `hidden_states`.
    pub fn forward(&self, hidden_states: &[Tensor<3>]) -> Vec<Tensor<3>> {
        self.projections
            .iter()
            .zip(&self.student_layers)
            .map(|(p, &l)| p.forward(hidden_states[l].clone()))
            .collect()
    }
}
