//! A 2-layer MLP regression and a seeded synthetic data stream whose cursor is the batch index.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData, activation::relu};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ssl_distill_train::{DataSource, StepModel, StepOutput};

#[derive(Module, Debug)]
pub struct Mlp {
    l1: Linear,
    l2: Linear,
}

impl Mlp {
    pub fn new(device: &Device) -> Self {
        Self {
            l1: LinearConfig::new(3, 8).init(device),
            l2: LinearConfig::new(8, 2).init(device),
        }
    }
}

impl StepModel for Mlp {
    type Batch = (Tensor<2>, Tensor<2>);
    fn loss(&self, b: &Self::Batch) -> StepOutput {
        let y = self.l2.forward(relu(self.l1.forward(b.0.clone())));
        let mse = (y - b.1.clone()).powi_scalar(2).mean();
        let l1 = (self.l1.weight.val()).abs().mean().mul_scalar(1e-3);
        StepOutput {
            loss: mse.clone() + l1.clone(),
            terms: vec![("mse".into(), mse), ("l1".into(), l1)],
        }
    }
}

pub struct Synth {
    pub idx: u64,
    pub device: Device,
    /// Batch index whose input is NaN.
    pub nan_at: Option<u64>,
}

fn unit(r: &mut ChaCha8Rng) -> f32 {
    (r.next_u32() as f32 / u32::MAX as f32) * 2.0 - 1.0
}

impl DataSource for Synth {
    type Batch = (Tensor<2>, Tensor<2>);
    fn next_batch(
        &mut self,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self::Batch, Box<dyn std::error::Error + Send + Sync>> {
        let mut r = ChaCha8Rng::seed_from_u64(1000 + self.idx);
        let mut x: Vec<f32> = (0..12).map(|_| unit(&mut r)).collect();
        // Noise from the loop RNG: checks that its state survives a resume.
        let noise = unit(rng) * 0.1;
        let y: Vec<f32> = x
            .chunks(3)
            .flat_map(|c| [c[0] * 2.0 - c[1] + noise, c[2] * c[0]])
            .collect();
        if self.nan_at == Some(self.idx) {
            x[0] = f32::NAN;
        }
        self.idx += 1;
        Ok((
            Tensor::from_data(TensorData::new(x, [4, 3]), &self.device),
            Tensor::from_data(TensorData::new(y, [4, 2]), &self.device),
        ))
    }
    fn cursor(&self) -> serde_json::Value {
        serde_json::json!({ "idx": self.idx })
    }
    fn restore(
        &mut self,
        c: &serde_json::Value,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.idx = c["idx"].as_u64().ok_or("cursor without idx")?;
        Ok(())
    }
}

pub fn device() -> Device {
    Device::flex().autodiff()
}

/// Bytes of every parameter, in visit order.
pub fn weight_bytes(m: &Mlp) -> Vec<Vec<u8>> {
    [
        m.l1.weight.val().into_data(),
        m.l1.bias
            .as_ref()
            .map(|b| b.val().into_data())
            .unwrap_or_else(|| TensorData::new(Vec::<f32>::new(), [0])),
        m.l2.weight.val().into_data(),
        m.l2.bias
            .as_ref()
            .map(|b| b.val().into_data())
            .unwrap_or_else(|| TensorData::new(Vec::<f32>::new(), [0])),
    ]
    .into_iter()
    .map(|d| d.as_bytes().to_vec())
    .collect()
}
