//! Running a probe: features once on the upstream's plain device, then a head
//! ([`PrHead`] for the CTC tasks PR and ASR, or [`PooledHead`]) with its [`WeightedSum`](crate::WeightedSum) trained on the
//! autodiff device with AdamW at a constant learning rate for a fixed number of epochs; the
//! epoch with the best dev metric is kept and scored on test.
//!
//! A hand-written loop, not burn-train's `Learner`: the data are in-memory feature tensors
//! rather than a `Dataset` + `Batcher`, model selection is on a task metric (PER, accuracy)
//! that the Learner would need custom `Metric`s for, and the Learner writes an artifact
//! directory (checkpoints, logs) and prints one `ProgressSnapshot` line per batch without loss
//! values when not on a TTY. The loop is 30 lines and prints one line per epoch.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::ProbeError;
use crate::features::{FeatureSet, Pooling, extract_set};
use crate::heads::{PooledHead, PooledHeadConfig, PrHead, PrHeadConfig};
use crate::metrics::{accuracy, ctc_greedy_decode, phone_error_rate, word_error_rate};
use crate::report::{
    Budget, DataInfo, EpochRecord, ProbeConfig, ProbeEvent, ProbeReport, Timing, UpstreamInfo,
};
use crate::task::{LabelledSet, Task, TaskData};
use crate::upstream::Upstream;

/// Features and labels of one split, ready to batch.
struct Split {
    features: FeatureSet,
    labels: Vec<Vec<usize>>,
    /// Utterances of the split left out at extraction (bad audio).
    dropped: usize,
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

/// The downstream being trained.
// burn's `Module` derive does not take `Box`ed fields; one head exists per probe.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
enum Head {
    Ctc(PrHead),
    Pooled(PooledHead),
}

impl Head {
    fn loss(&self, split: &Split, idx: &[usize], device: &Device) -> Tensor<1> {
        let targets: Vec<Vec<usize>> = idx.iter().map(|&i| split.labels[i].clone()).collect();
        match self {
            Self::Ctc(h) => {
                let (x, lengths) = frames_batch(&split.features, idx, device);
                h.loss(x, &lengths, &targets)
            }
            Self::Pooled(h) => {
                let classes: Vec<usize> = targets.iter().map(|t| t[0]).collect();
                h.loss(pooled_batch(&split.features, idx, device), &classes)
            }
        }
    }

    /// The metric on a split (PER, WER or accuracy), evaluated in batches of `batch_size`;
    /// `classes` turn ASR's character indices into text.
    fn evaluate(
        &self,
        split: &Split,
        task: Task,
        classes: &[String],
        batch_size: usize,
        device: &Device,
    ) -> f64 {
        let n = split.features.len();
        let order: Vec<usize> = (0..n).collect();
        let mut predictions: Vec<Vec<usize>> = Vec::with_capacity(n);
        for idx in order.chunks(batch_size.max(1)) {
            match self {
                Self::Ctc(h) => {
                    let (x, lengths) = frames_batch(&split.features, idx, device);
                    let log_probs = h.forward(x, &lengths);
                    let [b, t, c] = log_probs.dims();
                    let values: Vec<f32> = log_probs
                        .into_data()
                        .convert::<f32>()
                        .try_into_vec::<f32>()
                        .expect("f32 scores");
                    let best = argmax_rows(&values, c);
                    for (row, &len) in lengths.iter().enumerate().take(b) {
                        predictions.push(ctc_greedy_decode(&best[row * t..row * t + len], 0));
                    }
                }
                Self::Pooled(h) => {
                    let logits = h.forward(pooled_batch(&split.features, idx, device));
                    let c = logits.dims()[1];
                    let values: Vec<f32> = logits
                        .into_data()
                        .convert::<f32>()
                        .try_into_vec::<f32>()
                        .expect("f32 scores");
                    predictions.extend(argmax_rows(&values, c).into_iter().map(|p| vec![p]));
                }
            }
        }
        match self {
            // ASR: classes are characters; words are what the spaces separate.
            Self::Ctc(_) if task == Task::Asr => {
                let text = |ids: &[usize]| -> String {
                    ids.iter().map(|&i| classes[i].as_str()).collect()
                };
                let pairs: Vec<(String, String)> = predictions
                    .iter()
                    .zip(&split.labels)
                    .map(|(h, r)| (text(h), text(r)))
                    .collect();
                word_error_rate(pairs.iter().map(|(h, r)| (h.as_str(), r.as_str())))
            }
            Self::Ctc(_) => phone_error_rate(
                predictions
                    .iter()
                    .zip(&split.labels)
                    .map(|(h, r)| (h.as_slice(), r.as_slice())),
            ),
            Self::Pooled(_) => {
                let pred: Vec<usize> = predictions.iter().map(|p| p[0]).collect();
                let gold: Vec<usize> = split.labels.iter().map(|l| l[0]).collect();
                accuracy(&pred, &gold)
            }
        }
    }

