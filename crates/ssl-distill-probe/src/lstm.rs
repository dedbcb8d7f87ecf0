//! A bidirectional LSTM over right-padded batches (Graves & Schmidhuber 2005; s3prl's PR/ASR
//! downstreams use a 2-layer BiLSTM).
//!
//! Why not burn-nn's `BiLstm`: its reverse direction starts at the last *padded* frame, so a
//! padded row differs from the row run alone; here the reverse direction runs on each row's
//! valid frames reversed in place (a gather), so padding never reaches a valid frame (tested:
//! padded batch == rows alone). It also projects the inputs of all time steps with one matmul
//! and splits time in two levels (blocks, then steps), which keeps the backward pass of the
//! per-step slices near `O(T^1.5)` instead of `O(T²)` (each slice's gradient is a zero tensor
//! of its source's size).
//!
//! Gates as PyTorch orders them (`i, f, g, o`); forget-gate bias initialised to 1.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Configuration of a [`BiLstm`].
#[derive(Config, Debug)]
pub struct BiLstmConfig {
    /// Input width.
    pub d_input: usize,
    /// Hidden width of each direction (the output is twice as wide).
    pub d_hidden: usize,
    /// Stacked bidirectional layers. Default 2.
    #[config(default = 2)]
    pub num_layers: usize,
}

/// One direction of one layer.
#[derive(Module, Debug)]
pub struct LstmCell {
    /// Input projection to the four gates `[d_in, 4 · d_hidden]` (with the bias).
    pub input: Linear,
    /// Recurrent projection `[d_hidden, 4 · d_hidden]` (no bias).
    pub recurrent: Linear,
}

/// A bidirectional layer.
#[derive(Module, Debug)]
pub struct BiLstmLayer {
    /// Left-to-right direction.
    pub forward: LstmCell,
    /// Right-to-left direction.
    pub backward: LstmCell,
}

/// A stack of bidirectional LSTM layers.
#[derive(Module, Debug)]
pub struct BiLstm {
    /// The layers.
    pub layers: Vec<BiLstmLayer>,
}

impl BiLstmConfig {
    /// A randomly initialised BiLSTM.
    pub fn init(&self, device: &Device) -> BiLstm {
        let h = self.d_hidden;
        let cell = |d_in: usize| {
            let mut input = LinearConfig::new(d_in, 4 * h).init(device);
            // Forget-gate bias 1 (Jozefowicz et al. 2015).
            if let Some(bias) = input.bias.take() {
                let ones = Tensor::<1>::ones([h], device);
                // A new leaf: on an autodiff device the assigned copy must itself track grads.
                input.bias = Some(bias.map(|b| {
                    let b = b.slice_assign(h..2 * h, ones).detach();
                    if device.is_autodiff() {
                        b.require_grad()
                    } else {
                        b
                    }
                }));
            }
            LstmCell {
                input,
                recurrent: LinearConfig::new(h, 4 * h).with_bias(false).init(device),
            }
        };
        BiLstm {
            layers: (0..self.num_layers)
                .map(|i| {
                    let d_in = if i == 0 { self.d_input } else { 2 * h };
                    BiLstmLayer {
                        forward: cell(d_in),
                        backward: cell(d_in),
                    }
                })
                .collect(),
        }
    }
}

/// Splits `x` `[batch, T, f]` into its `T` steps `[batch, f]` (blocks of about `√T` first).
fn time_steps(x: Tensor<3>) -> Vec<Tensor<2>> {
    let t = x.dims()[1];
    let block = (t as f64).sqrt().ceil().max(1.0) as usize;
    let mut steps = Vec::with_capacity(t);
    for start in (0..t).step_by(block) {
        let end = (start + block).min(t);
        let chunk = x.clone().slice(burn::tensor::s![.., start..end, ..]);
        for i in 0..end - start {
            steps.push(
                chunk
                    .clone()
                    .slice(burn::tensor::s![.., i..i + 1, ..])
                    .squeeze_dim(1),
            );
        }
    }
    steps
}

