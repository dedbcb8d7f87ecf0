//! A row-major `[frames, bins]` feature matrix.

use super::error::FeatureError;

/// Features of one utterance: `frames` rows of `bins` values, row-major.
///
/// Produced by [`Fbank::compute`](super::Fbank::compute), [`Mfcc::compute`](super::Mfcc::compute)
/// and [`compute_deltas`](super::compute_deltas). The fields are public for cheap moves into
/// tensors; [`FeatureMatrix::new`] checks that `data.len() == frames * bins`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    /// The values, `data[t * bins + b]` is bin `b` of frame `t`.
    pub data: Vec<f32>,
    /// Number of frames (rows).
    pub frames: usize,
    /// Number of values per frame (columns).
    pub bins: usize,
}

impl FeatureMatrix {
    /// Wraps `data` as a `[frames, bins]` matrix; errors if the length does not match.
    pub fn new(data: Vec<f32>, frames: usize, bins: usize) -> Result<Self, FeatureError> {
        Self::check(data.len(), frames, bins)?;
        Ok(Self { data, frames, bins })
    }

    /// A `[0, bins]` matrix.
    pub fn empty(bins: usize) -> Self {
        Self {
            data: Vec::new(),
            frames: 0,
            bins,
        }
    }

    /// Errors unless `data.len() == frames * bins`.
    pub fn validate(&self) -> Result<(), FeatureError> {
        Self::check(self.data.len(), self.frames, self.bins)
    }

    fn check(len: usize, frames: usize, bins: usize) -> Result<(), FeatureError> {
        let expected = frames.checked_mul(bins);
        if expected != Some(len) {
            return Err(FeatureError::ShapeMismatch {
                frames,
                bins,
                expected: expected.unwrap_or(usize::MAX),
                got: len,
            });
        }
        Ok(())
    }

    /// `true` when there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// The `[frames, bins]` shape.
    pub fn shape(&self) -> [usize; 2] {
        [self.frames, self.bins]
    }

    /// Frame `t`.
    ///
    /// # Panics
    /// If `t >= frames` (or the matrix is inconsistent).
    pub fn row(&self, t: usize) -> &[f32] {
        &self.data[t * self.bins..(t + 1) * self.bins]
    }

    /// Iterates over the frames (an empty iterator when `bins == 0`).
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> + '_ {
        let bins = self.bins.max(1);
        let frames = if self.bins == 0 { 0 } else { self.frames };
        self.data[..frames * self.bins].chunks_exact(bins)
    }

    /// Concatenates matrices with the same number of frames along the bin axis
    /// (`[frames, a] ++ [frames, b] -> [frames, a + b]`), e.g. features with their deltas.
    pub fn concat_bins(parts: &[&FeatureMatrix]) -> Result<FeatureMatrix, FeatureError> {
        let Some(first) = parts.first() else {
            return Ok(FeatureMatrix::empty(0));
        };
        let frames = first.frames;
        for p in parts {
            p.validate()?;
            if p.frames != frames {
                return Err(FeatureError::ShapeMismatch {
                    frames,
                    bins: p.bins,
                    expected: frames * p.bins,
                    got: p.data.len(),
                });
            }
        }
        let bins: usize = parts.iter().map(|p| p.bins).sum();
        let mut data = Vec::with_capacity(frames * bins);
        for t in 0..frames {
            for p in parts {
                data.extend_from_slice(p.row(t));
            }
        }
        Ok(FeatureMatrix { data, frames, bins })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_checks_and_rows() {
        let m = FeatureMatrix::new((0..6).map(|x| x as f32).collect(), 2, 3).unwrap();
        assert_eq!(m.row(1), &[3.0, 4.0, 5.0]);
        assert_eq!(m.rows().len(), 2);
        assert_eq!(m.shape(), [2, 3]);
        assert!(matches!(
            FeatureMatrix::new(vec![0.0; 5], 2, 3),
            Err(FeatureError::ShapeMismatch {
                expected: 6,
                got: 5,
                ..
            })
        ));
        assert_eq!(FeatureMatrix::empty(4).rows().len(), 0);
    }

    #[test]
    fn concat_bins_interleaves_rows() {
        let a = FeatureMatrix::new(vec![1.0, 2.0, 3.0, 4.0], 2, 2).unwrap();
        let b = FeatureMatrix::new(vec![9.0, 8.0], 2, 1).unwrap();
        let c = FeatureMatrix::concat_bins(&[&a, &b]).unwrap();
        assert_eq!(c.shape(), [2, 3]);
        assert_eq!(c.data, vec![1.0, 2.0, 9.0, 3.0, 4.0, 8.0]);
        let bad = FeatureMatrix::new(vec![1.0], 1, 1).unwrap();
        assert!(FeatureMatrix::concat_bins(&[&a, &bad]).is_err());
    }
}
