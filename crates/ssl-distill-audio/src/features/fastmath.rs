//! A branch-free natural logarithm for the per-frame `ln` of the mel energies.
//!
//! `f32::ln` calls libm one value at a time; the log of 80 mel energies per frame was about a
//! third of the Fbank time. [`ln_in_place`] splits `x = m * 2^e` with `m` in `[√½, √2)` and
//! evaluates `ln m = 2 atanh((m - 1) / (m + 1))` by its odd series up to `s^9`, whose
//! truncation error is below 1e-9, so the result is within a few f32 ulps of `f32::ln`. The
//! loop has no branches and the compiler vectorizes it.

use std::f32::consts::LN_2;

/// Bits of `√½` as an f32: mantissas at or above it stay in `[√½, 1)`, those below move up.
const SQRT_HALF_BITS: i32 = 0x3f35_04f3;

/// `ln(x)` for a positive, finite, normal `x` (what [`ln_in_place`] feeds it).
#[inline(always)]
fn ln_normal(x: f32) -> f32 {
    let bits = x.to_bits() as i32;
    let e = (bits - SQRT_HALF_BITS) >> 23;
    let m = f32::from_bits((bits - (e << 23)) as u32);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let p = s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    e as f32 * LN_2 + (2.0 * s + 2.0 * s * p)
}

/// Replaces every `v` by `ln(max(v, floor))`. `floor` must be a positive normal number
/// (callers pass `f32::EPSILON`). Infinite values (an overflowing power spectrum) go through
/// `f32::ln`, so they give `+inf` exactly as before.
///
/// Floored values get `ln_normal(floor)`, which for `f32::EPSILON` (a power of two: `m = 1`,
/// so `-23 ln 2` rounded once) is exactly `f32::EPSILON.ln()`, so silence gives the same
/// number as `f32::ln` without a per-value select. The `max` is written as a comparison
/// (one `maxps`): no NaN reaches it.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
pub(crate) fn ln_in_place(values: &mut [f32], floor: f32) {
    debug_assert!(floor.is_normal() && floor > 0.0);
    if !all_finite(values) {
        values.iter_mut().for_each(|v| *v = v.max(floor).ln());
        return;
    }
    values.iter_mut().for_each(|v| {
        *v = ln_normal(if *v > floor { *v } else { floor });
    });
}

/// Whether no value is NaN or infinite, in one vectorized pass with no branches: `v * 0` is
/// ±0 for a finite `v` and NaN otherwise.
pub(crate) fn all_finite(values: &[f32]) -> bool {
    let mut acc = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder().iter().fold(0.0, |a, v| a + v * 0.0);
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i] * 0.0;
        }
    }
    (acc.iter().sum::<f32>() + rest).is_finite()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_ln_across_the_f32_range() {
        let mut x = f32::EPSILON;
        let mut xs = Vec::new();
        while x < 1e37 {
            xs.push(x);
            x *= 1.000_37;
        }
        let mut got = xs.clone();
        ln_in_place(&mut got, f32::EPSILON);
        for (x, g) in xs.iter().zip(&got) {
            let want = f64::from(*x).ln();
            let err = (f64::from(*g) - want).abs();
            assert!(
                err <= 2e-6 * want.abs().max(1.0),
                "ln({x}) = {g}, want {want}"
            );
        }
    }

    #[test]
    fn floors_and_handles_zero_and_infinity() {
        let mut v = [0.0, -3.0, f32::EPSILON, 1.0, f32::INFINITY];
        ln_in_place(&mut v, f32::EPSILON);
        let floor = f32::EPSILON.ln();
        // the floor needs no special case: the series gives `f32::ln`'s value exactly
        assert_eq!(ln_normal(f32::EPSILON), floor);
        assert_eq!(&v[..3], &[floor, floor, floor]);
        assert_eq!(v[3], 0.0);
        assert_eq!(v[4], f32::INFINITY);
        let mut exact = [1.0f32, 2.0, 0.5];
        ln_in_place(&mut exact, f32::EPSILON);
        assert!((exact[1] - LN_2).abs() < 1e-7 && (exact[2] + LN_2).abs() < 1e-7);
        assert_eq!(exact[0], 0.0);
    }
}
