//! The convolutional waveform encoder of wav2vec 2.0 / HuBERT / WavLM (HF
//! `Wav2Vec2FeatureEncoder`): 7 strided 1-D convs with GELU, normalised either by one GroupNorm
//! after the first conv ("group") or by a LayerNorm after every conv ("layer").
//!
//! Paper: wav2vec 2.0 (Baevski et al. 2020, arXiv:2006.11477), §2.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Initializer, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Tensor, activation::gelu};

use super::conv_matmul::{conv1d_module_time_major, group_norm_per_channel_time_major};

/// Normalisation of the convolutional feature extractor (HF `feat_extract_norm`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum FeatExtractNorm {
    /// `"group"`: a GroupNorm with one group per channel after conv 0 only (Base models).
    Group,
    /// `"layer"`: a LayerNorm over channels after every conv (Large models).
    Layer,
}

/// The normalisation after one conv layer. HF calls both `layer_norm`.
#[derive(Module, Debug)]
pub enum ConvNorm {
    /// GroupNorm with one group per channel: each channel normalised over the whole time axis.
    Group(GroupNorm),
    /// LayerNorm over channels, per frame.
    Layer(LayerNorm),
}

/// One conv -> (norm) -> GELU block (HF `conv_layers.N`).
#[derive(Module, Debug)]
pub struct ConvLayer {
    /// The convolution (HF `conv`).
    pub conv: Conv1d,
    /// The optional normalisation (HF `layer_norm`).
    pub layer_norm: Option<ConvNorm>,
}

impl ConvLayer {
    /// # Shapes
    /// - `x`: `[batch, channels_in, samples]` -> `[batch, channels_out, frames]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_time_major(x.swap_dims(1, 2)).swap_dims(1, 2)
    }

    /// [`ConvLayer::forward`] on the time-major layout, the one the extractor keeps between
    /// layers: the conv is one matrix product and the norms reduce without layout swaps (see
    /// [`super::conv_matmul`]).
    ///
    /// # Shapes
    /// - `x`: `[batch, samples, channels_in]` -> `[batch, frames, channels_out]`
    pub fn forward_time_major(&self, x: Tensor<3>) -> Tensor<3> {
        let x = conv1d_module_time_major(&self.conv, x);
        let x = match &self.layer_norm {
            None => x,
            Some(ConvNorm::Group(norm)) if norm.num_groups == norm.num_channels => {
                group_norm_per_channel_time_major(norm, x)
            }
            Some(ConvNorm::Group(norm)) => norm.forward(x.swap_dims(1, 2)).swap_dims(1, 2),
            Some(ConvNorm::Layer(norm)) => norm.forward(x),
        };
        gelu(x)
    }
}

impl FeatureExtractor {
    /// Re-draws every conv weight as fairseq (`ConvFeatureExtractionModel`) and HF
    /// (`_init_weights`) do for a model trained from scratch: `kaiming_normal_`, i.e.
    /// `N(0, 2 / fan_in)` with `fan_in = channels_in × kernel`. [`FeatureExtractorConfig::init`]
    /// keeps burn's (and PyTorch's layer-default) `U(±1/√fan_in)`, a variance 6× smaller per
    /// layer: through 7 convs + GELU it leaves the CNN output near 1e-3 RMS, below the
    /// feature-projection LayerNorm's eps, and a model pretrained from it barely sees its input.
    /// Draws from `device`'s RNG; biases (if any) are kept.
    pub fn with_kaiming_normal(mut self, device: &Device) -> Self {
        let init = Initializer::KaimingNormal {
            gain: std::f64::consts::SQRT_2,
            fan_out_only: false,
        };
        for layer in &mut self.conv_layers {
            let [out, channels_in, kernel] = layer.conv.weight.dims();
            layer.conv.weight = init.init_with(
                [out, channels_in, kernel],
                Some(channels_in * kernel),
                Some(out * kernel),
                device,
            );
        }
        self
    }
}

/// Configuration of [`FeatureExtractor`].
#[derive(Config, Debug)]
pub struct FeatureExtractorConfig {
    /// Output channels per layer (HF `conv_dim`).
    pub conv_dim: Vec<usize>,
    /// Kernel per layer (HF `conv_kernel`).
    pub conv_kernel: Vec<usize>,
    /// Stride per layer (HF `conv_stride`).
    pub conv_stride: Vec<usize>,
    /// Normalisation mode (HF `feat_extract_norm`). Default: group.
    #[config(default = "FeatExtractNorm::Group")]
    pub norm: FeatExtractNorm,
    /// Conv bias (HF `conv_bias`). Default: false.
    #[config(default = false)]
    pub conv_bias: bool,
}

impl FeatureExtractorConfig {
    /// Random init.
    ///
    /// # Panics
    /// If the three lists differ in length.
    pub fn init(&self, device: &Device) -> FeatureExtractor {
        assert_eq!(
            self.conv_dim.len(),
            self.conv_kernel.len(),
            "conv_dim vs conv_kernel"
        );
        assert_eq!(
            self.conv_dim.len(),
            self.conv_stride.len(),
            "conv_dim vs conv_stride"
        );
        let mut channels_in = 1;
        let mut conv_layers = Vec::with_capacity(self.conv_dim.len());
        for (i, ((&out, &k), &s)) in self
            .conv_dim
            .iter()
            .zip(&self.conv_kernel)
            .zip(&self.conv_stride)
            .enumerate()
        {
            let conv = Conv1dConfig::new(channels_in, out, k)
                .with_stride(s)
                .with_bias(self.conv_bias)
                .init(device);
            let layer_norm = match self.norm {
                // PyTorch's default eps (1e-5), not `layer_norm_eps`.
                FeatExtractNorm::Group if i == 0 => {
                    Some(ConvNorm::Group(GroupNormConfig::new(out, out).init(device)))
                }
                FeatExtractNorm::Group => None,
                FeatExtractNorm::Layer => {
                    Some(ConvNorm::Layer(LayerNormConfig::new(out).init(device)))
                }
            };
            conv_layers.push(ConvLayer { conv, layer_norm });
            channels_in = out;
        }
        FeatureExtractor { conv_layers }
    }
}

/// The conv feature encoder (HF `feature_extractor`).
#[derive(Module, Debug)]
pub struct FeatureExtractor {
    /// The conv blocks (HF `conv_layers`).
    pub conv_layers: Vec<ConvLayer>,
}

impl FeatureExtractor {
    /// # Shapes
    /// - `waveform`: `[batch, samples]` -> `[batch, frames, conv_dim.last()]`
    ///
    /// # Panics
    /// If `samples` is shorter than the receptive field (400 for the standard stack).
    pub fn forward(&self, waveform: Tensor<2>) -> Tensor<3> {
        let mut x = waveform.unsqueeze_dim::<3>(2);
        for layer in &self.conv_layers {
            x = layer.forward_time_major(x);
        }
        x
    }
}
