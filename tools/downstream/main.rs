//! A program outside the ssl-distill workspace (built by tools/downstream/check.sh): load a
//! checkpoint, decode audio, extract every hidden state through the library's entry point
//! (`Extractor`: the checkpoint's preprocessing, batching), check them.

use burn::tensor::Device;
use ssl_distill_audio::load_audio;
use ssl_distill_models::{Extractor, Preprocessor, load_checkpoint};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (model_dir, audio) = match args.as_slice() {
        [_, m, a] => (m, a),
        _ => return Err("usage: downstream-user MODEL_DIR AUDIO".into()),
    };
    let device = Device::flex();
    let (config, model, report) = load_checkpoint(model_dir, &device)?;
    let pre = Preprocessor::read(std::path::Path::new(model_dir))?;
    let wave = load_audio(audio, pre.sampling_rate)?;
    // The same clip twice and a shorter cut of it: a batch of unequal lengths.
    let short = &wave[..wave.len() / 2];
    let features = Extractor::new(&model, pre).extract(&[&wave, short, &wave], &device)?;
    assert_eq!(features.len(), 3);
    for f in &features {
        assert_eq!(f.hidden_states.len(), config.num_hidden_layers + 1);
        for (i, h) in f.hidden_states.iter().enumerate() {
            assert_eq!(h.dims(), [f.frames, config.hidden_size], "hidden state {i}");
            let values = h.clone().into_data().try_to_vec::<f32>()?;
            assert!(values.iter().all(|v| v.is_finite()), "hidden state {i} is not finite");
        }
    }
    assert!(features[1].frames < features[0].frames);
    let (a, b) = (&features[0].hidden_states, &features[2].hidden_states);
    for (x, y) in a.iter().zip(b) {
        let x = x.clone().into_data().try_to_vec::<f32>()?;
        let y = y.clone().into_data().try_to_vec::<f32>()?;
        assert_eq!(x, y, "the same clip gave different features");
    }
    println!(
        "downstream: {} tensors loaded; {} hidden states of [{}, {}] and [{}, {}]: ok",
        report.loaded.len(),
        features[0].hidden_states.len(),
        features[0].frames,
        config.hidden_size,
        features[1].frames,
        config.hidden_size
    );
    Ok(())
}
