//! The configuration of a probe ([`ProbeConfig`], [`Budget`]), what it reports while it runs
//! ([`ProbeEvent`]) and its result ([`ProbeReport`], written as `probe-<task>.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Layout;
use crate::error::ProbeError;
use crate::heads::PrBody;
use crate::task::Task;
use crate::upstream::UpstreamKind;

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
    /// Leave out (and count in [`DataInfo::skipped`]) utterances whose audio fails to decode
    /// or gives no frame, instead of stopping with an error naming the file. Default false.
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

/// One epoch of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub loss: f64,
    /// The dev metric after the epoch.
    pub dev: f64,
}

/// What a probe reports while it runs.
#[derive(Debug, Clone)]
pub enum ProbeEvent {
    /// Features of a split: `done` of `total` utterances.
    Extracting {
        /// `train`, `dev` or `test`.
        split: &'static str,
        /// Utterances done.
        done: usize,
        /// Utterances in the split.
        total: usize,
    },
    /// An epoch finished.
    Epoch(EpochRecord),
}

/// The upstream a probe ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamInfo {
    /// Its path.
    pub path: PathBuf,
    /// Teacher or student.
    pub kind: UpstreamKind,
    /// `L + 1`.
    pub hidden_states: usize,
    /// Width.
    pub hidden_size: usize,
}

/// The data a probe ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// The data directory.
    pub dir: PathBuf,
    /// Its layout (reports written before layouts existed read as `synthetic`).
    #[serde(default)]
    pub layout: Layout,
    /// Utterances used per split (train, dev, test).
    pub utterances: [usize; 3],
    /// Utterances skipped per split (see [`crate::LabelledSet::skipped`], plus the clips
    /// [`ProbeConfig::skip_bad_audio`] left out).
    pub skipped: [usize; 3],
    /// Number of classes (PR: phones + blank; ASR: characters + blank).
    pub classes: usize,
}

/// The result of a probe (written as `probe-<task>.json`, read back with [`ProbeReport::read`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The task.
    pub task: Task,
    /// `per`, `wer` or `accuracy` ([`Task::metric`]).
    pub metric: String,
    /// The metric on test, with the head of the best dev epoch.
    pub value: f64,
    /// The best dev metric.
    pub dev: f64,
    /// The epoch it came from.
    pub best_epoch: usize,
    /// What a trivial predictor scores on test: PR and ASR 1.0 (an empty hypothesis), SID/KS
    /// the accuracy of always predicting the most frequent training class.
    pub baseline: f64,
    /// The learned layer weights (softmax, `L + 1`, summing to 1) of the best epoch.
    pub layer_weights: Vec<f64>,
    /// The training budget.
    pub budget: Budget,
    /// The seed.
    pub seed: u64,
    /// The whole configuration.
    pub config: ProbeConfig,
    /// The upstream.
    pub upstream: UpstreamInfo,
    /// The data.
    pub data: DataInfo,
    /// Per-epoch loss and dev metric.
    pub history: Vec<EpochRecord>,
    /// Seconds spent extracting features and training (incl. evaluation).
    pub seconds: Timing,
}

/// Wall-clock time of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Feature extraction.
    pub extract: f64,
    /// Training and evaluation.
    pub train: f64,
}

impl ProbeReport {
    /// The file name in the output directory: `probe-<task>.json`.
    pub fn file_name(&self) -> String {
        format!("probe-{}.json", self.task)
    }

    /// Writes `out_dir/probe-<task>.json` atomically (creating `out_dir`); returns its path.
    ///
    /// # Errors
    /// [`ProbeError::Write`] naming the file.
    pub fn write(&self, out_dir: &Path) -> Result<PathBuf, ProbeError> {
        let path = out_dir.join(self.file_name());
        let json = serde_json::to_vec_pretty(self).expect("reports serialize");
        ssl_distill_models::write_atomic(&path, &json)?;
        Ok(path)
    }

    /// Reads a report that [`ProbeReport::write`] wrote.
    ///
    /// # Errors
    /// [`ProbeError::NotFound`] for a missing file, [`ProbeError::BadReport`] naming the file
    /// when it cannot be read or is not a probe report.
    pub fn read(path: &Path) -> Result<Self, ProbeError> {
        if !path.is_file() {
            return Err(ProbeError::NotFound { path: path.into() });
        }
        let bad = |message: String| ProbeError::BadReport {
            path: path.into(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))
    }
}
