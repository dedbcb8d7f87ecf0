//! Features of a frozen upstream, extracted once and kept in host memory.
//!
//! Each utterance runs alone (batch 1, no padding), so its hidden states are exactly those of
//! a lone run whatever the extractor's normalisation (group-norm extractors are not
//! padding-invariant). [`Pooling::Frames`] keeps every frame of every hidden state
//! (`(L + 1) · frames · hidden` floats per utterance: about 7.6 MB for 4 s of a Base model);
//! [`Pooling::Mean`] keeps each hidden state's mean over the utterance's frames (`(L + 1) ·
//! hidden`), which is all a mean-pooling probe needs: the weighted sum and the per-layer
//! standardisation are affine, so they commute with the mean.

use ssl_distill_audio::{AudioDataset, DatasetConfig, Manifest, Utterance};

use crate::error::ProbeError;
use crate::upstream::Upstream;

/// What is kept per utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Every frame: `[L + 1, frames, hidden]`.
    Frames,
    /// The mean over frames: `[L + 1, hidden]`.
    Mean,
}

/// The features of one split.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    /// Number of hidden states `L + 1`.
    pub num_states: usize,
    /// Width of the hidden states.
    pub dim: usize,
    /// Valid frames of each utterance.
    pub frames: Vec<usize>,
    /// Per utterance, row-major: `[L + 1, frames, dim]` ([`Pooling::Frames`]) or
    /// `[L + 1, dim]` ([`Pooling::Mean`]).
    pub data: Vec<Vec<f32>>,
    /// How the frames were kept.
    pub pooling: Pooling,
}

/// Per hidden state and dimension, the mean and standard deviation over every frame of a split
/// (`[L + 1, dim]` each, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStats {
    /// Means.
    pub mean: Vec<f32>,
    /// Standard deviations (at least `1e-5`).
    pub std: Vec<f32>,
}

/// Running sums for [`LayerStats`].
#[derive(Debug, Clone)]
struct StatsAcc {
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    count: usize,
}

impl StatsAcc {
    fn finish(&self) -> LayerStats {
        let n = self.count.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| ((sq / n - m * m).max(0.0).sqrt().max(1e-5)) as f32)
            .collect();
        LayerStats {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
        }
    }
}

impl FeatureSet {
    /// Number of utterances.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Standardises every hidden state per dimension with `stats`: `(x − mean) / std` on every
    /// frame (for [`Pooling::Mean`] on the mean, which is the same thing).
    pub fn standardize(&mut self, stats: &LayerStats) {
        let d = self.dim;
        for (item, &frames) in self.data.iter_mut().zip(&self.frames) {
            let per_state = if self.pooling == Pooling::Frames {
                frames
            } else {
                1
            };
            for (l, state) in item.chunks_exact_mut(per_state * d).enumerate() {
                let mean = &stats.mean[l * d..(l + 1) * d];
                let std = &stats.std[l * d..(l + 1) * d];
                for row in state.chunks_exact_mut(d) {
                    for ((x, m), s) in row.iter_mut().zip(mean).zip(std) {
                        *x = (*x - m) / s;
                    }
                }
            }
        }
    }
}

/// Runs `upstream` on every utterance (resampled to 16 kHz, then normalised by the upstream if
/// its preprocessing says so) and keeps its hidden states as `pooling` says; also returns the per-layer statistics of
/// all frames. `progress(done, total)` is called after each utterance.
///
/// # Errors
/// Decoding errors ([`ProbeError::Audio`]), [`ProbeError::TooShort`].
pub fn extract(
    upstream: &Upstream,
    utterances: &[Utterance],
    pooling: Pooling,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(FeatureSet, LayerStats), ProbeError> {
    let manifest = Manifest {
        source: Default::default(),
        utterances: utterances.to_vec(),
    };
    // Raw samples: the upstream normalises (Upstream::hidden_states).
    let dataset = AudioDataset::new(manifest, DatasetConfig::default())?;
    let (states, dim) = (upstream.num_hidden_states(), upstream.hidden_size());
    let mut acc = StatsAcc {
        sum: vec![0.0; states * dim],
        sum_sq: vec![0.0; states * dim],
        count: 0,
    };
    let mut set = FeatureSet {
        num_states: states,
        dim,
        frames: Vec::with_capacity(utterances.len()),
        data: Vec::with_capacity(utterances.len()),
        pooling,
    };
    for (i, utt) in utterances.iter().enumerate() {
        let item = dataset.load(i, 0)?;
        if upstream.num_frames(item.samples.len()) == 0 {
            return Err(ProbeError::TooShort {
                path: utt.path.clone(),
                samples: item.samples.len(),
            });
        }
        let hidden = upstream.hidden_states(&item.samples);
        let frames = hidden[0].dims()[1];
        let mut data = Vec::with_capacity(states * dim * frames);
        for (l, h) in hidden.into_iter().enumerate() {
            let values: Vec<f32> = h.try_into_vec_as::<f32>().expect("f32 hidden states");
            let (sum, sum_sq) = (
                &mut acc.sum[l * dim..(l + 1) * dim],
                &mut acc.sum_sq[l * dim..(l + 1) * dim],
            );
            for row in values.chunks_exact(dim) {
                for ((s, q), &x) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(row) {
                    *s += f64::from(x);
                    *q += f64::from(x) * f64::from(x);
                }
            }
            match pooling {
                Pooling::Frames => data.extend_from_slice(&values),
                Pooling::Mean => {
                    let mut mean = vec![0f64; dim];
                    for row in values.chunks_exact(dim) {
                        for (m, &x) in mean.iter_mut().zip(row) {
                            *m += f64::from(x);
                        }
                    }
                    data.extend(mean.into_iter().map(|m| (m / frames as f64) as f32));
                }
            }
        }
        acc.count += frames;
        set.frames.push(frames);
        set.data.push(data);
        progress(i + 1, utterances.len());
    }
    Ok((set, acc.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardising_the_mean_equals_the_mean_of_standardised_frames() {
        // 2 states x 3 frames x 2 dims.
        let frames: Vec<f32> = vec![1.0, 2.0, 3.0, 5.0, 5.0, 8.0, -1.0, 0.0, 4.0, 2.0, 1.0, 1.0];
        let stats = LayerStats {
            mean: vec![0.5, 1.0, -2.0, 3.0],
            std: vec![2.0, 4.0, 0.5, 1.0],
        };
        let mut full = FeatureSet {
            num_states: 2,
            dim: 2,
            frames: vec![3],
            data: vec![frames.clone()],
            pooling: Pooling::Frames,
        };
        full.standardize(&stats);
        let mean_of = |v: &[f32]| -> Vec<f32> {
            v.chunks_exact(6)
                .flat_map(|s| (0..2).map(move |d| (s[d] + s[2 + d] + s[4 + d]) / 3.0))
                .collect()
        };
        let mut pooled = FeatureSet {
            data: vec![mean_of(&frames)],
            pooling: Pooling::Mean,
            ..full.clone()
        };
        pooled.standardize(&stats);
        let want = mean_of(&full.data[0]);
        for (a, b) in pooled.data[0].iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
