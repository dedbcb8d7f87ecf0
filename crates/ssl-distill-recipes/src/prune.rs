//! DPHuBERT's joint distillation and structured pruning (Peng et al. 2023, "DPHuBERT: Joint
//! Distillation and Pruning of Self-Supervised Speech Models", arXiv:2305.17651; code
//! github.com/pyf98/DPHuBERT, `lightning.py`, `distill.py`, `prune.py`), the framework SKILL
//! builds on.
//!
//! A stage with `prune = true` trains [`PruneModel`]: the gated student's distillation loss
//! plus the Lagrangian term `λ1 (ŝ − t) + λ2 (ŝ − t)²`, where `ŝ = 1 − E[params] / params₀` is
//! the expected sparsity of the student backbone under its hard-concrete gates
//! (`ssl_distill_students::SizeModel`), `params₀` its size before pruning (the teacher's, when
//! the student is a copy of it) and `t` the target sparsity, ramped linearly from 0 over the
//! first `sparsity_warmup_fraction` of the stage (DPHuBERT `_get_target_sparsity`). The gates'
//! `log α` train with their own learning rate (`gate_lr_scale` × the schedule, no weight
//! decay); λ1 and λ2 (initialised at 0) are maximised: they are a parameter group with a
//! *negative* lr scale, which burn's AdamW applies as gradient ascent, exactly as DPHuBERT
//! gives its AdamW group `lr = −reg_learning_rate`. At the end of the stage the student is
//! pruned physically (deterministic gates) and saved to `STAGE_DIR/pruned/`; later stages
//! distil the smaller dense student.
//!
//! The target ramp needs the optimizer step inside the loss; [`PruneStream`] counts the
//! micro-batches it hands out (saved in its cursor, so resume keeps the count) and attaches the
//! step to each batch.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use ssl_distill_students::{SizeModel, Student};
use ssl_distill_train::{
    BoxError, DataSource, RunOptions, StepModel, StepOutput, TrainConfig, ValidationError,
    Validator,
};

use crate::data::{DistillBatch, TeacherStream};
use crate::error::RecipeError;
use crate::prune_spec::PruneSection;
use crate::task::DistillModel;
use crate::validate::DevValidator;

/// The target-sparsity ramp and the size model of the student being pruned.
#[derive(Debug, Clone)]
pub struct SparsitySchedule {
    /// Final target sparsity.
    pub target: f64,
    /// Steps over which the target rises from 0.
    pub warmup_steps: u64,
    /// Backbone parameters before pruning (`params₀`).
    pub original_params: usize,
    /// The student's size as a function of its units.
    pub size: SizeModel,
}

impl SparsitySchedule {
    /// The target at optimizer step `step` (1-based): `target × min(1, step / warmup)`.
    pub fn target_at(&self, step: u64) -> f64 {
        if self.warmup_steps == 0 || step >= self.warmup_steps {
            self.target
        } else {
            self.target * step as f64 / self.warmup_steps as f64
        }
    }

    /// The parameter count the final target asks for.
    pub fn target_params(&self) -> f64 {
        (1.0 - self.target) * self.original_params as f64
    }
}

/// A distillation batch with the optimizer step it belongs to.
#[derive(Debug, Clone)]
pub struct PruneBatch {
    /// The batch.
    pub batch: DistillBatch,
    /// Its optimizer step (1-based).
    pub step: u64,
}

/// A [`TeacherStream`] that numbers its batches with their optimizer step.
pub struct PruneStream<'a> {
    inner: &'a mut TeacherStream,
    micro: u64,
    per_step: u64,
}

impl<'a> PruneStream<'a> {
    /// `per_step` micro-batches make one optimizer step (`grad_accum` × data-parallel devices).
    pub fn new(inner: &'a mut TeacherStream, per_step: u64) -> Self {
        Self {
            inner,
            micro: 0,
            per_step: per_step.max(1),
        }
    }

    fn wrap(&mut self, batch: DistillBatch) -> PruneBatch {
        let step = self.micro / self.per_step + 1;
        self.micro += 1;
        PruneBatch { batch, step }
    }
}

impl DataSource for PruneStream<'_> {
    type Batch = PruneBatch;

    fn next_batch(&mut self, rng: &mut ChaCha8Rng) -> Result<PruneBatch, BoxError> {
        let b = self.inner.next_batch(rng)?;
        Ok(self.wrap(b))
    }

    fn next_batch_on(
        &mut self,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<PruneBatch, BoxError> {
        let b = self.inner.next_batch_on(rng, device)?;
        Ok(self.wrap(b))
    }

    fn cursor(&self) -> serde_json::Value {
        serde_json::json!({ "stream": self.inner.cursor(), "micro_batches": self.micro })
    }

    fn log_extra(&mut self) -> serde_json::Map<String, serde_json::Value> {
        self.inner.log_extra()
    }

    fn restore(&mut self, cursor: &serde_json::Value) -> Result<(), BoxError> {
        let micro = cursor["micro_batches"]
            .as_u64()
            .ok_or("pruning stream cursor without `micro_batches`")?;
        self.inner.restore(&cursor["stream"])?;
        self.micro = micro;
        Ok(())
    }
}

/// The gated student, its objective and the Lagrangian multipliers.
#[derive(Module, Debug)]
pub struct PruneModel {
    /// The gated student and its distillation objective.
    pub distill: DistillModel,
    /// λ1 `[1]` (maximised).
    pub lambda1: Param<Tensor<1>>,
    /// λ2 `[1]` (maximised).
    pub lambda2: Param<Tensor<1>>,
    /// Target ramp and size model.
    #[module(skip)]
    pub schedule: SparsitySchedule,
}

