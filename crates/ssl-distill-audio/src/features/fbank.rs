//! Kaldi log-mel filter bank features, numerically matching torchaudio's
//! `compliance.kaldi.fbank` (torchaudio 2.11), which mirrors Kaldi's `compute-fbank-feats`.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustfft::num_complex::Complex;
use serde::{Deserialize, Serialize};

use super::error::FeatureError;
use super::frame::FrameGeometry;
use super::matrix::FeatureMatrix;
use super::mel::MelBanks;
use super::power::{LANES, PowerSpectrum};
use super::prepare::{Emphasis, emphasize_window, scaled_sum};
use super::window::WindowType;

/// Frames per rayon task; below `2 * PAR_CHUNK` frames everything runs on the caller's thread.
const PAR_CHUNK: usize = 128;

/// Options of [`Fbank`], named like torchaudio's `compliance.kaldi.fbank` arguments.
///
/// Defaults equal torchaudio's except three, marked **ours**: `num_mel_bins` (80, what
/// distillation front-ends use; torchaudio says 23), `input_scale` (32768: our waveforms are
/// in `[-1, 1]`, and `Fbank` on `x` equals torchaudio's `fbank(x * 32768)`), and
/// `dither_seed` (torchaudio draws from torch's global RNG). Not supported: VTLN warping
/// (`vtln_warp` is always 1.0, so `vtln_low`/`vtln_high` do not exist here) and `channel`
/// (the input is mono).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FbankConfig {
    /// Sample rate of the waveform in Hz. Default 16000.
    pub sample_frequency: f64,
    /// Frame length in milliseconds. Default 25 (400 samples at 16 kHz).
    pub frame_length: f64,
    /// Frame shift in milliseconds. Default 10 (160 samples at 16 kHz).
    pub frame_shift: f64,
    /// Zero-pad each frame to the next power of two before the FFT. Default true (512).
    pub round_to_power_of_two: bool,
    /// Only frames that fit entirely (`1 + (n - 400) / 160`); otherwise `(n + 80) / 160`
    /// frames with the signal reflected at the ends. Default true.
    pub snip_edges: bool,
    /// Standard deviation of Gaussian noise added to every frame, in units of the scaled
    /// signal (so int16 steps with the default `input_scale`). Default 0 (Kaldi's CLI: 1).
    pub dither: f32,
    /// Seed of the dither noise (ours); frame `t` uses stream `t` of a ChaCha8 generator, so
    /// results do not depend on threading.
    pub dither_seed: u64,
    /// Pre-emphasis `x[j] -= c * x[j-1]` with `x[-1] = x[0]`, in `[0, 1]`. Default 0.97.
    pub preemphasis_coefficient: f32,
    /// Subtract each frame's mean. Default true.
    pub remove_dc_offset: bool,
    /// Analysis window. Default Povey.
    pub window_type: WindowType,
    /// Constant of the generalized Blackman window. Default 0.42.
    pub blackman_coeff: f64,
    /// Compute the log energy before pre-emphasis and windowing. Default true.
    pub raw_energy: bool,
    /// Floor on the energy (absolute, not log); 0 disables it. Default 1.0 (Kaldi's: 0).
    pub energy_floor: f32,
    /// Number of triangular mel filters. Default **80** (ours; torchaudio: 23).
    pub num_mel_bins: usize,
    /// Lower edge of the first mel filter in Hz. Default 20.
    pub low_freq: f64,
    /// Upper edge of the last mel filter in Hz; `<= 0` is an offset from Nyquist. Default 0.
    pub high_freq: f64,
    /// Add the log energy as an extra column (first, or last with `htk_compat`). Default false.
    pub use_energy: bool,
    /// Put the energy column last instead of first. Default false.
    pub htk_compat: bool,
    /// Log of the mel energies, floored at `f32::EPSILON` (so silence gives -15.9424).
    /// Default true.
    pub use_log_fbank: bool,
    /// Power spectrum; false uses the magnitude. Default true.
    pub use_power: bool,
    /// Subtract the per-utterance mean of every column. Default false.
    pub subtract_mean: bool,
    /// Signals shorter than this (in seconds) give 0 frames. Default 0.
    pub min_duration: f64,
    /// Factor applied to the waveform first (ours). Default 32768, the int16 range Kaldi
    /// expects; 1.0 reproduces torchaudio on the waveform as given.
    pub input_scale: f32,
}

impl Default for FbankConfig {
    fn default() -> Self {
        Self {
            sample_frequency: 16000.0,
            frame_length: 25.0,
            frame_shift: 10.0,
            round_to_power_of_two: true,
            snip_edges: true,
            dither: 0.0,
            dither_seed: 0,
            preemphasis_coefficient: 0.97,
            remove_dc_offset: true,
            window_type: WindowType::Povey,
            blackman_coeff: 0.42,
            raw_energy: true,
            energy_floor: 1.0,
            num_mel_bins: 80,
            low_freq: 20.0,
            high_freq: 0.0,
            use_energy: false,
            htk_compat: false,
            use_log_fbank: true,
            use_power: true,
            subtract_mean: false,
            min_duration: 0.0,
            input_scale: 32768.0,
        }
    }
}

