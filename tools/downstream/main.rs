//! A program outside the ssl-distill workspace (built by tools/downstream/check.sh): load a
//! checkpoint, decode audio, extract hidden states, check them.

use burn::tensor::Device;
use ssl_distill_audio::load_audio;
use ssl_distill_models::{Preprocessor, SslInput, load_checkpoint};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (model_dir, audio) = match args.as_slice() {
        [_, m, a] => (m, a),
        _ => return Err("usage: downstream-user MODEL_DIR AUDIO".into()),
    };
    let device = Device::flex();
    let (config, model, report) = load_checkpoint(model_dir, &device)?;
    let pre = Preprocessor::read(model_dir)?;
    let mut wave = load_audio(audio, pre.sampling_rate)?;
    if pre.do_normalize {
        ssl_distill_audio::normalize(&mut wave);
    }
    let len = wave.len();
    let input = burn::tensor::Tensor::<2>::from_data(
        burn::tensor::TensorData::new(wave, [1, len]),
        &device,
    );
    let out = model.forward(SslInput::new(input));
    let frames = out.cnn_features.dims()[1];
    assert_eq!(out.hidden_states.len(), config.num_hidden_layers + 1);
    for (i, h) in out.hidden_states.iter().enumerate() {
        let dims = h.dims();
        assert_eq!(dims, [1, frames, config.hidden_size], "hidden state {i}");
        let values = h.clone().into_data().to_vec::<f32>()?;
        assert!(values.iter().all(|v| v.is_finite()), "hidden state {i} is not finite");
    }
    println!(
        "downstream: {} tensors loaded; {} hidden states of [1, {frames}, {}] from {len} samples: ok",
        report.loaded.len(),
        out.hidden_states.len(),
        config.hidden_size
    );
    Ok(())
}
