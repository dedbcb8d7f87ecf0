//! Validation on a dev set: the stage's objective on the first `dev_batches` batches of the dev
//! manifest (fixed order, epoch-0 crops), without gradients.

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Device;
use ssl_distill_audio::{AudioDataset, Batch};
use ssl_distill_losses::CodewordHead;
use ssl_distill_train::{ValidationError, Validator};

use crate::data::TeacherRunner;
use crate::task::DistillModel;

/// Mean loss and terms of the stage objective over fixed dev batches.
#[derive(Debug)]
pub struct DevValidator {
    dataset: Arc<AudioDataset>,
    teacher: Arc<TeacherRunner>,
    batch_size: usize,
    batches: usize,
}

impl DevValidator {
    /// Validation on the first `batches` batches of `batch_size` utterances of `dataset`.
    pub fn new(
        dataset: Arc<AudioDataset>,
        teacher: Arc<TeacherRunner>,
        batch_size: usize,
        batches: usize,
    ) -> Self {
        Self {
            dataset,
            teacher,
            batch_size: batch_size.max(1),
            batches: batches.max(1),
        }
    }
}

/// `head` with its tensors on the plain device (the validator runs `model.valid()`).
fn plain_head(head: &CodewordHead) -> CodewordHead {
    CodewordHead {
        proj_weight: head.proj_weight.clone().map(|t| t.without_autodiff()),
        proj_bias: head.proj_bias.clone().map(|t| t.without_autodiff()),
        codewords: head.codewords.clone().without_autodiff(),
        tau: head.tau,
    }
}

impl Validator<DistillModel> for DevValidator {
    fn validate(&mut self, model: &DistillModel) -> Result<Vec<(String, f64)>, ValidationError> {
        let device: Device = model
            .student
            .devices()
            .into_iter()
            .next()
            .ok_or("the student has no parameters")?;
        let mut model = model.clone();
        model.plan.head = model.plan.head.as_ref().map(plain_head);
        let n = self.dataset.len().min(self.batch_size * self.batches);
        let mut sums: Vec<(String, f64)> = Vec::new();
        let mut count = 0usize;
        for start in (0..n).step_by(self.batch_size) {
            let items = (start..(start + self.batch_size).min(n))
                .map(|i| self.dataset.load(i, 0))
                .collect::<Result<Vec<_>, _>>()?;
            let batch = self
                .teacher
                .distill_batch(&Batch::from_items(&items), &device);
            let out = model.objective(&batch);
            let loss = f64::from(out.loss.into_scalar::<f32>());
            let values = std::iter::once(("loss".to_owned(), loss)).chain(
                out.terms
                    .into_iter()
                    .map(|(k, v)| (k, f64::from(v.into_scalar::<f32>()))),
            );
            for (i, (k, v)) in values.enumerate() {
                match sums.get_mut(i) {
                    Some(e) => e.1 += v,
                    None => sums.push((k, v)),
                }
            }
            count += 1;
        }
        Ok(sums
            .into_iter()
            .map(|(k, v)| (k, v / count.max(1) as f64))
            .collect())
    }
}
