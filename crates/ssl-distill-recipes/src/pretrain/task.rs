//! The masked-prediction step: [`HubertPretrainModel`] (model + HuBERT head, the train crate's
//! `StepModel`) and [`PretrainStream`] (audio batches with units and span masks, its
//! `DataSource`).
//!
//! HuBERT (Hsu et al. 2021, arXiv:2106.07447, §III): the CNN features of masked frames are
//! replaced by a learned embedding, and the model predicts every masked frame's unit through
//! `logits_c = cos(final_proj(h), e_c) / τ` over all codewords, with cross-entropy. fairseq's
//! `HubertModel` (`examples/hubert`, `models/hubert/hubert.py`) with `untie_final_proj = false`
//! and one label set, and its `hubert` criterion: masked-frame cross-entropy (mean over
//! masked frames) + `pred_nomask_weight` × unmasked-frame cross-entropy + 10 × the feature
//! penalty `mean(cnn²)` (computed after the gradient multiplier, as fairseq). Not here:
//! dropout / layer drop (the models crate's layers have none), fairseq's `skip_masked`
//! variants and multiple label sets.

use std::sync::Arc;

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use ssl_distill_audio::{AudioDataset, Batch, LoaderConfig};
use ssl_distill_models::{SslConfig, SslInput, SslModel, StateTensor};
use ssl_distill_students::grad_mult;
use ssl_distill_train::{BoxError, StepModel, StepOutput};

use crate::data::{BatchMaker, BatchStream};
use crate::pretrain::masking::MaskingConfig;
use crate::pretrain::recipe::ObjectiveConfig;
use crate::pretrain::units::Units;

/// One batch of masked prediction, on the training device.
#[derive(Debug, Clone)]
pub struct PretrainBatch {
    /// Waveforms `[batch, samples]`, their sample padding mask when a row is padded, and the
    /// time mask `[batch, frames]` (`true` = replaced by `masked_spec_embed`).
    pub input: SslInput,
    /// Padded frames `[batch, frames]` (`true` = padded); `None` when no row is padded.
    pub frame_padding: Option<Tensor<2, Bool>>,
    /// The unit of every frame `[batch, frames]` (0 on padded frames).
    pub labels: Tensor<2, Int>,
    /// 1 on masked valid frames, 0 elsewhere `[batch, frames]`.
    pub masked: Tensor<2>,
    /// 1 on unmasked valid frames, 0 elsewhere `[batch, frames]`.
    pub unmasked: Tensor<2>,
    /// Seconds of audio in the batch.
    pub seconds: f64,
}

/// A HuBERT being pretrained: the model, `final_proj` and the codeword embeddings.
#[derive(Module, Debug)]
pub struct HubertPretrainModel {
    /// The model (exported as an HF `HubertModel`).
    pub model: SslModel,
    /// `final_proj`: hidden → `final_dim`.
    pub final_proj: Linear,
    /// `label_embs_concat` `[units, final_dim]`.
    pub label_embs_concat: Param<Tensor<2>>,
    /// The loss settings (not a parameter).
    #[module(skip)]
    pub objective: ObjectiveConfig,
}

impl HubertPretrainModel {
    /// A random model of `config` with a head for `units` codewords of `final_dim` values: the
    /// CNN drawn with fairseq's `kaiming_normal_` (see
    /// [`FeatureExtractor::with_kaiming_normal`]), `final_proj` as burn's `Linear` init,
    /// `label_embs_concat` uniform in [0, 1) as fairseq (`nn.init.uniform_`). Draws from
    /// `device`'s RNG (seed it first for reproducibility).
    ///
    /// [`FeatureExtractor::with_kaiming_normal`]: ssl_distill_models::nn::feature_extractor::FeatureExtractor::with_kaiming_normal
    pub fn init(
        config: &SslConfig,
        final_dim: usize,
        units: usize,
        objective: ObjectiveConfig,
        device: &Device,
    ) -> Self {
        Self {
            model: {
                let mut model = config.init(device);
                model.feature_extractor = model.feature_extractor.with_kaiming_normal(device);
                model
            },
            final_proj: LinearConfig::new(config.hidden_size, final_dim).init(device),
            label_embs_concat: Param::from_tensor(Tensor::random(
                [units, final_dim],
                Distribution::Uniform(0.0, 1.0),
                device,
            )),
            objective,
        }
    }

