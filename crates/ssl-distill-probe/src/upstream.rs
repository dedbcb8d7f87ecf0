//! [`Upstream`]: anything that gives hidden states for a batch of waveforms, a teacher
//! ([`SslModel`] from an HF directory or a fairseq `.pt` file) or a distilled student directory
//! (`student.json` + `model.safetensors`), loaded by [`load_upstream`]. Its features go through
//! `ssl_distill_models::Extractor`, which applies the checkpoint's preprocessing (per-utterance
//! normalisation, batching of unequal lengths); an `Upstream` is itself a
//! [`ssl_distill_models::Backbone`].

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Bool, Device, Tensor};
use serde::{Deserialize, Serialize};
use ssl_distill_models::{
    Backbone, Extractor, Preprocessor, SslInput, SslModel, SslOutput, load_checkpoint_full,
};
use ssl_distill_students::{STUDENT_CONFIG_FILE, Student, student_preprocessor};

use crate::error::ProbeError;

/// What kind of model an [`Upstream`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamKind {
    /// A teacher checkpoint (HF directory or fairseq `.pt`).
    Teacher,
    /// A student directory written by `Student::save` (or `ssl-distill distill`).
    Student,
}

#[derive(Debug)]
enum Model {
    Teacher(Box<SslModel>),
    Student(Box<Student>),
}

/// A frozen model that turns waveforms into hidden states (HF layout: `L + 1` states, index 0 is
/// the transformer input).
#[derive(Debug)]
pub struct Upstream {
    path: PathBuf,
    kind: UpstreamKind,
    model: Model,
    preprocessor: Preprocessor,
    hidden_size: usize,
    num_layers: usize,
    device: Device,
}

/// What an [`Upstream`] gives for a batch.
#[derive(Debug, Clone)]
pub struct UpstreamOutput {
    /// `L + 1` tensors `[batch, frames, hidden]`.
    pub hidden_states: Vec<Tensor<3>>,
    /// Padded frames `[batch, frames]` (`true` = padded), when the input had a mask.
    pub frame_mask: Option<Tensor<2, Bool>>,
}

/// Loads a teacher or a student from `path` onto `device` (a plain device: upstreams are
/// frozen), detecting which it is:
/// - a directory with `student.json` is a student ([`Student::load`]);
/// - a directory with `config.json`, or a `.pt` file, is a teacher
///   ([`ssl_distill_models::load_checkpoint_full`]).
///
/// Input preprocessing: a teacher's `preprocessor_config.json` (`do_normalize`); for a student,
/// [`student_preprocessor`] (its directory's `preprocessor_config.json` if present, else
/// `recipe.data.normalize` in its `student.json`, else its teacher's, else none).
///
/// # Errors
/// [`ProbeError::NotFound`], [`ProbeError::NotAnUpstream`], and the loaders' errors
/// ([`ProbeError::Teacher`], [`ProbeError::Student`]), each naming the path.
pub fn load_upstream(path: impl AsRef<Path>, device: &Device) -> Result<Upstream, ProbeError> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(ProbeError::NotFound { path: path.into() });
    }
    let device = device.clone().inner();
    if path.is_dir() && path.join(STUDENT_CONFIG_FILE).exists() {
        let student = Student::load(path, &device)?;
        let backbone = &student.config().backbone;
        let (hidden_size, num_layers) = (backbone.hidden_size, backbone.num_hidden_layers);
        let preprocessor = student_preprocessor(path)?;
        return Ok(Upstream {
            path: path.into(),
            kind: UpstreamKind::Student,
            model: Model::Student(Box::new(student.no_grad())),
            preprocessor,
            hidden_size,
            num_layers,
            device,
        });
    }
    let is_teacher = if path.is_dir() {
        path.join("config.json").exists()
    } else {
        path.extension().is_some_and(|e| e == "pt")
    };
    if !is_teacher {
        return Err(ProbeError::NotAnUpstream { path: path.into() });
    }
    let checkpoint = load_checkpoint_full(path, &device)?;
    Ok(Upstream {
        path: path.into(),
        kind: UpstreamKind::Teacher,
        preprocessor: checkpoint.preprocessor,
        hidden_size: checkpoint.config.hidden_size,
        num_layers: checkpoint.config.num_hidden_layers,
        model: Model::Teacher(Box::new(checkpoint.model.no_grad())),
        device,
    })
}

