//! Span masking of HuBERT pretraining: which frames get the learned mask embedding.
//!
//! HuBERT (Hsu et al. 2021, arXiv:2106.07447, §III-B) masks `p = 8%` of the frames as span
//! starts and masks `l = 10` frames from each start; spans may overlap, so about half of the
//! frames end up masked. This follows HF transformers' `_compute_mask_indices`
//! (`models/wav2vec2/modeling_wav2vec2.py`, the port of fairseq's `compute_mask_indices` with
//! `mask_type = "static"`) step for step:
//!
//! 1. one `ε ~ U[0, 1)` per batch;
//! 2. per row of `n` valid frames: `spans = ⌊p·n / l + ε⌋`, at least `min_masks`, at most
//!    `⌊T / l⌋` (`T` the padded length) and at most `n − l + 1`;
//! 3. span starts drawn without replacement, uniformly from `0 ..= n − l`;
//! 4. frames `start .. start + l` masked (clipped at `T − 1`, which cannot happen for valid
//!    starts).
//!
//! The random numbers come from the caller's generator (the training loop's checkpointed RNG),
//! so a resumed run draws the same masks.

use rand_chacha::rand_core::Rng;
use serde::{Deserialize, Serialize};

/// `[masking]` of a pretraining recipe (HF `mask_time_prob`, `mask_time_length`,
/// `mask_time_min_masks`; fairseq `mask_prob`, `mask_length`, `min_masks` with
/// `mask_selection = "static"` and overlapping spans, HuBERT's setting).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaskingConfig {
    /// Share of frames drawn as span starts. Default 0.8 (HuBERT Base and Large).
    pub prob: f64,
    /// Frames per span. Default 10 (HuBERT).
    pub length: usize,
    /// At least this many spans per row (when the row is long enough). Default 2 (fairseq and
    /// HF `mask_time_min_masks`).
    pub min_masks: usize,
}

impl Default for MaskingConfig {
    fn default() -> Self {
        Self {
            prob: 0.8,
            length: 10,
            min_masks: 2,
        }
    }
}

/// A uniform integer in `0..bound` (`bound > 0`) from 64 random bits (multiply-shift; the bias
/// is below `bound / 2^64`).
fn below<R: Rng + ?Sized>(rng: &mut R, bound: usize) -> usize {
    ((u128::from(rng.next_u64()) * bound as u128) >> 64) as usize
}

/// A uniform float in `[0, 1)` from 53 random bits.
fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

impl MaskingConfig {
    /// Number of spans for a row of `valid` frames in a batch padded to `frames`, given the
    /// batch's `epsilon` (HF's `compute_num_masked_span`).
    pub fn num_spans(&self, valid: usize, frames: usize, epsilon: f64) -> usize {
        let l = self.length;
        let mut n =
            ((self.prob * valid as f64 / l as f64 + epsilon).floor() as usize).max(self.min_masks);
        if n * l > frames {
            n = frames / l;
        }
        if (valid + 1).saturating_sub(l) < n {
            n = (valid + 1).saturating_sub(l);
        }
        n
    }

    /// The mask of a batch: row-major `[lengths.len(), frames]`, `true` = masked; row `b` is
    /// masked only within its first `lengths[b]` (valid) frames.
    ///
    /// # Panics
    /// If `length` is 0 or a row is longer than `frames`.
    pub fn compute<R: Rng + ?Sized>(
        &self,
        lengths: &[usize],
        frames: usize,
        rng: &mut R,
    ) -> Vec<bool> {
        assert!(self.length > 0, "mask length must be >= 1");
        let mut mask = vec![false; lengths.len() * frames];
        if frames < self.length {
            // HF raises here; a crop shorter than one span simply gets no mask.
            return mask;
        }
        let epsilon = unit(rng);
        for (b, &valid) in lengths.iter().enumerate() {
            assert!(valid <= frames, "row {b}: {valid} valid frames > {frames}");
            let n = self.num_spans(valid, frames, epsilon);
            let starts = valid + 1 - self.length.min(valid + 1);
            // Partial Fisher-Yates: the first `n` of a random permutation of `0..starts`.
            let mut pool: Vec<usize> = (0..starts).collect();
            let row = &mut mask[b * frames..(b + 1) * frames];
            for i in 0..n {
                let j = i + below(rng, starts - i);
                pool.swap(i, j);
                let start = pool[i];
                row[start..(start + self.length).min(frames)].fill(true);
            }
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    /// HF's span counts for p = 0.8, l = 10, min 2 (worked by hand from
    /// `compute_num_masked_span`).
    #[test]
    fn span_counts_follow_hf() {
        let m = MaskingConfig::default();
        // 100 frames, ε = 0.5: ⌊8 + 0.5⌋ = 8.
        assert_eq!(m.num_spans(100, 100, 0.5), 8);
        // 12 frames: ⌊0.96 + 0.5⌋ = 1 -> min 2 -> 2·10 > 12 -> 12 / 10 = 1 -> starts 3 >= 1.
        assert_eq!(m.num_spans(12, 12, 0.5), 1);
        // 25 valid frames padded to 49: ⌊2 + 0.9⌋ = 2.
        assert_eq!(m.num_spans(25, 49, 0.9), 2);
        // 9 valid frames: no span of 10 fits.
        assert_eq!(m.num_spans(9, 49, 0.9), 0);
        // 10 valid frames: one start.
        assert_eq!(m.num_spans(10, 49, 0.0), 1);
    }

    /// A row shorter than its batch is masked only inside its valid frames, in whole spans.
    #[test]
    fn masks_stay_in_valid_frames() {
        let m = MaskingConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let mask = m.compute(&[49, 23, 9], 49, &mut rng);
            assert!(mask[49 + 23..2 * 49].iter().all(|x| !x));
            assert!(mask[2 * 49..].iter().all(|x| !x));
            assert!(mask[49..49 + 23].iter().filter(|x| **x).count() >= 10);
        }
    }
}
