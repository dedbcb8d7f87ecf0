//! [`SizeModel`]: a student backbone's parameter count as a function of its kept units, as
//! DPHuBERT's `get_num_params` (github.com/pyf98/DPHuBERT, `wav2vec2/components.py`).
//!
//! With `c_i` channels of conv layer `i` (`c_{-1} = 1`), kernel `k_i`, `h_l` heads of width
//! `d_h` and `f_l` FFN units in layer `l`, width `d`:
//!
//! ```text
//! params = const + Σ_i (c_{i-1} c_i k_i + c_i (bias_i + 2 norm_i))     conv stack
//!                + c_last (d + 2 ln_proj)                               feature projection
//!                + Σ_l h_l d_h (4 d + 3)                                q, k, v, out (+ q, k, v bias)
//!                + Σ_l f_l (2 d + 1)                                    FFN in, out (+ in bias)
//! ```
//!
//! `const` (LayerNorms, positional conv, output biases...) is the full backbone's count minus
//! the formula at full size, so the formula is exact for every student. In expectation each
//! count is a gate vector's `Σ P(gate ≠ 0)` (DPHuBERT's `l0_norm`) plus `Π P(gate = 0)`, since
//! physical pruning keeps one zeroed unit when all of a vector's gates close, and adjacent conv
//! layers couple through the product `E[c_{i-1}] E[c_i] k_i`.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use ssl_distill_models::nn::feature_extractor::ConvNorm;

use super::PruneGates;
use crate::student::Student;

/// The backbone's parameter count in terms of its prunable units.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeModel {
    /// Kernel of each conv layer.
    kernels: Vec<usize>,
    /// Parameters per output channel besides the kernel (bias + affine norm) of each conv layer.
    per_channel: Vec<usize>,
    /// Channels of each conv layer at full size.
    conv_dim: Vec<usize>,
    /// Input width of the feature projection when there is no conv stack (Fbank students).
    proj_in: usize,
    /// Parameters per input channel of the feature projection (`d`, + 2 with its LayerNorm).
    proj_per_channel: usize,
    /// Model width.
    d: usize,
    /// Width of one head.
    head_dim: usize,
    /// Heads of each layer at full size.
    heads: Vec<usize>,
    /// FFN units of each layer at full size.
    ffn: Vec<usize>,
    /// Everything that does not depend on the units.
    constant: usize,
}

impl SizeModel {
    /// The size model of `student`'s backbone (front-end, feature projection, encoder).
    pub fn of(student: &Student) -> Self {
        let b = &student.backbone;
        let convs = &b.feature_extractor.conv_layers;
        let d = b
            .encoder
            .layers
            .first()
            .map_or(student.config().backbone.hidden_size, |l| {
                l.attention.q_proj.weight.dims()[0]
            });
        let proj = &b.feature_projection;
        let mut model = Self {
            kernels: convs.iter().map(|c| c.conv.kernel_size).collect(),
            per_channel: convs
                .iter()
                .map(|c| {
                    usize::from(c.conv.bias.is_some())
                        + match &c.layer_norm {
                            Some(ConvNorm::Group(n)) => {
                                usize::from(n.gamma.is_some()) + usize::from(n.beta.is_some())
                            }
                            Some(ConvNorm::Layer(n)) => 1 + usize::from(n.beta.is_some()),
                            None => 0,
                        }
                })
                .collect(),
            conv_dim: convs.iter().map(|c| c.conv.weight.dims()[0]).collect(),
            proj_in: proj.projection.weight.dims()[0],
            proj_per_channel: d + 2 * usize::from(proj.layer_norm.is_some()),
            d,
            head_dim: b
                .encoder
                .layers
                .first()
                .map_or(1, |l| l.attention.head_dim()),
            heads: b
                .encoder
                .layers
                .iter()
                .map(|l| l.attention.num_heads)
                .collect(),
            ffn: b
                .encoder
                .layers
                .iter()
                .map(|l| l.feed_forward.intermediate_dense.weight.dims()[1])
                .collect(),
            constant: 0,
        };
        let variable = model.params(
            &model.conv_dim.clone(),
            &model.heads.clone(),
            &model.ffn.clone(),
        );
        model.constant = student.backbone_params() - variable;
        model
    }