impl Upstream {
    /// The path it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Teacher or student.
    pub fn kind(&self) -> UpstreamKind {
        self.kind
    }

    /// Whether each waveform is normalised to zero mean and unit variance before the model
    /// ([`Upstream::hidden_states`] and [`Upstream::extractor`] do it).
    pub fn normalize(&self) -> bool {
        self.preprocessor.do_normalize
    }

    /// The input preprocessing (normalisation, sample rate).
    pub fn preprocessor(&self) -> Preprocessor {
        self.preprocessor
    }

    /// An [`Extractor`] over this upstream with its preprocessing: every hidden state, batches
    /// of 8 (change with its `with_*` methods).
    pub fn extractor(&self) -> Extractor<'_, Self> {
        Extractor::new(self, self.preprocessor)
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// Number of hidden states, `L + 1`.
    pub fn num_hidden_states(&self) -> usize {
        self.num_layers + 1
    }

    /// The (plain) device the model lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Parameters of the model as an upstream: a teacher's whole model, a student's backbone
    /// (front-end + encoder, without the distillation heads).
    pub fn num_params(&self) -> usize {
        match &self.model {
            Model::Teacher(m) => m.num_params(),
            Model::Student(s) => s.backbone_params(),
        }
    }

    /// Frames the model gives for `samples` samples (0 below the receptive field).
    pub fn num_frames(&self, samples: usize) -> usize {
        match &self.model {
            Model::Teacher(m) => m.num_frames(samples),
            Model::Student(s) => s.num_frames(samples),
        }
    }

    /// Runs the model on a batch.
    ///
    /// # Shapes
    /// - `input.wave`: `[batch, samples]` on [`Upstream::device`]; `input.padding_mask`
    ///   `[batch, samples]` (`true` = padded)
    /// - output: see [`UpstreamOutput`]
    pub fn forward(&self, input: SslInput) -> UpstreamOutput {
        let out = Backbone::forward_until(self, input, usize::MAX);
        UpstreamOutput {
            hidden_states: out.hidden_states,
            frame_mask: out.frame_mask,
        }
    }

    /// The hidden states of one utterance (resampled to the preprocessor's rate, not yet
    /// normalised: normalised here if [`Upstream::normalize`]), each `[1, frames, hidden]`.
    ///
    /// # Panics
    /// If `wave` is shorter than the receptive field (see [`Upstream::num_frames`]).
    pub fn hidden_states(&self, wave: &[f32]) -> Vec<Tensor<3>> {
        assert!(
            self.num_frames(wave.len()) > 0,
            "{} samples give no frame",
            wave.len()
        );
        let features = self
            .extractor()
            .extract(&[wave], &self.device)
            .unwrap_or_else(|e| panic!("{e}"));
        features
            .into_iter()
            .flat_map(|f| f.hidden_states)
            .map(|h| h.unsqueeze_dim::<3>(0))
            .collect()
    }
}

impl Backbone for Upstream {
    fn forward_until(&self, input: SslInput, k: usize) -> SslOutput {
        match &self.model {
            Model::Teacher(m) => Backbone::forward_until(m.as_ref(), input, k),
            Model::Student(s) => Backbone::forward_until(s.as_ref(), input, k),
        }
    }

    fn num_frames(&self, samples: usize) -> usize {
        Upstream::num_frames(self, samples)
    }

    fn num_hidden_states(&self) -> usize {
        Upstream::num_hidden_states(self)
    }

    fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    fn padding_invariant(&self) -> bool {
        match &self.model {
            Model::Teacher(m) => Backbone::padding_invariant(m.as_ref()),
            Model::Student(s) => Backbone::padding_invariant(s.as_ref()),
        }
    }
}
