//! SUPERB's learnable weighted sum of an upstream's hidden states (Yang et al. 2021, "SUPERB:
//! Speech processing Universal PERformance Benchmark", arXiv:2105.01051; s3prl's `Featurizer`):
//! `Σ_l softmax(w)_l · h_l`, with `w` initialised to zeros (uniform weights).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

/// Configuration of a [`WeightedSum`].
#[derive(Config, Debug)]
pub struct WeightedSumConfig {
    /// Number of hidden states weighted (`L + 1`).
    pub num_states: usize,
}

/// Softmax-weighted sum over hidden states.
#[derive(Module, Debug)]
pub struct WeightedSum {
    /// Unnormalised weights `[L + 1]` (s3prl `weights`).
    pub logits: Param<Tensor<1>>,
}

impl WeightedSumConfig {
    /// Zero logits: every hidden state weighs `1 / (L + 1)`.
    ///
    /// # Panics
    /// If `num_states` is 0.
    pub fn init(&self, device: &Device) -> WeightedSum {
        assert!(self.num_states > 0, "a weighted sum needs hidden states");
        WeightedSum {
            logits: Param::from_tensor(Tensor::zeros([self.num_states], device)),
        }
    }
}

impl WeightedSum {
    /// The weights `softmax(logits)`, `[L + 1]`, summing to 1.
    pub fn weights(&self) -> Tensor<1> {
        softmax(self.logits.val(), 0)
    }

    /// The weights as host values.
    pub fn weights_vec(&self) -> Vec<f64> {
        self.weights()
            .try_into_vec_as::<f64>()
            .expect("f64 weights")
    }

    /// Weighted sum over the first dimension.
    ///
    /// # Shapes
    /// - `stacked`: `[L + 1, batch, frames, dim]`
    /// - output: `[batch, frames, dim]`
    pub fn forward(&self, stacked: Tensor<4>) -> Tensor<3> {
        let [l, b, t, d] = stacked.dims();
        self.sum_flat(stacked.reshape([l, b * t * d]))
            .reshape([b, t, d])
    }

    /// Weighted sum over the first dimension of pooled states.
    ///
    /// # Shapes
    /// - `stacked`: `[L + 1, batch, dim]`
    /// - output: `[batch, dim]`
    pub fn forward_pooled(&self, stacked: Tensor<3>) -> Tensor<2> {
        let [l, b, d] = stacked.dims();
        self.sum_flat(stacked.reshape([l, b * d])).reshape([b, d])
    }

    fn sum_flat(&self, flat: Tensor<2>) -> Tensor<2> {
        let [l, _] = flat.dims();
        let logits = self.logits.val();
        assert_eq!(
            logits.dims()[0],
            l,
            "the weighted sum was built for {} hidden states, got {l}",
            logits.dims()[0]
        );
        softmax(logits, 0).reshape([1, l]).matmul(flat)
    }
}
