//! A 2-layer MLP regression and a seeded synthetic data stream whose cursor is the batch index.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData, activation::relu};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ssl_distill_train::{DataSource, StepModel, StepOutput};

#[derive(Module, Debug)]
pub struct Mlp {
    l1: Linear,
    l2: Linear,
    dropout: Option<Dropout>,
}

impl Mlp {
    pub fn new(device: &Device) -> Self {
        Self {
            l1: LinearConfig::new(3, 8).init(device),
            l2: LinearConfig::new(8, 2).init(device),
            dropout: None,
        }
    }

    /// With dropout `p` on the hidden layer (active only in training mode on autodiff devices).
    pub fn with_dropout(device: &Device, p: f64) -> Self {
        Self {
            dropout: Some(DropoutConfig::new(p).init()),
            ..Self::new(device)
        }
    }
}

impl Mlp {
    fn predict(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(self.l1.forward(x));
        let h = match &self.dropout {
            Some(d) => d.forward(h),
            None => h,
        };
        self.l2.forward(h)
    }

    /// Mean squared error of a batch (used by the validators in the tests).
    pub fn mse(&self, b: &(Tensor<2>, Tensor<2>)) -> Tensor<1> {
        (self.predict(b.0.clone()) - b.1.clone())
            .powi_scalar(2)
            .mean()
    }
}

impl StepModel for Mlp {
    type Batch = (Tensor<2>, Tensor<2>);
    fn loss(&self, b: &Self::Batch) -> StepOutput {
        let mse = self.mse(b);
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

/// flex's RNG is one process-wide state (burn-flex 0.22.1 `backend.rs`, `SEED`): tests that
/// train (lazy init, dropout, validators drawing random numbers) take this lock so that tests
/// running in parallel threads do not draw from each other's stream.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
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

/// Every parameter as f32 values, in visit order (l1.weight, l1.bias, l2.weight, l2.bias).
pub fn weight_values(m: &Mlp) -> Vec<Vec<f32>> {
    weight_bytes(m)
        .iter()
        .map(|b| {
            b.chunks(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
        .collect()
}

/// Samples indexed one by one (sample `i` is fixed by `i`; its target noise comes from the loop
/// RNG), `per_batch` per batch: `n` batches of `b` draw exactly what one batch of `n * b` draws.
pub struct Samples {
    pub idx: u64,
    pub per_batch: usize,
    pub device: Device,
}

impl DataSource for Samples {
    type Batch = (Tensor<2>, Tensor<2>);
    fn next_batch(
        &mut self,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self::Batch, Box<dyn std::error::Error + Send + Sync>> {
        let device = self.device.clone();
        self.next_batch_on(rng, &device)
    }
    fn next_batch_on(
        &mut self,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Self::Batch, Box<dyn std::error::Error + Send + Sync>> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..self.per_batch {
            let mut r = ChaCha8Rng::seed_from_u64(5000 + self.idx);
            let c: Vec<f32> = (0..3).map(|_| unit(&mut r)).collect();
            let noise = unit(rng) * 0.1;
            y.extend([c[0] * 2.0 - c[1] + noise, c[2] * c[0]]);
            x.extend(c);
            self.idx += 1;
        }
        let n = self.per_batch;
        Ok((
            Tensor::from_data(TensorData::new(x, [n, 3]), device),
            Tensor::from_data(TensorData::new(y, [n, 2]), device),
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

/// Gradients of the full loss (MSE + L1 term) at `m` for batch `b`, in visit order.
pub fn grad_values(m: &Mlp, b: &(Tensor<2>, Tensor<2>)) -> Vec<Vec<f32>> {
    let grads = m.loss(b).loss.backward();
    let v = |t: Option<burn::tensor::TensorData>| t.unwrap().try_to_vec::<f32>().unwrap();
    vec![
        v(m.l1.weight.val().grad(&grads).map(|t| t.into_data())),
        v(m.l1
            .bias
            .as_ref()
            .unwrap()
            .val()
            .grad(&grads)
            .map(|t| t.into_data())),
        v(m.l2.weight.val().grad(&grads).map(|t| t.into_data())),
        v(m.l2
            .bias
            .as_ref()
            .unwrap()
            .val()
            .grad(&grads)
            .map(|t| t.into_data())),
    ]
}