impl LstmCell {
    /// Runs left to right from a zero state.
    ///
    /// # Shapes
    /// - `x`: `[batch, T, d_in]`; output `[batch, T, d_hidden]`
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, _, _] = x.dims();
        let h4 = self.recurrent.weight.dims()[1];
        let hd = h4 / 4;
        let device = x.device();
        let gates_in = self.input.forward(x);
        let mut h = Tensor::<2>::zeros([b, hd], &device);
        let mut c = Tensor::<2>::zeros([b, hd], &device);
        let mut outputs = Vec::new();
        for step in time_steps(gates_in) {
            let gates = step + self.recurrent.forward(h);
            let mut parts = gates.chunk(4, 1).into_iter();
            let mut next = || parts.next().expect("four gates");
            let (i, f, g, o) = (
                sigmoid(next()),
                sigmoid(next()),
                tanh(next()),
                sigmoid(next()),
            );
            c = f * c + i * g;
            h = o * tanh(c.clone());
            outputs.push(h.clone());
        }
        Tensor::stack(outputs, 1)
    }
}

/// Per row, the index map that reverses its first `len` frames and keeps the padding in place
/// (an involution), `[batch, T, width]` for `gather` on dim 1.
fn reversal(lengths: &[usize], frames: usize, width: usize, device: &Device) -> Tensor<3, Int> {
    let mut idx = Vec::with_capacity(lengths.len() * frames);
    for &n in lengths {
        let n = n.min(frames);
        idx.extend((0..frames).map(|t| if t < n { (n - 1 - t) as i64 } else { t as i64 }));
    }
    Tensor::<2, Int>::from_data(TensorData::new(idx, [lengths.len(), frames]), device)
        .unsqueeze_dim::<3>(2)
        .repeat_dim(2, width)
}

impl BiLstm {
    /// Runs every layer; rows are right-padded, `lengths[b]` valid frames each.
    ///
    /// # Shapes
    /// - `x`: `[batch, T, d_input]`; output `[batch, T, 2 · d_hidden]` (padded frames hold
    ///   values that depend on the padding; ignore them)
    ///
    /// # Panics
    /// If `lengths.len()` is not the batch size.
    pub fn forward(&self, x: Tensor<3>, lengths: &[usize]) -> Tensor<3> {
        let [b, t, _] = x.dims();
        assert_eq!(lengths.len(), b, "one length per row");
        let device = x.device();
        let mut x = x;
        for layer in &self.layers {
            let d_in = x.dims()[2];
            let fwd = layer.forward.forward(x.clone());
            let rev_in = x.gather(1, reversal(lengths, t, d_in, &device));
            let rev = layer.backward.forward(rev_in);
            let width = rev.dims()[2];
            let rev = rev.gather(1, reversal(lengths, t, width, &device));
            x = Tensor::cat(vec![fwd, rev], 2);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    #[test]
    fn padded_rows_equal_rows_alone() {
        let device = Device::flex();
        device.seed(3);
        let lstm = BiLstmConfig::new(3, 4).init(&device);
        let a = Tensor::<3>::random([1, 7, 3], Distribution::Normal(0.0, 1.0), &device);
        let b = Tensor::<3>::random([1, 4, 3], Distribution::Normal(0.0, 1.0), &device);
        let pad = Tensor::<3>::full([1, 3, 3], 5.0, &device);
        let batch = Tensor::cat(vec![a.clone(), Tensor::cat(vec![b.clone(), pad], 1)], 0);
        let out = lstm.forward(batch, &[7, 4]);
        let alone_a = lstm.forward(a, &[7]);
        let alone_b = lstm.forward(b, &[4]);
        let diff = |x: Tensor<3>, y: Tensor<3>| -> f32 { (x - y).abs().max().into_scalar::<f32>() };
        assert!(diff(out.clone().slice(burn::tensor::s![0..1, .., ..]), alone_a) < 1e-5);
        assert!(diff(out.slice(burn::tensor::s![1..2, 0..4, ..]), alone_b) < 1e-5);
    }

    #[test]
    fn time_steps_cover_every_step_in_order() {
        let device = Device::flex();
        let x = Tensor::<1, Int>::arange(0..10, &device)
            .float()
            .reshape([1, 10, 1]);
        let steps: Vec<f32> = time_steps(x)
            .into_iter()
            .map(|s| s.into_scalar::<f32>())
            .collect();
        assert_eq!(steps, (0..10).map(|i| i as f32).collect::<Vec<_>>());
    }
}
