//! One frame from samples to FFT input: DC removal, pre-emphasis, window and energy, fused.
//!
//! Kaldi's `ProcessWindow` runs these as separate passes over a copied frame; here the frame is
//! read where it lies in the waveform (the input scale is applied on the fly) and the windowed
//! frame is written straight into the packed complex buffer of the real FFT
//! (`z[j] = y[2j] + i y[2j+1]`, see `power.rs`), so there is no copy of the frame, no separate
//! energy pass and no packing pass. Two passes remain: the sum (for the mean) and the fused
//! pass. Both keep eight running sums (`acc[j % 8]`) so they vectorize; the arithmetic and the
//! summation order are the ones of the separate passes, so the results are the same bit for bit.

use rustfft::num_complex::Complex;

/// Options of [`emphasize_window`] that do not change from frame to frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Emphasis<'a> {
    /// Factor applied to every sample as it is read.
    pub scale: f32,
    /// Pre-emphasis coefficient `c` of `y[j] = x[j] - c * x[j-1]`, with `x[-1] = x[0]`.
    pub coefficient: f32,
    /// Analysis window (`window_size` values).
    pub window: &'a [f32],
}

/// Energies [`emphasize_window`] returns, before the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FrameEnergy {
    /// `sum((x - mean)^2)`: Kaldi's raw energy (before pre-emphasis and window).
    pub raw: f32,
    /// `sum(y^2)` of the windowed frame; only computed when asked for (else 0).
    pub windowed: f32,
}

/// `sum(x * scale)` with eight running sums, then the tail in order.
pub(crate) fn scaled_sum(x: &[f32], scale: f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i] * scale;
        }
    }
    rest.iter()
        .fold(acc.iter().sum::<f32>(), |t, v| t + v * scale)
}

/// Writes the pre-emphasised, windowed frame `y[j] = ((x[j] - mean) - c (x[j-1] - mean)) w[j]`
/// (with `x = frame * scale` and `x[-1] = x[0]`) into `out` as packed complex values, zero
/// padded to the end of `out`, and returns the frame's energies (`windowed` only when
/// `WINDOWED` is true, which costs two more operations per sample).
///
/// # Panics
/// If `out` holds fewer than `frame.len()` values or the window is shorter than the frame.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
pub(crate) fn emphasize_window<const WINDOWED: bool>(
    frame: &[f32],
    mean: f32,
    opts: Emphasis<'_>,
    out: &mut [Complex<f32>],
) -> FrameEnergy {
    let n = frame.len();
    assert!(2 * out.len() >= n, "packed buffer shorter than the frame");
    let window = &opts.window[..n];
    let full = n / 8 * 8;
    let mut sums = Sums::default();
    if full > 0 {
        // The first chunk's previous samples: x[-1] = x[0], then x[0..7].
        let mut prev = [frame[0]; 8];
        prev[1..].copy_from_slice(&frame[..7]);
        emphasize8::<WINDOWED>(
            &frame[..8],
            &prev,
            &window[..8],
            mean,
            opts,
            &mut out[..4],
            &mut sums,
        );
        let rows = frame[8..full]
            .chunks_exact(8)
            .zip(frame[7..full - 1].chunks_exact(8))
            .zip(window[8..full].chunks_exact(8))
            .zip(out[4..full / 2].chunks_exact_mut(4));
        for (((cur, prev), w), o) in rows {
            emphasize8::<WINDOWED>(cur, prev, w, mean, opts, o, &mut sums);
        }
    }
    let mut energy = FrameEnergy {
        raw: sums.raw.iter().sum(),
        windowed: sums.windowed.iter().sum(),
    };
    // The tail (window sizes that are not a multiple of 8), one sample at a time.
    out[full / 2..].fill(Complex::new(0.0, 0.0));
    for j in full..n {
        let v = frame[j] * opts.scale - mean;
        let p = if j == 0 {
            v
        } else {
            frame[j - 1] * opts.scale - mean
        };
        let y = (v - opts.coefficient * p) * window[j];
        energy.raw += v * v;
        if WINDOWED {
            energy.windowed += y * y;
        }
        let o = &mut out[j / 2];
        if j % 2 == 0 {
            o.re = y;
        } else {
            o.im = y;
        }
    }
    energy
}

