//! Frame counts and frame-level padding masks of a wav2vec2-style convolutional front-end.
//!
//! Each convolution of kernel `k` and stride `s` (no padding) maps `L` samples to
//! `floor((L - k) / s) + 1` frames (0 when `L < k`). For the standard 7-layer stack
//! (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2) this is `floor((L - 400) / 320) + 1` for
//! `L >= 400`, as HF's `_get_feat_extract_output_lengths` computes.

/// Kernels of the HuBERT / wav2vec 2.0 / WavLM feature extractor.
pub const CONV_KERNELS: [usize; 7] = [10, 3, 3, 3, 3, 2, 2];
/// Strides of the HuBERT / wav2vec 2.0 / WavLM feature extractor.
pub const CONV_STRIDES: [usize; 7] = [5, 2, 2, 2, 2, 2, 2];

/// Frames produced from `num_samples` samples by convolutions with these kernels and strides.
///
/// # Panics
/// If the slices differ in length or a stride is 0 (a programmer error).
pub fn conv_output_frames(num_samples: usize, kernels: &[usize], strides: &[usize]) -> usize {
    assert_eq!(kernels.len(), strides.len(), "one stride per kernel");
    kernels
        .iter()
        .zip(strides)
        .fold(num_samples, |len, (&k, &s)| {
            assert!(s > 0, "stride must be positive");
            if len < k { 0 } else { (len - k) / s + 1 }
        })
}

/// Frames of the standard front-end: `floor((L - 400) / 320) + 1`, or 0 below 400 samples.
pub fn num_frames(num_samples: usize) -> usize {
    conv_output_frames(num_samples, &CONV_KERNELS, &CONV_STRIDES)
}

/// Frame-level padding mask, row-major `[lengths.len(), max_frames]`, `true` = padded frame,
/// for items of `lengths` samples padded to `padded_samples` (the standard front-end).
///
/// `max_frames` is [`num_frames`]`(padded_samples)`; item `i` has [`num_frames`]`(lengths[i])`
/// valid frames, the rule HF applies to the attention mask.
pub fn frame_padding_mask(lengths: &[usize], padded_samples: usize) -> (Vec<bool>, usize) {
    let max_frames = num_frames(padded_samples);
    let mut mask = Vec::with_capacity(lengths.len() * max_frames);
    for &len in lengths {
        let valid = num_frames(len).min(max_frames);
        mask.extend((0..max_frames).map(|t| t >= valid));
    }
    (mask, max_frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_matches_stack() {
        for len in [0, 399, 400, 401, 719, 720, 16000, 32000, 160_001] {
            let closed = if len < 400 { 0 } else { (len - 400) / 320 + 1 };
            assert_eq!(num_frames(len), closed, "len {len}");
        }
        assert_eq!(num_frames(16000), 49);
    }

    #[test]
    fn mask_marks_padding() {
        let (mask, t) = frame_padding_mask(&[16000, 8000], 16000);
        assert_eq!(t, 49);
        assert!(mask[..49].iter().all(|m| !m));
        assert_eq!(mask[49..].iter().filter(|m| !**m).count(), 24);
        assert!(mask[49 + 24..].iter().all(|m| *m));
    }
}
