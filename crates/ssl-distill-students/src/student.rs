//! [`StudentConfig`] → [`Student`]: a front-end (waveform CNN or Fbank subsampler), the
//! feature projection, positional conv and transformer layers of an [`SslModel`], and a head;
//! the paper presets; the forward pass.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use ssl_distill_models::nn::feature_extractor::FeatureExtractor;
use ssl_distill_models::{SslConfig, SslInput, SslModel, SslOutput};

use crate::error::StudentError;
use crate::front_end::{FbankFrontEnd, FrontEndConfig, grad_mult, valid_samples};
use crate::generator::{Generator, GeneratorConfig};
use crate::heads::{
    LayerProjections, LayerProjectionsConfig, PredictionHeads, PredictionHeadsConfig,
};
use crate::prune::{GateMasks, LayerShape, PruneConfig, PruneGates, PruneSetup};

/// How a student turns its hidden states into one prediction per target.
#[derive(Config, Debug, PartialEq)]
pub enum HeadConfig {
    /// DistilHuBERT's prediction heads on the last layer (Chang et al. 2022,
    /// arXiv:2110.01900).
    Prediction {
        /// Number of targets.
        num_targets: usize,
        /// Teacher width.
        d_target: usize,
    },
    /// Layer-to-layer projections, student layer `l_i` → target `i` (Ashihara et al. 2022,
    /// arXiv:2207.06867).
    LayerToLayer {
        /// The student hidden state (HF index, 1 = first layer's output) feeding each target.
        student_layers: Vec<usize>,
        /// Teacher width.
        d_target: usize,
    },
    /// GenDistiller's generator (Gao et al., arXiv:2310.13418 / 2406.09444) started from the backbone's
    /// last hidden state; its width is the backbone's `hidden_size`.
    Generator {
        /// Layers generated: output `k` (0-based) predicts target `k`, normally teacher layer
        /// `k + 1`.
        num_steps: usize,
        /// Teacher width.
        d_target: usize,
        /// Heads of the shared block (must divide `hidden_size`). Not published; 4 × 64 for a
        /// 256-wide generator is typical.
        num_heads: usize,
        /// FFN width of the shared block. Not published; 4 × `hidden_size` is typical.
        d_ff: usize,
        /// Feed the teacher's layer `k` as the history of step `k + 1` when
        /// [`Student::forward_with_teacher`] is given teacher layers. Not published.
        teacher_forcing: bool,
    },
}

/// A student's architecture; written to `student.json` by [`Student::save`].
///
/// Build with a preset or field by field (`StudentConfig { backbone, head, front_end,
/// feature_grad_mult }`, or `StudentConfig::new(backbone, head)` and the `with_*` setters).
#[derive(Config, Debug, PartialEq)]
pub struct StudentConfig {
    /// The backbone in HF field names: the waveform CNN (`conv_dim`, `conv_kernel`,
    /// `conv_stride`, `feat_extract_norm`, `conv_bias`; for an Fbank front-end only
    /// `conv_dim.last()`, the subsampler's output width, and the frame rule are used),
    /// `feat_proj_layer_norm`, positional conv, encoder (`hidden_size`, `num_hidden_layers`,
    /// `num_attention_heads`, `intermediate_size`, `do_stable_layer_norm`...).
    pub backbone: SslConfig,
    /// The head.
    pub head: HeadConfig,
    /// The front-end. Default: [`FrontEndConfig::Cnn`].
    #[config(default = "FrontEndConfig::Cnn")]
    pub front_end: FrontEndConfig,
    /// Gradient multiplier on the front-end's output (fairseq / s3prl `feature_grad_mult`):
    /// forward values unchanged, the gradient reaching the front-end scaled by it, 0 freezes
    /// the front-end (detached). Applies to every loss, including one on
    /// `cnn_features`. Default: 1.0 (DistilHuBERT: 0.1).
    #[config(default = 1.0)]
    pub feature_grad_mult: f64,
    /// Hard-concrete gates on the prunable units (DPHuBERT-style structured pruning); `None`
    /// (the default): no gates.
    #[config(default = "None")]
    pub prune: Option<PruneConfig>,
    /// Per-layer heads and FFN widths of a physically pruned student (one entry per layer);
    /// empty (the default): every layer has `num_attention_heads` and `intermediate_size`.
    #[config(default = "Vec::new()")]
    pub layer_shapes: Vec<LayerShape>,
}

