//! Times the HuBERT Base forward (random init, every hidden state as transformers'
//! `output_hidden_states=True`) and prints JSON: medians for 1 x 10 s and 8 x 4 s, and the CNN
//! share.
//!
//! Used by `tools/bench/teacher_vs_pytorch.py`, which times transformers on the same workload in
//! the same run. `cargo run --release --example teacher_timing -- [--repeats N] [--device flex|tch]`
//! (`tch` needs `--features tch`, see docs/backends.md).

use std::time::Instant;

use anyhow::{Result, bail};
use burn::tensor::{Distribution, Tensor};
use ssl_distill_models::{SslConfig, SslInput};

#[path = "timing/mod.rs"]
mod timing;

use timing::{device, median};

fn main() -> Result<()> {
    let (mut repeats, mut device_name) = (5usize, String::from("flex"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--repeats", Some(v)) => repeats = v.parse()?,
            ("--device", Some(v)) => device_name = v,
            _ => bail!("usage: teacher_timing [--repeats N] [--device flex|tch]"),
        }
    }
    let device = device(&device_name)?;
    let model = SslConfig::hubert_base().init(&device);
    let mut results = Vec::new();
    for (batch, seconds) in [(1usize, 10usize), (8, 4)] {
        let wave = Tensor::<2>::random(
            [batch, seconds * 16000],
            Distribution::Normal(0.0, 0.1),
            &device,
        );
        let sync = |t: &Tensor<3>| {
            let _ = t.clone().slice([0..1, 0..1, 0..1]).into_data();
        };
        // warm-up
        let out = model.forward(SslInput::new(wave.clone()));
        sync(out.hidden_states.last().expect("hidden states"));
        let (mut total, mut cnn) = (Vec::new(), Vec::new());
        for _ in 0..repeats {
            let start = Instant::now();
            let out = model.forward(SslInput::new(wave.clone()));
            sync(out.hidden_states.last().expect("hidden states"));
            total.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            let f = model.feature_extractor.forward(wave.clone());
            sync(&f);
            cnn.push(start.elapsed().as_secs_f64());
        }
        results.push(format!(
            "\"{batch}x{seconds}s\": {{\"median_s\": {:.4}, \"cnn_median_s\": {:.4}}}",
            median(total),
            median(cnn)
        ));
    }
    println!("{{\"device\": \"{device_name}\", {}}}", results.join(", "));
    Ok(())
}
