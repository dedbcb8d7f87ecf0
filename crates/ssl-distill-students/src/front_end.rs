//! A student's front-end: the waveform CNN of its backbone, or Wang et al.'s 80-dim Kaldi
//! Fbank with a small conv subsampler ([`FbankFrontEnd`]); and fairseq's gradient multiplier
//! for either ([`grad_mult`]).
//!
//! Paper: Wang et al. 2023, "Exploring Effective Distillation of Self-Supervised Speech Models
//! for Automatic Speech Recognition" (arXiv:2210.15631), §3.3: the waveform CNN is replaced by
//! Fbank features and a light subsampler, first trained to regress the teacher's CNN output.
//! The subsampler is not published; ours is documented on [`FbankFrontEndConfig`].
//!
//! # Frame alignment
//! Kaldi Fbank (25 ms window, 10 ms shift, `snip_edges`) gives `F = floor((L − 400) / 160) + 1`
//! frames, frame `f` covering samples `[160 f, 160 f + 400)`. The first subsampler conv has an
//! odd kernel `k`, stride 2 and padding `(k − 1) / 2`, so output `t` is centred on Fbank frame
//! `2 t`, i.e. on samples `[320 t, 320 t + 400)`: the receptive field of the wav2vec 2.0 CNN's
//! frame `t`. Its count `floor((F − 1) / 2) + 1 = floor((L − 400) / 320) + 1` is the CNN's
//! (tested for every length class). The other convs have kernel 1.

use std::sync::Arc;

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::tensor::{Bool, Device, Tensor, TensorData, activation::gelu};
use ssl_distill_audio::{Fbank, FbankConfig, FeatureError};
use ssl_distill_models::SslConfig;
use ssl_distill_models::nn::conv_matmul::conv1d_module_time_major;

use crate::error::StudentError;

/// Which front-end turns the waveform into `[batch, frames, conv_dim.last()]` features.
#[derive(Config, Debug, PartialEq)]
pub enum FrontEndConfig {
    /// The backbone's waveform CNN (channels, kernels and strides from the backbone's
    /// `conv_dim`, `conv_kernel`, `conv_stride`, so it may be thinner than the teacher's).
    Cnn,
    /// Kaldi Fbank features and a conv subsampler to 20 ms frames (Wang et al. 2023).
    Fbank(FbankFrontEndConfig),
}

/// Configuration of [`FbankFrontEnd`].
///
/// The subsampler (not published by Wang et al.): conv 0 is `Conv1d(bins → channels,
/// kernel_size, stride 2, padding (kernel_size − 1) / 2)`; convs `1..num_layers` have kernel 1
/// and map to `channels`, the last one to `conv_out` (the backbone's `conv_dim.last()`, so the
/// output feeds the same `feature_projection` and can be regressed onto the teacher's CNN
/// output); GELU between convs, none after the last (a regression output). Defaults: one
/// `Conv1d(80 → 512, 3, stride 2, pad 1)` + GELU + `Conv1d(512 → conv_out, 1)`, 0.39 M
/// parameters for `conv_out` 512 (the teacher CNN has 4.2 M).
#[derive(Config, Debug, PartialEq)]
pub struct FbankFrontEndConfig {
    /// Fbank options. Default: [`FbankConfig::default`]: 80 bins, 25 ms / 10 ms, `snip_edges`,
    /// no dither, and `input_scale` 32768, so a waveform in `[-1, 1]` is brought to the int16
    /// scale Kaldi and torchaudio expect (the same as `torchaudio.compliance.kaldi.fbank(x *
    /// 32768)`). Window and shift must give the backbone's frame rule (checked).
    #[config(default = "FbankConfig::default()")]
    pub fbank: FbankConfig,
    /// Per-utterance mean and variance normalisation of every bin over the utterance's valid
    /// frames (computed on the host, so padding does not change it). Default: true.
    #[config(default = true)]
    pub utterance_cmvn: bool,
    /// Width of the subsampler's hidden convs. Default: 512.
    #[config(default = 512)]
    pub channels: usize,
    /// Number of convs (at least 1; with 1, a single strided conv to `conv_out`). Default: 2.
    #[config(default = 2)]
    pub num_layers: usize,
    /// Kernel of the strided conv (odd, so frames stay centred). Default: 3.
    #[config(default = 3)]
    pub kernel_size: usize,
}

impl FbankFrontEndConfig {
    /// Random init of the subsampler; `conv_out` is the backbone's `conv_dim.last()`.
    ///
    /// # Errors
    /// When the Fbank options are invalid (see [`Fbank::new`]).
    ///
    /// # Panics
    /// If `num_layers` or `channels` is 0 (checked by [`crate::StudentConfig::validate`]).
    pub fn init(&self, conv_out: usize, device: &Device) -> Result<FbankFrontEnd, FeatureError> {
        assert!(
            self.num_layers > 0 && self.channels > 0,
            "the Fbank subsampler needs at least one conv and one channel"
        );
        let fbank = Fbank::new(self.fbank.clone())?;
        let bins = fbank.num_bins();
        let pad = self.kernel_size / 2;
        let conv_layers = (0..self.num_layers)
            .map(|i| {
                let d_in = if i == 0 { bins } else { self.channels };
                let d_out = if i + 1 == self.num_layers {
                    conv_out
                } else {
                    self.channels
                };
                if i == 0 {
                    Conv1dConfig::new(d_in, d_out, self.kernel_size)
                        .with_stride(2)
                        .with_padding(PaddingConfig1d::Explicit(pad, pad))
                        .init(device)
                } else {
                    Conv1dConfig::new(d_in, d_out, 1).init(device)
                }
            })
            .collect();
        Ok(FbankFrontEnd {
            conv_layers,
            utterance_cmvn: self.utterance_cmvn,
            fbank: Arc::new(fbank),
        })
    }
}

