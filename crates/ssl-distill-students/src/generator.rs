//! GenDistiller's autoregressive layer generator (Gao et al., "GenDistiller: Distilling
//! Pre-trained Language Models based on Generative Models", arXiv:2310.13418, and its 2024
//! version "... based on an Autoregressive Generative Model", arXiv:2406.09444, which adds the
//! skip connection and output projection): a small shared block produces teacher layer `k` from
//! its own output for layer `k − 1`, one layer after another.
//!
//! Step `k`: `h_k = h_{k−1} + f(h_{k−1})` (a pre-LN transformer layer, whose residual path is the
//! skip connection), `y_k = out_proj(h_k)`. With teacher forcing the
//! history fed to step `k + 1` is the teacher's layer `k` brought to the generator's width
//! (`in_proj`) instead of `h_k`. Whether the paper forces is not published: both are offered.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor};
use ssl_distill_models::nn::attention::SelfAttentionConfig;
use ssl_distill_models::nn::encoder_layer::{EncoderLayer, EncoderLayerConfig};

/// Configuration of [`Generator`].
#[derive(Config, Debug)]
pub struct GeneratorConfig {
    /// Generator (student) width.
    pub d_model: usize,
    /// Teacher width.
    pub d_target: usize,
    /// Layers generated (`L`, targets are teacher layers 1..=L).
    pub num_steps: usize,
    /// Heads of the shared block. Default: 4.
    #[config(default = 4)]
    pub num_heads: usize,
    /// FFN width of the shared block. Default: 4 × `d_model`.
    #[config(default = "None")]
    pub d_ff: Option<usize>,
}

impl GeneratorConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> Generator {
        let attention = SelfAttentionConfig::new(self.d_model, self.num_heads);
        Generator {
            block: EncoderLayerConfig::new(attention, self.d_ff.unwrap_or(4 * self.d_model))
                .with_pre_ln(true)
                .init(device),
            in_proj: LinearConfig::new(self.d_target, self.d_model).init(device),
            out_proj: LinearConfig::new(self.d_model, self.d_target).init(device),
            num_steps: self.num_steps,
        }
    }
}

/// The generator.
#[derive(Module, Debug)]
pub struct Generator {
    /// The block shared by every step (a pre-LN transformer layer).
    pub block: EncoderLayer,
    /// Teacher width → generator width, for teacher-forced history.
    pub in_proj: Linear,
    /// Generator width → teacher width.
    pub out_proj: Linear,
    /// Steps (layers generated).
    pub num_steps: usize,
}

impl Generator {
    /// Generates `num_steps` layers from `start` (the student backbone's output).
    ///
    /// `teacher`, when given, holds the teacher's layers 1..=L and turns teacher forcing on.
    ///
    /// # Shapes
    /// - `start`: `[batch, frames, d_model]`; `teacher[k]`: `[batch, frames, d_target]`
    /// - output: `num_steps` × `[batch, frames, d_target]`
    ///
    /// # Panics
    /// If `teacher` has fewer than `num_steps - 1` layers.
    pub fn forward(
        &self,
        start: Tensor<3>,
        teacher: Option<&[Tensor<3>]>,
        padding: Option<&Tensor<2, Bool>>,
    ) -> Vec<Tensor<3>> {
        let mut history = start;
        let mut outputs = Vec::with_capacity(self.num_steps);
        for k in 0..self.num_steps {
            // A pre-LN residual layer: `h = history + attn(..) + ffn(..)`, so its residual path
            // is the skip connection from the history.
            let h = self.block.forward(history, padding, None);
            outputs.push(self.out_proj.forward(h.clone()));
            history = match teacher {
                Some(layers) if k + 1 < self.num_steps => self.in_proj.forward(layers[k].clone()),
                _ => h,
            };
        }
        outputs
    }
}