impl PruneModel {
    /// `model`'s student must have gates; λ1 = λ2 = 0 on its device.
    ///
    /// # Panics
    /// If the student has no gates.
    pub fn new(model: DistillModel, section: &PruneSection, stage_steps: u64) -> Self {
        let student = &model.student;
        assert!(
            student.gates.is_some(),
            "a pruning stage needs a gated student"
        );
        let device = student
            .devices()
            .into_iter()
            .next()
            .expect("the student has parameters");
        let size = student.size_model();
        let schedule = SparsitySchedule {
            target: section.target_sparsity,
            warmup_steps: (section.sparsity_warmup_fraction * stage_steps as f64).round() as u64,
            original_params: size.full(),
            size,
        };
        let zero = || Param::from_tensor(Tensor::<1>::zeros([1], &device));
        Self {
            distill: model,
            lambda1: zero(),
            lambda2: zero(),
            schedule,
        }
    }

    /// Expected backbone parameters under the gates `[1]`.
    pub fn expected_params(&self) -> Tensor<1> {
        let gates = self.distill.student.gates.as_ref().expect("checked in new");
        let device = self.lambda1.val().device();
        self.schedule.size.expected(gates, &device)
    }
}

impl StepModel for PruneModel {
    type Batch = PruneBatch;

    fn loss(&self, batch: &PruneBatch) -> StepOutput {
        let out = self.distill.objective(&batch.batch);
        let expected = self.expected_params();
        let sparsity = expected.clone().neg() / self.schedule.original_params as f32 + 1.0;
        let target = self.schedule.target_at(batch.step);
        let gap = sparsity.clone() - target as f32;
        let l1 = self.lambda1.val();
        let l2 = self.lambda2.val();
        let reg = l1.clone() * gap.clone() + l2.clone() * gap.clone() * gap;
        let device = expected.device();
        let mut terms = out.terms;
        terms.extend([
            ("distill".to_owned(), out.loss.clone()),
            ("prune/reg".to_owned(), reg.clone()),
            ("prune/expected_params".to_owned(), expected),
            ("prune/expected_sparsity".to_owned(), sparsity),
            (
                "prune/target_sparsity".to_owned(),
                Tensor::from_floats([target as f32], &device),
            ),
            ("prune/lambda1".to_owned(), l1),
            ("prune/lambda2".to_owned(), l2),
        ]);
        StepOutput {
            loss: out.loss + reg,
            terms,
        }
    }
}

impl Validator<PruneModel> for DevValidator {
    fn validate(&mut self, model: &PruneModel) -> Result<Vec<(String, f64)>, ValidationError> {
        Validator::<DistillModel>::validate(self, &model.distill)
    }
}

/// What the pruning stage did to the student's size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneReport {
    /// Backbone parameters before pruning.
    pub original_params: usize,
    /// The parameter count the target sparsity asks for.
    pub target_params: usize,
    /// Expected parameters under the gates at the end of the stage.
    pub expected_params: f64,
    /// Backbone parameters of the physically pruned student.
    pub pruned_params: usize,
    /// Kept conv channels per conv layer.
    pub conv_dim: Vec<usize>,
    /// Kept heads and FFN units per layer.
    pub layers: Vec<(usize, usize)>,
}

/// Trains a pruning stage and, when it completed, prunes the student physically (saved to
/// `opts.out_dir/pruned/`). Returns the student (pruned iff the stage completed), the last
/// step, its loss and the report.
///
/// # Errors
/// Those of the training loop, and writing the pruned student.
pub(crate) fn run_stage(
    section: &PruneSection,
    train_cfg: &TrainConfig,
    opts: &RunOptions,
    model: DistillModel,
    stream: &mut TeacherStream,
    validator: Option<&mut DevValidator>,
) -> Result<(Student, u64, f64, Option<PruneReport>), RecipeError> {
    let mut cfg = train_cfg.clone();
    cfg.param_groups.extend(section.param_groups());
    let stage_steps = cfg.max_steps;
    let model = PruneModel::new(model, section, stage_steps);
    let devices = opts.devices.len().max(1) as u64;
    let mut stream = PruneStream::new(stream, u64::from(cfg.grad_accum) * devices);
    let optim = ssl_distill_train::adamw_from_config(&cfg);
    let outcome = ssl_distill_train::train_with_validation(
        &cfg,
        opts,
        model,
        optim,
        &mut stream,
        validator.map(|v| v as &mut dyn Validator<PruneModel>),
    )?;
    let model = outcome.model;
    if outcome.step < stage_steps {
        return Ok((model.distill.student, outcome.step, outcome.last_loss, None));
    }
    let expected = f64::from(model.expected_params().into_scalar::<f32>());
    let schedule = model.schedule.clone();
    let train_device = model.lambda1.val().device();
    let pruned = model.distill.student.valid().prune()?;
    let dir = opts.out_dir.join("pruned");
    pruned.save(&dir)?;
    let config = pruned.config();
    let report = PruneReport {
        original_params: schedule.original_params,
        target_params: schedule.target_params().round() as usize,
        expected_params: expected,
        pruned_params: pruned.backbone_params(),
        conv_dim: config.backbone.conv_dim.clone(),
        layers: (0..config.backbone.num_hidden_layers)
            .map(|l| {
                let s = config.layer_shape(l);
                (s.heads, s.ffn)
            })
            .collect(),
    };
    tracing::info!(
        original = report.original_params,
        target = report.target_params,
        expected = report.expected_params,
        pruned = report.pruned_params,
        conv = ?report.conv_dim,
        layers = ?report.layers,
        dir = %dir.display(),
        "pruned the student (DPHuBERT)"
    );
    let student = pruned.to_device(&train_device).train();
    Ok((student, outcome.step, outcome.last_loss, Some(report)))
}
