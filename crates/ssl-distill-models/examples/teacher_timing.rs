//! Times the HuBERT Base forward (random init, `output_hidden_states` equivalent) on the CPU
//! backend and prints JSON: medians for 1 x 10 s and 8 x 4 s, and the CNN / encoder split.
//!
//! Used by `tools/bench/teacher_vs_pytorch.py`, which times transformers on the same workload
//! in the same run. `cargo run --release -p ssl-distill-models --example teacher_timing -- [N]`

use std::time::Instant;

use burn::tensor::{Device, Distribution, Tensor};
use ssl_distill_models::{SslConfig, SslInput};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let device = Device::flex();
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
        sync(
            model
                .forward(SslInput::new(wave.clone()))
                .hidden_states
                .last()
                .unwrap(),
        );
        let (mut total, mut cnn) = (Vec::new(), Vec::new());
        for _ in 0..repeats {
            let start = Instant::now();
            let out = model.forward(SslInput::new(wave.clone()));
            sync(out.hidden_states.last().unwrap());
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
    println!("{{{}}}", results.join(", "));
}
