//! The downstream models on top of the [`WeightedSum`]: [`PrHead`] (BiLSTM + CTC, phoneme
//! recognition) and [`PooledHead`] (mean pooling + linear layer or MLP, SID and KS).

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::{CTCLossConfig, CrossEntropyLossConfig, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::lstm::{BiLstm, BiLstmConfig};
use crate::weighted_sum::{WeightedSum, WeightedSumConfig};

/// Configuration of a [`PrHead`].
#[derive(Config, Debug)]
pub struct PrHeadConfig {
    /// Hidden states weighted (`L + 1`).
    pub num_states: usize,
    /// Width of the hidden states.
    pub d_input: usize,
    /// Output classes, the CTC blank (index 0) included.
    pub num_classes: usize,
    /// Hidden width of each LSTM direction. Default 128.
    #[config(default = 128)]
    pub d_hidden: usize,
    /// BiLSTM layers. Default 2.
    #[config(default = 2)]
    pub num_layers: usize,
}

/// Weighted sum → BiLSTM → Linear → log-softmax, trained with CTC (blank 0).
#[derive(Module, Debug)]
pub struct PrHead {
    /// The layer weights.
    pub weighted_sum: WeightedSum,
    /// The recurrent layers.
    pub lstm: BiLstm,
    /// Per-frame class scores.
    pub output: Linear,
}

impl PrHeadConfig {
    /// A randomly initialised head.
    pub fn init(&self, device: &Device) -> PrHead {
        PrHead {
            weighted_sum: WeightedSumConfig::new(self.num_states).init(device),
            lstm: BiLstmConfig::new(self.d_input, self.d_hidden)
                .with_num_layers(self.num_layers)
                .init(device),
            output: LinearConfig::new(2 * self.d_hidden, self.num_classes).init(device),
        }
    }
}

impl PrHead {
    /// Per-frame log-probabilities.
    ///
    /// # Shapes
    /// - `stacked`: `[L + 1, batch, frames, dim]` (right-padded), `lengths[b]` valid frames
    /// - output: `[batch, frames, classes]`
    pub fn forward(&self, stacked: Tensor<4>, lengths: &[usize]) -> Tensor<3> {
        let x = self.weighted_sum.forward(stacked);
        let x = self.lstm.forward(x, lengths);
        log_softmax(self.output.forward(x), 2)
    }

    /// CTC loss averaged over the batch, each utterance's divided by its target length
    /// (PyTorch's `reduction="mean"`); infinite losses (a target longer than its frames allow)
    /// are zeroed.
    ///
    /// # Shapes
    /// - `stacked` as in [`PrHead::forward`]; `targets[b]` phone indices (never 0)
    pub fn loss(&self, stacked: Tensor<4>, lengths: &[usize], targets: &[Vec<usize>]) -> Tensor<1> {
        let device = stacked.device();
        let log_probs = self.forward(stacked, lengths).swap_dims(0, 1);
        let b = lengths.len();
        let max_target = targets.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut flat = vec![0i64; b * max_target];
        for (row, t) in targets.iter().enumerate() {
            for (j, &c) in t.iter().enumerate() {
                flat[row * max_target + j] = c as i64;
            }
        }
        let int1 = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [b]), &device);
        CTCLossConfig::new()
            .with_zero_infinity(true)
            .init()
            .forward_with_reduction(
                log_probs,
                Tensor::<2, Int>::from_data(TensorData::new(flat, [b, max_target]), &device),
                int1(lengths.iter().map(|&n| n as i64).collect()),
                int1(targets.iter().map(|t| t.len() as i64).collect()),
                Reduction::Mean,
            )
    }
}

/// Configuration of a [`PooledHead`].
#[derive(Config, Debug)]
pub struct PooledHeadConfig {
    /// Hidden states weighted (`L + 1`).
    pub num_states: usize,
    /// Width of the hidden states.
    pub d_input: usize,
    /// Output classes.
    pub num_classes: usize,
    /// Width of a hidden ReLU layer (`None`: a single linear layer, SUPERB's SID). Default
    /// `None`.
    #[config(default = "None")]
    pub d_hidden: Option<usize>,
}

/// Weighted sum of mean-pooled hidden states → (Linear → ReLU →) Linear.
#[derive(Module, Debug)]
pub struct PooledHead {
    /// The layer weights.
    pub weighted_sum: WeightedSum,
    /// The hidden layer of an MLP.
    pub hidden: Option<Linear>,
    /// Class scores.
    pub output: Linear,
    /// Activation of the hidden layer.
    pub relu: Relu,
}

impl PooledHeadConfig {
    /// A randomly initialised head.
    pub fn init(&self, device: &Device) -> PooledHead {
        let d_out_in = self.d_hidden.unwrap_or(self.d_input);
        PooledHead {
            weighted_sum: WeightedSumConfig::new(self.num_states).init(device),
            hidden: self
                .d_hidden
                .map(|h| LinearConfig::new(self.d_input, h).init(device)),
            output: LinearConfig::new(d_out_in, self.num_classes).init(device),
            relu: Relu::new(),
        }
    }
}

impl PooledHead {
    /// Class scores (logits).
    ///
    /// # Shapes
    /// - `pooled`: `[L + 1, batch, dim]` (each hidden state's mean over valid frames)
    /// - output: `[batch, classes]`
    pub fn forward(&self, pooled: Tensor<3>) -> Tensor<2> {
        let x = self.weighted_sum.forward_pooled(pooled);
        let x = match &self.hidden {
            Some(h) => self.relu.forward(h.forward(x)),
            None => x,
        };
        self.output.forward(x)
    }

    /// Mean cross-entropy against `classes`.
    pub fn loss(&self, pooled: Tensor<3>, classes: &[usize]) -> Tensor<1> {
        let device = pooled.device();
        let logits = self.forward(pooled);
        let targets = Tensor::<1, Int>::from_data(
            TensorData::new(
                classes.iter().map(|&c| c as i64).collect::<Vec<_>>(),
                [classes.len()],
            ),
            &device,
        );
        CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits, targets)
    }
}
