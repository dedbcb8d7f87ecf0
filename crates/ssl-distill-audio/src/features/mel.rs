//! Kaldi's triangular mel filter bank (`mel-computations.cc`, torchaudio's
//! `compliance.kaldi.get_mel_banks`), stored sparsely: each filter is a contiguous run of
//! FFT bins.

use super::error::FeatureError;

/// Kaldi's mel scale: `1127 ln(1 + f / 700)`.
pub fn mel_scale(freq_hz: f64) -> f64 {
    1127.0 * (1.0 + freq_hz / 700.0).ln()
}

/// Inverse of [`mel_scale`]: `700 (exp(mel / 1127) - 1)`.
pub fn inverse_mel_scale(mel: f64) -> f64 {
    700.0 * ((mel / 1127.0).exp() - 1.0)
}

/// A bank of triangular filters evenly spaced on the mel scale, applied to a power (or
/// magnitude) spectrum of `fft_size / 2 + 1` bins.
///
/// The filters are the same as torchaudio's `get_mel_banks` without VTLN warping: `num_bins`
/// triangles whose edges split `[mel(low_freq), mel(high_freq)]` into `num_bins + 1` equal
/// steps, evaluated at FFT bin frequencies `k * sample_rate / fft_size` for
/// `k < fft_size / 2`; the Nyquist bin always gets weight 0.
#[derive(Debug, Clone)]
pub struct MelBanks {
    /// First FFT bin of each filter.
    starts: Vec<usize>,
    /// Offsets into `weights` of each filter (`num_bins + 1` entries).
    offsets: Vec<usize>,
    /// Concatenated nonzero weights of all filters.
    weights: Vec<f32>,
    /// Centre frequency of each filter in Hz.
    center_freqs: Vec<f64>,
    /// Number of spectrum bins the bank expects (`fft_size / 2 + 1`).
    num_fft_bins: usize,
    /// The filters again, each zero-padded to a multiple of [`LANES`] weights (moved left
    /// where the padding would run past the spectrum) so [`MelBanks::apply`] needs no
    /// remainder loop: `(start, offset into padded_weights, length)`.
    padded: Vec<(usize, usize, usize)>,
    /// Concatenated padded weights.
    padded_weights: Vec<f32>,
}

/// SIMD width the padded filters are rounded to.
const LANES: usize = 4;

/// Zero-pads every filter to a multiple of [`LANES`] weights within `[0, num_fft_bins)`.
fn pad_filters(
    starts: &[usize],
    offsets: &[usize],
    weights: &[f32],
    num_fft_bins: usize,
) -> (Vec<(usize, usize, usize)>, Vec<f32>) {
    let mut padded = Vec::with_capacity(starts.len());
    let mut out = Vec::new();
    for (m, &start) in starts.iter().enumerate() {
        let w = &weights[offsets[m]..offsets[m + 1]];
        let len = w.len().div_ceil(LANES) * LANES;
        let offset = out.len();
        if len > num_fft_bins {
            // (tiny FFTs only) keep the filter as it is
            padded.push((start, offset, w.len()));
            out.extend_from_slice(w);
            continue;
        }
        let new_start = start.min(num_fft_bins - len);
        out.extend(std::iter::repeat_n(0.0, start - new_start));
        out.extend_from_slice(w);
        out.resize(offset + len, 0.0);
        padded.push((new_start, offset, len));
    }
    (padded, out)
}

