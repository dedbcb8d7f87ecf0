//! Hard-concrete gates (Louizos et al. 2018, "Learning Sparse Neural Networks through L0
//! Regularization", arXiv:1712.01312, §4), as DPHuBERT uses them (Peng et al. 2023,
//! arXiv:2305.17651; `wav2vec2/hardconcrete.py` of github.com/pyf98/DPHuBERT).
//!
//! One learnable `log α` per prunable unit. In training a gate is sampled:
//! `u ~ U(ε, 1 − ε)`, `s = σ((ln u − ln(1 − u) + log α) / β)`, stretched to `(l, r)` and clamped
//! to `[0, 1]`, so exact zeros and ones occur with non-zero probability. The expected L0 norm is
//! `Σ P(gate ≠ 0) = Σ σ(log α − β ln(−l / r))`. At evaluation the gates are deterministic, as
//! DPHuBERT's `HardConcrete.forward` in eval mode: `round(n − L0)` units with the smallest
//! `log α` are 0, the others keep the soft value `σ(0.8 · log α / β)`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

/// ε keeping the uniform sample away from 0 and 1 (DPHuBERT's `eps`).
const EPS: f64 = 1e-6;
/// DPHuBERT's factor on `log α / β` for the deterministic (evaluation) soft mask.
const EVAL_SHARPNESS: f64 = 0.8;

/// Configuration of [`HardConcrete`].
#[derive(Config, Debug, PartialEq)]
pub struct HardConcreteConfig {
    /// Number of gated units.
    pub n: usize,
    /// Initial probability that a unit is dropped: `log α` starts at
    /// `ln(1 − p) − ln p` (DPHuBERT's `init_mean`, 0.01 in its components). Default: 0.01.
    #[config(default = 0.01)]
    pub init_drop_rate: f64,
    /// Standard deviation of the initial `log α` around its mean. Default: 0.01 (DPHuBERT).
    #[config(default = 0.01)]
    pub init_std: f64,
    /// Temperature β. Default: 2/3 (Louizos et al., DPHuBERT).
    #[config(default = "2.0 / 3.0")]
    pub temperature: f64,
    /// Stretch: the interval is `(l, r) = (−stretch, 1 + stretch)`. Default: 0.1.
    #[config(default = 0.1)]
    pub stretch: f64,
}

impl HardConcreteConfig {
    /// Initial `log α` values drawn from the device RNG.
    ///
    /// # Panics
    /// If `n` is 0, `init_drop_rate` is not in (0, 1), or temperature / stretch are not positive.
    pub fn init(&self, device: &Device) -> HardConcrete {
        assert!(self.n > 0, "a hard-concrete gate needs at least one unit");
        assert!(
            self.init_drop_rate > 0.0 && self.init_drop_rate < 1.0,
            "init_drop_rate must be in (0, 1), got {}",
            self.init_drop_rate
        );
        assert!(
            self.temperature > 0.0 && self.stretch > 0.0,
            "temperature and stretch must be > 0"
        );
        let p = self.init_drop_rate;
        let mean = (1.0 - p).ln() - p.ln();
        let log_alpha =
            Tensor::<1>::random([self.n], Distribution::Normal(mean, self.init_std), device);
        HardConcrete {
            log_alpha: Param::from_tensor(log_alpha),
            n: self.n,
            beta: self.temperature,
            limit_l: -self.stretch,
            limit_r: 1.0 + self.stretch,
        }
    }
}

/// A vector of hard-concrete gates over `n` units.
#[derive(Module, Debug)]
pub struct HardConcrete {
    /// The learnable location `log α` `[n]`.
    pub log_alpha: Param<Tensor<1>>,
    /// Number of units.
    pub n: usize,
    /// Temperature β.
    pub beta: f64,
    /// Left end `l` of the stretch interval (< 0).
    pub limit_l: f64,
    /// Right end `r` of the stretch interval (> 1).
    pub limit_r: f64,
}

impl HardConcrete {
    /// `−β ln(−l / r)`, the shift of `log α` in `P(gate ≠ 0)`.
    fn bias(&self) -> f64 {
        -self.beta * (-self.limit_l / self.limit_r).ln()
    }

    /// `P(gate_i ≠ 0) = σ(log α_i − β ln(−l / r))` for every unit `[n]` (differentiable).
    pub fn prob_nonzero(&self) -> Tensor<1> {
        sigmoid(self.log_alpha.val() + self.bias())
    }

    /// The expected number of kept units, `Σ P(gate_i ≠ 0)` `[1]` (differentiable).
    pub fn l0_norm(&self) -> Tensor<1> {
        self.prob_nonzero().sum()
    }

    /// Whether the gates are being trained (their `log α` requires a gradient): then
    /// [`HardConcrete::mask`] samples, otherwise it is deterministic.
    pub fn is_training(&self) -> bool {
        self.log_alpha.val().is_require_grad()
    }

    /// A sampled gate per unit in `[0, 1]` `[n]` (device RNG), differentiable in `log α`.
    pub fn sample(&self) -> Tensor<1> {
        let la = self.log_alpha.val();
        let u = Tensor::<1>::random(
            [self.n],
            Distribution::Uniform(EPS, 1.0 - EPS),
            &la.device(),
        );
        let logit = u.clone().log() - (u.neg() + 1.0).log();
        let s = sigmoid((logit + la) / self.beta);
        let s = s * (self.limit_r - self.limit_l) + self.limit_l;
        s.clamp(0.0, 1.0)
    }

    /// The deterministic gates on the host: `round(n − L0)` units with the smallest `log α` at
    /// 0 (ties broken by the lower index first), the others `σ(0.8 · log α / β)`.
    pub fn deterministic_values(&self) -> Vec<f32> {
        let la: Vec<f32> = self
            .log_alpha
            .val()
            .try_into_vec_as::<f32>()
            .expect("f32 data");
        let bias = self.bias();
        let l0: f64 = la
            .iter()
            .map(|&a| 1.0 / (1.0 + (-(f64::from(a) + bias)).exp()))
            .sum();
        let zeros = ((self.n as f64 - l0).round().max(0.0) as usize).min(self.n);
        let mut soft: Vec<f32> = la
            .iter()
            .map(|&a| (1.0 / (1.0 + (-(f64::from(a) / self.beta * EVAL_SHARPNESS)).exp())) as f32)
            .collect();
        let mut order: Vec<usize> = (0..self.n).collect();
        order.sort_by(|&i, &j| soft[i].total_cmp(&soft[j]).then(i.cmp(&j)));
        for &i in &order[..zeros] {
            soft[i] = 0.0;
        }
        soft
    }

    /// [`HardConcrete::deterministic_values`] as a constant tensor on the gates' device.
    pub fn deterministic(&self) -> Tensor<1> {
        let device = self.log_alpha.val().device();
        Tensor::from_data(
            TensorData::new(self.deterministic_values(), [self.n]),
            &device,
        )
    }

    /// Sampled gates while training ([`HardConcrete::is_training`]), deterministic ones
    /// otherwise.
    pub fn mask(&self) -> Tensor<1> {
        if self.is_training() {
            self.sample()
        } else {
            self.deterministic()
        }
    }

    /// Indices of the units kept by the deterministic gates, with their gate values.
    pub fn kept(&self) -> Vec<(usize, f32)> {
        self.deterministic_values()
            .into_iter()
            .enumerate()
            .filter(|(_, v)| *v != 0.0)
            .collect()
    }
}
