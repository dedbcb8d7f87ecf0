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

    /// Frame `t` as a slice of `wave`, when it lies entirely inside the signal (always with
    /// `snip_edges`; without it, all frames but the first and last few).
    pub fn slice<'a>(&self, wave: &'a [f32], t: usize) -> Option<&'a [f32]> {
        let start = usize::try_from(self.first_sample(t)).ok()?;
        wave.get(start..start + self.window_size)
    }

    /// Copies frame `t` of `wave`, multiplied by `scale`, into `out[..window_size]`.
    ///
    /// Out-of-range indices (only without `snip_edges`) are reflected like Kaldi:
    /// `-1 -> 0`, `-2 -> 1`, `n -> n - 1`, ..., repeatedly for signals shorter than a frame.
    /// torchaudio reflects once, which is the same for signals at least one frame long.
    ///
    /// # Panics
    /// If `out.len() < window_size` or `wave` is empty.
    pub fn extract(&self, wave: &[f32], t: usize, scale: f32, out: &mut [f32]) {
        let out = &mut out[..self.window_size];
        if let Some(src) = self.slice(wave, t) {
            for (o, x) in out.iter_mut().zip(src) {
                *o = x * scale;
            }
            return;
        }
        let n = wave.len() as isize;
        assert!(n > 0, "extract from an empty signal");
        let start = self.first_sample(t);
        for (j, o) in out.iter_mut().enumerate() {
            let mut s = start + j as isize;
            while s < 0 || s >= n {
                s = if s < 0 { -s - 1 } else { 2 * n - 1 - s };
            }
            *o = wave[s as usize] * scale;
        }
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

    #[test]
    fn slices_are_the_frames_inside_the_signal() {
        let wave: Vec<f32> = (0..20).map(|v| v as f32).collect();
        let g = FrameGeometry {
            window_size: 6,
            window_shift: 2,
            padded_size: 8,
            snip_edges: false,
        };
        // frame 0 starts at -2 (reflected), frame 2 at 2, frame 9 at 16 (runs past the end)
        assert_eq!(g.slice(&wave, 0), None);
        assert_eq!(g.slice(&wave, 2), Some(&wave[2..8]));
        assert_eq!(g.slice(&wave, 9), None);
        let mut out = [0.0; 6];
        g.extract(&wave, 2, 0.5, &mut out);
        assert_eq!(out, [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]);
        let g = geom(true);
        let wave = vec![0.25; 1000];
        assert_eq!(g.slice(&wave, 3).map(<[f32]>::len), Some(400));
        assert_eq!(g.slice(&wave, 4), None);
    }
}