impl MelBanks {
    /// Builds the bank.
    ///
    /// `high_freq <= 0` is an offset from Nyquist (0 means Nyquist). Errors if
    /// `num_bins <= 3` (Kaldi needs at least 3), if `fft_size` is odd, or if the frequency range
    /// is not `0 <= low_freq < high_freq <= sample_rate / 2`.
    pub fn new(
        num_bins: usize,
        fft_size: usize,
        sample_rate: f64,
        low_freq: f64,
        high_freq: f64,
    ) -> Result<Self, FeatureError> {
        if num_bins <= 3 {
            return Err(FeatureError::InvalidConfig {
                field: "num_mel_bins",
                value: num_bins as f64,
                reason: "must be greater than 3",
            });
        }
        if fft_size < 2 || !fft_size.is_multiple_of(2) {
            return Err(FeatureError::InvalidConfig {
                field: "frame_length",
                value: fft_size as f64,
                reason: "the (padded) FFT size must be even; use round_to_power_of_two",
            });
        }
        let nyquist = 0.5 * sample_rate;
        let high_freq = if high_freq <= 0.0 {
            high_freq + nyquist
        } else {
            high_freq
        };
        if !(0.0 <= low_freq && low_freq < nyquist && 0.0 < high_freq && high_freq <= nyquist)
            || low_freq >= high_freq
        {
            return Err(FeatureError::InvalidMelRange {
                low_freq,
                high_freq,
                nyquist,
            });
        }
        let half = fft_size / 2;
        let fft_bin_width = sample_rate / fft_size as f64;
        let mel_low = mel_scale(low_freq);
        let mel_high = mel_scale(high_freq);
        let delta = (mel_high - mel_low) / (num_bins + 1) as f64;
        let bin_mels: Vec<f64> = (0..half)
            .map(|k| mel_scale(fft_bin_width * k as f64))
            .collect();

        let mut starts = Vec::with_capacity(num_bins);
        let mut offsets = Vec::with_capacity(num_bins + 1);
        let mut weights = Vec::new();
        let mut center_freqs = Vec::with_capacity(num_bins);
        offsets.push(0);
        for m in 0..num_bins {
            let left = mel_low + m as f64 * delta;
            let center = mel_low + (m + 1) as f64 * delta;
            let right = mel_low + (m + 2) as f64 * delta;
            center_freqs.push(inverse_mel_scale(center));
            let w: Vec<f32> = bin_mels
                .iter()
                .map(|&mel| {
                    let up = (mel - left) / (center - left);
                    let down = (right - mel) / (right - center);
                    up.min(down).max(0.0) as f32
                })
                .collect();
            // Keep the contiguous nonzero run (a triangle is convex, so it is one run).
            match (
                w.iter().position(|&x| x > 0.0),
                w.iter().rposition(|&x| x > 0.0),
            ) {
                (Some(first), Some(last)) => {
                    starts.push(first);
                    weights.extend_from_slice(&w[first..=last]);
                }
                _ => starts.push(0),
            }
            offsets.push(weights.len());
        }
        let (padded, padded_weights) = pad_filters(&starts, &offsets, &weights, half + 1);
        Ok(Self {
            starts,
            offsets,
            weights,
            center_freqs,
            num_fft_bins: half + 1,
            padded,
            padded_weights,
        })
    }

    /// Number of filters.
    pub fn num_bins(&self) -> usize {
        self.starts.len()
    }

    /// Number of spectrum bins the bank expects (`fft_size / 2 + 1`).
    pub fn num_fft_bins(&self) -> usize {
        self.num_fft_bins
    }

    /// Centre frequency of each filter in Hz.
    pub fn center_freqs(&self) -> &[f64] {
        &self.center_freqs
    }

    /// Filter `m` as (first FFT bin, nonzero weights).
    ///
    /// # Panics
    /// If `m >= num_bins()`.
    pub fn filter(&self, m: usize) -> (usize, &[f32]) {
        (
            self.starts[m],
            &self.weights[self.offsets[m]..self.offsets[m + 1]],
        )
    }

    /// The dense `[num_bins, fft_size / 2 + 1]` matrix, row-major (torchaudio's padded
    /// `mel_energies` matrix).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.num_bins() * self.num_fft_bins];
        for m in 0..self.num_bins() {
            let (start, w) = self.filter(m);
            let row = &mut dense[m * self.num_fft_bins..(m + 1) * self.num_fft_bins];
            row[start..start + w.len()].copy_from_slice(w);
        }
        dense
    }

    /// Applies the bank to one spectrum: `out[m] = sum_k filter_m[k] * spectrum[k]`.
    ///
    /// # Panics
    /// If `spectrum.len() != num_fft_bins()` or `out.len() != num_bins()`.
    #[inline]
    pub fn apply(&self, spectrum: &[f32], out: &mut [f32]) {
        assert_eq!(spectrum.len(), self.num_fft_bins, "spectrum length");
        assert_eq!(out.len(), self.num_bins(), "mel output length");
        for (o, &(start, offset, len)) in out.iter_mut().zip(&self.padded) {
            let w = &self.padded_weights[offset..offset + len];
            let s = &spectrum[start..start + len];
            *o = if len % LANES == 0 {
                dot_lanes(w, s)
            } else {
                dot(w, s)
            };
        }
    }
}

