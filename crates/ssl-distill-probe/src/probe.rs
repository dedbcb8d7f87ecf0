//! Running a probe: features once on the upstream's plain device, then a head
//! ([`PrHead`] for the CTC tasks PR and ASR, or [`PooledHead`]) with its
//! [`WeightedSum`](crate::WeightedSum) trained on the autodiff device with AdamW at a constant
//! learning rate for a fixed number of epochs; the epoch with the best dev metric is kept and
//! scored on test.
//!
//! A hand-written loop, not burn-train's `Learner`: the data are in-memory feature tensors
//! rather than a `Dataset` + `Batcher`, model selection is on a task metric (PER, accuracy)
//! that the Learner would need custom `Metric`s for, and the Learner writes an artifact
//! directory (checkpoints, logs) and prints one `ProgressSnapshot` line per batch without loss
//! values when not on a TTY. The loop is 30 lines and prints one line per epoch.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{Budget, ProbeConfig, check_budget};
use crate::data::{LabelledSet, TaskData};
use crate::error::ProbeError;
use crate::features::{FeatureSet, Pooling, extract_set};
use crate::heads::{PooledHead, PooledHeadConfig, PrHead, PrHeadConfig};
use crate::items::{TestItem, item_ids, items_metric, outcomes};
use crate::layout::Layout;
use crate::metrics::{
    accuracy, ctc_greedy_decode, phone_error_rate, token_word_error_rate, trivial_word_error_rate,
};
use crate::task::Task;
use crate::upstream::{Upstream, UpstreamKind};

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
    /// Utterances skipped per split (see [`LabelledSet::skipped`], plus the clips
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
    /// What a trivial predictor scores on test: PR 1.0 (an empty hypothesis); ASR the better of
    /// the empty hypothesis (1.0) and the most frequent training word once per utterance;
    /// SID/KS the accuracy of always predicting the most frequent training class.
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
    /// Per test item (in test-manifest order): its id and outcome, for paired comparisons of
    /// two upstreams. Empty in reports written before they were kept.
    #[serde(default)]
    pub items: Vec<TestItem>,
    /// Seconds spent extracting features and training (incl. evaluation).
    pub seconds: Timing,
    /// ASR: the character error rate on test (spaces count as characters), with the head of
    /// the best dev epoch; `None` for the other tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cer: Option<f64>,
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

/// Features and labels of one split, ready to batch.
struct Split {
    features: FeatureSet,
    /// The labels of the utterances extracted.
    labels: Vec<Vec<usize>>,
    /// Utterances of the split left out at extraction ([`ProbeConfig::skip_bad_audio`]).
    dropped: usize,
    /// Indices (into the split's utterances) of the items extracted, in order.
    kept: Vec<usize>,
    /// ASR: the class of the space; a CTC head is then scored by word error rate (words are
    /// the runs between spaces), else by token error rate.
    word_break: Option<usize>,
}

/// `[L + 1, B, T_max, D]` (zero-padded) of the items `idx`, and their frame counts.
fn frames_batch(set: &FeatureSet, idx: &[usize], device: &Device) -> (Tensor<4>, Vec<usize>) {
    let (l, d) = (set.num_states, set.dim);
    let lengths: Vec<usize> = idx.iter().map(|&i| set.frames[i]).collect();
    let t = lengths.iter().copied().max().unwrap_or(0);
    let b = idx.len();
    let mut data = vec![0f32; l * b * t * d];
    for (row, &i) in idx.iter().enumerate() {
        let n = set.frames[i];
        for state in 0..l {
            let src = &set.data[i][state * n * d..(state + 1) * n * d];
            let dst = (state * b + row) * t * d;
            data[dst..dst + n * d].copy_from_slice(src);
        }
    }
    let x = Tensor::<4>::from_data(TensorData::new(data, [l, b, t, d]), device);
    (x, lengths)
}

/// `[L + 1, B, D]` of the pooled items `idx`.
fn pooled_batch(set: &FeatureSet, idx: &[usize], device: &Device) -> Tensor<3> {
    let (l, d) = (set.num_states, set.dim);
    let b = idx.len();
    let mut data = vec![0f32; l * b * d];
    for (row, &i) in idx.iter().enumerate() {
        for state in 0..l {
            let dst = (state * b + row) * d;
            data[dst..dst + d].copy_from_slice(&set.data[i][state * d..(state + 1) * d]);
        }
    }
    Tensor::<3>::from_data(TensorData::new(data, [l, b, d]), device)
}

