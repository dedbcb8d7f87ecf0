//! Analysis windows of Kaldi's feature extraction (`feature-window.cc`), as torchaudio's
//! `compliance.kaldi._feature_window_function` builds them.

use serde::{Deserialize, Serialize};

/// The analysis window applied to each frame (Kaldi's `--window-type`).
///
/// All windows are symmetric (`periodic=False` in torch terms): with `n = 0..N`,
/// `a = 2π / (N - 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowType {
    /// `(0.5 - 0.5 cos(a n)) ^ 0.85`: a Hann window raised to 0.85 that still reaches zero at
    /// the edges. Kaldi's and torchaudio's default.
    #[default]
    Povey,
    /// `0.54 - 0.46 cos(a n)`.
    Hamming,
    /// `0.5 - 0.5 cos(a n)` (Hann).
    Hanning,
    /// All ones.
    Rectangular,
    /// `c - 0.5 cos(a n) + (0.5 - c) cos(2 a n)` with `c = blackman_coeff` (0.42 by default;
    /// this is Kaldi's generalized Blackman, not `torch.blackman_window`).
    Blackman,
}

impl WindowType {
    /// The window of length `len` (`len >= 2`; shorter lengths give all ones).
    ///
    /// Computed in f64 and rounded to f32. `blackman_coeff` is only used by
    /// [`WindowType::Blackman`].
    pub fn build(self, len: usize, blackman_coeff: f64) -> Vec<f32> {
        if len < 2 {
            return vec![1.0; len];
        }
        let a = 2.0 * std::f64::consts::PI / (len - 1) as f64;
        (0..len)
            .map(|n| {
                let n = n as f64;
                let hann = 0.5 - 0.5 * (a * n).cos();
                let w = match self {
                    WindowType::Povey => hann.powf(0.85),
                    WindowType::Hamming => 0.54 - 0.46 * (a * n).cos(),
                    WindowType::Hanning => hann,
                    WindowType::Rectangular => 1.0,
                    WindowType::Blackman => {
                        blackman_coeff - 0.5 * (a * n).cos()
                            + (0.5 - blackman_coeff) * (2.0 * a * n).cos()
                    }
                };
                w as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f64) -> bool {
        (f64::from(a) - b).abs() < 1e-6
    }

    #[test]
    fn povey_is_hann_to_the_085_and_zero_at_edges() {
        let w = WindowType::Povey.build(400, 0.42);
        assert_eq!(w.len(), 400);
        assert_eq!(w[0], 0.0);
        assert!(w[399].abs() < 1e-12);
        // symmetric
        for n in 0..200 {
            assert!((w[n] - w[399 - n]).abs() < 1e-6, "n={n}");
        }
        // hand-computed: n = 100 of 400 -> hann = 0.5 - 0.5 cos(2π·100/399)
        let hann = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * 100.0 / 399.0).cos();
        assert!(close(w[100], hann.powf(0.85)));
        // the peak is in the middle, just under 1
        let max = w.iter().copied().fold(f32::MIN, f32::max);
        assert!(max <= 1.0 && max > 0.9999);
    }

    #[test]
    fn hamming_hanning_rectangular_blackman_shapes() {
        let n = 5;
        // a = 2π/4 = π/2 -> cos(a n) = 1, 0, -1, 0, 1
        let ham = WindowType::Hamming.build(n, 0.42);
        let expected_ham = [0.08, 0.54, 1.0, 0.54, 0.08];
        for (g, e) in ham.iter().zip(expected_ham) {
            assert!(close(*g, e), "{ham:?}");
        }
        let han = WindowType::Hanning.build(n, 0.42);
        for (g, e) in han.iter().zip([0.0, 0.5, 1.0, 0.5, 0.0]) {
            assert!(close(*g, e), "{han:?}");
        }
        assert_eq!(WindowType::Rectangular.build(n, 0.42), vec![1.0; 5]);
        // blackman c=0.42: cos(2 a n) = 1, -1, 1, -1, 1
        let bl = WindowType::Blackman.build(n, 0.42);
        let expected_bl = [
            0.42 - 0.5 + 0.08,
            0.42 - 0.0 - 0.08,
            0.42 + 0.5 + 0.08,
            0.42 - 0.0 - 0.08,
            0.42 - 0.5 + 0.08,
        ];
        for (g, e) in bl.iter().zip(expected_bl) {
            assert!(close(*g, e), "{bl:?}");
        }
    }

    #[test]
    fn window_type_serde_names() {
        let w: WindowType = serde_json::from_str("\"hamming\"").unwrap();
        assert_eq!(w, WindowType::Hamming);
        assert_eq!(
            serde_json::to_string(&WindowType::Povey).unwrap(),
            "\"povey\""
        );
    }
}