impl MelBanks {
    /// Applies the bank to `L` interleaved spectra at once: `spectra[k * L + f]` is bin `k`
    /// of spectrum `f`, and `out[m * L + f]` gets filter `m` of spectrum `f`. Each weight
    /// multiplies `L` bins in one SIMD operation (no horizontal sums); a filter's bins are
    /// summed in frequency order.
    ///
    /// # Panics
    /// If `spectra.len() != num_fft_bins() * L` or `out.len() != num_bins() * L`.
    pub(crate) fn apply_interleaved<const L: usize>(&self, spectra: &[f32], out: &mut [f32]) {
        assert_eq!(spectra.len(), self.num_fft_bins * L, "spectra length");
        assert_eq!(out.len(), self.num_bins() * L, "mel output length");
        apply_interleaved::<L>(self, spectra, out);
    }
}

/// [`MelBanks::apply_interleaved`] after its checks.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn apply_interleaved<const L: usize>(bank: &MelBanks, spectra: &[f32], out: &mut [f32]) {
    for (m, o) in out.chunks_exact_mut(L).enumerate() {
        let (start, w) = bank.filter(m);
        let mut acc = [0.0f32; L];
        for (&wk, s) in w.iter().zip(spectra[start * L..].chunks_exact(L)) {
            for f in 0..L {
                acc[f] += wk * s[f];
            }
        }
        o.copy_from_slice(&acc);
    }
}

/// Dot product of slices whose common length is a multiple of [`LANES`] (one SIMD register
/// of accumulators, no remainder).
#[inline]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3])
}

