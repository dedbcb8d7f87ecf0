//! [`Extractor`]: the hidden states of whole utterances, with the checkpoint's preprocessing
//! applied, from any [`Backbone`] (a teacher [`SslModel`]; a student of `ssl-distill-students`).
//!
//! It does what HF's `Wav2Vec2FeatureExtractor` + `model(..., output_hidden_states=True)` do
//! for a list of waveforms, and then takes the padding off again:
//! 1. normalisation: each utterance to zero mean and unit variance over its own samples when the
//!    checkpoint's [`Preprocessor`] says `do_normalize` (HF `zero_mean_unit_var_norm`, 1e-7 in
//!    the square root; [`ssl_distill_audio::normalize`]);
//! 2. batching: utterances sorted by length (longest first), zero-padded to the longest of their
//!    batch, with the sample padding mask HF derives from `attention_mask`;
//! 3. each utterance's hidden states cut to its valid frames (HF's conv-length rule).
//!
//! Padding and group-norm extractors: HuBERT / WavLM Base and wav2vec 2.0 Base normalise conv
//! layer 0 with a GroupNorm over the whole (padded) time axis, so padding changes every frame of
//! every row, in transformers too (see [`SslInput::padding_mask`]). The extractor therefore only
//! pads for a [`Backbone`] that is [`Backbone::padding_invariant`] (layer-norm extractors, Fbank
//! students): a non-invariant model's batches hold utterances of exactly equal length, unpadded,
//! and every other utterance runs alone. The features of an utterance are then those of running
//! it alone for every model, whatever the batch size (tested to 1e-5).

use std::cmp::Reverse;

use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::error::ExtractError;
use crate::model::{SslInput, SslModel, SslOutput};
use crate::nn::feature_extractor::ConvNorm;
use crate::preprocessor::Preprocessor;

/// A model that gives HF-layout hidden states (`L + 1`, index 0 = the transformer input) for a
/// padded batch of waveforms: a teacher [`SslModel`], or a student (implemented in
/// `ssl-distill-students`).
pub trait Backbone {
    /// Runs up to and including hidden state `k` (`k >= L` runs every layer); the output's
    /// `hidden_states` holds at least `k + 1` entries (all `L + 1` when `k >= L`).
    ///
    /// # Shapes
    /// - `input.wave`: `[batch, samples]`; `input.padding_mask` `[batch, samples]` (`true` =
    ///   padded, right padding)
    /// - output: see [`SslOutput`]
    fn forward_until(&self, input: SslInput, k: usize) -> SslOutput;

    /// Frames given for `samples` valid samples (0 below the receptive field).
    fn num_frames(&self, samples: usize) -> usize;

    /// Number of hidden states, `L + 1`.
    fn num_hidden_states(&self) -> usize;

    /// Width of the hidden states.
    fn hidden_size(&self) -> usize;

    /// Whether every row of a padded batch gets, on its valid frames, the hidden states of
    /// running it alone (true for layer-norm conv extractors and Fbank front-ends, false for
    /// group-norm extractors).
    fn padding_invariant(&self) -> bool;
}

impl Backbone for SslModel {
    fn forward_until(&self, input: SslInput, k: usize) -> SslOutput {
        SslModel::forward_until(self, input, k)
    }

    fn num_frames(&self, samples: usize) -> usize {
        SslModel::num_frames(self, samples)
    }

    fn num_hidden_states(&self) -> usize {
        self.num_layers() + 1
    }

    fn hidden_size(&self) -> usize {
        self.feature_projection.projection.weight.dims()[1]
    }

    fn padding_invariant(&self) -> bool {
        !self
            .feature_extractor
            .conv_layers
            .iter()
            .any(|l| matches!(l.layer_norm, Some(ConvNorm::Group(_))))
    }
}

