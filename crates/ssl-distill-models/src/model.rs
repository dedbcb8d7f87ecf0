//! [`SslModel`]: HuBERT, wav2vec 2.0 (encoder) and WavLM as one module, built from an
//! [`SslConfig`].
//!
//! Papers: HuBERT (Hsu et al. 2021, arXiv:2106.07447), wav2vec 2.0 (Baevski et al. 2020,
//! arXiv:2006.11477), WavLM (Chen et al. 2022, arXiv:2110.13900). Follows HF transformers'
//! `HubertModel`, `Wav2Vec2Model` and `WavLMModel` (5.x) module for module.

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::config::{ModelKind, SslConfig};
use crate::encoder::{Encoder, EncoderConfig};
use crate::nn::feature_extractor::{FeatureExtractor, FeatureExtractorConfig};
use crate::nn::feature_projection::{FeatureProjection, FeatureProjectionConfig};

/// Input of [`SslModel::forward`].
#[derive(Debug, Clone)]
pub struct SslInput {
    /// Waveforms `[batch, samples]` (floats in [-1, 1], or normalized per utterance when the
    /// checkpoint's feature extractor says `do_normalize`).
    pub wave: Tensor<2>,
    /// Padded samples `[batch, samples]`, `true` = padding (HF's `attention_mask` negated).
    ///
    /// As in HF: a frame is valid iff `t < frames(valid samples)`; padded frames are zeroed
    /// before the positional conv and masked as attention keys. With a layer-norm extractor
    /// (Large models) each item then gets, on its valid frames, the hidden states of running it
    /// alone (tested to 1e-5). With a group-norm extractor (Base models) it does not, in the
    /// reference either: conv layer 0's GroupNorm normalises each channel over the whole padded
    /// length, so padding changes every frame (a tiny HuBERT differs by up to ~1.4 from its
    /// unpadded run, in transformers and here alike; the `hubert_tiny_group_padded` fixture).
    /// HF's advice for those models is to pad with zeros and pass no mask; batch equal lengths
    /// when exactness matters.
    pub padding_mask: Option<Tensor<2, Bool>>,
    /// Frames to mask `[batch, frames]` (`true` = masked), HF's `mask_time_indices`: the
    /// projected features of those frames are replaced by the learned `masked_spec_embed`
    /// before the positional conv and the encoder, as HF's `_mask_hidden_states` and fairseq's
    /// `apply_mask` do in HuBERT / wav2vec 2.0 pretraining. See [`SslModel::mask_time`].
    pub time_mask: Option<Tensor<2, Bool>>,
}

impl SslInput {
    /// An unpadded batch.
    pub fn new(wave: Tensor<2>) -> Self {
        Self {
            wave,
            padding_mask: None,
            time_mask: None,
        }
    }

    /// With a sample-level padding mask (`true` = padded).
    pub fn with_padding_mask(mut self, mask: Tensor<2, Bool>) -> Self {
        self.padding_mask = Some(mask);
        self
    }

    /// With frames to mask (`[batch, frames]`, `true` = replaced by `masked_spec_embed`).
    pub fn with_time_mask(mut self, mask: Tensor<2, Bool>) -> Self {
        self.time_mask = Some(mask);
        self
    }
}

/// Output of [`SslModel::forward`].
#[derive(Debug, Clone)]
pub struct SslOutput {
    /// The conv extractor's output `[batch, frames, conv_dim]`, before the feature projection's
    /// LayerNorm.
    pub cnn_features: Tensor<3>,
    /// `L + 1` tensors `[batch, frames, hidden]` exactly as HF's `output_hidden_states=True`
    /// (fewer after [`SslModel::forward_until`]).
    pub hidden_states: Vec<Tensor<3>>,
    /// The encoder output (equal to the last hidden state for post-LN models, its LayerNorm for
    /// pre-LN models); `None` after [`SslModel::forward_until`] stopped early.
    pub last_hidden_state: Option<Tensor<3>>,
    /// Padded frames `[batch, frames]` (`true` = padded), when the input had a mask.
    pub frame_mask: Option<Tensor<2, Bool>>,
}

