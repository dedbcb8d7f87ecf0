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

use crate::data::{Crop, LabelledSet};
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
    /// Adds the frames `values` (`[frames, dim]`, row-major) of hidden state `l`.
    fn add(&mut self, l: usize, dim: usize, values: &[f32]) {
        let (sum, sum_sq) = (
            &mut self.sum[l * dim..(l + 1) * dim],
            &mut self.sum_sq[l * dim..(l + 1) * dim],
        );
        for row in values.chunks_exact(dim) {
            for ((s, q), &x) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(row) {
                *s += f64::from(x);
                *q += f64::from(x) * f64::from(x);
            }
        }
    }

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
/// its preprocessing says so) and keeps its hidden states as `pooling` says; also returns the
/// per-layer statistics of all frames. `progress(done, total)` is called after each utterance.
///
/// # Errors
/// Decoding errors ([`ProbeError::Audio`]), [`ProbeError::TooShort`].
pub fn extract(
    upstream: &Upstream,
    utterances: &[Utterance],
    pooling: Pooling,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(FeatureSet, LayerStats), ProbeError> {
    let out = extract_clips(upstream, utterances, &[], pooling, false, progress)?;
    Ok((out.features, out.stats))
}

/// What [`extract_set`] gives.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The features of the utterances kept.
    pub features: FeatureSet,
    /// Per-layer statistics of their frames.
    pub stats: LayerStats,
    /// Indices (into the set's utterances) of the items of `features`, in order.
    pub kept: Vec<usize>,
}

/// [`extract`] of a task's split: each utterance cropped as [`LabelledSet::crops`] says (after
/// resampling, before the upstream's normalisation) and, with `skip_bad`, utterances that fail
/// to decode or give no frame left out (the others' indices in [`Extracted::kept`]).
///
/// # Errors
/// As [`extract`], unless `skip_bad`.
pub fn extract_set(
    upstream: &Upstream,
    set: &LabelledSet,
    pooling: Pooling,
    skip_bad: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Extracted, ProbeError> {
    extract_clips(
        upstream,
        &set.utterances,
        &set.crops,
        pooling,
        skip_bad,
        progress,
    )
}

/// The samples of utterance `i` of `dataset` (16 kHz, not normalised), cut to `crop`.
///
/// # Errors
/// Decoding errors; [`ProbeError::TooShort`] when they give no frame.
fn clip_samples(
    upstream: &Upstream,
    dataset: &AudioDataset,
    i: usize,
    utt: &Utterance,
    crop: Option<Crop>,
) -> Result<Vec<f32>, ProbeError> {
    let mut samples = dataset.load(i, 0)?.samples;
    if let Some(crop) = crop {
        let end = (crop.start + crop.len).min(samples.len());
        samples = samples[crop.start.min(end)..end].to_vec();
    }
    if upstream.num_frames(samples.len()) == 0 {
        return Err(ProbeError::TooShort {
            path: utt.path.clone(),
            samples: samples.len(),
        });
    }
    Ok(samples)
}

fn extract_clips(
    upstream: &Upstream,
    utterances: &[Utterance],
    crops: &[Option<Crop>],
    pooling: Pooling,
    skip_bad: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Extracted, ProbeError> {
    let manifest = Manifest {
        source: Default::default(),
        utterances: utterances.to_vec(),
    };
    // Raw samples: the upstream normalises (Upstream::hidden_states), after the crop.
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
    let mut kept = Vec::with_capacity(utterances.len());
    for (i, utt) in utterances.iter().enumerate() {
        let crop = crops.get(i).copied().flatten();
        let samples = match clip_samples(upstream, &dataset, i, utt, crop) {
            Ok(s) => s,
            Err(_) if skip_bad => {
                progress(i + 1, utterances.len());
                continue;
            }
            Err(e) => return Err(e),
        };
        let hidden = upstream.hidden_states(&samples);
        let frames = hidden[0].dims()[1];
        let mut data = Vec::with_capacity(states * dim * frames);
        for (l, h) in hidden.into_iter().enumerate() {
            let values: Vec<f32> = h.try_into_vec_as::<f32>().expect("f32 hidden states");
            acc.add(l, dim, &values);
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
        kept.push(i);
        progress(i + 1, utterances.len());
    }
    Ok(Extracted {
        features: set,
        stats: acc.finish(),
        kept,
    })
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
