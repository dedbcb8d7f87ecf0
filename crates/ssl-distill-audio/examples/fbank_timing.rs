//! Times `Fbank::compute` on one audio file and prints JSON: the median of N calls.
//!
//! Used by `tools/bench/fbank_vs_torchaudio.py`, which times torchaudio on the same file in
//! the same run and, with `--dump PREFIX`, compares the features: the example then writes the
//! decoded 16 kHz samples to `PREFIX.wave.f32` and the `[frames, 80]` features to
//! `PREFIX.fbank.f32` (little-endian f32).
//! `cargo run --release -p ssl-distill-audio --example fbank_timing -- FILE [N] [--dump PREFIX]`

use std::time::Instant;

use ssl_distill_audio::{Fbank, FbankConfig, load_audio};

fn write_f32(path: &str, values: &[f32]) -> anyhow::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = || anyhow::anyhow!("usage: fbank_timing FILE [N] [--dump PREFIX]");
    let path = args.next().ok_or_else(usage)?;
    let mut n = 50;
    let mut dump = None;
    while let Some(arg) = args.next() {
        if arg == "--dump" {
            dump = Some(args.next().ok_or_else(usage)?);
        } else {
            n = arg.parse()?;
        }
    }
    let wave = load_audio(&path, 16000)?;
    let fbank = Fbank::new(FbankConfig::default())?;
    let mut times = Vec::with_capacity(n);
    let mut frames = 0;
    for _ in 0..n.max(1) {
        let start = Instant::now();
        frames = std::hint::black_box(fbank.compute(&wave)?).frames;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let decode_start = Instant::now();
    let feats = fbank.compute(&load_audio(&path, 16000)?)?;
    let with_decode = decode_start.elapsed().as_secs_f64();
    if let Some(prefix) = dump {
        write_f32(&format!("{prefix}.wave.f32"), &wave)?;
        write_f32(&format!("{prefix}.fbank.f32"), &feats.data)?;
    }
    println!(
        "{{\"median_s\": {}, \"min_s\": {}, \"frames\": {frames}, \"samples\": {}, \"decode_resample_fbank_s\": {with_decode}}}",
        times[times.len() / 2],
        times[0],
        wave.len()
    );
    Ok(())
}