/// A student model.
///
/// For an Fbank student, `backbone.feature_extractor` has no conv layers (no parameters) and
/// the front-end is `fbank`; `backbone.forward` must then not be called (use
/// [`Student::forward`]). A CNN student's backbone exports to HF as a `HubertModel`
/// (`ssl_distill_models::export_hf(&student.backbone, &student.config().backbone, dir)`).
#[derive(Module, Debug)]
pub struct Student {
    /// CNN (empty for Fbank students), feature projection, positional conv, layers.
    pub backbone: SslModel,
    /// The Fbank front-end, for Fbank students.
    pub fbank: Option<FbankFrontEnd>,
    /// Prediction heads, if configured.
    pub prediction_heads: Option<PredictionHeads>,
    /// Layer-to-layer projections, if configured.
    pub projections: Option<LayerProjections>,
    /// GenDistiller's generator, if configured.
    pub generator: Option<Generator>,
    /// Structured-pruning gates, if `config.prune` is set.
    pub gates: Option<PruneGates>,
    /// The architecture (for `save`, the gradient multiplier and teacher forcing).
    #[module(skip)]
    config: StudentConfig,
}

/// A student's forward pass.
#[derive(Debug, Clone)]
pub struct StudentOutput {
    /// The backbone's output: hidden states as HF gives them (`L + 1`), frame mask, and
    /// `cnn_features`, the front-end's output (the CNN's, or the Fbank subsampler's).
    pub backbone: SslOutput,
    /// One prediction per target `[batch, frames, d_target]`.
    pub predictions: Vec<Tensor<3>>,
}

/// The HuBERT Base backbone with `layers` layers, as DistilHuBERT builds its student: no
/// LayerNorm before the feature projection, no mask embedding.
fn base_backbone(layers: usize) -> SslConfig {
    SslConfig {
        num_hidden_layers: layers,
        feat_proj_layer_norm: false,
        mask_time_prob: 0.0,
        ..SslConfig::hubert_base()
    }
}

/// DistilHuBERT's `feature_grad_mult` (s3prl `pretrain/distiller/config_model.yaml`).
const DISTILHUBERT_GRAD_MULT: f64 = 0.1;

impl StudentConfig {
    /// DistilHuBERT: 2 × 768, prediction heads for 3 teacher layers of width 768,
    /// `feature_grad_mult` 0.1 (23.49 M parameters without heads).
    pub fn distilhubert() -> Self {
        Self::new(
            base_backbone(2),
            HeadConfig::Prediction {
                num_targets: 3,
                d_target: 768,
            },
        )
        .with_feature_grad_mult(DISTILHUBERT_GRAD_MULT)
    }

    /// Ashihara et al. 2022 "3-L One": 3 × 768, FFN 3072, prediction heads (30.58 M); trained
    /// with DistilHuBERT's recipe, so `feature_grad_mult` 0.1.
    pub fn three_layer_one() -> Self {
        Self::new(
            base_backbone(3),
            HeadConfig::Prediction {
                num_targets: 3,
                d_target: 768,
            },
        )
        .with_feature_grad_mult(DISTILHUBERT_GRAD_MULT)
    }

    /// Ashihara et al. 2022 "12-L Half": 12 × 384 (6 heads), FFN 1536, layer-to-layer
    /// projections 384 → 768 from every layer (26.87 M without projections),
    /// `feature_grad_mult` 0.1.
    pub fn twelve_layer_half() -> Self {
        let backbone = SslConfig {
            hidden_size: 384,
            num_attention_heads: 6,
            intermediate_size: 1536,
            ..base_backbone(12)
        };
        Self::new(
            backbone,
            HeadConfig::LayerToLayer {
                student_layers: (1..=12).collect(),
                d_target: 768,
            },
        )
        .with_feature_grad_mult(DISTILHUBERT_GRAD_MULT)
    }

