//! [`Student`]: a waveform-CNN + transformer backbone (an [`SslModel`]) with a head, its
//! presets, and initialisation from a teacher.

use burn::module::Module;
use burn::tensor::Device;
use ssl_distill_models::{SslConfig, SslInput, SslModel};

use crate::error::StudentError;
use crate::heads::{
    LayerProjections, LayerProjectionsConfig, PredictionHeads, PredictionHeadsConfig,
};

/// How a student turns its hidden states into one prediction per target.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadConfig {
    /// DistilHuBERT's prediction heads on the last layer.
    Prediction {
        /// Number of targets.
        num_targets: usize,
        /// Teacher width.
        d_target: usize,
    },
    /// Layer-to-layer projections (student layer `l_i` → target `i`).
    LayerToLayer {
        /// The student hidden state (HF index) feeding each target.
        student_layers: Vec<usize>,
        /// Teacher width.
        d_target: usize,
    },
}

/// A student's architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentConfig {
    /// The backbone: conv front-end, projection, positional conv, encoder (HF field names).
    pub backbone: SslConfig,
    /// The head.
    pub head: HeadConfig,
}

/// A student model.
#[derive(Module, Debug)]
pub struct Student {
    /// CNN + transformer, exportable to HF as a `HubertModel`.
    pub backbone: SslModel,
    /// Prediction heads, if configured.
    pub prediction_heads: Option<PredictionHeads>,
    /// Layer-to-layer projections, if configured.
    pub projections: Option<LayerProjections>,
}

/// A student's forward pass.
#[derive(Debug, Clone)]
pub struct StudentOutput {
    /// The backbone's output (hidden states as HF gives them, frame mask...).
    pub backbone: ssl_distill_models::SslOutput,
    /// One prediction per target.
    pub predictions: Vec<burn::tensor::Tensor<3>>,
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

impl StudentConfig {
    /// DistilHuBERT: 2 × 768, prediction heads for 3 teacher layers of width 768
    /// (23.49 M parameters without heads).
    pub fn distilhubert() -> Self {
        Self {
            backbone: base_backbone(2),
            head: HeadConfig::Prediction {
                num_targets: 3,
                d_target: 768,
            },
        }
    }

    /// Ashihara et al. 2022 "3-L One": 3 × 768, FFN 3072, prediction heads (30.58 M).
    pub fn three_layer_one() -> Self {
        Self {
            backbone: base_backbone(3),
            head: HeadConfig::Prediction {
                num_targets: 3,
                d_target: 768,
            },
        }
    }

    /// Ashihara et al. 2022 "12-L Half": 12 × 384 (6 heads), FFN 1536, layer-to-layer
    /// projections 384 → 768 from every layer (26.87 M without projections).
    pub fn twelve_layer_half() -> Self {
        let backbone = SslConfig {
            hidden_size: 384,
            num_attention_heads: 6,
            intermediate_size: 1536,
            ..base_backbone(12)
        };
        Self {
            backbone,
            head: HeadConfig::LayerToLayer {
                student_layers: (1..=12).collect(),
                d_target: 768,
            },
        }
    }

    /// Random init.
    ///
    /// # Errors
    /// [`StudentError::Config`] when the backbone is invalid or a head's layers are out of range.
    pub fn init(&self, device: &Device) -> Result<Student, StudentError> {
        self.backbone.validate().map_err(StudentError::Config)?;
        let d = self.backbone.hidden_size;
        let (prediction_heads, projections) = match &self.head {
            HeadConfig::Prediction {
                num_targets,
                d_target,
            } => {
                if *num_targets == 0 {
                    return Err(StudentError::Config(
                        "prediction heads need at least one target".into(),
                    ));
                }
                (
                    Some(PredictionHeadsConfig::new(d, *num_targets, *d_target).init(device)),
                    None,
                )
            }
            HeadConfig::LayerToLayer {
                student_layers,
                d_target,
            } => {
                let max = self.backbone.num_hidden_layers;
                if let Some(&bad) = student_layers.iter().find(|&&l| l == 0 || l > max) {
                    return Err(StudentError::Config(format!(
                        "layer-to-layer head uses student layer {bad}, the student has layers 1..={max}"
                    )));
                }
                (
                    None,
                    Some(
                        LayerProjectionsConfig::new(d, *d_target, student_layers.clone())
                            .init(device),
                    ),
                )
            }
        };
        Ok(Student {
            backbone: self.backbone.init(device),
            prediction_heads,
            projections,
        })
    }
}

impl Student {
    /// Parameters of the backbone only (the papers' counts exclude the heads).
    pub fn backbone_params(&self) -> usize {
        self.backbone.num_params()
    }