/// Index of the largest value of each row of `[rows, classes]` data.
fn argmax_rows(values: &[f32], classes: usize) -> Vec<usize> {
    values
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect()
}

/// The downstream being trained (`Pr`: the CTC head of PR and ASR).
#[expect(
    clippy::large_enum_variant,
    reason = "burn's `Module` derive does not take `Box`ed fields; one head exists per probe"
)]
#[derive(Module, Debug)]
enum Head {
    Pr(PrHead),
    Pooled(PooledHead),
}

impl Head {
    fn loss(&self, split: &Split, idx: &[usize], device: &Device) -> Tensor<1> {
        let targets: Vec<Vec<usize>> = idx.iter().map(|&i| split.labels[i].clone()).collect();
        match self {
            Self::Pr(h) => {
                let (x, lengths) = frames_batch(&split.features, idx, device);
                h.loss(x, &lengths, &targets)
            }
            Self::Pooled(h) => {
                let classes: Vec<usize> = targets.iter().map(|t| t[0]).collect();
                h.loss(pooled_batch(&split.features, idx, device), &classes)
            }
        }
    }

    /// The metric on a split (PER, WER or accuracy), evaluated in batches of `batch_size`.
    fn evaluate(&self, split: &Split, batch_size: usize, device: &Device) -> f64 {
        let predictions = self.predict(split, batch_size, device);
        self.metric(split, &predictions)
    }

    /// The metric of `predictions` (one per item of `split`): PER (or WER when the split has a
    /// word break) for a CTC head, accuracy for a pooled one.
    fn metric(&self, split: &Split, predictions: &[Vec<usize>]) -> f64 {
        let pairs = predictions
            .iter()
            .zip(&split.labels)
            .map(|(h, r)| (h.as_slice(), r.as_slice()));
        match self {
            Self::Pr(_) => match split.word_break {
                Some(space) => token_word_error_rate(pairs, space),
                None => phone_error_rate(pairs),
            },
            Self::Pooled(_) => {
                let pred: Vec<usize> = predictions.iter().map(|p| p[0]).collect();
                let gold: Vec<usize> = split.labels.iter().map(|l| l[0]).collect();
                accuracy(&pred, &gold)
            }
        }
    }

    /// Per item of a split: the decoded tokens (PR, ASR) or the predicted class (one element).
    fn predict(&self, split: &Split, batch_size: usize, device: &Device) -> Vec<Vec<usize>> {
        let n = split.features.len();
        let order: Vec<usize> = (0..n).collect();
        let mut predictions: Vec<Vec<usize>> = Vec::with_capacity(n);
        for idx in order.chunks(batch_size.max(1)) {
            match self {
                Self::Pr(h) => {
                    let (x, lengths) = frames_batch(&split.features, idx, device);
                    let log_probs = h.forward(x, &lengths);
                    let [b, t, c] = log_probs.dims();
                    let values: Vec<f32> = log_probs.try_into_vec_as::<f32>().expect("f32 scores");
                    let best = argmax_rows(&values, c);
                    for (row, &len) in lengths.iter().enumerate().take(b) {
                        predictions.push(ctc_greedy_decode(&best[row * t..row * t + len], 0));
                    }
                }
                Self::Pooled(h) => {
                    let logits = h.forward(pooled_batch(&split.features, idx, device));
                    let c = logits.dims()[1];
                    let values: Vec<f32> = logits.try_into_vec_as::<f32>().expect("f32 scores");
                    predictions.extend(argmax_rows(&values, c).into_iter().map(|p| vec![p]));
                }
            }
        }
        predictions
    }

    fn layer_weights(&self) -> Vec<f64> {
        match self {
            Self::Pr(h) => h.weighted_sum.weights_vec(),
            Self::Pooled(h) => h.weighted_sum.weights_vec(),
        }
    }
}