/// Running sums of [`emphasize_window`], one per SIMD lane.
#[derive(Default)]
struct Sums {
    raw: [f32; 8],
    windowed: [f32; 8],
}

/// Eight samples of [`emphasize_window`]: `cur = x[j..j+8]`, `prev = x[j-1..j+7]`.
#[inline(always)]
fn emphasize8<const WINDOWED: bool>(
    cur: &[f32],
    prev: &[f32],
    w: &[f32],
    mean: f32,
    opts: Emphasis<'_>,
    out: &mut [Complex<f32>],
    sums: &mut Sums,
) {
    let (s, c) = (opts.scale, opts.coefficient);
    let mut y = [0.0f32; 8];
    for i in 0..8 {
        let v = cur[i] * s - mean;
        y[i] = (v - c * (prev[i] * s - mean)) * w[i];
        sums.raw[i] += v * v;
        if WINDOWED {
            sums.windowed[i] += y[i] * y[i];
        }
    }
    for (o, p) in out.iter_mut().zip(y.chunks_exact(2)) {
        *o = Complex::new(p[0], p[1]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The separate passes, written plainly.
    fn reference(x: &[f32], mean: f32, c: f32, w: &[f32], padded: usize) -> (Vec<f32>, f32, f32) {
        let n = x.len();
        let mut y = vec![0.0f32; padded];
        for j in 0..n {
            let prev = if j == 0 { x[0] } else { x[j - 1] };
            y[j] = ((x[j] - mean) - c * (prev - mean)) * w[j];
        }
        let raw = x
            .iter()
            .map(|v| f64::from((v - mean) * (v - mean)))
            .sum::<f64>();
        let windowed = y.iter().map(|v| f64::from(v * v)).sum::<f64>();
        (y, raw as f32, windowed as f32)
    }

    #[test]
    fn matches_the_separate_passes_for_any_length() {
        for n in [2usize, 3, 7, 8, 9, 15, 16, 17, 400, 401, 1023] {
            let padded = n.next_power_of_two().max(2);
            let x: Vec<f32> = (0..n).map(|j| ((j * 13) % 29) as f32 - 14.5).collect();
            let w: Vec<f32> = (0..n)
                .map(|j| 0.5 + 0.4 * ((j * 7) % 5) as f32 / 4.0)
                .collect();
            let scale = 2.0;
            let scaled: Vec<f32> = x.iter().map(|v| v * scale).collect();
            let mean = scaled_sum(&x, scale) / n as f32;
            let want_mean = scaled.iter().sum::<f32>() / n as f32;
            assert!((mean - want_mean).abs() <= 1e-5 * want_mean.abs().max(1.0));
            let (y, raw, windowed) = reference(&scaled, mean, 0.97, &w, padded);
            let mut out = vec![Complex::new(f32::NAN, f32::NAN); padded / 2];
            let opts = Emphasis {
                scale,
                coefficient: 0.97,
                window: &w,
            };
            let e = emphasize_window::<true>(&x, mean, opts, &mut out);
            for (j, o) in out.iter().enumerate() {
                assert_eq!((o.re, o.im), (y[2 * j], y[2 * j + 1]), "n={n}, pair {j}");
            }
            assert!(
                (e.raw - raw).abs() <= 1e-5 * raw,
                "n={n}: {} vs {raw}",
                e.raw
            );
            assert!((e.windowed - windowed).abs() <= 1e-5 * windowed, "n={n}");
            let e = emphasize_window::<false>(&x, mean, opts, &mut out);
            assert_eq!(e.windowed, 0.0);
        }
    }
}
