//! Periodic validation inside the training loop.
//!
//! Every `TrainConfig::val_every` steps, and at `max_steps`, the loop calls
//! [`Validator::validate`] with **`model.valid()`**: a snapshot whose tensors live on the inner
//! (non-autodiff) device and whose module-owned training flags (dropout, ...) are off
//! (`burn::module::Module::valid`, burn-core 0.22.1 `src/module/base.rs`). So a validator records
//! no autodiff graph, draws no dropout masks and cannot touch the training model, which the loop
//! keeps unchanged. Build validation inputs on the snapshot's device: `model.devices()[0]` (plain,
//! `is_autodiff() == false`), or `device.clone().inner()` from the training device.
//!
//! Validation cannot change training: it sees neither the loop RNG nor the data source, and the
//! device RNG is reseeded from `(seed, step)` at the start of every step (tested: a run with
//! validation ends bit-identical to one without). A validator that keeps its own state (a best
//! score, say) is not checkpointed; after a resume it starts again from what its constructor
//! gives it.

/// Error type returned by a validator: the crate's [`BoxError`](crate::BoxError), as a
/// [`DataSource`](crate::DataSource)'s.
pub type ValidationError = crate::step::BoxError;

/// Computes validation metrics of a model. Results go into the step's `metrics.jsonl` row as
/// `val_<name>` and into the progress line.
pub trait Validator<M> {
    /// Metrics of `model` (the loop passes `model.valid()`, see the module docs), as
    /// `(name, value)` pairs; non-finite values are written as `null`.
    fn validate(&mut self, model: &M) -> Result<Vec<(String, f64)>, ValidationError>;
}

impl<M, F> Validator<M> for F
where
    F: FnMut(&M) -> Result<Vec<(String, f64)>, ValidationError>,
{
    fn validate(&mut self, model: &M) -> Result<Vec<(String, f64)>, ValidationError> {
        self(model)
    }
}