    /// Checks that the sizes fit together: the backbone's own rules (heads divide the width,
    /// conv lists of one length...), no zero sizes, head layers within the backbone, generator
    /// heads dividing the width, a finite non-negative `feature_grad_mult`, and an Fbank
    /// front-end whose frames line up with the backbone's conv frame rule.
    ///
    /// # Errors
    /// [`StudentError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), StudentError> {
        let b = &self.backbone;
        b.validate()
            .map_err(|reason| StudentError::config("backbone", reason))?;
        for (field, v) in [
            ("backbone.hidden_size", b.hidden_size),
            ("backbone.num_hidden_layers", b.num_hidden_layers),
            ("backbone.intermediate_size", b.intermediate_size),
        ] {
            if v == 0 {
                return Err(StudentError::config(field, "must be positive"));
            }
        }
        let m = self.feature_grad_mult;
        if !(m.is_finite() && m >= 0.0) {
            return Err(StudentError::config(
                "feature_grad_mult",
                format!("must be finite and >= 0, got {m}"),
            ));
        }
        self.validate_head()?;
        self.pruning().validate()?;
        if let FrontEndConfig::Fbank(fe) = &self.front_end {
            crate::front_end::validate_fbank(fe, b)?;
        }
        Ok(())
    }

    /// The shape of layer `l`: its entry in `layer_shapes`, or the backbone's uniform one.
    pub fn layer_shape(&self, l: usize) -> LayerShape {
        self.pruning().layer_shape(l)
    }

    /// The backbone's uniform layer shape (`num_attention_heads`, `intermediate_size`).
    pub fn uniform_shape(&self) -> LayerShape {
        self.pruning().uniform_shape()
    }

    /// How many conv layers (the first ones) get channel gates: none without `prune.conv` or
    /// for an Fbank student; all but the last when the feature projection has a LayerNorm.
    pub fn num_conv_gated(&self) -> usize {
        self.pruning().num_conv_gated()
    }

    /// What pruning depends on (see [`crate::prune`]).
    pub(crate) fn pruning(&self) -> PruneSetup<'_> {
        PruneSetup {
            backbone: &self.backbone,
            cnn: matches!(self.front_end, FrontEndConfig::Cnn),
            prune: self.prune.as_ref(),
            layer_shapes: &self.layer_shapes,
        }
    }

    fn validate_head(&self) -> Result<(), StudentError> {
        let positive = |field: &str, v: usize| {
            if v == 0 {
                Err(StudentError::config(
                    format!("head.{field}"),
                    "must be positive",
                ))
            } else {
                Ok(())
            }
        };
        match &self.head {
            HeadConfig::Prediction {
                num_targets,
                d_target,
            } => {
                positive("num_targets", *num_targets)?;
                positive("d_target", *d_target)
            }
            HeadConfig::LayerToLayer {
                student_layers,
                d_target,
            } => {
                positive("d_target", *d_target)?;
                positive("student_layers.len()", student_layers.len())?;
                let max = self.backbone.num_hidden_layers;
                match student_layers.iter().find(|&&l| l == 0 || l > max) {
                    Some(bad) => Err(StudentError::config(
                        "head.student_layers",
                        format!("uses student layer {bad}, the student has layers 1..={max}"),
                    )),
                    None => Ok(()),
                }
            }
            HeadConfig::Generator {
                num_steps,
                d_target,
                num_heads,
                d_ff,
                ..
            } => {
                positive("num_steps", *num_steps)?;
                positive("d_target", *d_target)?;
                positive("num_heads", *num_heads)?;
                positive("d_ff", *d_ff)?;
                let d = self.backbone.hidden_size;
                if !d.is_multiple_of(*num_heads) {
                    return Err(StudentError::config(
                        "head.num_heads",
                        format!("{num_heads} does not divide hidden_size {d}"),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Random init.
    ///
    /// # Errors
    /// [`StudentError::Config`] when [`StudentConfig::validate`] fails.
    pub fn init(&self, device: &Device) -> Result<Student, StudentError> {
        self.validate()?;
        let d = self.backbone.hidden_size;
        let mut student = Student {
            backbone: self.backbone.init(device),
            fbank: None,
            prediction_heads: None,
            projections: None,
            generator: None,
            gates: None,
            config: self.clone(),
        };
        let pruning = self.pruning();
        for (l, layer) in pruning.resized_layers(device) {
            student.backbone.encoder.layers[l] = layer;
        }
        student.gates = pruning.gates(device);
        if let FrontEndConfig::Fbank(fe) = &self.front_end {
            let conv_out = *self.backbone.conv_dim.last().expect("validated: non-empty");
            let front_end = fe
                .init(conv_out, device)
                .map_err(|e| StudentError::config("front_end.fbank", e.to_string()))?;
            // No waveform CNN: parameters that never run must not exist.
            student.backbone.feature_extractor = FeatureExtractor {
                conv_layers: Vec::new(),
            };
            student.fbank = Some(front_end);
        }
        match &self.head {
            HeadConfig::Prediction {
                num_targets,
                d_target,
            } => {
                student.prediction_heads =
                    Some(PredictionHeadsConfig::new(d, *num_targets, *d_target).init(device));
            }
            HeadConfig::LayerToLayer {
                student_layers,
                d_target,
            } => {
                student.projections = Some(
                    LayerProjectionsConfig::new(d, *d_target, student_layers.clone()).init(device),
                );
            }
            HeadConfig::Generator {
                num_steps,
                d_target,
                num_heads,
                d_ff,
                ..
            } => {
                student.generator = Some(
                    GeneratorConfig::new(d, *d_target, *num_steps)
                        .with_num_heads(*num_heads)
                        .with_d_ff(Some(*d_ff))
                        .init(device),
                );
            }
        }
        Ok(student)
    }
}

impl Student {
    /// The architecture.
    pub fn config(&self) -> &StudentConfig {
        &self.config
    }

    /// Replaces the recorded architecture (physical pruning).
    pub(crate) fn set_config(&mut self, config: StudentConfig) {
        self.config = config;
    }

    /// The same student with another `feature_grad_mult` (e.g. between training stages).
    ///
    /// # Panics
    /// If `m` is negative or not finite.
    pub fn with_feature_grad_mult(mut self, m: f64) -> Self {
        assert!(
            m.is_finite() && m >= 0.0,
            "feature_grad_mult must be finite and >= 0, got {m}"
        );
        self.config.feature_grad_mult = m;
        self
    }

    /// Parameters of what runs before the head: front-end (CNN or Fbank subsampler), feature
    /// projection, positional conv, layers (the papers' counts exclude the heads and pruning
    /// gates).
    pub fn backbone_params(&self) -> usize {
        self.backbone.num_params() + self.fbank.as_ref().map_or(0, |f| f.num_params())
    }

    /// Parameters of the head (prediction heads, projections or generator).
    pub fn head_params(&self) -> usize {
        self.num_params() - self.backbone_params() - self.gate_params()
    }

    /// Parameters of the pruning gates (`log α`), 0 without gates.
    pub fn gate_params(&self) -> usize {
        self.gates.as_ref().map_or(0, |g| g.num_params())
    }

    /// Frames the front-end produces from `samples` samples (0 below 400 for the standard
    /// frame rule); the same for CNN and Fbank students of one backbone.
    pub fn num_frames(&self, samples: usize) -> usize {
        match &self.fbank {
            Some(fbank) => fbank.num_frames(samples),
            None => self.config.backbone.num_frames(samples),
        }
    }

    /// Runs the front-end, the backbone and the head, without teacher forcing.
    ///
    /// # Shapes
    /// - `input.wave`: `[batch, samples]`, at least 400 samples; `input.padding_mask`:
    ///   `[batch, samples]`, `true` = padded (right padding)
    /// - output: see [`StudentOutput`]
    pub fn forward(&self, input: SslInput) -> StudentOutput {
        self.forward_with_teacher(input, None)
    }

    /// As [`Student::forward`], with teacher forcing for a generator head whose
    /// `teacher_forcing` is set: `teacher_layers[k]` is the target of generator step `k`,
    /// normally teacher layer `k + 1` (HF `hidden_states[k + 1]`, so pass
    /// `&hidden_states[1..]`), and becomes the history of step `k + 1`. Other heads, and a
    /// generator without `teacher_forcing`, ignore `teacher_layers`.
    ///
    /// # Shapes
    /// - `teacher_layers[k]`: `[batch, frames, d_target]` (the student's frames)
    ///
    /// # Panics
    /// With teacher forcing, if fewer than `num_steps − 1` layers are given.
    pub fn forward_with_teacher(
        &self,
        input: SslInput,
        teacher_layers: Option<&[Tensor<3>]>,
    ) -> StudentOutput {
        let backbone = self.forward_backbone(input, usize::MAX);
        let last = || {
            backbone
                .hidden_states
                .last()
                .expect("L + 1 hidden states")
                .clone()
        };
        let predictions = if let Some(heads) = &self.prediction_heads {
            heads.forward(last())
        } else if let Some(projections) = &self.projections {
            projections.forward(&backbone.hidden_states)
        } else if let Some(generator) = &self.generator {
            let forcing = matches!(
                self.config.head,
                HeadConfig::Generator {
                    teacher_forcing: true,
                    ..
                }
            );
            let teacher = teacher_layers.filter(|_| forcing);
            if let Some(layers) = teacher {
                assert!(
                    layers.len() + 1 >= generator.num_steps,
                    "teacher forcing needs {} teacher layers, got {}",
                    generator.num_steps - 1,
                    layers.len()
                );
            }
            generator.forward(last(), teacher, backbone.frame_mask.as_ref())
        } else {
            Vec::new()
        };
        StudentOutput {
            backbone,
            predictions,
        }
    }

    /// Front-end (with the gradient multiplier), feature projection (time-masked when the input
    /// has a time mask, as `SslModel::forward`) and encoder up to and including layer `until`.
    pub(crate) fn forward_backbone(&self, input: SslInput, until: usize) -> SslOutput {
        let SslInput {
            wave,
            padding_mask,
            time_mask,
        } = input;
        let masks = self
            .gates
            .as_ref()
            .map(|g| g.masks(self.backbone.encoder.layers.len()));
        let features = match (&self.fbank, &masks) {
            (Some(fbank), _) => fbank.forward(wave, padding_mask.as_ref()),
            (None, Some(masks)) => self.gated_cnn(wave, masks),
            (None, None) => self.backbone.feature_extractor.forward(wave),
        };
        let cnn_features = grad_mult(features, self.config.feature_grad_mult);
        let frame_mask = padding_mask.map(|mask| self.frame_mask(&mask, cnn_features.dims()[1]));
        let mut projected = self
            .backbone
            .feature_projection
            .forward(cnn_features.clone());
        if let Some(mask) = &time_mask {
            projected = self.backbone.mask_time(projected, mask);
        }
        let layer_gates = masks.map(|m| m.layers).unwrap_or_default();
        let out = self.backbone.encoder.forward_until_gated(
            projected,
            frame_mask.as_ref(),
            until,
            &layer_gates,
        );
        SslOutput {
            cnn_features,
            hidden_states: out.hidden_states,
            last_hidden_state: out.last_hidden_state,
            frame_mask,
        }
    }

    /// The conv stack with each gated layer's output channels multiplied by their gates.
    fn gated_cnn(&self, wave: Tensor<2>, masks: &GateMasks) -> Tensor<3> {
        let mut x = wave.unsqueeze_dim::<3>(2);
        for (i, layer) in self
            .backbone
            .feature_extractor
            .conv_layers
            .iter()
            .enumerate()
        {
            x = layer.forward_time_major(x);
            if let Some(g) = masks.conv.get(i) {
                let c = g.dims()[0];
                x = x * g.clone().reshape([1, 1, c]);
            }
        }
        x
    }

    /// Frame `t` of row `b` is padded iff `t >= num_frames(valid samples of b)` (HF's rule).
    fn frame_mask(&self, sample_mask: &Tensor<2, Bool>, frames: usize) -> Tensor<2, Bool> {
        let valid = valid_samples(sample_mask);
        let batch = valid.len();
        let mut mask = Vec::with_capacity(batch * frames);
        for v in valid {
            let n = self.num_frames(v);
            mask.extend((0..frames).map(|t| t >= n));
        }
        Tensor::from_data(
            TensorData::new(mask, [batch, frames]),
            &sample_mask.device(),
        )
    }
}
