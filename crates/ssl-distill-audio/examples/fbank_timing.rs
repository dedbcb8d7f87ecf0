//! Times `Fbank::compute` on one audio file and prints JSON: the median of N calls.
//!
//! Used by `tools/bench/fbank_vs_torchaudio.py`, which times torchaudio on the same file in
//! the same run. `cargo run --release -p ssl-distill-audio --example fbank_timing -- FILE [N]`

use std::time::Instant;

use ssl_distill_audio::{Fbank, FbankConfig, load_audio};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: fbank_timing FILE [N]"))?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(50);
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
    let _ = fbank.compute(&load_audio(&path, 16000)?)?;
    let with_decode = decode_start.elapsed().as_secs_f64();
    println!(
        "{{\"median_s\": {}, \"min_s\": {}, \"frames\": {frames}, \"samples\": {}, \"decode_resample_fbank_s\": {with_decode}}}",
        times[times.len() / 2],
        times[0],
        wave.len()
    );
    Ok(())
}
