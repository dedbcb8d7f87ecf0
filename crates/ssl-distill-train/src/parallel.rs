//! One optimizer step's gradients: micro-batches on one device, or data parallel over several.
//!
//! Data parallelism uses burn's own multi-device pieces, the ones burn-train's
//! `ExecutionStrategy::MultiDevice(devices, MultiDeviceOptim::OptimMainDevice)` is made of
//! (burn-train 0.22.1 `learner/supervised/strategies/multi/epoch.rs`): a replica per device by
//! `Module::fork`, backward on each, `GradientsParams::to_device(main)`, `GradientsAccumulator`,
//! one optimizer step on the main device. No collective operation is involved: burn's
//! collectives (`burn::tensor::distributed::all_reduce`) are not implemented for flex (see
//! `docs/multi-device.md`).
//!
//! With `n` devices and `grad_accum = a`, a step draws `a * n` micro-batches in order
//! (round-major: round `r` gives micro-batch `r * n + k` to device `k`), each loss is divided by
//! `a * n`, and the gradients are summed in that same order. So it is arithmetically the same
//! step as one device with `grad_accum = a * n` (bit-identical when the devices are the same
//! flex device, tested), and, for a mean loss over equal-size batches, the same as one device
//! with batches `n` times larger, up to float rounding (tested).

use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

use crate::error::TrainError;
use crate::step::{DataSource, StepModel};

/// Gradients and logged values of one optimizer step.
pub(crate) struct StepGrads {
    pub grads: GradientsParams,
    /// Sum over micro-batches of the (undivided) loss.
    pub loss_sum: f64,
    /// Sum over micro-batches of each term, in the model's order.
    pub term_sums: Vec<(String, f64)>,
    /// Some micro-batch had a non-finite loss (its gradients must not be used).
    pub bad_loss: bool,
    /// Number of micro-batches.
    pub micro: u32,
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}

fn add_terms(sums: &mut Vec<(String, f64)>, terms: Vec<(String, f64)>) {
    for (i, (name, v)) in terms.into_iter().enumerate() {
        match sums.get_mut(i) {
            Some(e) => e.1 += v,
            None => sums.push((name, v)),
        }
    }
}

fn data_err(step: u64, e: &(dyn std::error::Error + Send + Sync)) -> TrainError {
    TrainError::Data {
        step,
        message: e.to_string(),
    }
}

/// `accum` micro-batches on the model's own device (the loop as it always was); with `device`
/// (one entry in `RunOptions::devices`) batches come from `next_batch_on(device)`.
pub(crate) fn single_device<M, D>(
    model: &M,
    device: Option<&Device>,
    data: &mut D,
    rng: &mut ChaCha8Rng,
    accum: u32,
    step: u64,
) -> Result<StepGrads, TrainError>
where
    M: StepModel,
    D: DataSource<Batch = M::Batch>,
{
    let mut acc = GradientsAccumulator::<M>::new();
    let mut out = StepGrads {
        grads: GradientsParams::new(),
        loss_sum: 0.0,
        term_sums: Vec::new(),
        bad_loss: false,
        micro: accum,
    };
    for _ in 0..accum {
        let batch = match device {
            Some(d) => data.next_batch_on(rng, d),
            None => data.next_batch(rng),
        }
        .map_err(|e| data_err(step, &*e))?;
        let o = model.loss(&batch);
        let l = scalar(o.loss.clone());
        out.loss_sum += l;
        add_terms(
            &mut out.term_sums,
            o.terms.into_iter().map(|(n, t)| (n, scalar(t))).collect(),
        );
        if !l.is_finite() {
            out.bad_loss = true;
            continue;
        }
        let loss = if accum > 1 {
            o.loss.div_scalar(f64::from(accum))
        } else {
            o.loss
        };
        acc.accumulate(model, GradientsParams::from_grads(loss.backward(), model));
    }
    out.grads = acc.grads();
    Ok(out)
}

/// `accum` rounds of one micro-batch per device; `model` lives on `devices[0]`.
///
/// Host reads of the losses wait until every backward pass has been issued, so asynchronous
/// (GPU) backends can overlap the devices' work; on one CPU device everything runs in turn.
pub(crate) fn data_parallel<M, D>(
    model: &M,
    devices: &[Device],
    data: &mut D,
    rng: &mut ChaCha8Rng,
    accum: u32,
    step: u64,
) -> Result<StepGrads, TrainError>
where
    M: StepModel,
    D: DataSource<Batch = M::Batch>,
{
    let main = &devices[0];
    let replicas: Vec<M> = devices
        .iter()
        .enumerate()
        .map(|(k, d)| {
            if k == 0 {
                model.clone()
            } else {
                model.clone().fork(d)
            }
        })
        .collect();
    let micro = accum * devices.len() as u32;
    let mut acc = GradientsAccumulator::<M>::new();
    let mut losses: Vec<(Tensor<1>, Vec<(String, Tensor<1>)>)> = Vec::new();
    for _ in 0..accum {
        for (replica, device) in replicas.iter().zip(devices) {
            let batch = data
                .next_batch_on(rng, device)
                .map_err(|e| data_err(step, &*e))?;
            let o = replica.loss(&batch);
            let loss = o.loss.clone().div_scalar(f64::from(micro));
            let grads = GradientsParams::from_grads(loss.backward(), replica);
            acc.accumulate(model, grads.to_device(main, replica));
            losses.push((o.loss, o.terms));
        }
    }
    let mut out = StepGrads {
        grads: acc.grads(),
        loss_sum: 0.0,
        term_sums: Vec::new(),
        bad_loss: false,
        micro,
    };
    for (loss, terms) in losses {
        let l = scalar(loss);
        out.bad_loss |= !l.is_finite();
        out.loss_sum += l;
        add_terms(
            &mut out.term_sums,
            terms.into_iter().map(|(n, t)| (n, scalar(t))).collect(),
        );
    }
    Ok(out)
}

/// Seeds every distinct device: the first with `seed` (so a single-device run is unchanged), the
/// others with `seed` mixed with their rank, so replicas on different devices draw different
/// dropout masks. A device listed twice is seeded once.
pub(crate) fn seed_devices(devices: &[Device], seed: u64) {
    let mut seen: Vec<&Device> = Vec::new();
    for d in devices {
        if seen.contains(&d) {
            continue;
        }
        let rank = seen.len() as u64;
        d.seed(seed ^ rank.wrapping_mul(0xA076_1D64_78BD_642F));
        seen.push(d);
    }
}