    /// The head as HF/fairseq tensors: `final_proj.weight` `[final_dim, hidden]` (PyTorch
    /// layout), `final_proj.bias`, `label_embs_concat`.
    pub fn head_state(&self) -> [(&'static str, StateTensor); 3] {
        let bias = self
            .final_proj
            .bias
            .as_ref()
            .expect("burn's Linear has a bias by default")
            .val();
        [
            (
                "final_proj.weight",
                StateTensor::from_tensor(self.final_proj.weight.val().transpose()),
            ),
            ("final_proj.bias", StateTensor::from_tensor(bias)),
            (
                "label_embs_concat",
                StateTensor::from_tensor(self.label_embs_concat.val()),
            ),
        ]
    }

    /// `cos(final_proj(h), e_c) / τ` for every codeword.
    ///
    /// # Shapes
    /// - `h`: `[batch, frames, hidden]`
    /// - output: `[batch, frames, units]`
    pub fn logits(&self, h: Tensor<3>) -> Tensor<3> {
        let x = self.final_proj.forward(h);
        let e = self.label_embs_concat.val();
        let [units, _] = e.dims();
        let x_norm = x.clone().powi_scalar(2).sum_dim(2).sqrt(); // [B, T, 1]
        let e_norm = e
            .clone()
            .powi_scalar(2)
            .sum_dim(1)
            .sqrt()
            .reshape([1, 1, units]);
        let dots = x.matmul(e.transpose().unsqueeze_dim(0)); // [B, T, C]
        // torch.cosine_similarity: x·y / max(‖x‖‖y‖, 1e-8)
        dots / (x_norm * e_norm).clamp_min(1e-8) / self.objective.logit_temp
    }

    /// Runs the model on a masked batch: the logits and the feature penalty.
    pub fn forward(&self, batch: &PretrainBatch) -> (Tensor<3>, Tensor<1>) {
        let cnn = self
            .model
            .feature_extractor
            .forward(batch.input.wave.clone());
        let cnn = grad_mult(cnn, self.objective.feature_grad_mult);
        let penalty = cnn.clone().powi_scalar(2).mean();
        let mut x = self.model.feature_projection.forward(cnn);
        if let Some(mask) = &batch.input.time_mask {
            x = self.model.mask_time(x, mask);
        }
        let out = self
            .model
            .encoder
            .forward_until(x, batch.frame_padding.as_ref(), usize::MAX);
        let h = out.last_hidden_state.expect("every layer ran");
        (self.logits(h), penalty)
    }

    /// The loss of a batch and its parts: `masked_ce`, `masked_acc` (share of masked frames
    /// whose most likely codeword is the label), `unmasked_ce` (also when its weight is 0, for
    /// the log), `feature_pen`, `masked_frac` (share of valid frames masked).
    pub fn objective(&self, batch: &PretrainBatch) -> StepOutput {
        let (logits, penalty) = self.forward(batch);
        let [b, t, _] = logits.dims();
        let labels = batch.labels.clone().reshape([b, t, 1]);
        let nll = log_softmax(logits.clone(), 2)
            .gather(2, labels.clone())
            .reshape([b, t])
            .neg();
        let mean_over = |w: &Tensor<2>, v: Tensor<2>| -> Tensor<1> {
            (v * w.clone()).sum() / w.clone().sum().clamp_min(1.0)
        };
        let masked_ce = mean_over(&batch.masked, nll.clone());
        let unmasked_ce = mean_over(&batch.unmasked, nll);
        let o = &self.objective;
        let mut loss = masked_ce.clone() + penalty.clone().mul_scalar(o.feature_penalty);
        if o.unmasked_weight > 0.0 {
            loss = loss + unmasked_ce.clone().mul_scalar(o.unmasked_weight);
        }
        let hits = logits
            .detach()
            .argmax(2)
            .equal(labels)
            .float()
            .reshape([b, t]);
        let masked_acc = mean_over(&batch.masked, hits);
        let valid = batch.masked.clone().sum() + batch.unmasked.clone().sum();
        let masked_frac = batch.masked.clone().sum() / valid.clamp_min(1.0);
        StepOutput {
            loss,
            terms: vec![
                ("masked_ce".into(), masked_ce.detach()),
                ("masked_acc".into(), masked_acc),
                ("unmasked_ce".into(), unmasked_ce.detach()),
                ("feature_pen".into(), penalty.detach()),
                ("masked_frac".into(), masked_frac.detach()),
            ],
        }
    }
}

impl StepModel for HubertPretrainModel {
    type Batch = PretrainBatch;