    /// Runs the backbone and the head.
    pub fn forward(&self, input: SslInput) -> StudentOutput {
        let backbone = self.backbone.forward(input);
        let predictions = match (&self.prediction_heads, &self.projections) {
            (Some(heads), _) => {
                heads.forward(backbone.hidden_states.last().expect("L + 1 states").clone())
            }
            (None, Some(p)) => p.forward(&backbone.hidden_states),
            (None, None) => Vec::new(),
        };
        StudentOutput {
            backbone,
            predictions,
        }
    }

    /// DistilHuBERT's initialisation: copy the teacher's conv front-end, feature projection,
    /// positional conv and its first `k` layers (not the encoder LayerNorm, as s3prl).
    ///
    /// # Errors
    /// [`StudentError::TeacherMismatch`] naming the first part whose shapes differ, or when the
    /// student has fewer than `k` layers.
    pub fn init_from_teacher(mut self, teacher: &SslModel, k: usize) -> Result<Self, StudentError> {
        let s = &mut self.backbone;
        if k > s.encoder.layers.len() || k > teacher.encoder.layers.len() {
            return Err(StudentError::TeacherMismatch(format!(
                "cannot copy {k} layers: student has {}, teacher {}",
                s.encoder.layers.len(),
                teacher.encoder.layers.len()
            )));
        }
        fn same<M: Module>(part: &str, a: &M, b: &M) -> Result<(), StudentError> {
            let shapes = |m: &M| {
                let mut v = Vec::new();
                m.visit(&mut ShapeCollector(&mut v));
                v
            };
            if shapes(a) == shapes(b) {
                Ok(())
            } else {
                Err(StudentError::TeacherMismatch(format!(
                    "{part}: parameter shapes differ"
                )))
            }
        }
        same(
            "feature_extractor",
            &s.feature_extractor,
            &teacher.feature_extractor,
        )?;
        s.feature_extractor = teacher.feature_extractor.clone();
        let tp = &teacher.feature_projection;
        if s.feature_projection.projection.weight.val().dims() != tp.projection.weight.val().dims()
        {
            return Err(StudentError::TeacherMismatch(
                "feature_projection: parameter shapes differ".into(),
            ));
        }
        s.feature_projection.projection = tp.projection.clone();
        same(
            "encoder.pos_conv_embed",
            &s.encoder.pos_conv_embed,
            &teacher.encoder.pos_conv_embed,
        )?;
        s.encoder.pos_conv_embed = teacher.encoder.pos_conv_embed.clone();
        for i in 0..k {
            same(
                &format!("encoder.layers.{i}"),
                &s.encoder.layers[i],
                &teacher.encoder.layers[i],
            )?;
            s.encoder.layers[i] = teacher.encoder.layers[i].clone();
        }
        Ok(self)
    }
}

/// Collects parameter shapes (for the shape comparison in `init_from_teacher`).
struct ShapeCollector<'a>(&'a mut Vec<Vec<usize>>);

impl burn::module::ModuleVisitor for ShapeCollector<'_> {
    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<burn::tensor::Tensor<D>>,
    ) {
        self.0.push(param.val().dims().to_vec());
    }
}
