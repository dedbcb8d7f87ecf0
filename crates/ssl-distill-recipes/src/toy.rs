//! A toy world for smoke runs, examples and tests: a small random teacher written as an HF
//! directory, and a seeded corpus of synthetic voiced sounds. Nothing here is speech; it only
//! exercises the whole pipeline in seconds on a CPU.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ssl_distill_models::{
    ExportError, SslConfig, StateTensor, export_hf, hf_state_dict, write_safetensors,
};

use crate::error::RecipeError;

/// A HuBERT of `layers` layers x 32 (4 heads, FFN 64, 16-channel 7-layer CNN, positional conv
/// 16 / 4 groups): 12 layers give the papers' depth at a fraction of a percent of the cost.
pub fn tiny_teacher_config(layers: usize) -> SslConfig {
    SslConfig {
        num_hidden_layers: layers,
        ..SslConfig::tiny()
    }
}

fn export_err(dir: &Path, e: &ExportError) -> RecipeError {
    RecipeError::Write {
        path: dir.to_path_buf(),
        message: e.to_string(),
    }
}

/// Writes a random [`tiny_teacher_config`] teacher (initialised on `device`, seeded) to `dir` (which must not exist or
/// be empty). With `head`, its weights also carry a HuBERT pretraining head (`final_proj`
/// 32 → 8, 20 codewords in `label_embs_concat`), as this project's pretrained teachers do.
///
/// # Errors
/// [`RecipeError::Write`] when the directory cannot be written.
pub fn write_tiny_teacher(
    dir: &Path,
    layers: usize,
    seed: u64,
    head: bool,
    device: &Device,
) -> Result<SslConfig, RecipeError> {
    device.seed(seed);
    let config = tiny_teacher_config(layers);
    let model = config.init(device);
    export_hf(&model, &config, dir).map_err(|e| export_err(dir, &e))?;
    if head {
        let mut dict = hf_state_dict(&model);
        let values = |n: usize, offset: f32| -> Vec<f32> {
            (0..n)
                .map(|i| (i as f32 * 0.618 + offset).sin() * 0.5)
                .collect()
        };
        dict.insert(
            "final_proj.weight".into(),
            StateTensor::new(vec![8, 32], values(8 * 32, 1.0)),
        );
        dict.insert(
            "final_proj.bias".into(),
            StateTensor::new(vec![8], values(8, 2.0)),
        );
        dict.insert(
            "label_embs_concat".into(),
            StateTensor::new(vec![20, 8], values(20 * 8, 3.0)),
        );
        let path = dir.join("model.safetensors");
        write_safetensors(&dict, &path).map_err(|e| export_err(&path, &e))?;
    }
    Ok(config)
}

/// Writes `n` 16 kHz 16-bit WAVs of `seconds` each under `dir` (harmonic tones with a gliding
/// pitch per utterance, short silent gaps, a faint noise floor; seeded by `seed`) and a fairseq
/// TSV manifest `dir/train.tsv` over them; returns the manifest's path.
///
/// # Errors
/// [`RecipeError::Write`] when a file cannot be written.
pub fn write_tone_corpus(
    dir: &Path,
    n: usize,
    seconds: f32,
    seed: u64,
) -> Result<PathBuf, RecipeError> {
    let werr = |path: &Path, e: &dyn std::fmt::Display| RecipeError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| werr(dir, &e))?;
    let rate = ssl_distill_audio::SAMPLE_RATE;
    let len = (seconds * rate as f32) as usize;
    let mut tsv = format!("{}\n", dir.display());
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    for u in 0..n {
        let name = format!("utt{u:04}.wav");
        let path = dir.join(&name);
        let mut w = hound::WavWriter::create(&path, spec).map_err(|e| werr(&path, &e))?;
        let f0 = 90.0 + 25.0 * (u % 7) as f32 + 10.0 * noise();
        let mut phase = 0.0f32;
        for i in 0..len {
            let t = i as f32 / rate as f32;
            let gap = (t * 3.0 + u as f32 * 0.37).fract() < 0.15;
            let f = f0 * (1.0 + 0.3 * (t * (1.0 + u as f32 * 0.1)).sin());
            phase += 2.0 * std::f32::consts::PI * f / rate as f32;
            let voiced: f32 = (1..6).map(|h| (phase * h as f32).sin() / h as f32).sum();
            let x = if gap { 0.0 } else { 0.3 * voiced } + 0.01 * noise();
            w.write_sample((x.clamp(-1.0, 1.0) * 32767.0) as i16)
                .map_err(|e| werr(&path, &e))?;
        }
        w.finalize().map_err(|e| werr(&path, &e))?;
        tsv.push_str(&format!("{name}\t{len}\n"));
    }
    let manifest = dir.join("train.tsv");
    std::fs::write(&manifest, tsv).map_err(|e| werr(&manifest, &e))?;
    Ok(manifest)
}
