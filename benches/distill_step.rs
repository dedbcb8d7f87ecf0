//! One DistilHuBERT distillation step on the CPU backend (flex), batch 8 × 4 s: HuBERT Base
//! teacher (random init, up to layer 12, plain device), DistilHuBERT student initialised from
//! it (`feature_grad_mult` 0.1), targets = teacher layers 4, 8, 12, loss L1 + (−log σ(cos))
//! averaged over the targets, backward, global-norm clipping at 5.0, AdamW.
//!
//! Run: `cargo bench -p ssl-distill --bench distill_step`. The PyTorch comparison in the same
//! run (and the per-phase split) is `tools/bench/distill_vs_pytorch.py`, which drives
//! `examples/distill_step_timing.rs`.

use std::time::Duration;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ssl_distill_losses::{compute, distilhubert_terms};
use ssl_distill_models::{SslConfig, SslInput, SslModel};
use ssl_distill_students::{Student, StudentConfig};
use ssl_distill_train::{TrainConfig, adamw_from_config, clip_global_norm};

const TARGETS: [usize; 3] = [4, 8, 12];
const LR: f64 = 2e-4;

/// Teacher forward, student forward + loss, backward, clipping, AdamW. Returns the loss.
fn step(
    teacher: &SslModel,
    student: Student,
    optim: &mut ModuleOptimizer,
    wave: &Tensor<2>,
) -> (Student, f32) {
    let hidden = teacher
        .forward_until(SslInput::new(wave.clone()), TARGETS[2])
        .hidden_states;
    let predictions = student
        .forward(SslInput::new(wave.clone().autodiff()))
        .predictions;
    let terms = distilhubert_terms();
    let loss = predictions
        .into_iter()
        .zip(TARGETS)
        .map(|(pred, l)| {
            compute(&terms, pred, hidden[l].clone().autodiff(), None, None)
                .expect("valid loss terms")
                .total
        })
        .reduce(|a, b| a + b)
        .expect("three targets")
        / TARGETS.len() as f32;
    let value = loss.clone().into_scalar::<f32>();
    let mut grads = GradientsParams::from_grads(loss.backward(), &student);
    clip_global_norm(&student, &mut grads, 5.0);
    (optim.step(LR, student, grads), value)
}

fn bench(c: &mut Criterion) {
    let train_device = Device::flex().autodiff();
    let plain = train_device.clone().inner();
    let teacher = SslConfig::hubert_base().init(&plain);
    let student = StudentConfig::distilhubert()
        .init(&plain)
        .expect("valid preset")
        .init_from_teacher(&teacher, 2)
        .expect("same shapes");
    let mut student = Some(student.to_device(&train_device).train());
    let mut optim = adamw_from_config(&TrainConfig {
        lr: LR,
        weight_decay: 0.01,
        clip_grad_norm: 5.0,
        ..TrainConfig::default()
    });
    let (batch, seconds) = (8usize, 4usize);
    let wave = Tensor::<2>::random(
        [batch, seconds * 16000],
        Distribution::Normal(0.0, 0.1),
        &plain,
    );

    let mut group = c.benchmark_group("flex/distill-step");
    // One step is ~10 s: one iteration per sample, 10 samples.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements((batch * seconds) as u64)); // seconds of audio
    group.bench_function(format!("distilhubert/{batch}x{seconds}s"), |b| {
        b.iter(|| {
            let (s, loss) = step(
                &teacher,
                student.take().expect("student"),
                &mut optim,
                &wave,
            );
            student = Some(s);
            loss
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