impl FbankConfig {
    /// The same options with `num_mel_bins` bins.
    pub fn with_num_mel_bins(mut self, num_mel_bins: usize) -> Self {
        self.num_mel_bins = num_mel_bins;
        self
    }

    /// Number of output columns: `num_mel_bins + use_energy`.
    pub fn num_output_bins(&self) -> usize {
        self.num_mel_bins + usize::from(self.use_energy)
    }
}

/// Per-thread buffers of the frame loop, which runs [`LANES`] frames at a time.
struct Scratch {
    /// One frame, scaled, for frames that are not a plain slice of the waveform (reflected
    /// edges without `snip_edges`, or dither): `window_size` values.
    frame: Vec<f32>,
    /// [`LANES`] packed frames (`z[j] = y[2j] + i y[2j+1]`), transformed in place.
    packed: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    /// [`LANES`] power spectra, interleaved (`[bin][frame]`).
    power: Vec<f32>,
    /// [`LANES`] mel spectra, interleaved (`[filter][frame]`).
    mel: Vec<f32>,
    /// Log energy of each frame.
    energy: [f32; LANES],
}

/// A Kaldi filter-bank extractor: window, mel matrix and FFT plan are built once by
/// [`Fbank::new`], then [`Fbank::compute`] runs on any number of waveforms (`Fbank` is
/// `Send + Sync`; share it across threads).
///
/// ```
/// use ssl_distill_audio::{Fbank, FbankConfig};
/// let fbank = Fbank::new(FbankConfig::default())?;
/// let wave: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
/// let feats = fbank.compute(&wave)?;
/// assert_eq!(feats.shape(), [98, 80]);
/// # Ok::<(), ssl_distill_audio::FeatureError>(())
/// ```
pub struct Fbank {
    cfg: FbankConfig,
    geom: FrameGeometry,
    window: Vec<f32>,
    mel: MelBanks,
    spectrum: PowerSpectrum,
    log_energy_floor: Option<f32>,
}

impl std::fmt::Debug for Fbank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fbank")
            .field("cfg", &self.cfg)
            .field("geom", &self.geom)
            .finish()
    }
}

fn invalid(field: &'static str, value: f64, reason: &'static str) -> FeatureError {
    FeatureError::InvalidConfig {
        field,
        value,
        reason,
    }
}

