//! The downstream models on top of the [`WeightedSum`]: [`PrHead`] (a small transformer or a
//! BiLSTM, + CTC: phoneme recognition) and [`PooledHead`] (mean pooling + linear layer or MLP,
//! SID and KS).

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Linear, LinearConfig, PositionalEncoding, PositionalEncodingConfig, Relu};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::lstm::{BiLstm, BiLstmConfig};
use crate::weighted_sum::{WeightedSum, WeightedSumConfig};

/// The sequence model of a [`PrHead`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrBody {
    /// Linear to `d_hidden`, sinusoidal positions, pre-LN transformer encoder layers
    /// (`max(1, d_hidden / 32)` heads, FFN `4 · d_hidden`, dropout 0.1) with the padded frames masked
    /// out of attention. A handful of large tensor operations per layer where the BiLSTM
    /// runs a dozen small ones per time step: 2.8× faster per epoch on the `ci` corpus (release,
    /// CPU), so it is the default.
    Transformer,
    /// A BiLSTM of `d_hidden` units per direction (s3prl's ASR/PR downstream).
    Lstm,
}

/// Configuration of a [`PrHead`].
#[derive(Config, Debug)]
pub struct PrHeadConfig {
    /// Hidden states weighted (`L + 1`).
    pub num_states: usize,
    /// Width of the hidden states.
    pub d_input: usize,
    /// Output classes, the CTC blank (index 0) included.
    pub num_classes: usize,
    /// The sequence model. Default: transformer.
    #[config(default = "PrBody::Transformer")]
    pub body: PrBody,
    /// Width of the transformer, or of each LSTM direction. Default 128.
    #[config(default = 128)]
    pub d_hidden: usize,
    /// Transformer or BiLSTM layers. Default 2.
    #[config(default = 2)]
    pub num_layers: usize,
    /// Longest input (frames) the transformer's positional table covers. Default 10000
    /// (200 s at 50 Hz); a probe sets it to its longest utterance.
    #[config(default = 10000)]
    pub max_frames: usize,
}

/// A transformer encoder over the projected frames.
#[derive(Module, Debug)]
pub struct PrTransformer {
    /// Projection of the weighted sum to the model width.
    pub input: Linear,
    /// Sinusoidal positions (added).
    pub positions: PositionalEncoding,
    /// The encoder layers.
    pub encoder: TransformerEncoder,
}

/// The sequence model of a [`PrHead`] (see [`PrBody`]).
#[expect(
    clippy::large_enum_variant,
    reason = "burn's `Module` derive does not take `Box`ed fields; one head exists per probe"
)]
#[derive(Module, Debug)]
pub enum PrSequence {
    /// [`PrBody::Transformer`].
    Transformer(PrTransformer),
    /// [`PrBody::Lstm`].
    Lstm(BiLstm),
}

/// Weighted sum → transformer or BiLSTM → Linear → log-softmax, trained with CTC (blank 0).
#[derive(Module, Debug)]
pub struct PrHead {
    /// The layer weights.
    pub weighted_sum: WeightedSum,
    /// The sequence model.
    pub body: PrSequence,
    /// Per-frame class scores.
    pub output: Linear,
}

impl PrHeadConfig {
    /// A randomly initialised head.
    ///
    /// # Panics
    /// If the transformer's `d_hidden` does not split into `max(1, d_hidden / 32)` heads.
    pub fn init(&self, device: &Device) -> PrHead {
        let (body, d_out) = match self.body {
            PrBody::Transformer => {
                let heads = (self.d_hidden / 32).max(1);
                assert!(
                    self.d_hidden.is_multiple_of(heads) && self.d_hidden > 0,
                    "transformer width {} does not split into {heads} heads",
                    self.d_hidden
                );
                let encoder = TransformerEncoderConfig::new(
                    self.d_hidden,
                    4 * self.d_hidden,
                    heads,
                    self.num_layers,
                )
                .with_dropout(0.1)
                .with_norm_first(true)
                .init(device);
                let body = PrTransformer {
                    input: LinearConfig::new(self.d_input, self.d_hidden).init(device),
                    positions: PositionalEncodingConfig::new(self.d_hidden)
                        .with_max_sequence_size(self.max_frames)
                        .with_max_timescale(self.max_frames.max(10_000))
                        .init(device),
                    encoder,
                };
                (PrSequence::Transformer(body), self.d_hidden)
            }
            PrBody::Lstm => (
                PrSequence::Lstm(
                    BiLstmConfig::new(self.d_input, self.d_hidden)
                        .with_num_layers(self.num_layers)
                        .init(device),
                ),
                2 * self.d_hidden,
            ),
        };
        PrHead {
            weighted_sum: WeightedSumConfig::new(self.num_states).init(device),
            body,
            output: LinearConfig::new(d_out, self.num_classes).init(device),
        }
    }
}

/// `[batch, frames]`, true at padded frames.
fn padding_mask(lengths: &[usize], frames: usize, device: &Device) -> Tensor<2, Bool> {
    let data: Vec<bool> = lengths
        .iter()
        .flat_map(|&n| (0..frames).map(move |t| t >= n))
        .collect();
    Tensor::<2, Bool>::from_data(TensorData::new(data, [lengths.len(), frames]), device)
}

impl PrHead {
    /// Per-frame log-probabilities. A padded row's valid frames equal the row run alone.
    ///
    /// # Shapes
    /// - `stacked`: `[L + 1, batch, frames, dim]` (right-padded), `lengths[b]` valid frames
    /// - output: `[batch, frames, classes]`
    pub fn forward(&self, stacked: Tensor<4>, lengths: &[usize]) -> Tensor<3> {
        let x = self.weighted_sum.forward(stacked);
        let x = match &self.body {
            PrSequence::Lstm(lstm) => lstm.forward(x, lengths),
            PrSequence::Transformer(t) => {
                let frames = x.dims()[1];
                let mask = padding_mask(lengths, frames, &x.device());
                let x = t.positions.forward(t.input.forward(x));
                t.encoder
                    .forward(TransformerEncoderInput::new(x).mask_pad(mask))
            }
        };
        log_softmax(self.output.forward(x), 2)
    }

    /// CTC loss averaged over the batch, each utterance's divided by its target length
    /// (PyTorch's `reduction="mean"`); infinite losses (a target longer than its frames allow)
    /// are zeroed.
    ///
    /// # Shapes
    /// - `stacked` as in [`PrHead::forward`]; `targets[b]` phone indices (never 0)
    pub fn loss(&self, stacked: Tensor<4>, lengths: &[usize], targets: &[Vec<usize>]) -> Tensor<1> {
        crate::ctc::ctc_loss_mean(self.forward(stacked, lengths), lengths, targets, 0)
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
