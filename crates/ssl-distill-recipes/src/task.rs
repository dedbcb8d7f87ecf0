//! [`DistillModel`]: the student plus its objective, as the train crate's `StepModel`.
//!
//! Distillation (DistilHuBERT, Ashihara et al., SKILL, GenDistiller): every regression term is
//! computed between prediction `i` and target `i` over valid frames and averaged over targets
//! (s3prl averages its L1 and cosine terms over heads the same way); a `disc` term (Wang et
//! al.) compares codeword posteriors of the last prediction and the last target only, since a
//! HuBERT head scores the top layer. Front-end regression (Wang et al.'s first stage) compares
//! the student front-end's output with the teacher CNN's.

use burn::module::Module;
use burn::tensor::Tensor;
use ssl_distill_losses::{CodewordHead, LossKind, LossSpec, compute};
use ssl_distill_students::{HeadConfig, Student};
use ssl_distill_train::{StepModel, StepOutput};

use crate::data::DistillBatch;
use crate::recipe::Objective;

/// The loss configuration of a stage.
#[derive(Debug, Clone)]
pub struct LossPlan {
    /// What the stage optimises.
    pub objective: Objective,
    /// Regression terms (every target).
    pub regression: Vec<LossSpec>,
    /// `disc` terms (last target).
    pub disc: Vec<LossSpec>,
    /// Codewords of the `disc` terms, on the training device.
    pub head: Option<CodewordHead>,
    /// A label per target for metric names (`layer4`, `layers1+2+3`).
    pub labels: Vec<String>,
    /// Pass the targets to the generator as teacher-forced history.
    pub teacher_forcing: bool,
}

impl LossPlan {
    /// Splits `terms` into regression and `disc`; labels from the target groups.
    pub fn new(
        objective: Objective,
        terms: &[LossSpec],
        head: Option<CodewordHead>,
        groups: &[Vec<usize>],
        teacher_forcing: bool,
    ) -> Self {
        let labels = groups
            .iter()
            .map(|g| match g.as_slice() {
                [one] => format!("layer{one}"),
                many => format!(
                    "layers{}",
                    many.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("+")
                ),
            })
            .collect();
        Self {
            objective,
            regression: terms
                .iter()
                .copied()
                .filter(|t| t.kind != LossKind::Disc)
                .collect(),
            disc: terms
                .iter()
                .copied()
                .filter(|t| t.kind == LossKind::Disc)
                .collect(),
            head,
            labels,
            teacher_forcing,
        }
    }
}

/// A student with its stage's objective.
#[derive(Module, Debug)]
pub struct DistillModel {
    /// The student being trained.
    pub student: Student,
    /// The objective (not a parameter).
    #[module(skip)]
    pub plan: LossPlan,
}

impl DistillModel {
    /// Whether the student has a generator head with teacher forcing on.
    pub fn uses_teacher_forcing(config: &HeadConfig) -> bool {
        matches!(
            config,
            HeadConfig::Generator {
                teacher_forcing: true,
                ..
            }
        )
    }

    /// The loss of one batch and its named parts: for distillation `TERM` (averaged over
    /// targets), `TERM/LABEL` per target and `disc`.
    ///
    /// # Panics
    /// If predictions and targets disagree in number or shape (the run checks the
    /// architecture against the teacher before training), or a `disc` term has no head.
    pub fn objective(&self, batch: &DistillBatch) -> StepOutput {
        let plan = &self.plan;
        let padding = batch.frame_padding.as_ref();
        match plan.objective {
            Objective::FrontEnd => {
                let out = self.student.forward(batch.input.clone());
                let target = batch
                    .teacher_cnn
                    .clone()
                    .expect("front-end stages keep the teacher's CNN output");
                let lo = compute(
                    &plan.regression,
                    out.backbone.cnn_features,
                    target,
                    padding,
                    None,
                )
                .expect("loss terms validated with the recipe");
                StepOutput {
                    loss: lo.total,
                    terms: lo
                        .terms
                        .into_iter()
                        .map(|(n, v)| (format!("front_end/{n}"), v))
                        .collect(),
                }
            }
            Objective::Distill => {
                let forcing = plan.teacher_forcing.then_some(batch.targets.as_slice());
                let out = self
                    .student
                    .forward_with_teacher(batch.input.clone(), forcing);
                let n = batch.targets.len();
                assert_eq!(
                    out.predictions.len(),
                    n,
                    "{} predictions for {n} targets",
                    out.predictions.len()
                );
                let mut total: Option<Tensor<1>> = None;
                let mut means: Vec<(String, Tensor<1>)> = Vec::new();
                let mut per_target = Vec::new();
                if !plan.regression.is_empty() {
                    for (i, (p, t)) in out.predictions.iter().zip(&batch.targets).enumerate() {
                        let lo = compute(&plan.regression, p.clone(), t.clone(), padding, None)
                            .expect("loss terms validated with the recipe");
                        total = Some(match total {
                            Some(acc) => acc + lo.total,
                            None => lo.total,
                        });
                        for (j, (name, v)) in lo.terms.into_iter().enumerate() {
                            per_target.push((format!("{name}/{}", plan.labels[i]), v.clone()));
                            match means.get_mut(j) {
                                Some(m) => m.1 = m.1.clone() + v,
                                None => means.push((name.to_owned(), v)),
                            }
                        }
                    }
                    total = total.map(|t| t / n as f32);
                    for m in &mut means {
                        m.1 = m.1.clone() / n as f32;
                    }
                }
                if !plan.disc.is_empty() {
                    let lo = compute(
                        &plan.disc,
                        out.predictions[n - 1].clone(),
                        batch.targets[n - 1].clone(),
                        padding,
                        plan.head.as_ref(),
                    )
                    .expect("the run builds a codeword head for disc terms");
                    total = Some(match total {
                        Some(acc) => acc + lo.total,
                        None => lo.total,
                    });
                    means.extend(lo.terms.into_iter().map(|(n, v)| (n.to_owned(), v)));
                }
                means.extend(per_target);
                StepOutput {
                    loss: total.expect("validated: at least one term"),
                    terms: means,
                }
            }
        }
    }
}

impl StepModel for DistillModel {
    type Batch = DistillBatch;

    fn loss(&self, batch: &DistillBatch) -> StepOutput {
        self.objective(batch)
    }
}