impl Fbank {
    /// Validates `cfg` and precomputes the window, the mel filters and the FFT plan.
    pub fn new(cfg: FbankConfig) -> Result<Self, FeatureError> {
        let sf = cfg.sample_frequency;
        if !(sf.is_finite() && sf > 0.0) {
            return Err(invalid("sample_frequency", sf, "must be a positive number"));
        }
        // Same expression and truncation as torchaudio: int(sf * ms * 0.001).
        let window_shift = (sf * cfg.frame_shift * 0.001).max(0.0) as usize;
        let window_size = (sf * cfg.frame_length * 0.001).max(0.0) as usize;
        if !cfg.frame_length.is_finite() || window_size < 2 {
            return Err(invalid(
                "frame_length",
                cfg.frame_length,
                "must span at least 2 samples",
            ));
        }
        if !cfg.frame_shift.is_finite() || window_shift == 0 {
            return Err(invalid(
                "frame_shift",
                cfg.frame_shift,
                "must span at least 1 sample",
            ));
        }
        let padded_size = if cfg.round_to_power_of_two {
            window_size.next_power_of_two()
        } else {
            window_size
        };
        let c = cfg.preemphasis_coefficient;
        if !(0.0..=1.0).contains(&c) {
            return Err(invalid(
                "preemphasis_coefficient",
                c.into(),
                "must be in [0, 1]",
            ));
        }
        if !(cfg.energy_floor.is_finite() && cfg.energy_floor >= 0.0) {
            return Err(invalid(
                "energy_floor",
                cfg.energy_floor.into(),
                "must be >= 0",
            ));
        }
        if !(cfg.dither.is_finite() && cfg.dither >= 0.0) {
            return Err(invalid("dither", cfg.dither.into(), "must be >= 0"));
        }
        if !(cfg.input_scale.is_finite() && cfg.input_scale != 0.0) {
            return Err(invalid(
                "input_scale",
                cfg.input_scale.into(),
                "must be finite and != 0",
            ));
        }
        if !cfg.blackman_coeff.is_finite() {
            return Err(invalid(
                "blackman_coeff",
                cfg.blackman_coeff,
                "must be finite",
            ));
        }
        if cfg.min_duration.is_nan() || cfg.min_duration < 0.0 {
            return Err(invalid("min_duration", cfg.min_duration, "must be >= 0"));
        }
        let mel = MelBanks::new(
            cfg.num_mel_bins,
            padded_size,
            sf,
            cfg.low_freq,
            cfg.high_freq,
        )?;
        let window = cfg.window_type.build(window_size, cfg.blackman_coeff);
        let spectrum = PowerSpectrum::new(padded_size);
        let log_energy_floor = (cfg.energy_floor != 0.0).then(|| cfg.energy_floor.ln());
        let geom = FrameGeometry {
            window_size,
            window_shift,
            padded_size,
            snip_edges: cfg.snip_edges,
        };
        Ok(Self {
            cfg,
            geom,
            window,
            mel,
            spectrum,
            log_energy_floor,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FbankConfig {
        &self.cfg
    }

    /// The mel filters.
    pub fn mel_banks(&self) -> &MelBanks {
        &self.mel
    }

    /// Samples per frame.
    pub fn window_size(&self) -> usize {
        self.geom.window_size
    }

    /// Hop between frames in samples.
    pub fn window_shift(&self) -> usize {
        self.geom.window_shift
    }

    /// FFT size.
    pub fn fft_size(&self) -> usize {
        self.geom.padded_size
    }

    /// Number of output columns (`num_mel_bins + use_energy`).
    pub fn num_bins(&self) -> usize {
        self.cfg.num_output_bins()
    }

    /// Number of frames [`Fbank::compute`] returns for `num_samples` samples (0 below
    /// `min_duration`; `compute` refuses fewer than [`Fbank::window_size`] samples).
    pub fn num_frames(&self, num_samples: usize) -> usize {
        if (num_samples as f64) < self.cfg.min_duration * self.cfg.sample_frequency {
            return 0;
        }
        self.geom.num_frames(num_samples)
    }

    /// Filter-bank features of a mono waveform in `[-1, 1]` (any finite values work; they are
    /// multiplied by `input_scale`): a `[num_frames, num_bins]` matrix.
    ///
    /// Errors: [`FeatureError::NonFiniteSample`] on a NaN or infinite sample, and
    /// [`FeatureError::TooShort`] when the signal is shorter than one frame (400 samples by
    /// default), with or without `snip_edges`, which is what torchaudio 2.11 does (it raises
    /// an `AssertionError`; Kaldi's own binaries would return 0 frames). A signal shorter than
    /// `min_duration` gives an empty `[0, num_bins]` matrix, as in torchaudio.
    ///
    /// Frames are computed in parallel (rayon) for signals of at least 256 frames.
    pub fn compute(&self, wave: &[f32]) -> Result<FeatureMatrix, FeatureError> {
        check_finite(wave)?;
        if wave.len() < self.geom.window_size {
            return Err(FeatureError::TooShort {
                samples: wave.len(),
                window_size: self.geom.window_size,
            });
        }
        let frames = self.num_frames(wave.len());
        let bins = self.num_bins();
        let mut data = vec![0.0f32; frames * bins];
        if frames >= 2 * PAR_CHUNK {
            data.par_chunks_mut(PAR_CHUNK * bins)
                .enumerate()
                .for_each_init(
                    || self.scratch(),
                    |scratch, (chunk, out)| self.frames(wave, chunk * PAR_CHUNK, scratch, out),
                );
        } else {
            self.frames(wave, 0, &mut self.scratch(), &mut data);
        }
        let mut feats = FeatureMatrix { data, frames, bins };
        if self.cfg.subtract_mean {
            subtract_column_mean(&mut feats);
        }
        Ok(feats)
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            frame: vec![0.0; self.geom.window_size],
            packed: vec![Complex::new(0.0, 0.0); LANES * self.spectrum.packed_len()],
            fft_scratch: vec![Complex::new(0.0, 0.0); self.spectrum.scratch_len()],
            power: vec![0.0; LANES * self.spectrum.num_bins()],
            mel: vec![0.0; LANES * self.cfg.num_mel_bins],
            energy: [0.0; LANES],
        }
    }

    /// `ln(max(energy, ε))`, floored at `ln(energy_floor)`.
    fn floor_log_energy(&self, energy: f32) -> f32 {
        let e = energy.max(f32::EPSILON).ln();
        match self.log_energy_floor {
            Some(floor) => e.max(floor),
            None => e,
        }
    }

    /// Computes the frames `first..` into `out` (`num_bins` values per frame), [`LANES`]
    /// frames per FFT call: each frame is prepared and packed on its own, then the FFT, the
    /// power spectrum, the mel filters and the log run on the [`LANES`] frames together.
    fn frames(&self, wave: &[f32], first: usize, s: &mut Scratch, out: &mut [f32]) {
        let cfg = &self.cfg;
        let bins = self.num_bins();
        let packed_len = self.spectrum.packed_len();
        let (mel_col, energy_col) = match (cfg.use_energy, cfg.htk_compat) {
            (false, _) => (0, None),
            (true, false) => (1, Some(0)),
            (true, true) => (0, Some(cfg.num_mel_bins)),
        };
        for (b, rows) in out.chunks_mut(LANES * bins).enumerate() {
            let count = rows.len() / bins;
            for (f, packed) in s.packed.chunks_exact_mut(packed_len).enumerate() {
                if f < count {
                    let t = first + b * LANES + f;
                    s.energy[f] = self.prepare(wave, t, &mut s.frame, packed);
                } else {
                    // unused lanes of the last block: silence, whose results are dropped
                    packed.fill(Complex::new(0.0, 0.0));
                }
            }
            self.spectrum
                .process(&mut s.packed, &mut s.fft_scratch, &mut s.power);
            if !cfg.use_power {
                s.power.iter_mut().for_each(|p| *p = p.sqrt());
            }
            self.mel.apply_interleaved::<LANES>(&s.power, &mut s.mel);
            if cfg.use_log_fbank {
                super::fastmath::ln_in_place(&mut s.mel, f32::EPSILON);
            }
            for (f, row) in rows.chunks_exact_mut(bins).enumerate() {
                let mel_out = &mut row[mel_col..mel_col + cfg.num_mel_bins];
                for (o, m) in mel_out.iter_mut().zip(s.mel.chunks_exact(LANES)) {
                    *o = m[f];
                }
                if let Some(col) = energy_col {
                    row[col] = s.energy[f];
                }
            }
        }
    }

    /// Frame `t` up to the FFT input: `packed` gets the pre-emphasised, windowed, zero-padded
    /// frame, packed for the real FFT. Returns the log energy (raw or windowed, as configured).
    ///
    /// Frames inside the signal are read in place (`prepare.rs` applies the input scale on the
    /// fly); reflected edge frames and dithered frames are copied to `x` first.
    fn prepare(&self, wave: &[f32], t: usize, x: &mut [f32], packed: &mut [Complex<f32>]) -> f32 {
        let cfg = &self.cfg;
        let (frame, scale) = match self.geom.slice(wave, t) {
            Some(frame) if cfg.dither == 0.0 => (frame, cfg.input_scale),
            _ => {
                self.geom.extract(wave, t, cfg.input_scale, x);
                if cfg.dither != 0.0 {
                    add_dither(x, cfg.dither, cfg.dither_seed, t as u64);
                }
                (&x[..], 1.0)
            }
        };
        // `v - 0.0 == v`, so no DC removal is a zero mean.
        let mean = if cfg.remove_dc_offset {
            scaled_sum(frame, scale) / frame.len() as f32
        } else {
            0.0
        };
        let opts = Emphasis {
            scale,
            coefficient: cfg.preemphasis_coefficient,
            window: &self.window,
        };
        self.floor_log_energy(if cfg.raw_energy {
            emphasize_window::<false>(frame, mean, opts, packed).raw
        } else {
            emphasize_window::<true>(frame, mean, opts, packed).windowed
        })
    }
}

/// Errors on the first NaN or infinite sample.
pub(crate) fn check_finite(wave: &[f32]) -> Result<(), FeatureError> {
    if super::fastmath::all_finite(wave) {
        return Ok(());
    }
    let index = wave.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(FeatureError::NonFiniteSample {
        index,
        value: wave[index],
    })
}

/// Adds `N(0, dither^2)` noise from stream `frame` of a ChaCha8 generator seeded by `seed`.
fn add_dither(x: &mut [f32], dither: f32, seed: u64, frame: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(frame);
    for pair in x.chunks_mut(2) {
        // Box-Muller; u1 in (0, 1] so the log is finite.
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        pair[0] += dither * (r * theta.cos()) as f32;
        if let Some(v) = pair.get_mut(1) {
            *v += dither * (r * theta.sin()) as f32;
        }
    }
}

/// Subtracts each column's mean over frames (Kaldi's `subtract_mean`).
pub(crate) fn subtract_column_mean(feats: &mut FeatureMatrix) {
    if feats.frames == 0 {
        return;
    }
    let bins = feats.bins;
    let mut mean = vec![0.0f64; bins];
    for row in feats.data.chunks_exact(bins) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += f64::from(*v);
        }
    }
    let frames = feats.frames as f64;
    let mean: Vec<f32> = mean.iter().map(|m| (m / frames) as f32).collect();
    for row in feats.data.chunks_exact_mut(bins) {
        for (v, m) in row.iter_mut().zip(&mean) {
            *v -= m;
        }
    }
}

#[cfg(test)]
#[path = "fbank_tests.rs"]
mod tests;
