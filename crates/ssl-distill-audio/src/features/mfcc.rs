//! Kaldi MFCCs, numerically matching torchaudio's `compliance.kaldi.mfcc` (torchaudio 2.11),
//! which mirrors Kaldi's `compute-mfcc-feats`: log-mel filter bank, orthonormal DCT-II,
//! sinusoidal liftering, and optionally the log energy in place of c0.

use serde::{Deserialize, Serialize};

use super::error::FeatureError;
use super::fbank::{Fbank, FbankConfig, subtract_column_mean};
use super::matrix::FeatureMatrix;

/// Options of [`Mfcc`].
///
/// The framing, window, energy and mel options are those of [`FbankConfig`], with MFCC
/// defaults: `num_mel_bins` 23 and `use_energy` false, torchaudio's `mfcc()` defaults (Kaldi's
/// `compute-mfcc-feats` defaults to `--use-energy=true`; set it to get Kaldi's c0 = log energy).
/// `fbank.use_log_fbank` and `fbank.use_power` are ignored (always true, as in torchaudio);
/// `fbank.htk_compat` moves c0 (or the energy) last, and `fbank.subtract_mean` applies to
/// the cepstra.
///
/// When deserializing, a missing `fbank` table gives the MFCC defaults above; a present one
/// starts from [`FbankConfig::default`] (80 bins, no energy), so set `num_mel_bins` and
/// `use_energy` in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfccConfig {
    /// Framing, window, energy and mel options (defaults: 23 mel bins, `use_energy` false).
    pub fbank: FbankConfig,
    /// Number of cepstra kept, `<= num_mel_bins`. Default 13.
    pub num_ceps: usize,
    /// Lifter constant `L`: cepstrum `i` is scaled by `1 + L/2 sin(π i / L)`; 0 disables it.
    /// Default 22.
    pub cepstral_lifter: f32,
}

impl Default for MfccConfig {
    fn default() -> Self {
        Self {
            fbank: FbankConfig {
                num_mel_bins: 23,
                use_energy: false,
                ..FbankConfig::default()
            },
            num_ceps: 13,
            cepstral_lifter: 22.0,
        }
    }
}

/// A Kaldi MFCC extractor (filter bank, DCT matrix and lifter precomputed by [`Mfcc::new`]).
///
/// ```
/// use ssl_distill_audio::{Mfcc, MfccConfig};
/// let mfcc = Mfcc::new(MfccConfig::default())?;
/// let wave: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
/// assert_eq!(mfcc.compute(&wave)?.shape(), [98, 13]);
/// # Ok::<(), ssl_distill_audio::FeatureError>(())
/// ```
#[derive(Debug)]
pub struct Mfcc {
    cfg: MfccConfig,
    fbank: Fbank,
    /// `[num_ceps, num_mel_bins]`, row-major, lifter folded in.
    dct: Vec<f32>,
}

/// The orthonormal DCT-II matrix `[num_ceps, num_mel_bins]`, row-major:
/// `d[k][n] = sqrt(2/N) cos(π/N (n + 1/2) k)`, row 0 `sqrt(1/N)` (torchaudio's
/// `create_dct(N, N, "ortho")` transposed and cut to `num_ceps` rows, as in Kaldi).
pub fn dct_matrix(num_ceps: usize, num_mel_bins: usize) -> Vec<f32> {
    let n_mels = num_mel_bins as f64;
    let mut d = Vec::with_capacity(num_ceps * num_mel_bins);
    for k in 0..num_ceps {
        for n in 0..num_mel_bins {
            let v = if k == 0 {
                (1.0 / n_mels).sqrt()
            } else {
                (2.0 / n_mels).sqrt()
                    * (std::f64::consts::PI / n_mels * (n as f64 + 0.5) * k as f64).cos()
            };
            d.push(v as f32);
        }
    }
    d
}

/// Kaldi's lifter coefficients `1 + L/2 sin(π i / L)` for `i < num_ceps` (all ones if
/// `L == 0`).
pub fn lifter_coeffs(num_ceps: usize, cepstral_lifter: f32) -> Vec<f32> {
    let l = f64::from(cepstral_lifter);
    (0..num_ceps)
        .map(|i| {
            if l == 0.0 {
                1.0
            } else {
                (1.0 + 0.5 * l * (std::f64::consts::PI * i as f64 / l).sin()) as f32
            }
        })
        .collect()
}

impl Mfcc {
    /// Validates `cfg` and precomputes the filter bank, DCT and lifter.
    pub fn new(cfg: MfccConfig) -> Result<Self, FeatureError> {
        let num_mel_bins = cfg.fbank.num_mel_bins;
        if cfg.num_ceps == 0 || cfg.num_ceps > num_mel_bins {
            return Err(FeatureError::TooManyCeps {
                num_ceps: cfg.num_ceps,
                num_mel_bins,
            });
        }
        if !cfg.cepstral_lifter.is_finite() {
            return Err(FeatureError::InvalidConfig {
                field: "cepstral_lifter",
                value: cfg.cepstral_lifter.into(),
                reason: "must be finite",
            });
        }
        // The inner filter bank: log power mel energies, energy (if any) first, no CMN.
        let fbank = Fbank::new(FbankConfig {
            use_log_fbank: true,
            use_power: true,
            htk_compat: false,
            subtract_mean: false,
            ..cfg.fbank.clone()
        })?;
        let mut dct = dct_matrix(cfg.num_ceps, num_mel_bins);
        let lifter = lifter_coeffs(cfg.num_ceps, cfg.cepstral_lifter);
        for (row, l) in dct.chunks_exact_mut(num_mel_bins).zip(&lifter) {
            row.iter_mut().for_each(|v| *v *= l);
        }
        Ok(Self { cfg, fbank, dct })
    }