    fn layer_weights(&self) -> Vec<f64> {
        match self {
            Self::Ctc(h) => h.weighted_sum.weights_vec(),
            Self::Pooled(h) => h.weighted_sum.weights_vec(),
        }
    }
}

fn check_budget(b: &Budget) -> Result<(), ProbeError> {
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
    let pooling = if task.is_sequence() {
        Pooling::Frames
    } else {
        Pooling::Mean
    };

    let started = Instant::now();
    let mut extract_split = |name: &'static str, set: &LabelledSet| {
        let out = extract_set(
            upstream,
            set,
            pooling,
            config.skip_bad_audio,
            &mut |done, total| {
                events(ProbeEvent::Extracting {
                    split: name,
                    done,
                    total,
                });
            },
        )?;
        if out.kept.is_empty() {
            return Err(ProbeError::EmptySplit {
                path: set.source.clone(),
                task: task.name(),
            });
        }
        let split = Split {
            dropped: set.len() - out.kept.len(),
            labels: out.kept.iter().map(|&i| set.labels[i].clone()).collect(),
            features: out.features,
        };
        Ok::<_, ProbeError>((split, out.stats))
    };
    let (mut train, stats) = extract_split("train", &data.train)?;
    let (mut dev, _) = extract_split("dev", &data.dev)?;
    let (mut test, _) = extract_split("test", &data.test)?;
    if config.standardize {
        for s in [&mut train, &mut dev, &mut test] {
            s.features.standardize(&stats);
        }
    }
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
    let mut head = match task {
        Task::Pr | Task::Asr => Head::Ctc(
            PrHeadConfig::new(states, dim, classes)
                .with_body(config.pr_body)
                .with_max_frames(max_frames)
                .with_d_hidden(config.pr_hidden)
                .with_num_layers(config.pr_layers)
                .init(&autodiff),
        ),
        Task::Sid => Head::Pooled(PooledHeadConfig::new(states, dim, classes).init(&autodiff)),
        Task::Ks => Head::Pooled(
            PooledHeadConfig::new(states, dim, classes)
                .with_d_hidden(Some(config.ks_hidden))
                .init(&autodiff),
        ),
    };
    let budget = &config.budget;
    let mut optim = AdamWConfig::new()
        .with_weight_decay(budget.weight_decay as f32)
        .init();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let better = |a: f64, b: f64| {
        if task.lower_is_better() { a < b } else { a > b }
    };
    let mut best: Option<(usize, f64, Head)> = None;
    let mut history = Vec::with_capacity(budget.epochs);
    for epoch in 1..=budget.epochs {
        let mut order: Vec<usize> = (0..train.features.len()).collect();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut steps) = (0.0, 0usize);
        for idx in order.chunks(budget.batch_size) {
            let loss = head.loss(&train, idx, &autodiff);
            loss_sum += f64::from(loss.clone().into_scalar::<f32>());
            steps += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(budget.lr, head, grads);
        }
        let valid = head.valid();
        let dev_metric = valid.evaluate(&dev, task, &data.classes, budget.batch_size, &plain);
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
    let (best_epoch, dev_metric, best_head) = best.expect("at least one epoch");
    let value = best_head.evaluate(&test, task, &data.classes, budget.batch_size, &plain);
    let baseline = match task {
        Task::Pr | Task::Asr => 1.0,
        Task::Sid | Task::Ks => {
            let mut counts = vec![0usize; classes];
            for l in &train.labels {
                counts[l[0]] += 1;
            }
            let majority = (0..classes)
                .max_by_key(|&c| (counts[c], usize::MAX - c))
                .unwrap_or(0);
            test.labels.iter().filter(|l| l[0] == majority).count() as f64
                / test.labels.len().max(1) as f64
        }
    };
    Ok(ProbeReport {
        task,
        metric: task.metric().to_string(),
        value,
        dev: dev_metric,
        best_epoch,
        baseline,
        layer_weights: best_head.layer_weights(),
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
        history,
        seconds: Timing {
            extract: extract_seconds,
            train: started.elapsed().as_secs_f64(),
        },
    })
}
