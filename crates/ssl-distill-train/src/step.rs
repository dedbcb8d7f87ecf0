//! What the loop trains and what feeds it: [`StepModel`] (a model's loss on a batch) and
//! [`DataSource`] (a resumable stream of batches), the two traits a caller implements.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;

/// The error a [`DataSource`] or a [`Validator`](crate::Validator) returns: any error, boxed
/// (the loop wraps it with the step it happened at).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a model returns for one (micro-)batch.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// The scalar loss (shape `[1]`) that is back-propagated.
    pub loss: Tensor<1>,
    /// Named components of the loss (shape `[1]` each), logged but not back-propagated separately.
    pub terms: Vec<(String, Tensor<1>)>,
}

/// A trainable model: computes its loss on a batch. It must live on an autodiff device.
pub trait StepModel: Module {
    /// The batch type the data source yields.
    type Batch;
    /// Forward pass and loss (no backward: the loop does it).
    fn loss(&self, batch: &Self::Batch) -> StepOutput;
}

/// A resumable stream of batches.
pub trait DataSource {
    /// The batch type.
    type Batch;
    /// The next batch. `rng` is the loop's RNG (checkpointed): use it for random crops/masks so a
    /// resumed run draws the same numbers.
    fn next_batch(&mut self, rng: &mut ChaCha8Rng) -> Result<Self::Batch, BoxError>;
    /// The next batch with its tensors on `device`. Data-parallel runs
    /// ([`RunOptions::devices`](crate::RunOptions::devices)) call this instead of [`next_batch`](Self::next_batch), once per
    /// micro-batch, with the device of the replica that will consume it. The default ignores
    /// `device` and calls `next_batch`, which is right only while every listed device is the one
    /// the source already creates its tensors on (e.g. the single flex CPU device); a source used
    /// across distinct devices (GPUs) must override it.
    fn next_batch_on(
        &mut self,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Self::Batch, BoxError> {
        let _ = device;
        self.next_batch(rng)
    }
    /// The position after the last batch returned, saved in checkpoints.
    fn cursor(&self) -> serde_json::Value;
    /// Extra values merged into the next `metrics.jsonl` row (called once per logged step), e.g.
    /// `audio_sec_per_sec` accumulated since the previous call. Default: none.
    fn log_extra(&mut self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// Moves to a position previously returned by [`cursor`](Self::cursor).
    fn restore(&mut self, cursor: &serde_json::Value) -> Result<(), BoxError>;
}
