//! `ssl-distill features`: run a teacher checkpoint on audio and write its hidden states.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::{Tensor, TensorData};
use clap::Args;
use ssl_distill_audio::{load_audio, normalize};
use ssl_distill_models::{SslInput, StateDict, StateTensor, load_checkpoint, write_safetensors};

use crate::device::DeviceArg;

/// Arguments of `ssl-distill features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// HF model directory (config.json + model.safetensors).
    #[arg(long)]
    model: PathBuf,
    /// Input audio (WAV or FLAC, any rate; resampled to the model's 16 kHz).
    #[arg(long)]
    audio: PathBuf,
    /// Output safetensors file (default: `<audio stem>.features.safetensors` here).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Hidden states to write: `all`, or indices like `0,4,12` (0 = transformer input).
    #[arg(long, default_value = "all")]
    layers: String,
    /// Backend to run on (among those compiled in).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
}

/// Parses `all` or `i,j,...` against `num_layers` (indices 0..=num_layers).
fn parse_layers(spec: &str, num_layers: usize) -> Result<Vec<usize>> {
    if spec.trim() == "all" {
        return Ok((0..=num_layers).collect());
    }
    let mut layers = Vec::new();
    for part in spec.split(',') {
        let i: usize = part.trim().parse().with_context(|| {
            format!("--layers: `{part}` is not a layer index (use `all` or e.g. `0,4,12`)")
        })?;
        if i > num_layers {
            bail!("--layers: {i} is out of range, the model has hidden states 0..={num_layers}");
        }
        layers.push(i);
    }
    layers.sort_unstable();
    layers.dedup();
    Ok(layers)
}

/// Runs `ssl-distill features`.
pub fn run_features(args: &FeaturesArgs) -> Result<()> {
    let device = args.device.device()?;
    let (config, model, _) = load_checkpoint(&args.model, &device)?;
    let layers = parse_layers(&args.layers, config.num_hidden_layers)?;
    let pre = ssl_distill_models::Preprocessor::read(&args.model)?;
    let mut wave = load_audio(&args.audio, pre.sampling_rate)?;
    if wave.len() < 400 {
        bail!(
            "{}: {} samples at {} Hz is shorter than the model's 400-sample receptive field",
            args.audio.display(),
            wave.len(),
            pre.sampling_rate
        );
    }
    if pre.do_normalize {
        normalize(&mut wave);
    }
    let len = wave.len();
    let input = Tensor::<2>::from_data(TensorData::new(wave, [1, len]), &device);
    let deepest = layers.last().copied().unwrap_or(0);
    let out = model.forward_until(SslInput::new(input), deepest);
    let frames = out.cnn_features.dims()[1];
    let mut tensors = StateDict::new();
    tensors.insert(
        "cnn_features".into(),
        StateTensor::from_tensor(out.cnn_features),
    );
    for &i in &layers {
        tensors.insert(
            format!("hidden_states.{i}"),
            StateTensor::from_tensor(out.hidden_states[i].clone()),
        );
    }
    let out_path = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .audio
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        PathBuf::from(format!("{stem}.features.safetensors"))
    });
    write_safetensors(&tensors, &out_path)?;
    tracing::info!(
        "wrote cnn_features and {} hidden states ({} frames) to {}",
        layers.len(),
        frames,
        out_path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_layers;

    #[test]
    fn layer_lists() {
        assert_eq!(parse_layers("all", 2).unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_layers("2, 0,2", 12).unwrap(), vec![0, 2]);
        assert!(
            parse_layers("13", 12)
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        assert!(parse_layers("x", 12).is_err());
    }
}
