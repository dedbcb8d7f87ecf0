//! What a probe trains: the task's [`ProbeConfig`] and its training [`Budget`], with their
//! documented defaults.

use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::heads::PrBody;
use crate::task::Task;

/// The training budget of a probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Passes over the training split.
    pub epochs: usize,
    /// Utterances per step.
    pub batch_size: usize,
    /// AdamW learning rate (constant).
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
}

impl Budget {
    /// The documented defaults, sized so a probe of a small upstream on the `ci` corpus
    /// finishes in minutes on 2 CPU cores: PR 30 epochs × batch 4 at 2e-3 (the transformer head
    /// left CTC's blank plateau at epoch 4 and was still improving at 11 there); ASR the same
    /// head and budget as PR; SID 60 × 16 at 5e-3; KS 60 × 16 at 2e-3; weight decay 1e-4.
    pub fn default_for(task: Task) -> Self {
        let (epochs, batch_size, lr) = match task {
            Task::Pr | Task::Asr => (30, 4, 2e-3),
            Task::Sid => (60, 16, 5e-3),
            Task::Ks => (60, 16, 2e-3),
        };
        Self {
            epochs,
            batch_size,
            lr,
            weight_decay: 1e-4,
        }
    }
}

/// What a probe trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeConfig {
    /// The task.
    pub task: Task,
    /// Epochs, batch size, learning rate.
    pub budget: Budget,
    /// Seed of the head's initialisation and of the batch order. Default 0.
    pub seed: u64,
    /// Standardise each hidden state per dimension with train statistics, so the layer
    /// weights compare layers of different scales. Default true.
    pub standardize: bool,
    /// PR and ASR: the sequence model, a small transformer (default) or a BiLSTM.
    pub pr_body: PrBody,
    /// PR and ASR: width of the transformer or of each LSTM direction. Default 128.
    pub pr_hidden: usize,
    /// PR and ASR: transformer or BiLSTM layers. Default 2.
    pub pr_layers: usize,
    /// KS: width of the MLP's hidden layer. Default 256. (SID uses a linear layer.)
    pub ks_hidden: usize,
    /// Leave out (and count in [`crate::DataInfo::skipped`]) utterances whose audio fails to
    /// decode or gives no frame, instead of stopping with an error naming the file. Default
    /// false.
    #[serde(default)]
    pub skip_bad_audio: bool,
}

impl ProbeConfig {
    /// The defaults for `task`.
    pub fn new(task: Task) -> Self {
        Self {
            task,
            budget: Budget::default_for(task),
            seed: 0,
            standardize: true,
            pr_body: PrBody::Transformer,
            pr_hidden: 128,
            pr_layers: 2,
            ks_hidden: 256,
            skip_bad_audio: false,
        }
    }
}

/// Checks that `b` can train: at least one epoch and item per batch, a positive learning rate
/// and a non-negative weight decay.
pub(crate) fn check_budget(b: &Budget) -> Result<(), ProbeError> {
    let bad = |field, reason: &str| {
        Err(ProbeError::InvalidOption {
            field,
            reason: reason.into(),
        })
    };
    if b.epochs == 0 {
        return bad("epochs", "must be at least 1");
    }
    if b.batch_size == 0 {
        return bad("batch size", "must be at least 1");
    }
    if !(b.lr.is_finite() && b.lr > 0.0) {
        return bad("learning rate", "must be a positive number");
    }
    if !(b.weight_decay.is_finite() && b.weight_decay >= 0.0) {
        return bad("weight decay", "must be a non-negative number");
    }
    Ok(())
}
