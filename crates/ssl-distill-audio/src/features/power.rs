//! Power spectra of real frames, several frames per FFT call.
//!
//! A real FFT of even length `n` is a complex FFT of length `N = n / 2` on the packed signal
//! `z[j] = y[2j] + i y[2j+1]`, followed by a pass that separates the even and odd halves
//! (the classic "two for one" split, e.g. Numerical Recipes §12.3; `realfft` does the same).
//! With `A = Z[k]`, `B = conj(Z[N-k])` and `V_k = -i e^{-2πik/n}`:
//!
//! ```text
//! 2 X[k]     = (A + B) + V_k (A - B)
//! 2 X[N - k] = conj((A + B) - V_k (A - B))
//! ```
//!
//! so one pass over `k = 1..N/2` gives both `|X[k]|²` and `|X[N-k]|²`; only the power is
//! written (no complex spectrum). The complex FFT is rustfft's (AVX kernels where the CPU has
//! them), run once over a buffer of many frames.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Frames transformed together: [`PowerSpectrum::process`] runs the FFT over `LANES` packed
/// frames and writes their power spectra interleaved (`power[k * LANES + f]`), so the
/// even/odd split and the mel filters work on `LANES` frames per SIMD operation.
pub(crate) const LANES: usize = 8;

/// Real-input power spectrum of length-`n` frames (`n` even), `n / 2 + 1` bins per frame.
pub(crate) struct PowerSpectrum {
    /// Real frame length.
    n: usize,
    /// The complex FFT of length `n / 2`.
    fft: Arc<dyn Fft<f32>>,
    /// Real parts of `V_k = -i e^{-2πik/n}` for `k = 0..=n/4`.
    tw_re: Vec<f32>,
    /// Imaginary parts of `V_k`.
    tw_im: Vec<f32>,
}

impl PowerSpectrum {
    /// Plans the FFT for real frames of even length `n >= 2`.
    ///
    /// # Panics
    /// If `n` is odd or below 2 (callers validate the FFT size first).
    pub fn new(n: usize) -> Self {
        assert!(
            n >= 2 && n.is_multiple_of(2),
            "real FFT length must be even"
        );
        let half = n / 2;
        let fft = FftPlanner::<f32>::new().plan_fft_forward(half);
        let (tw_re, tw_im) = (0..=half / 2)
            .map(|k| {
                // -i (cos t - i sin t) = -sin t - i cos t, t = 2πk/n
                let t = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
                (-t.sin() as f32, -t.cos() as f32)
            })
            .unzip();
        Self {
            n,
            fft,
            tw_re,
            tw_im,
        }
    }

    /// Complex values per packed frame (`n / 2`).
    pub fn packed_len(&self) -> usize {
        self.n / 2
    }

    /// Power bins per frame (`n / 2 + 1`).
    pub fn num_bins(&self) -> usize {
        self.n / 2 + 1
    }

    /// Scratch length [`PowerSpectrum::process`] needs.
    pub fn scratch_len(&self) -> usize {
        self.fft.get_inplace_scratch_len()
    }

    /// Transforms the [`LANES`] packed frames in `buf` (`LANES * n / 2` values) in place and
    /// writes their power spectra to `power` (`(n / 2 + 1) * LANES` values), interleaved:
    /// `power[k * LANES + f]` is bin `k` of frame `f`.
    ///
    /// # Panics
    /// If the buffer lengths do not match.
    pub fn process(
        &self,
        buf: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
        power: &mut [f32],
    ) {
        let half = self.n / 2;
        assert_eq!(buf.len(), LANES * half, "packed buffer length");
        assert_eq!(power.len(), LANES * (half + 1), "power buffer length");
        self.fft.process_with_scratch(buf, scratch);
        self.split_power(buf, power);
    }

    /// The even/odd split of [`LANES`] transformed frames fused with `|X|²`, one SIMD lane
    /// per frame. Common FFT sizes get a copy compiled for their length (no bounds checks in
    /// the gathers, so the loop vectorizes).
    fn split_power(&self, z: &[Complex<f32>], power: &mut [f32]) {
        let (tw_re, tw_im) = (&self.tw_re[..], &self.tw_im[..]);
        match self.n / 2 {
            128 => split_power::<128>(z, tw_re, tw_im, power),
            256 => split_power::<256>(z, tw_re, tw_im, power),
            512 => split_power::<512>(z, tw_re, tw_im, power),
            1024 => split_power::<1024>(z, tw_re, tw_im, power),
            half => split_power_any(half, z, tw_re, tw_im, power),
        }
    }
}

/// [`PowerSpectrum::split_power`] for `N` complex values per frame.
fn split_power<const N: usize>(
    z: &[Complex<f32>],
    tw_re: &[f32],
    tw_im: &[f32],
    power: &mut [f32],
) {
    let frames: [&[Complex<f32>; N]; LANES] = std::array::from_fn(|f| {
        z[f * N..][..N]
            .try_into()
            .expect("a slice of N values is an array of N")
    });
    split_power_frames(N, &frames.map(|f| &f[..]), tw_re, tw_im, power);
}