    /// The backbone's parameters at full size.
    pub fn full(&self) -> usize {
        self.params(&self.conv_dim, &self.heads, &self.ffn)
    }

    /// Exact parameters with `conv[i]` channels, `heads[l]` heads and `ffn[l]` units.
    ///
    /// # Panics
    /// If the lists' lengths differ from the architecture's.
    pub fn params(&self, conv: &[usize], heads: &[usize], ffn: &[usize]) -> usize {
        assert_eq!(conv.len(), self.conv_dim.len(), "conv layers");
        assert_eq!(heads.len(), self.heads.len(), "layers (heads)");
        assert_eq!(ffn.len(), self.ffn.len(), "layers (ffn)");
        let mut n = self.constant;
        let mut c_in = 1;
        for (i, &c) in conv.iter().enumerate() {
            n += c_in * c * self.kernels[i] + c * self.per_channel[i];
            c_in = c;
        }
        let c_last = conv.last().copied().unwrap_or(self.proj_in);
        n += c_last * self.proj_per_channel;
        n += heads.iter().sum::<usize>() * self.head_dim * (4 * self.d + 3);
        n += ffn.iter().sum::<usize>() * (2 * self.d + 1);
        n
    }

    /// Expected parameters under `gates` (ungated parts at full size), differentiable in the
    /// gates' `log α` `[1]`.
    pub fn expected(&self, gates: &PruneGates, device: &Device) -> Tensor<1> {
        let fixed = |x: usize| Tensor::<1>::from_floats([x as f32], device);
        // Physical pruning keeps one (zeroed) unit when every gate closes, so the expected
        // kept count is `Σ p_i + Π (1 − p_i)` (independent gates).
        let count = |gate: Option<&super::HardConcrete>, full: usize| match gate {
            Some(g) => {
                let p = g.prob_nonzero();
                p.clone().sum() + (p.neg() + 1.0).prod()
            }
            None => fixed(full),
        };
        let mut n = fixed(self.constant);
        let mut c_in: Option<Tensor<1>> = None;
        for (i, &full) in self.conv_dim.iter().enumerate() {
            let c = count(gates.conv.get(i), full);
            let kernel = match &c_in {
                Some(prev) => prev.clone() * c.clone() * self.kernels[i] as f32,
                None => c.clone() * self.kernels[i] as f32,
            };
            n = n + kernel + c.clone() * self.per_channel[i] as f32;
            c_in = Some(c);
        }
        let c_last = c_in.unwrap_or_else(|| fixed(self.proj_in));
        n = n + c_last * self.proj_per_channel as f32;
        let per_head = (self.head_dim * (4 * self.d + 3)) as f32;
        for (l, &full) in self.heads.iter().enumerate() {
            n = n + count(gates.heads.get(l), full) * per_head;
        }
        let per_unit = (2 * self.d + 1) as f32;
        for (l, &full) in self.ffn.iter().enumerate() {
            n = n + count(gates.ffn.get(l), full) * per_unit;
        }
        n
    }
}

impl Student {
    /// The size model of this student's backbone.
    pub fn size_model(&self) -> SizeModel {
        SizeModel::of(self)
    }

    /// Expected backbone parameters under the student's gates `[1]` (differentiable), or
    /// `None` for a student without gates.
    pub fn expected_params(&self) -> Option<Tensor<1>> {
        let gates = self.gates.as_ref()?;
        let device = gates
            .devices()
            .into_iter()
            .next()
            .expect("gates have parameters");
        Some(SizeModel::of(self).expected(gates, &device))
    }
}
