//! Front-end throughput on 10 s of audio: decode + resample (22.05 kHz WAV → 16 kHz) + Fbank,
//! and each stage alone. Run: `cargo bench -p ssl-distill-audio --bench frontend`.
//! The comparison with torchaudio on the same machine is `tools/bench/fbank_vs_torchaudio.py`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ssl_distill_audio::{Fbank, FbankConfig, Mfcc, MfccConfig, decode_file, load_audio, resample};

/// 10 s of a speech-like test signal at `rate`.
fn signal(rate: u32) -> Vec<f32> {
    let n = rate as usize * 10;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let f0 = 120.0 + 40.0 * (t * 2.0).sin();
            (1..12)
                .map(|h| (t * f0 * h as f32 * std::f32::consts::TAU).sin() / h as f32)
                .sum::<f32>()
                * 0.1
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("ten-seconds-22k.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    for s in signal(22050) {
        w.write_sample((s * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    let wave16k = load_audio(&wav, 16000).unwrap();
    let fbank = Fbank::new(FbankConfig::default()).unwrap();
    let mfcc = Mfcc::new(MfccConfig::default()).unwrap();

    let mut group = c.benchmark_group("cpu/frontend-10s");
    group.throughput(Throughput::Elements(10)); // "elements" = seconds of audio
    group.sample_size(30);
    group.bench_function("decode+resample+fbank80", |b| {
        b.iter(|| {
            fbank
                .compute(&load_audio(black_box(&wav), 16000).unwrap())
                .unwrap()
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| decode_file(black_box(&wav)).unwrap())
    });
    let raw = decode_file(&wav).unwrap();
    group.bench_function("resample-22050-16000", |b| {
        b.iter(|| resample(black_box(&raw.samples), 22050, 16000).unwrap())
    });
    group.bench_function("fbank80", |b| {
        b.iter(|| fbank.compute(black_box(&wave16k)).unwrap())
    });
    group.bench_function("mfcc13", |b| {
        b.iter(|| mfcc.compute(black_box(&wave16k)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