/// The features of one utterance: its valid frames only.
#[derive(Debug, Clone)]
pub struct Features {
    /// Valid frames.
    pub frames: usize,
    /// The front-end's output `[frames, conv_dim]` ([`SslOutput::cnn_features`]).
    pub cnn_features: Tensor<2>,
    /// One `[frames, hidden]` tensor per hidden state of [`Extractor::layers`], in that order.
    pub hidden_states: Vec<Tensor<2>>,
}

impl Features {
    /// Each hidden state's mean over the frames, `[hidden]` each.
    pub fn mean(&self) -> Vec<Tensor<1>> {
        self.hidden_states
            .iter()
            .map(|h| {
                let d = h.dims()[1];
                h.clone().mean_dim(0).reshape([d])
            })
            .collect()
    }

    /// `Σ_i weights[i] · hidden_states[i]`, `[frames, hidden]` (SUPERB's weighted sum with its
    /// weights given, e.g. a probe's softmaxed `layer_weights`).
    ///
    /// # Panics
    /// If `weights` and `hidden_states` differ in length, or there are no hidden states.
    pub fn weighted_sum(&self, weights: &[f32]) -> Tensor<2> {
        assert_eq!(
            weights.len(),
            self.hidden_states.len(),
            "{} weights for {} hidden states",
            weights.len(),
            self.hidden_states.len()
        );
        self.hidden_states
            .iter()
            .zip(weights)
            .map(|(h, &w)| h.clone() * w)
            .reduce(|a, b| a + b)
            .expect("at least one hidden state")
    }
}

/// Hidden states of whole utterances from a [`Backbone`], with the checkpoint's preprocessing
/// (see the module docs): normalisation, length-sorted batches, padding only where exact.
///
/// ```
/// use burn::tensor::Device;
/// use ssl_distill_models::{Extractor, Preprocessor, SslConfig};
///
/// let device = Device::flex();
/// device.seed(0);
/// let model = SslConfig::tiny().init(&device); // 2 layers, 32 wide, group-norm extractor
/// let pre = Preprocessor { do_normalize: true, ..Preprocessor::default() };
/// let long: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.01).sin() * 0.3).collect();
/// let short = vec![0.05f32; 4000];
/// let extractor = Extractor::new(&model, pre).with_layers(&[0, 2])?;
/// let features = extractor.extract(&[&long, &short], &device)?;
/// // Valid frames only: floor((samples - 400) / 320) + 1.
/// assert_eq!(features[0].frames, 24);
/// assert_eq!(features[1].hidden_states[1].dims(), [12, 32]);
/// // The same as running the normalised utterance alone.
/// let mut alone = short.clone();
/// ssl_distill_audio::normalize(&mut alone);
/// let input = burn::tensor::Tensor::<2>::from_data(
///     burn::tensor::TensorData::new(alone, [1, 4000]),
///     &device,
/// );
/// let want = model.forward(ssl_distill_models::SslInput::new(input)).hidden_states[2].clone();
/// let got = features[1].hidden_states[1].clone().unsqueeze_dim::<3>(0);
/// assert!((got - want).abs().max().into_scalar::<f32>() < 1e-5);
/// # Ok::<(), ssl_distill_models::ExtractError>(())
/// ```
pub struct Extractor<'m, M: Backbone + ?Sized> {
    model: &'m M,
    preprocessor: Preprocessor,
    layers: Vec<usize>,
    batch_size: usize,
}

