//! Transformer feed-forward block (HF `*FeedForward`): Linear -> GELU -> Linear.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation::gelu};

/// Configuration of [`FeedForward`].
#[derive(Config, Debug)]
pub struct FeedForwardConfig {
    /// Width (HF `hidden_size`).
    pub d_model: usize,
    /// Inner width (HF `intermediate_size`).
    pub d_ff: usize,
}

impl FeedForwardConfig {
    /// Random init.
    pub fn init(&self, device: &Device) -> FeedForward {
        FeedForward {
            intermediate_dense: LinearConfig::new(self.d_model, self.d_ff).init(device),
            output_dense: LinearConfig::new(self.d_ff, self.d_model).init(device),
        }
    }
}

/// HF `feed_forward`.
#[derive(Module, Debug)]
pub struct FeedForward {
    /// HF `intermediate_dense`.
    pub intermediate_dense: Linear,
    /// HF `output_dense`.
    pub output_dense: Linear,
}

impl FeedForward {
    /// # Shapes
    /// - `x`: `[batch, frames, d_model]` -> `[batch, frames, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_gated(x, None)
    }

    /// [`FeedForward::forward`] with each intermediate unit multiplied by its gate after the
    /// GELU (structured pruning: a gate of 0 removes the unit).
    ///
    /// # Shapes
    /// - as [`FeedForward::forward`]; `unit_gate`: `[d_ff]`
    pub fn forward_gated(&self, x: Tensor<3>, unit_gate: Option<&Tensor<1>>) -> Tensor<3> {
        let h = gelu(self.intermediate_dense.forward(x));
        let h = match unit_gate {
            Some(g) => h * g.clone().unsqueeze::<3>(),
            None => h,
        };
        self.output_dense.forward(h)
    }
}