/// [`PowerSpectrum::split_power`] for any length.
fn split_power_any(
    half: usize,
    z: &[Complex<f32>],
    tw_re: &[f32],
    tw_im: &[f32],
    power: &mut [f32],
) {
    let frames: [&[Complex<f32>]; LANES] = std::array::from_fn(|f| &z[f * half..][..half]);
    split_power_frames(half, &frames, tw_re, tw_im, power);
}

/// The split of [`LANES`] frames of `half` complex values each.
#[inline(always)]
fn split_power_frames(
    half: usize,
    frames: &[&[Complex<f32>]; LANES],
    tw_re: &[f32],
    tw_im: &[f32],
    power: &mut [f32],
) {
    // k = 0 and Nyquist: X[0] = re + im, X[n/2] = re - im.
    let (first, rest) = power.split_at_mut(LANES);
    let (middle, last) = rest.split_at_mut((half - 1) * LANES);
    for ((p0, pn), frame) in first.iter_mut().zip(last.iter_mut()).zip(frames) {
        let z0 = frame[0];
        *p0 = (z0.re + z0.im) * (z0.re + z0.im);
        *pn = (z0.re - z0.im) * (z0.re - z0.im);
    }
    // Pairs (k, N - k) with k < N - k, for k = 1..=pairs; middle rows are k = 1..N, so
    // p_lo holds k = 1..=pairs and p_hi (from its end) k = N - 1, N - 2, ...
    let pairs = (half - 1) / 2;
    let (p_lo, p_hi) = middle.split_at_mut(pairs * LANES);
    let tw = tw_re[1..=pairs].iter().zip(&tw_im[1..=pairs]);
    let rows = p_lo
        .chunks_exact_mut(LANES)
        .zip(p_hi.rchunks_exact_mut(LANES));
    for (k, ((&vr, &vi), (p_k, p_nk))) in (1..=pairs).zip(tw.zip(rows)) {
        let mut ar = [0.0f32; LANES];
        let mut ai = [0.0f32; LANES];
        let mut br = [0.0f32; LANES];
        let mut bi = [0.0f32; LANES];
        for f in 0..LANES {
            let (a, b) = (frames[f][k], frames[f][half - k]);
            (ar[f], ai[f], br[f], bi[f]) = (a.re, a.im, b.re, b.im);
        }
        for f in 0..LANES {
            let (er, ei) = (ar[f] + br[f], ai[f] - bi[f]);
            let (or, oi) = (ar[f] - br[f], ai[f] + bi[f]);
            let tr = vr * or - vi * oi;
            let ti = vr * oi + vi * or;
            p_k[f] = 0.25 * ((er + tr) * (er + tr) + (ei + ti) * (ei + ti));
            p_nk[f] = 0.25 * ((er - tr) * (er - tr) + (ei - ti) * (ei - ti));
        }
    }
    if half.is_multiple_of(2) && half >= 2 {
        // k = N/2 (its own partner): V = -1, so X[N/2] = conj(Z[N/2]).
        for (p, frame) in p_hi[..LANES].iter_mut().zip(frames) {
            let m = frame[half / 2];
            *p = m.re * m.re + m.im * m.im;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packs the real frame `y` (`n` values) into `out` (`n / 2` complex values).
    fn pack(y: &[f32], out: &mut [Complex<f32>]) {
        for (o, p) in out.iter_mut().zip(y.chunks_exact(2)) {
            *o = Complex::new(p[0], p[1]);
        }
    }

    /// Direct DFT power in f64.
    fn dft_power(y: &[f32]) -> Vec<f64> {
        let n = y.len();
        (0..=n / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (j, &v) in y.iter().enumerate() {
                    let t = -2.0 * std::f64::consts::PI * (k * j) as f64 / n as f64;
                    re += f64::from(v) * t.cos();
                    im += f64::from(v) * t.sin();
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn matches_a_direct_dft_for_even_and_odd_half_lengths() {
        for n in [2usize, 4, 6, 10, 16, 30, 256, 400, 512, 1024, 2048] {
            let ps = PowerSpectrum::new(n);
            let frames = LANES;
            let ys: Vec<Vec<f32>> = (0..frames)
                .map(|f| {
                    (0..n)
                        .map(|j| ((j * 7 + f * 13) % 17) as f32 - 8.0 + 0.25 * f as f32)
                        .collect()
                })
                .collect();
            let mut buf = vec![Complex::new(0.0, 0.0); frames * ps.packed_len()];
            for (y, out) in ys.iter().zip(buf.chunks_exact_mut(ps.packed_len())) {
                pack(y, out);
            }
            let mut scratch = vec![Complex::new(0.0, 0.0); ps.scratch_len()];
            let mut interleaved = vec![f32::NAN; frames * ps.num_bins()];
            ps.process(&mut buf, &mut scratch, &mut interleaved);
            let power: Vec<f32> = (0..frames)
                .flat_map(|f| interleaved.iter().skip(f).step_by(LANES).copied())
                .collect();
            for (y, got) in ys.iter().zip(power.chunks_exact(ps.num_bins())) {
                let want = dft_power(y);
                let scale = want.iter().copied().fold(0.0, f64::max);
                for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (f64::from(*g) - w).abs() <= 1e-5 * scale,
                        "n={n} bin {k}: {g} vs {w}"
                    );
                }
            }
        }
    }
}