/// Dot product with 8 independent accumulators (auto-vectorizes).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips() {
        for f in [0.0, 20.0, 700.0, 8000.0] {
            assert!((inverse_mel_scale(mel_scale(f)) - f).abs() < 1e-9);
        }
        // mel(700) = 1127 ln 2
        assert!((mel_scale(700.0) - 1127.0 * std::f64::consts::LN_2).abs() < 1e-9);
    }

    /// Values printed by torchaudio 2.11 `get_mel_banks(80, 512, 16000, 20, 0, 100, -500, 1)`.
    #[test]
    fn eighty_bins_match_torchaudio_values() {
        let mb = MelBanks::new(80, 512, 16000.0, 20.0, 0.0).unwrap();
        assert_eq!(mb.num_bins(), 80);
        assert_eq!(mb.num_fft_bins(), 257);
        let c = mb.center_freqs();
        for (got, want) in [(c[0], 42.493797), (c[1], 65.690338), (c[2], 89.611526)] {
            assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        }
        assert!((c[79] - 7736.4321).abs() < 1e-2);

        let check = |m: usize, start: usize, want: &[f32]| {
            let (s, w) = mb.filter(m);
            assert_eq!(s, start, "filter {m} start");
            assert_eq!(w.len(), want.len(), "filter {m} length: {w:?}");
            for (g, e) in w.iter().zip(want) {
                assert!((g - e).abs() < 1e-5, "filter {m}: {w:?} vs {want:?}");
            }
        };
        check(0, 1, &[0.503_981_65, 0.135_722_86]);
        check(1, 2, &[0.864_277_1]);
        check(
            40,
            57,
            &[
                0.218_921_97,
                0.625_760_9,
                0.972_424_4,
                0.575_517_8,
                0.183_399_7,
            ],
        );
        let (_, w) = mb.filter(79);
        assert_eq!(mb.filter(79).0, 240);
        assert_eq!(
            w.len(),
            16,
            "filter 79 ends at bin 255; the Nyquist bin 256 is never used"
        );
        // Filter 79 against torchaudio's `get_mel_banks` in float64 (torchaudio in its default
        // float32 gives 0.076_002_23, 0.199_642_27, ...: 1.2e-5 of rounding at 7.7 kHz).
        for (g, e) in w
            .iter()
            .zip([0.075_990_67, 0.199_635_8, 0.322_812_4, 0.445_524])
        {
            assert!((g - e).abs() < 1e-6, "filter 79: {g} vs {e}");
        }
    }

    /// Hand computation of the 23-bin bank (torchaudio's default) filter 5: bins 17..=25.
    #[test]
    fn twenty_three_bins_filter_by_hand() {
        let mb = MelBanks::new(23, 512, 16000.0, 20.0, 0.0).unwrap();
        let lo = mel_scale(20.0);
        let delta = (mel_scale(8000.0) - lo) / 24.0;
        let (left, center, right) = (lo + 5.0 * delta, lo + 6.0 * delta, lo + 7.0 * delta);
        let (start, w) = mb.filter(5);
        assert_eq!(start, 17);
        assert_eq!(w.len(), 9);
        for (i, &g) in w.iter().enumerate() {
            let mel = mel_scale((start + i) as f64 * 31.25);
            let want = ((mel - left) / (center - left)).min((right - mel) / (right - center));
            assert!((f64::from(g) - want).abs() < 1e-6, "bin {}", start + i);
        }
        // torchaudio's printed values for the same filter
        let ta = [
            0.167_619_75,
            0.409_023_4,
            0.644_523_4,
            0.874_403_06,
            0.901_076_9,
        ];
        for (g, e) in w.iter().zip(ta) {
            assert!((g - e).abs() < 1e-5);
        }
    }

    #[test]
    fn dense_and_apply_agree() {
        let mb = MelBanks::new(40, 512, 16000.0, 20.0, -400.0).unwrap();
        let dense = mb.to_dense();
        let spec: Vec<f32> = (0..257).map(|k| ((k * 37) % 11) as f32 + 0.5).collect();
        let mut out = vec![0.0; 40];
        mb.apply(&spec, &mut out);
        for m in 0..40 {
            let want: f32 = (0..257).map(|k| dense[m * 257 + k] * spec[k]).sum();
            assert!((out[m] - want).abs() <= 1e-4 * want.abs().max(1.0));
        }
        // Filters reaching the last bins (padding moved left) and a tiny FFT (no padding).
        for (bins, fft, high) in [(80, 512, 0.0), (128, 512, 0.0), (4, 16, 0.0), (4, 4, 0.0)] {
            let mb = MelBanks::new(bins, fft, 16000.0, 20.0, high).unwrap();
            let dense = mb.to_dense();
            let n = fft / 2 + 1;
            let spec: Vec<f32> = (0..n).map(|k| ((k * 37) % 11) as f32 + 0.5).collect();
            let mut out = vec![0.0; bins];
            mb.apply(&spec, &mut out);
            for m in 0..bins {
                let want: f32 = (0..n).map(|k| dense[m * n + k] * spec[k]).sum();
                assert!(
                    (out[m] - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{bins} bins, fft {fft}, filter {m}: {} vs {want}",
                    out[m]
                );
            }
        }
        // Nyquist column is all zero; high_freq = -400 -> 7600 Hz, so bins above ~243 are zero
        assert!((0..40).all(|m| dense[m * 257 + 256] == 0.0));
        assert!((0..40).all(|m| dense[m * 257 + 250] == 0.0));
    }

    #[test]
    fn rejects_bad_ranges() {
        assert!(matches!(
            MelBanks::new(3, 512, 16000.0, 20.0, 0.0),
            Err(FeatureError::InvalidConfig {
                field: "num_mel_bins",
                ..
            })
        ));
        assert!(matches!(
            MelBanks::new(23, 512, 16000.0, 9000.0, 0.0),
            Err(FeatureError::InvalidMelRange { .. })
        ));
        assert!(matches!(
            MelBanks::new(23, 512, 16000.0, 20.0, 8001.0),
            Err(FeatureError::InvalidMelRange { .. })
        ));
        assert!(MelBanks::new(23, 511, 16000.0, 20.0, 0.0).is_err());
    }
}