/// HuBERT / wav2vec 2.0 / WavLM (HF `HubertModel`, `Wav2Vec2Model`, `WavLMModel`).
#[derive(Module, Debug)]
pub struct SslModel {
    /// Conv waveform encoder (HF `feature_extractor`).
    pub feature_extractor: FeatureExtractor,
    /// LayerNorm + Linear to the model width (HF `feature_projection`).
    pub feature_projection: FeatureProjection,
    /// Transformer encoder (HF `encoder`).
    pub encoder: Encoder,
    /// The mask embedding of masked prediction and SpecAugment-style masking in training (HF
    /// `masked_spec_embed`); `forward` uses it only when [`SslInput::time_mask`] is given.
    pub masked_spec_embed: Option<Param<Tensor<1>>>,
}

impl SslConfig {
    /// A randomly initialised model of this architecture.
    ///
    /// # Panics
    /// If the config is invalid (see [`SslConfig::validate`]).
    pub fn init(&self, device: &Device) -> SslModel {
        if let Err(reason) = self.validate() {
            panic!("invalid SslConfig: {reason}");
        }
        let conv_out = *self.conv_dim.last().expect("validated: non-empty");
        SslModel {
            feature_extractor: FeatureExtractorConfig::new(
                self.conv_dim.clone(),
                self.conv_kernel.clone(),
                self.conv_stride.clone(),
            )
            .with_norm(self.feat_extract_norm)
            .with_conv_bias(self.conv_bias)
            .init(device),
            feature_projection: FeatureProjectionConfig::new(conv_out, self.hidden_size)
                .with_layer_norm(self.feat_proj_layer_norm)
                .with_layer_norm_eps(self.layer_norm_eps)
                .init(device),
            encoder: EncoderConfig::new(
                self.hidden_size,
                self.num_hidden_layers,
                self.num_attention_heads,
                self.intermediate_size,
            )
            .with_pos_conv_kernel(self.num_conv_pos_embeddings)
            .with_pos_conv_groups(self.num_conv_pos_embedding_groups)
            .with_pre_ln(self.do_stable_layer_norm)
            .with_layer_norm_eps(self.layer_norm_eps)
            .with_rel_pos_bias(self.kind == ModelKind::Wavlm)
            .with_num_buckets(self.num_buckets)
            .with_max_bucket_distance(self.max_bucket_distance)
            .init(device),
            masked_spec_embed: self.has_masked_spec_embed().then(|| {
                Param::from_tensor(Tensor::random(
                    [self.hidden_size],
                    burn::tensor::Distribution::Uniform(0.0, 1.0),
                    device,
                ))
            }),
        }
    }
}

impl SslModel {
    /// Number of transformer layers.
    pub fn num_layers(&self) -> usize {
        self.encoder.layers.len()
    }

    /// Runs the whole model.
    ///
    /// # Shapes
    /// - `input.wave`: `[batch, samples]`, at least one receptive field (400 samples)
    /// - output: see [`SslOutput`]
    pub fn forward(&self, input: SslInput) -> SslOutput {
        self.forward_until(input, usize::MAX)
    }

    /// Runs the model up to and including layer `k` (`hidden_states` has `k + 1` entries);
    /// a teacher never needs to run past its deepest target layer. `k >= L` runs every layer.
    pub fn forward_until(&self, input: SslInput, k: usize) -> SslOutput {
        let cnn_features = self.feature_extractor.forward(input.wave);
        let frame_mask = input
            .padding_mask
            .map(|mask| self.frame_mask(&mask, cnn_features.dims()[1]));
        let mut projected = self.feature_projection.forward(cnn_features.clone());
        if let Some(mask) = &input.time_mask {
            projected = self.mask_time(projected, mask);
        }
        let out = self
            .encoder
            .forward_until(projected, frame_mask.as_ref(), k);
        SslOutput {
            cnn_features,
            hidden_states: out.hidden_states,
            last_hidden_state: out.last_hidden_state,
            frame_mask,
        }
    }