/// Runs the probe `config` of `upstream` on `data`: features of the three splits (on
/// [`Upstream::device`]), then training on `device.autodiff()` (`device` may be plain or
/// autodiff), model selection on dev, the metric on test. `events` sees extraction progress and
/// each epoch.
///
/// # Errors
/// [`ProbeError::InvalidOption`] for an empty budget, and the extraction errors
/// ([`ProbeError::Audio`], [`ProbeError::TooShort`]).
///
/// # Panics
/// If `data.task` differs from `config.task`.
pub fn run_probe(
    upstream: &Upstream,
    data: &TaskData,
    config: &ProbeConfig,
    device: &Device,
    events: &mut dyn FnMut(ProbeEvent),
) -> Result<ProbeReport, ProbeError> {
    assert_eq!(
        data.task, config.task,
        "the data were read for another task"
    );
    check_budget(&config.budget)?;
    let task = config.task;
    let plain = device.clone().inner();
    let autodiff = plain.clone().autodiff();

    let started = Instant::now();
    let [train, dev, mut test] = extract_splits(upstream, data, config, events)?;
    let extract_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    autodiff.seed(config.seed);
    let (states, dim, classes) = (
        upstream.num_hidden_states(),
        upstream.hidden_size(),
        data.classes.len(),
    );
    let max_frames = [&train, &dev, &test]
        .iter()
        .flat_map(|s| s.features.frames.iter().copied())
        .max()
        .unwrap_or(1);
    let head = init_head(config, [states, dim, classes], max_frames, &autodiff);
    let budget = &config.budget;
    let trained = train_head(head, config, &train, &dev, &plain, events);
    let predictions = trained.head.predict(&test, budget.batch_size, &plain);
    let ids = item_ids(&data.test, &test.kept);
    let items = outcomes(&ids, &predictions, &test.labels, task, test.word_break);
    let value = items_metric(task, &items);
    let cer = test.word_break.take().map(|_| {
        // The same predictions scored on characters rather than words.
        trained.head.metric(&test, &predictions)
    });
    let baseline = match task {
        Task::Pr => 1.0,
        Task::Asr => trivial_word_error_rate(&train.labels, &test.labels, ASR_SPACE),
        Task::Sid | Task::Ks => majority_baseline(&train.labels, &test.labels, classes),
    };
    Ok(ProbeReport {
        task,
        metric: task.metric().to_string(),
        value,
        dev: trained.dev_metric,
        best_epoch: trained.epoch,
        baseline,
        layer_weights: trained.head.layer_weights(),
        budget: budget.clone(),
        seed: config.seed,
        config: config.clone(),
        upstream: UpstreamInfo {
            path: upstream.path().into(),
            kind: upstream.kind(),
            hidden_states: states,
            hidden_size: dim,
        },
        data: DataInfo {
            dir: data.dir.clone(),
            layout: data.layout,
            utterances: [train.labels.len(), dev.labels.len(), test.labels.len()],
            skipped: [
                data.train.skipped + train.dropped,
                data.dev.skipped + dev.dropped,
                data.test.skipped + test.dropped,
            ],
            classes,
        },
        history: trained.history,
        items,
        seconds: Timing {
            extract: extract_seconds,
            train: started.elapsed().as_secs_f64(),
        },
        cer,
    })
}

/// ASR's class of the space (after the blank, [`crate::CHARACTERS`] starts with it).
const ASR_SPACE: usize = 1;

/// The features of the train, dev and test splits (frames for PR and ASR, mean-pooled
/// otherwise), standardised with the train statistics when `config.standardize`; with
/// `config.skip_bad_audio`, utterances that fail to decode are left out (counted).
///
/// # Errors
/// The extraction errors, and [`ProbeError::EmptySplit`] when a split keeps nothing.
fn extract_splits(
    upstream: &Upstream,
    data: &TaskData,
    config: &ProbeConfig,
    events: &mut dyn FnMut(ProbeEvent),
) -> Result<[Split; 3], ProbeError> {
    let task = config.task;
    let pooling = if task.is_sequence() {
        Pooling::Frames
    } else {
        Pooling::Mean
    };
    let word_break = (task == Task::Asr).then_some(ASR_SPACE);
    let mut extract_split = |name: &'static str, set: &LabelledSet| {
        let progress = &mut |done, total| {
            events(ProbeEvent::Extracting {
                split: name,
                done,
                total,
            });
        };
        let out = extract_set(upstream, set, pooling, config.skip_bad_audio, progress)?;
        if out.kept.is_empty() {
            return Err(ProbeError::EmptySplit {
                path: set.source.clone(),
                task: task.name(),
            });
        }
        let split = Split {
            dropped: set.len() - out.kept.len(),
            labels: out.kept.iter().map(|&i| set.labels[i].clone()).collect(),
            kept: out.kept,
            features: out.features,
            word_break,
        };
        Ok((split, out.stats))
    };
    let (mut train, stats) = extract_split("train", &data.train)?;
    let (mut dev, _) = extract_split("dev", &data.dev)?;
    let (mut test, _) = extract_split("test", &data.test)?;
    if config.standardize {
        for s in [&mut train, &mut dev, &mut test] {
            s.features.standardize(&stats);
        }
    }
    Ok([train, dev, test])
}