    fn loss(&self, batch: &PretrainBatch) -> StepOutput {
        self.objective(batch)
    }
}

/// Turns a loader batch into a [`PretrainBatch`] on `device`: units of every frame (from the
/// cropped waveforms), span masks drawn from `rng`, frame padding.
///
/// # Errors
/// Unit features of a row could not be computed.
pub fn pretrain_batch(
    batch: &Batch,
    config: &SslConfig,
    units: &Units,
    masking: &MaskingConfig,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<PretrainBatch, crate::RecipeError> {
    let (b, frames) = (batch.batch_size, config.num_frames(batch.max_len));
    let (labels, valid) = units.label(batch, frames)?;
    for (r, &v) in valid.iter().enumerate() {
        assert_eq!(
            v,
            config.num_frames(batch.lengths[r]),
            "row {r}: unit frames must equal model frames"
        );
    }
    let mask = masking.compute(&valid, frames, rng);
    let mut masked = vec![0f32; b * frames];
    let mut unmasked = vec![0f32; b * frames];
    let mut padding = vec![false; b * frames];
    for (r, &v) in valid.iter().enumerate() {
        for t in 0..frames {
            let i = r * frames + t;
            if t >= v {
                padding[i] = true;
            } else if mask[i] {
                masked[i] = 1.0;
            } else {
                unmasked[i] = 1.0;
            }
        }
    }
    let padded = batch.lengths.iter().any(|&l| l < batch.max_len);
    let (wave, sample_mask) = batch.to_tensors(device);
    let shape = [b, frames];
    let mut input =
        SslInput::new(wave).with_time_mask(Tensor::from_data(TensorData::new(mask, shape), device));
    if padded {
        input = input.with_padding_mask(sample_mask);
    }
    Ok(PretrainBatch {
        input,
        frame_padding: padded.then(|| Tensor::from_data(TensorData::new(padding, shape), device)),
        labels: Tensor::from_data(TensorData::new(labels, shape), device),
        masked: Tensor::from_data(TensorData::new(masked, shape), device),
        unmasked: Tensor::from_data(TensorData::new(unmasked, shape), device),
        seconds: batch.lengths.iter().sum::<usize>() as f64
            / f64::from(ssl_distill_audio::SAMPLE_RATE),
    })
}

/// What turns audio batches into [`PretrainBatch`]es: the model's frame rule, the units and
/// the masking.
#[derive(Debug)]
pub struct PretrainLabels {
    config: SslConfig,
    units: Arc<Units>,
    masking: MaskingConfig,
}

impl BatchMaker for PretrainLabels {
    type Batch = PretrainBatch;

    fn make(
        &self,
        audio: &Batch,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<PretrainBatch, BoxError> {
        Ok(pretrain_batch(
            audio,
            &self.config,
            &self.units,
            &self.masking,
            rng,
            device,
        )?)
    }

    fn seconds(batch: &PretrainBatch) -> f64 {
        batch.seconds
    }
}

/// A resumable stream of [`PretrainBatch`]es: the audio crate's [`Loader`] (exact position in
/// a seeded epoch order) plus units and masks (drawn from the loop's checkpointed RNG).
pub type PretrainStream = BatchStream<PretrainLabels>;

impl PretrainStream {
    /// A stream from the start of `dataset` for a model of `config`.
    pub fn new(
        dataset: Arc<AudioDataset>,
        loader_config: LoaderConfig,
        config: SslConfig,
        units: Arc<Units>,
        masking: MaskingConfig,
        train_device: Device,
    ) -> Self {
        let labels = PretrainLabels {
            config,
            units,
            masking,
        };
        Self::with_maker(dataset, loader_config, labels, train_device)
    }
}
