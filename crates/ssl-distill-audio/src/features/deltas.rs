//! Delta (time-derivative) features, matching `torchaudio.functional.compute_deltas`
//! (replicate padding at the ends).

use super::error::FeatureError;
use super::matrix::FeatureMatrix;

/// Deltas along the frame axis: `d_t = sum_{k=1..N} k (c_{t+k} - c_{t-k}) / (2 sum k^2)` with
/// `N = (win_length - 1) / 2` and the first/last frame repeated beyond the ends.
///
/// Same as `torchaudio.functional.compute_deltas(feats.T, win_length).T`. Errors if
/// `win_length < 3` or `feats` is inconsistent.
pub fn compute_deltas(
    feats: &FeatureMatrix,
    win_length: usize,
) -> Result<FeatureMatrix, FeatureError> {
    feats.validate()?;
    if win_length < 3 {
        return Err(FeatureError::InvalidDeltaWindow { win_length });
    }
    let n = (win_length - 1) / 2;
    let denom = (n * (n + 1) * (2 * n + 1)) as f32 / 3.0;
    let (frames, bins) = (feats.frames, feats.bins);
    let mut data = vec![0.0f32; frames * bins];
    if frames == 0 {
        return Ok(FeatureMatrix { data, frames, bins });
    }
    let last = frames as isize - 1;
    let at = |t: isize| feats.row(t.clamp(0, last) as usize);
    for (t, out) in data.chunks_exact_mut(bins.max(1)).enumerate().take(frames) {
        let t = t as isize;
        for k in 1..=n as isize {
            let (plus, minus) = (at(t + k), at(t - k));
            let kf = k as f32;
            for ((o, p), m) in out.iter_mut().zip(plus).zip(minus) {
                *o += kf * (p - m);
            }
        }
        out.iter_mut().for_each(|o| *o /= denom);
    }
    Ok(FeatureMatrix { data, frames, bins })
}

/// `feats` followed by its first `order` delta orders along the bin axis, e.g. `order = 2`
/// gives `[c, Δc, ΔΔc]` (39 columns for 13 MFCCs), each delta computed with `win_length`.
pub fn append_deltas(
    feats: &FeatureMatrix,
    order: usize,
    win_length: usize,
) -> Result<FeatureMatrix, FeatureError> {
    let mut parts = vec![feats.clone()];
    for _ in 0..order {
        let next = compute_deltas(parts.last().unwrap_or(feats), win_length)?;
        parts.push(next);
    }
    let refs: Vec<&FeatureMatrix> = parts.iter().collect();
    FeatureMatrix::concat_bins(&refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ramp_has_constant_delta_inside() {
        // one bin, c_t = 2t: inside the signal the delta is exactly 2
        let f = FeatureMatrix::new((0..10).map(|t| 2.0 * t as f32).collect(), 10, 1).unwrap();
        let d = compute_deltas(&f, 5).unwrap();
        for t in 2..8 {
            assert!((d.data[t] - 2.0).abs() < 1e-6);
        }
        // t = 0 with replicate padding: (1*(2-0) + 2*(4-0)) / 10 = 1.0
        assert!((d.data[0] - 1.0).abs() < 1e-6);
        // t = 9: (1*(18-16) + 2*(18-14)) / 10 = 1.0
        assert!((d.data[9] - 1.0).abs() < 1e-6);
        // win_length 3: N = 1, denom 2 -> (c_{t+1} - c_{t-1}) / 2
        let d3 = compute_deltas(&f, 3).unwrap();
        assert!((d3.data[4] - 2.0).abs() < 1e-6);
        assert!((d3.data[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn append_and_errors() {
        let f = FeatureMatrix::new((0..12).map(|x| (x * x) as f32).collect(), 4, 3).unwrap();
        let all = append_deltas(&f, 2, 5).unwrap();
        assert_eq!(all.shape(), [4, 9]);
        assert_eq!(&all.row(1)[..3], f.row(1));
        let d = compute_deltas(&f, 5).unwrap();
        assert_eq!(&all.row(1)[3..6], d.row(1));
        assert!(matches!(
            compute_deltas(&f, 2),
            Err(FeatureError::InvalidDeltaWindow { .. })
        ));
        let empty = FeatureMatrix::empty(3);
        assert_eq!(compute_deltas(&empty, 5).unwrap().shape(), [0, 3]);
        let broken = FeatureMatrix {
            data: vec![0.0; 5],
            frames: 2,
            bins: 3,
        };
        assert!(compute_deltas(&broken, 5).is_err());
    }
}