/// Checks an Fbank front-end against the backbone it feeds: positive sizes, an odd kernel,
/// valid Fbank options, and frames on the backbone's conv frame rule (window = receptive
/// field, shift = half the total stride, `snip_edges`, no `min_duration`).
pub(crate) fn validate_fbank(
    fe: &FbankFrontEndConfig,
    backbone: &SslConfig,
) -> Result<(), StudentError> {
    if fe.channels == 0 {
        return Err(StudentError::config(
            "front_end.channels",
            "must be positive",
        ));
    }
    if fe.num_layers == 0 {
        return Err(StudentError::config(
            "front_end.num_layers",
            "must be at least 1",
        ));
    }
    if fe.kernel_size.is_multiple_of(2) {
        return Err(StudentError::config(
            "front_end.kernel_size",
            format!("must be odd (frames stay centred), got {}", fe.kernel_size),
        ));
    }
    let fbank = Fbank::new(fe.fbank.clone())
        .map_err(|e| StudentError::config("front_end.fbank", e.to_string()))?;
    if !fe.fbank.snip_edges {
        return Err(StudentError::config(
            "front_end.fbank.snip_edges",
            "must be true (the teacher's CNN only has frames that fit entirely)",
        ));
    }
    if fe.fbank.min_duration != 0.0 {
        return Err(StudentError::config(
            "front_end.fbank.min_duration",
            "must be 0",
        ));
    }
    let field = backbone.receptive_field();
    let hop: usize = backbone.conv_stride.iter().product();
    if fbank.window_size() != field || 2 * fbank.window_shift() != hop {
        return Err(StudentError::config(
            "front_end.fbank",
            format!(
                "window {} and shift {} samples do not give the backbone's frames: they must \
                 be its receptive field {field} and half its hop {hop}",
                fbank.window_size(),
                fbank.window_shift()
            ),
        ));
    }
    Ok(())
}

/// Kaldi Fbank on the host, then the conv subsampler (see [`FbankFrontEndConfig`]).
#[derive(Module, Debug)]
pub struct FbankFrontEnd {
    /// The subsampler's convs (conv 0 strided, the others kernel 1).
    pub conv_layers: Vec<Conv1d>,
    /// Per-utterance mean and variance normalisation of the Fbank bins.
    pub utterance_cmvn: bool,
    /// The Fbank extractor (window, mel filters and FFT plan built once).
    #[module(skip)]
    fbank: Arc<Fbank>,
}

/// Floor on the per-bin variance of [`FbankFrontEndConfig::utterance_cmvn`].
const CMVN_EPS: f32 = 1e-5;

impl FbankFrontEnd {
    /// The Fbank extractor.
    pub fn fbank(&self) -> &Fbank {
        &self.fbank
    }

    /// Output frames for `samples` samples: `floor((F − 1) / 2) + 1` for the `F` Fbank frames
    /// (0 below one Fbank window).
    pub fn num_frames(&self, samples: usize) -> usize {
        if samples < self.fbank.window_size() {
            return 0;
        }
        match self.fbank.num_frames(samples) {
            0 => 0,
            f => (f - 1) / 2 + 1,
        }
    }

    /// The normalised Fbank features `[batch, fbank_frames, bins]` of each row's valid samples,
    /// zero beyond them (zero is what the subsampler's padding sees after the last frame of an
    /// unpadded row, so valid output frames do not depend on the padding).
    ///
    /// Not differentiable: the waveform is copied to the host and the features come back as a
    /// new tensor on the waveform's device. A row containing NaN or infinite samples gives NaN
    /// features (as the CNN would propagate them).
    ///
    /// # Shapes
    /// - `wave`: `[batch, samples]`; `padding_mask`: `[batch, samples]`, `true` = padded (right
    ///   padding: a row's valid samples are its first `samples − padded` ones)
    ///
    /// # Panics
    /// If `samples` is shorter than one Fbank window (400 samples by default).
    pub fn features(&self, wave: Tensor<2>, padding_mask: Option<&Tensor<2, Bool>>) -> Tensor<3> {
        let [batch, samples] = wave.dims();
        let window = self.fbank.window_size();
        assert!(
            samples >= window,
            "the Fbank front-end needs at least {window} samples, got {samples}"
        );
        let device = wave.device();
        let valid = match padding_mask {
            Some(mask) => valid_samples(mask),
            None => vec![samples; batch],
        };
        let data: Vec<f32> = wave
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("a float waveform converts to f32");
        let frames = self.fbank.num_frames(samples);
        let bins = self.fbank.num_bins();
        let mut out = vec![0.0f32; batch * frames * bins];
        for (b, &n) in valid.iter().enumerate() {
            let n = n.min(samples);
            if n < window {
                continue;
            }
            let dst = &mut out[b * frames * bins..(b + 1) * frames * bins];
            match self.fbank.compute(&data[b * samples..b * samples + n]) {
                Ok(feats) => {
                    let mut rows = feats.data;
                    if self.utterance_cmvn {
                        cmvn(&mut rows, bins);
                    }
                    dst[..rows.len()].copy_from_slice(&rows);
                }
                // Only non-finite samples get here (the length was checked).
                Err(_) => dst.fill(f32::NAN),
            }
        }
        Tensor::from_data(TensorData::new(out, [batch, frames, bins]), &device)
    }