    /// Replaces the frames of `projected` marked in `mask` by `masked_spec_embed` (HF
    /// `_mask_hidden_states` with `mask_time_indices`; fairseq `x[mask_indices] = mask_emb`).
    ///
    /// # Shapes
    /// - `projected`: the feature projection's output `[batch, frames, hidden]`
    /// - `mask`: `[batch, frames]`, `true` = masked
    ///
    /// # Panics
    /// If the model has no `masked_spec_embed` (a config with `mask_time_prob` and
    /// `mask_feature_prob` both 0, as HF) or the mask's shape is not `[batch, frames]`.
    pub fn mask_time(&self, projected: Tensor<3>, mask: &Tensor<2, Bool>) -> Tensor<3> {
        let embed = self.masked_spec_embed.as_ref().expect(
            "time masking needs `masked_spec_embed` (set mask_time_prob > 0 in the config)",
        );
        let [b, t, d] = projected.dims();
        assert_eq!(
            mask.dims(),
            [b, t],
            "time mask {:?} for features [{b}, {t}, {d}]",
            mask.dims()
        );
        let fill = embed.val().reshape([1, 1, d]).expand([b, t, d]);
        projected.mask_where(mask.clone().reshape([b, t, 1]).expand([b, t, d]), fill)
    }

    /// Frames of the conv extractor for `samples` input samples (0 below the receptive field).
    pub fn num_frames(&self, samples: usize) -> usize {
        let layers = &self.feature_extractor.conv_layers;
        let kernels: Vec<usize> = layers.iter().map(|l| l.conv.kernel_size).collect();
        let strides: Vec<usize> = layers.iter().map(|l| l.conv.stride).collect();
        ssl_distill_audio::conv_output_frames(samples, &kernels, &strides)
    }

    /// The frame-level padding mask of a sample-level one: frame `t` of row `b` is valid iff
    /// `t < num_frames(valid samples of b)`, HF's rule.
    fn frame_mask(&self, sample_mask: &Tensor<2, Bool>, frames: usize) -> Tensor<2, Bool> {
        let [batch, _] = sample_mask.dims();
        let valid = sample_mask.clone().bool_not().int().sum_dim(1).into_data();
        let valid: Vec<i64> = valid.convert::<i64>().try_into_vec().expect("int data");
        let mut mask = Vec::with_capacity(batch * frames);
        for v in valid {
            let n = self.num_frames(v.max(0) as usize);
            mask.extend((0..frames).map(|t| t >= n));
        }
        Tensor::from_data(
            TensorData::new(mask, [batch, frames]),
            &sample_mask.device(),
        )
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Tensor};

    use super::*;
    use crate::config::FeatExtractNorm;

    /// Every family and LayerNorm placement builds from a config and gives HF's output layout.
    #[test]
    fn random_init_gives_hf_output_layout() {
        let device = Device::flex();
        for kind in [ModelKind::Hubert, ModelKind::Wavlm, ModelKind::Wav2vec2] {
            for pre_ln in [false, true] {
                let mut config = SslConfig::tiny();
                config.kind = kind;
                config.do_stable_layer_norm = pre_ln;
                if pre_ln {
                    config.feat_extract_norm = FeatExtractNorm::Layer;
                    config.conv_bias = true;
                }
                let model = config.init(&device);
                assert_eq!(model.num_layers(), 2);
                let wave = Tensor::<2>::random([2, 4000], Distribution::Normal(0.0, 0.1), &device);
                let frames = config.num_frames(4000);
                assert_eq!(model.num_frames(4000), frames);
                let out = model.forward(SslInput::new(wave.clone()));
                assert_eq!(out.cnn_features.dims(), [2, frames, 16]);
                assert_eq!(out.hidden_states.len(), 3);
                for h in &out.hidden_states {
                    assert_eq!(h.dims(), [2, frames, 32]);
                }
                assert!(out.frame_mask.is_none());
                let last = out.last_hidden_state.expect("every layer ran");
                let same: bool = last.equal(out.hidden_states[2].clone()).all().into_scalar();
                // post-LN: the last hidden state is the encoder output; pre-LN: it is not
                // (HF 5.x puts the encoder LayerNorm after the last hidden state).
                assert_eq!(same, !pre_ln, "{kind:?} pre_ln={pre_ln}");
                let part = model.forward_until(SslInput::new(wave), 0);
                assert_eq!(part.hidden_states.len(), 1);
                assert!(part.last_hidden_state.is_none());
            }
        }
    }