/// The task's head over `[hidden states, width, classes]` (random init on `device`).
fn init_head(
    config: &ProbeConfig,
    [states, dim, classes]: [usize; 3],
    max_frames: usize,
    device: &Device,
) -> Head {
    match config.task {
        Task::Pr | Task::Asr => Head::Pr(
            PrHeadConfig::new(states, dim, classes)
                .with_body(config.pr_body)
                .with_max_frames(max_frames)
                .with_d_hidden(config.pr_hidden)
                .with_num_layers(config.pr_layers)
                .init(device),
        ),
        Task::Sid => Head::Pooled(PooledHeadConfig::new(states, dim, classes).init(device)),
        Task::Ks => Head::Pooled(
            PooledHeadConfig::new(states, dim, classes)
                .with_d_hidden(Some(config.ks_hidden))
                .init(device),
        ),
    }
}

/// The head of the best dev epoch.
struct TrainedHead {
    epoch: usize,
    dev_metric: f64,
    head: Head,
    history: Vec<EpochRecord>,
}

/// Trains `head` for the budget's epochs (AdamW, constant lr, shuffled with `config.seed`),
/// scoring dev after each; keeps the best epoch's head.
fn train_head(
    mut head: Head,
    config: &ProbeConfig,
    train: &Split,
    dev: &Split,
    plain: &Device,
    events: &mut dyn FnMut(ProbeEvent),
) -> TrainedHead {
    let budget = &config.budget;
    let autodiff = plain.clone().autodiff();
    let mut optim = AdamWConfig::new()
        .with_weight_decay(budget.weight_decay as f32)
        .init();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let better = |a: f64, b: f64| {
        if config.task.lower_is_better() {
            a < b
        } else {
            a > b
        }
    };
    let mut best: Option<(usize, f64, Head)> = None;
    let mut history = Vec::with_capacity(budget.epochs);
    for epoch in 1..=budget.epochs {
        let mut order: Vec<usize> = (0..train.features.len()).collect();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut steps) = (0.0, 0usize);
        for idx in order.chunks(budget.batch_size) {
            let loss = head.loss(train, idx, &autodiff);
            loss_sum += f64::from(loss.clone().into_scalar::<f32>());
            steps += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(budget.lr, head, grads);
        }
        let valid = head.valid();
        let dev_metric = valid.evaluate(dev, budget.batch_size, plain);
        let record = EpochRecord {
            epoch,
            loss: loss_sum / steps.max(1) as f64,
            dev: dev_metric,
        };
        events(ProbeEvent::Epoch(record.clone()));
        history.push(record);
        if best.as_ref().is_none_or(|(_, b, _)| better(dev_metric, *b)) {
            best = Some((epoch, dev_metric, valid));
        }
    }
    let (epoch, dev_metric, head) = best.expect("at least one epoch");
    TrainedHead {
        epoch,
        dev_metric,
        head,
        history,
    }
}

/// Accuracy on `test` of always answering the most frequent class of `train` (the lowest on a
/// tie).
fn majority_baseline(train: &[Vec<usize>], test: &[Vec<usize>], classes: usize) -> f64 {
    let mut counts = vec![0usize; classes];
    for l in train {
        counts[l[0]] += 1;
    }
    let majority = (0..classes)
        .max_by_key(|&c| (counts[c], usize::MAX - c))
        .unwrap_or(0);
    test.iter().filter(|l| l[0] == majority).count() as f64 / test.len().max(1) as f64
}