impl<M: Backbone + ?Sized> std::fmt::Debug for Extractor<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractor")
            .field("preprocessor", &self.preprocessor)
            .field("layers", &self.layers)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl<'m, M: Backbone + ?Sized> Extractor<'m, M> {
    /// Every hidden state of `model`, in batches of 8, preprocessed as `preprocessor` says
    /// (read it with [`Preprocessor::read`], or take [`crate::Checkpoint::preprocessor`]).
    pub fn new(model: &'m M, preprocessor: Preprocessor) -> Self {
        Self {
            layers: (0..model.num_hidden_states()).collect(),
            model,
            preprocessor,
            batch_size: 8,
        }
    }

    /// Keeps only the hidden states `layers` (HF indices, 0 = transformer input; sorted and
    /// deduplicated); the model stops after the deepest one.
    ///
    /// # Errors
    /// [`ExtractError::NoLayers`] for an empty list, [`ExtractError::Layer`] for an index past
    /// the model's last hidden state.
    pub fn with_layers(mut self, layers: &[usize]) -> Result<Self, ExtractError> {
        let available = self.model.num_hidden_states();
        if let Some(&layer) = layers.iter().find(|&&l| l >= available) {
            return Err(ExtractError::Layer { layer, available });
        }
        if layers.is_empty() {
            return Err(ExtractError::NoLayers);
        }
        self.layers = layers.to_vec();
        self.layers.sort_unstable();
        self.layers.dedup();
        Ok(self)
    }

    /// At most `batch_size` utterances per forward pass.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        assert!(batch_size > 0, "the batch size must be at least 1");
        self.batch_size = batch_size;
        self
    }

    /// The hidden states kept (HF indices, ascending).
    pub fn layers(&self) -> &[usize] {
        &self.layers
    }

    /// The preprocessing applied.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.preprocessor
    }

    /// The forward passes for utterances of `lengths` samples: indices into `lengths`, sorted
    /// by length (longest first, ties in input order), at most the batch size per pass; for a
    /// model that is not [`Backbone::padding_invariant`], a pass holds only equal lengths.
    pub fn batches(&self, lengths: &[usize]) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        order.sort_by_key(|&i| Reverse(lengths[i]));
        if self.model.padding_invariant() {
            return order.chunks(self.batch_size).map(<[_]>::to_vec).collect();
        }
        order
            .chunk_by(|&a, &b| lengths[a] == lengths[b])
            .flat_map(|run| run.chunks(self.batch_size).map(<[_]>::to_vec))
            .collect()
    }

    /// The features of each of `waves` (mono, at the preprocessor's `sampling_rate`, not yet
    /// normalised), in input order, computed on `device` (the model's).
    ///
    /// # Errors
    /// [`ExtractError::TooShort`] (naming the utterance's position) when an utterance gives no
    /// frame; nothing is computed then.
    pub fn extract(
        &self,
        waves: &[&[f32]],
        device: &Device,
    ) -> Result<Vec<Features>, ExtractError> {
        let lengths: Vec<usize> = waves.iter().map(|w| w.len()).collect();
        if let Some(index) = lengths.iter().position(|&n| self.model.num_frames(n) == 0) {
            return Err(ExtractError::TooShort {
                index,
                samples: lengths[index],
            });
        }
        let mut out: Vec<Option<Features>> = (0..waves.len()).map(|_| None).collect();
        for batch in self.batches(&lengths) {
            let rows: Vec<&[f32]> = batch.iter().map(|&i| waves[i]).collect();
            for (i, features) in batch.into_iter().zip(self.run(&rows, device)) {
                out[i] = Some(features);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// One forward pass over `rows` (each long enough for a frame), padded if they differ.
    fn run(&self, rows: &[&[f32]], device: &Device) -> Vec<Features> {
        let batch = rows.len();
        let max_len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut wave = vec![0.0f32; batch * max_len];
        let mut mask = vec![true; batch * max_len];
        for (r, row) in rows.iter().enumerate() {
            let span = r * max_len..r * max_len + row.len();
            wave[span.clone()].copy_from_slice(row);
            if self.preprocessor.do_normalize {
                ssl_distill_audio::normalize(&mut wave[span.clone()]);
            }
            mask[span].fill(false);
        }
        let shape = [batch, max_len];
        let mut input = SslInput::new(Tensor::from_data(TensorData::new(wave, shape), device));
        if rows.iter().any(|r| r.len() != max_len) {
            input = input.with_padding_mask(Tensor::<2, Bool>::from_data(
                TensorData::new(mask, shape),
                device,
            ));
        }
        let deepest = self.layers.last().copied().unwrap_or(0);
        let out = self.model.forward_until(input, deepest);
        let cut = |x: &Tensor<3>, r: usize, frames: usize| {
            let d = x.dims()[2];
            x.clone()
                .narrow(0, r, 1)
                .narrow(1, 0, frames)
                .reshape([frames, d])
        };
        rows.iter()
            .enumerate()
            .map(|(r, row)| {
                let frames = self.model.num_frames(row.len());
                Features {
                    frames,
                    cnn_features: cut(&out.cnn_features, r, frames),
                    hidden_states: self
                        .layers
                        .iter()
                        .map(|&l| cut(&out.hidden_states[l], r, frames))
                        .collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FeatExtractNorm, SslConfig};

    fn wave(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * (seed + 3)) as f32 * 0.013).sin() * 0.2 + 0.05 * seed as f32)
            .collect()
    }

    /// One utterance alone, normalised by hand, through `SslModel::forward`.
    fn alone(model: &SslModel, samples: &[f32], normalize: bool, device: &Device) -> SslOutput {
        let mut w = samples.to_vec();
        if normalize {
            ssl_distill_audio::normalize(&mut w);
        }
        let len = w.len();
        model.forward(SslInput::new(Tensor::from_data(
            TensorData::new(w, [1, len]),
            device,
        )))
    }

    fn max_diff(a: &Tensor<2>, b: Tensor<3>) -> f32 {
        let d = b.dims();
        (a.clone() - b.reshape([d[1], d[2]]))
            .abs()
            .max()
            .into_scalar()
    }

    /// Batched extraction of unequal lengths equals each utterance run alone, for a layer-norm
    /// extractor (padded batches) and a group-norm one (equal-length batches only), with and
    /// without normalisation; outputs come back in input order.
    #[test]
    fn batched_extraction_equals_one_by_one() {
        let device = Device::flex();
        for norm in [FeatExtractNorm::Layer, FeatExtractNorm::Group] {
            device.seed(5);
            let config = SslConfig {
                feat_extract_norm: norm,
                conv_bias: norm == FeatExtractNorm::Layer,
                ..SslConfig::tiny()
            };
            let model = config.init(&device);
            let lengths = [4000, 6400, 4000, 9000, 401, 6400, 4000];
            let waves: Vec<Vec<f32>> = lengths
                .iter()
                .enumerate()
                .map(|(i, &n)| wave(n, i))
                .collect();
            let refs: Vec<&[f32]> = waves.iter().map(Vec::as_slice).collect();
            for do_normalize in [false, true] {
                let pre = Preprocessor {
                    do_normalize,
                    ..Preprocessor::default()
                };
                let extractor = Extractor::new(&model, pre).with_batch_size(3);
                let got = extractor.extract(&refs, &device).unwrap();
                assert_eq!(got.len(), waves.len());
                for (w, f) in waves.iter().zip(&got) {
                    let want = alone(&model, w, do_normalize, &device);
                    assert_eq!(f.frames, model.num_frames(w.len()));
                    assert_eq!(f.hidden_states.len(), 3);
                    for (h, wh) in f.hidden_states.iter().zip(want.hidden_states) {
                        let d = max_diff(h, wh);
                        assert!(d < 1e-5, "{norm:?} normalize={do_normalize}: {d}");
                    }
                    let d = max_diff(&f.cnn_features, want.cnn_features);
                    assert!(d < 1e-5, "{norm:?} cnn: {d}");
                }
            }
        }
    }

    /// The batch plan: longest first, at most the batch size, equal lengths only for a
    /// group-norm extractor.
    #[test]
    fn batches_pad_only_padding_invariant_models() {
        let device = Device::flex();
        let lengths = [500, 900, 500, 700, 500, 900];
        let layer = SslConfig {
            feat_extract_norm: FeatExtractNorm::Layer,
            ..SslConfig::tiny()
        }
        .init(&device);
        assert!(Backbone::padding_invariant(&layer));
        let plan = Extractor::new(&layer, Preprocessor::default())
            .with_batch_size(4)
            .batches(&lengths);
        assert_eq!(plan, vec![vec![1, 5, 3, 0], vec![2, 4]]);
        let group = SslConfig::tiny().init(&device);
        assert!(!Backbone::padding_invariant(&group));
        let plan = Extractor::new(&group, Preprocessor::default())
            .with_batch_size(2)
            .batches(&lengths);
        assert_eq!(plan, vec![vec![1, 5], vec![3], vec![0, 2], vec![4]]);
    }

    /// A padded batch of a group-norm model would not be exact: the reason for the plan above.
    #[test]
    fn group_norm_padding_changes_the_features() {
        let device = Device::flex();
        device.seed(2);
        let model = SslConfig::tiny().init(&device);
        let short = wave(4000, 1);
        let mut padded = short.clone();
        padded.resize(8000, 0.0);
        let mut mask = vec![false; 4000];
        mask.resize(8000, true);
        let out = model.forward(
            SslInput::new(Tensor::from_data(
                TensorData::new(padded, [1, 8000]),
                &device,
            ))
            .with_padding_mask(Tensor::from_data(TensorData::new(mask, [1, 8000]), &device)),
        );
        let frames = model.num_frames(4000);
        let cut = out.hidden_states[2].clone().narrow(1, 0, frames);
        let want = alone(&model, &short, false, &device).hidden_states[2].clone();
        let d: f32 = (cut - want).abs().max().into_scalar();
        assert!(d > 1e-3, "padding changed nothing ({d})");
    }

    #[test]
    fn layer_subsets_pooling_and_weighted_sums() {
        let device = Device::flex();
        device.seed(9);
        let model = SslConfig::tiny().init(&device);
        let w = wave(6000, 2);
        let all = Extractor::new(&model, Preprocessor::default())
            .extract(&[&w], &device)
            .unwrap()
            .remove(0);
        let some = Extractor::new(&model, Preprocessor::default())
            .with_layers(&[2, 0, 2])
            .unwrap();
        assert_eq!(some.layers(), [0, 2]);
        let part = some.extract(&[&w], &device).unwrap().remove(0);
        for (a, b) in part.hidden_states.iter().zip([0, 2]) {
            let d: f32 = (a.clone() - all.hidden_states[b].clone())
                .abs()
                .max()
                .into_scalar();
            assert_eq!(d, 0.0);
        }
        let means = all.mean();
        let h: Vec<f32> = all.hidden_states[1]
            .clone()
            .try_into_vec_as::<f32>()
            .unwrap();
        let m: Vec<f32> = means[1].clone().try_into_vec_as::<f32>().unwrap();
        for (j, &got) in m.iter().enumerate() {
            let want = h.iter().skip(j).step_by(32).sum::<f32>() / all.frames as f32;
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        let sum = all.weighted_sum(&[0.5, 0.0, 0.25]);
        let want = all.hidden_states[0].clone() * 0.5 + all.hidden_states[2].clone() * 0.25;
        let d: f32 = (sum - want).abs().max().into_scalar();
        assert!(d < 1e-6, "{d}");
    }

    #[test]
    fn errors_name_the_utterance_and_the_layer() {
        let device = Device::flex();
        let model = SslConfig::tiny().init(&device);
        let extractor = Extractor::new(&model, Preprocessor::default());
        let (ok, short) = (vec![0.1f32; 800], vec![0.1f32; 399]);
        let err = extractor.extract(&[&ok, &short], &device).unwrap_err();
        assert!(matches!(
            err,
            ExtractError::TooShort {
                index: 1,
                samples: 399
            }
        ));
        let err = Extractor::new(&model, Preprocessor::default())
            .with_layers(&[1, 3])
            .unwrap_err();
        assert!(err.to_string().contains("0..=2"), "{err}");
        assert!(matches!(
            Extractor::new(&model, Preprocessor::default()).with_layers(&[]),
            Err(ExtractError::NoLayers)
        ));
        assert!(extractor.extract(&[], &device).unwrap().is_empty());
    }
}