    /// A time mask replaces exactly the marked frames of the projected features by
    /// `masked_spec_embed` (HF `_mask_hidden_states`); an all-false mask changes nothing.
    #[test]
    fn time_mask_replaces_projected_frames_by_the_mask_embedding() {
        let device = Device::flex();
        device.seed(3);
        let config = SslConfig {
            mask_time_prob: 0.05,
            ..SslConfig::tiny()
        };
        let model = config.init(&device);
        let wave = Tensor::<2>::random([2, 8000], Distribution::Normal(0.0, 0.1), &device);
        let frames = config.num_frames(8000);
        let mut marks = vec![false; 2 * frames];
        for t in [0, 3, 4, 5, frames - 1] {
            marks[t] = true;
        }
        marks[frames + 7] = true;
        let mask =
            Tensor::<2, Bool>::from_data(TensorData::new(marks.clone(), [2, frames]), &device);
        let masked = model.forward(SslInput::new(wave.clone()).with_time_mask(mask));

        // By hand: project, overwrite the marked rows with the embedding, run the encoder.
        let cnn = model.feature_extractor.forward(wave.clone());
        let projected = model.feature_projection.forward(cnn);
        let mut values: Vec<f32> = projected.try_into_vec_as::<f32>().unwrap();
        let embed: Vec<f32> = model
            .masked_spec_embed
            .as_ref()
            .unwrap()
            .val()
            .try_into_vec_as::<f32>()
            .unwrap();
        for (i, _) in marks.iter().enumerate().filter(|(_, m)| **m) {
            values[i * 32..(i + 1) * 32].copy_from_slice(&embed);
        }
        let by_hand = Tensor::<3>::from_data(TensorData::new(values, [2, frames, 32]), &device);
        let expected = model.encoder.forward_until(by_hand, None, usize::MAX);
        for (a, b) in masked.hidden_states.iter().zip(&expected.hidden_states) {
            let diff: f32 = (a.clone() - b.clone()).abs().max().into_scalar();
            assert_eq!(diff, 0.0);
        }
        let plain = model.forward(SslInput::new(wave.clone()));
        let none = Tensor::<2, Bool>::from_data(
            TensorData::new(vec![false; 2 * frames], [2, frames]),
            &device,
        );
        let unmasked = model.forward(SslInput::new(wave).with_time_mask(none));
        let diff: f32 = (plain.hidden_states[2].clone() - unmasked.hidden_states[2].clone())
            .abs()
            .max()
            .into_scalar();
        assert_eq!(diff, 0.0);
        let changed: f32 = (plain.hidden_states[0].clone() - masked.hidden_states[0].clone())
            .abs()
            .max()
            .into_scalar();
        assert!(changed > 0.0, "the mask changed nothing");
    }

    /// Frame `t` is padded iff `t >= frames(valid samples)`.
    #[test]
    fn frame_mask_follows_the_conv_length_rule() {
        let device = Device::flex();
        let model = SslConfig::tiny().init(&device);
        let mut pad = vec![false; 2 * 16000];
        pad[16000 + 5000..].iter_mut().for_each(|p| *p = true);
        let mask = Tensor::<2, Bool>::from_data(TensorData::new(pad, [2, 16000]), &device);
        let wave = Tensor::<2>::zeros([2, 16000], &device);
        let out = model.forward(SslInput::new(wave).with_padding_mask(mask));
        let frame_mask: Vec<bool> = out.frame_mask.unwrap().into_data().try_into_vec().unwrap();
        assert_eq!(frame_mask.len(), 2 * 49);
        assert_eq!(frame_mask[..49].iter().filter(|p| **p).count(), 0);
        // 5000 samples -> floor((5000 - 400) / 320) + 1 = 15 valid frames
        assert_eq!(frame_mask[49..].iter().filter(|p| !**p).count(), 15);
        assert!(frame_mask[49 + 15..].iter().all(|p| *p));
    }
}