    /// Fbank features through the subsampler.
    ///
    /// # Shapes
    /// - `wave`, `padding_mask`: as [`FbankFrontEnd::features`]
    /// - output: `[batch, num_frames(samples), conv_out]`
    ///
    /// # Panics
    /// As [`FbankFrontEnd::features`].
    pub fn forward(&self, wave: Tensor<2>, padding_mask: Option<&Tensor<2, Bool>>) -> Tensor<3> {
        self.subsample(self.features(wave, padding_mask))
    }

    /// The subsampler alone.
    ///
    /// # Shapes
    /// - `features`: `[batch, fbank_frames, bins]` → `[batch, frames, conv_out]`
    pub fn subsample(&self, features: Tensor<3>) -> Tensor<3> {
        let last = self.conv_layers.len().saturating_sub(1);
        let mut x = features;
        for (i, conv) in self.conv_layers.iter().enumerate() {
            // Time-major all the way: each conv is one matrix product (see `conv_matmul`).
            x = conv1d_module_time_major(conv, x);
            if i < last {
                x = gelu(x);
            }
        }
        x
    }
}

/// Valid (unpadded) samples per row of a `[batch, samples]` mask, `true` = padded.
pub(crate) fn valid_samples(mask: &Tensor<2, Bool>) -> Vec<usize> {
    let counts = mask.clone().bool_not().int().sum_dim(1).into_data();
    let counts: Vec<i64> = counts
        .convert::<i64>()
        .try_into_vec()
        .expect("integer counts");
    counts.into_iter().map(|c| c.max(0) as usize).collect()
}

/// Per-bin mean and variance normalisation of a row-major `[frames, bins]` matrix.
fn cmvn(rows: &mut [f32], bins: usize) {
    let frames = rows.len() / bins;
    if frames == 0 {
        return;
    }
    let mut mean = vec![0.0f64; bins];
    let mut sq = vec![0.0f64; bins];
    for row in rows.chunks_exact(bins) {
        for ((m, s), &x) in mean.iter_mut().zip(&mut sq).zip(row) {
            *m += f64::from(x);
            *s += f64::from(x) * f64::from(x);
        }
    }
    let n = frames as f64;
    let scale: Vec<(f32, f32)> = mean
        .iter()
        .zip(&sq)
        .map(|(&m, &s)| {
            let mu = m / n;
            let var = (s / n - mu * mu).max(0.0);
            (mu as f32, 1.0 / (var as f32 + CMVN_EPS).sqrt())
        })
        .collect();
    for row in rows.chunks_exact_mut(bins) {
        for (x, &(mu, inv)) in row.iter_mut().zip(&scale) {
            *x = (*x - mu) * inv;
        }
    }
}

/// fairseq's `GradMultiply`: the forward value of `x` unchanged, the gradient reaching `x`
/// multiplied by `m` (`m = 0` detaches, `m = 1` is the identity).
///
/// Computed as `x̄ + (x − x̄)·m` with `x̄ = x.detach()`, so the forward value is exactly `x`
/// (`x − x̄ = 0`) and the gradient exactly `m` times the incoming one.
pub fn grad_mult<const D: usize>(x: Tensor<D>, m: f64) -> Tensor<D> {
    if m == 1.0 {
        x
    } else if m == 0.0 {
        x.detach()
    } else {
        let fixed = x.clone().detach();
        fixed.clone() + (x - fixed).mul_scalar(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmvn_gives_zero_mean_unit_variance() {
        let mut rows: Vec<f32> = (0..30).map(|i| (i * i) as f32 * 0.1).collect();
        cmvn(&mut rows, 3);
        for b in 0..3 {
            let col: Vec<f32> = rows.iter().skip(b).step_by(3).copied().collect();
            let mean: f32 = col.iter().sum::<f32>() / col.len() as f32;
            let var: f32 = col.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / col.len() as f32;
            assert!(mean.abs() < 1e-5, "{mean}");
            assert!((var - 1.0).abs() < 1e-3, "{var}");
        }
        // A constant bin (silence at the log floor) becomes 0, not NaN.
        let mut flat = vec![-15.9424f32; 8];
        cmvn(&mut flat, 2);
        assert!(flat.iter().all(|&x| x == 0.0));
    }
}
