//! Cutting a waveform into overlapping frames, Kaldi's way (`feature-window.cc`
//! `NumFrames` / `ExtractWindow`, torchaudio's `_get_strided`).

/// Frame sizes in samples and the edge mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameGeometry {
    /// Samples per frame (`int(sample_frequency * frame_length * 0.001)`).
    pub window_size: usize,
    /// Hop in samples.
    pub window_shift: usize,
    /// FFT size (window_size, or the next power of two).
    pub padded_size: usize,
    /// Kaldi's `snip_edges`.
    pub snip_edges: bool,
}

impl FrameGeometry {
    /// Number of frames for `num_samples` samples.
    ///
    /// `snip_edges`: `1 + (n - window_size) / shift` frames that fit entirely, 0 when
    /// `n < window_size`. Otherwise `(n + shift / 2) / shift` frames centred on multiples of
    /// the shift, the signal being reflected at both ends.
    pub fn num_frames(&self, num_samples: usize) -> usize {
        if self.snip_edges {
            if num_samples < self.window_size {
                0
            } else {
                1 + (num_samples - self.window_size) / self.window_shift
            }
        } else {
            (num_samples + self.window_shift / 2) / self.window_shift
        }
    }

    /// Index into the original signal of the first sample of frame `t` (may be negative
    /// without `snip_edges`).
    fn first_sample(&self, t: usize) -> isize {
        let start = (t * self.window_shift) as isize;
        if self.snip_edges {
            start
        } else {
            start + (self.window_shift / 2) as isize - (self.window_size / 2) as isize
        }
    }

    /// Copies frame `t` of `wave`, multiplied by `scale`, into `out[..window_size]`, and
    /// returns the sum of the copied values (eight running sums, then the tail).
    ///
    /// Out-of-range indices (only without `snip_edges`) are reflected like Kaldi:
    /// `-1 -> 0`, `-2 -> 1`, `n -> n - 1`, ..., repeatedly for signals shorter than a frame.
    /// torchaudio reflects once, which is the same for signals at least one frame long.
    ///
    /// # Panics
    /// If `out.len() < window_size` or `wave` is empty.
    pub fn extract(&self, wave: &[f32], t: usize, scale: f32, out: &mut [f32]) -> f32 {
        let out = &mut out[..self.window_size];
        let n = wave.len() as isize;
        let start = self.first_sample(t);
        let end = start + self.window_size as isize;
        if start >= 0 && end <= n {
            let src = &wave[start as usize..end as usize];
            let mut acc = [0.0f32; 8];
            let mut dst = out.chunks_exact_mut(8);
            let chunks = src.chunks_exact(8);
            let rest = chunks.remainder();
            for (o, x) in (&mut dst).zip(chunks) {
                for i in 0..8 {
                    o[i] = x[i] * scale;
                    acc[i] += o[i];
                }
            }
            let mut total = acc.iter().sum::<f32>();
            for (o, x) in dst.into_remainder().iter_mut().zip(rest) {
                *o = x * scale;
                total += *o;
            }
            return total;
        }
        assert!(n > 0, "extract from an empty signal");
        for (j, o) in out.iter_mut().enumerate() {
            let mut s = start + j as isize;
            while s < 0 || s >= n {
                s = if s < 0 { -s - 1 } else { 2 * n - 1 - s };
            }
            *o = wave[s as usize] * scale;
        }
        out.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(snip_edges: bool) -> FrameGeometry {
        FrameGeometry {
            window_size: 400,
            window_shift: 160,
            padded_size: 512,
            snip_edges,
        }
    }

    #[test]
    fn frame_counts_match_kaldi() {
        let g = geom(true);
        assert_eq!(g.num_frames(160_000), 998);
        assert_eq!(g.num_frames(399), 0);
        assert_eq!(g.num_frames(400), 1);
        assert_eq!(g.num_frames(559), 1);
        assert_eq!(g.num_frames(560), 2);
        assert_eq!(g.num_frames(16_001), 98);
        let g = geom(false);
        assert_eq!(g.num_frames(160_000), 1000);
        assert_eq!(g.num_frames(0), 0);
        assert_eq!(g.num_frames(79), 0);
        assert_eq!(g.num_frames(80), 1);
        assert_eq!(g.num_frames(399), 2);
        assert_eq!(g.num_frames(16_001), 100);
    }

    #[test]
    fn reflection_repeats_edge_samples() {
        let g = FrameGeometry {
            window_size: 6,
            window_shift: 2,
            padded_size: 8,
            snip_edges: false,
        };
        let wave = [0.0, 1.0, 2.0, 3.0, 4.0];
        // first sample of frame 0 = 0 + 1 - 3 = -2
        let mut out = [0.0; 6];
        g.extract(&wave, 0, 1.0, &mut out);
        assert_eq!(out, [1.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
        // frame 2 starts at 4 + 1 - 3 = 2: [2, 3, 4, 4, 3, 2]
        g.extract(&wave, 2, 2.0, &mut out);
        assert_eq!(out, [4.0, 6.0, 8.0, 8.0, 6.0, 4.0]);
        // signal shorter than a frame: reflect repeatedly
        let tiny = [5.0, 7.0];
        g.extract(&tiny, 0, 1.0, &mut out);
        assert_eq!(out, [7.0, 5.0, 5.0, 7.0, 7.0, 5.0]);
    }
}