    /// The configuration.
    pub fn config(&self) -> &MfccConfig {
        &self.cfg
    }

    /// Number of output columns (`num_ceps`).
    pub fn num_bins(&self) -> usize {
        self.cfg.num_ceps
    }

    /// Number of frames [`Mfcc::compute`] returns for `num_samples` samples.
    pub fn num_frames(&self, num_samples: usize) -> usize {
        self.fbank.num_frames(num_samples)
    }

    /// MFCCs of a mono waveform in `[-1, 1]` (scaled by `fbank.input_scale`):
    /// `[num_frames, num_ceps]`. Same framing and errors as [`Fbank::compute`].
    pub fn compute(&self, wave: &[f32]) -> Result<FeatureMatrix, FeatureError> {
        let fb = self.fbank.compute(wave)?;
        let num_mel_bins = self.cfg.fbank.num_mel_bins;
        let use_energy = self.cfg.fbank.use_energy;
        let htk = self.cfg.fbank.htk_compat;
        let num_ceps = self.cfg.num_ceps;
        let mut data = Vec::with_capacity(fb.frames * num_ceps);
        let mut ceps = vec![0.0f32; num_ceps];
        for row in fb.rows() {
            let (energy, mels) = if use_energy {
                (row[0], &row[1..])
            } else {
                (0.0, row)
            };
            for (c, d) in ceps.iter_mut().zip(self.dct.chunks_exact(num_mel_bins)) {
                *c = super::mel::dot(d, mels);
            }
            if use_energy {
                ceps[0] = energy;
            }
            if htk {
                // c0 (or the energy) goes last; without energy Kaldi removes the DCT's
                // 1/sqrt(2) from c0.
                let c0 = if use_energy {
                    ceps[0]
                } else {
                    ceps[0] * std::f32::consts::SQRT_2
                };
                data.extend_from_slice(&ceps[1..]);
                data.push(c0);
            } else {
                data.extend_from_slice(&ceps);
            }
        }
        let mut feats = FeatureMatrix {
            data,
            frames: fb.frames,
            bins: num_ceps,
        };
        if self.cfg.fbank.subtract_mean {
            subtract_column_mean(&mut feats);
        }
        Ok(feats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_is_orthonormal() {
        let n = 23;
        let d = dct_matrix(n, n);
        for a in 0..n {
            for b in 0..n {
                let dot: f32 = (0..n).map(|i| d[a * n + i] * d[b * n + i]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-5, "rows {a},{b}: {dot}");
            }
        }
        assert!((d[0] - (1.0f32 / 23.0).sqrt()).abs() < 1e-7);
    }

    #[test]
    fn lifter_values() {
        let l = lifter_coeffs(13, 22.0);
        assert_eq!(l[0], 1.0);
        let want = 1.0 + 11.0 * (std::f64::consts::PI * 5.0 / 22.0).sin();
        assert!((f64::from(l[5]) - want).abs() < 1e-5);
        assert_eq!(lifter_coeffs(3, 0.0), vec![1.0; 3]);
    }

    #[test]
    fn c0_is_energy_and_ceps_are_dct_of_fbank() {
        let wave: Vec<f32> = (0..8000)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let d = MfccConfig::default();
        let cfg = MfccConfig {
            cepstral_lifter: 0.0,
            fbank: FbankConfig {
                use_energy: true,
                ..d.fbank.clone()
            },
            ..d
        };
        let mfcc = Mfcc::new(cfg.clone()).unwrap().compute(&wave).unwrap();
        let fb = Fbank::new(cfg.fbank.clone())
            .unwrap()
            .compute(&wave)
            .unwrap();
        assert_eq!(mfcc.shape(), [fb.frames, 13]);
        for t in 0..fb.frames {
            let row = fb.row(t);
            assert_eq!(mfcc.row(t)[0], row[0], "c0 = log energy");
            // c1 = sqrt(2/23) sum_n cos(π/23 (n + 0.5)) logmel[n]
            let c1: f32 = (0..23)
                .map(|n| {
                    (2.0f32 / 23.0).sqrt()
                        * (std::f32::consts::PI / 23.0 * (n as f32 + 0.5)).cos()
                        * row[1 + n]
                })
                .sum();
            assert!((mfcc.row(t)[1] - c1).abs() < 1e-3);
        }
        // htk_compat: energy last, the rest shifted
        let htk = MfccConfig {
            fbank: FbankConfig {
                htk_compat: true,
                ..cfg.fbank.clone()
            },
            ..cfg
        };
        let h = Mfcc::new(htk).unwrap().compute(&wave).unwrap();
        for t in 0..fb.frames {
            assert_eq!(h.row(t)[12], mfcc.row(t)[0]);
            assert_eq!(&h.row(t)[..12], &mfcc.row(t)[1..]);
        }
    }

    #[test]
    fn rejects_too_many_ceps() {
        let cfg = MfccConfig {
            num_ceps: 24,
            ..MfccConfig::default()
        };
        assert!(matches!(
            Mfcc::new(cfg),
            Err(FeatureError::TooManyCeps {
                num_ceps: 24,
                num_mel_bins: 23
            })
        ));
        let cfg = MfccConfig {
            num_ceps: 0,
            ..MfccConfig::default()
        };
        assert!(Mfcc::new(cfg).is_err());
    }
}
