//! Teacher forward on the CPU backend (flex): HuBERT Base, random init, 1 x 10 s and 8 x 4 s.
//! Run: `cargo bench -p ssl-distill-models --bench teacher`. The PyTorch comparison in the same
//! run is `tools/bench/teacher_vs_pytorch.py`.

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ssl_distill_models::{SslConfig, SslInput};

fn bench(c: &mut Criterion) {
    let device = Device::flex();
    let model = SslConfig::hubert_base().init(&device);
    let mut group = c.benchmark_group("flex/hubert-base-forward");
    group.sample_size(10);
    for (batch, seconds) in [(1usize, 10usize), (8, 4)] {
        let wave = Tensor::<2>::random(
            [batch, seconds * 16000],
            Distribution::Normal(0.0, 0.1),
            &device,
        );
        group.throughput(Throughput::Elements((batch * seconds) as u64)); // seconds of audio
        group.bench_function(format!("{batch}x{seconds}s"), |b| {
            b.iter(|| {
                let out = model.forward(SslInput::new(wave.clone()));
                out.hidden_states
                    .last()
                    .unwrap()
                    .clone()
                    .slice([0..1, 0..1, 0..1])
                    .into_data()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
