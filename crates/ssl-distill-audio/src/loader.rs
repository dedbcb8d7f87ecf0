//! A background loader: batches decoded in parallel (rayon) ahead of the consumer.
//!
//! The order is a function of `(seed, epoch)` only: each epoch is a permutation of the
//! dataset drawn from ChaCha8 (or manifest order without shuffling), cut into batches. A
//! [`Cursor`] (`epoch`, `batch`) names a position in that sequence, so a run resumed from a
//! saved cursor sees exactly the batches an uninterrupted run would have seen next.
//!
//! A bad utterance stops the loader with its error by default. With
//! [`LoaderConfig::skip_bad_audio`], it is left out of its batch and reported in
//! [`LoadedBatch::skipped`], so the caller can log it; [`Loader::skipped_total`] counts them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::batch::Batch;
use crate::dataset::{AudioDataset, Item};
use crate::error::AudioError;

/// How batches are formed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoaderConfig {
    /// Utterances per batch. Default 8.
    pub batch_size: usize,
    /// Shuffle each epoch (seeded by the dataset seed and the epoch). Default true.
    pub shuffle: bool,
    /// Drop the last, incomplete batch of each epoch. Default false.
    pub drop_last: bool,
    /// Batches prepared ahead of the consumer. Default 4.
    pub prefetch: usize,
    /// Leave unreadable utterances out (reported in [`LoadedBatch::skipped`]) instead of
    /// stopping with their error. Default false.
    pub skip_bad_audio: bool,
    /// Stop after this many epochs (`None`: run until dropped). Default `None`.
    pub max_epochs: Option<u64>,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self {
            batch_size: 8,
            shuffle: true,
            drop_last: false,
            prefetch: 4,
            skip_bad_audio: false,
            max_epochs: None,
        }
    }
}

/// A position in the loader's sequence: the next batch to produce.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Cursor {
    /// Epoch, from 0.
    pub epoch: u64,
    /// Batch within the epoch, from 0.
    pub batch: usize,
}

/// A batch and where the loader stands after it.
#[derive(Debug)]
pub struct LoadedBatch {
    /// The padded batch.
    pub batch: Batch,
    /// The cursor of the batch after this one (save it to resume after this batch).
    pub cursor: Cursor,
    /// Utterances left out since the previous batch (only with `skip_bad_audio`).
    pub skipped: Vec<AudioError>,
}

/// Batches of a dataset, loaded on a background thread; iterate it.
#[derive(Debug)]
pub struct Loader {
    rx: Option<Receiver<Result<LoadedBatch, AudioError>>>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    batches_per_epoch: usize,
    skipped_total: usize,
}

impl Loader {
    /// Starts loading `dataset` from `start`.
    ///
    /// # Errors
    /// [`AudioError::InvalidOption`] for a zero batch size, or when `drop_last` leaves no batch.
    pub fn new(
        dataset: Arc<AudioDataset>,
        config: LoaderConfig,
        start: Cursor,
    ) -> Result<Self, AudioError> {
        if config.batch_size == 0 {
            return Err(AudioError::InvalidOption {
                field: "batch_size",
                reason: "must be >= 1",
            });
        }
        let batches_per_epoch = batches_per_epoch(dataset.len(), &config);
        if batches_per_epoch == 0 {
            return Err(AudioError::InvalidOption {
                field: "batch_size",
                reason: "is larger than the dataset while drop_last is set: no batch to give",
            });
        }
        let (tx, rx) = sync_channel(config.prefetch.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("ssl-distill-loader".into())
                .spawn(move || produce(&dataset, &config, start, &tx, &stop))
                .map_err(|_| AudioError::InvalidOption {
                    field: "prefetch",
                    reason: "cannot start the loader thread",
                })?
        };
        Ok(Self {
            rx: Some(rx),
            stop,
            worker: Some(worker),
            batches_per_epoch,
            skipped_total: 0,
        })
    }

    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.batches_per_epoch
    }

    /// Utterances left out (with `skip_bad_audio`) in all batches yielded so far.
    pub fn skipped_total(&self) -> usize {
        self.skipped_total
    }
}

impl Iterator for Loader {
    type Item = Result<LoadedBatch, AudioError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.rx.as_ref()?.recv().ok()?;
        if let Ok(batch) = &item {
            self.skipped_total += batch.skipped.len();
        }
        Some(item)
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receiver unblocks a worker waiting to send.
        self.rx = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Batches per epoch for `len` utterances.
pub fn batches_per_epoch(len: usize, config: &LoaderConfig) -> usize {
    if config.batch_size == 0 {
        return 0;
    }
    if config.drop_last {
        len / config.batch_size
    } else {
        len.div_ceil(config.batch_size)
    }
}

/// The order of the dataset's indices in `epoch`.
pub fn epoch_order(len: usize, seed: u64, epoch: u64, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if shuffle {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&epoch.to_le_bytes());
        key[16..23].copy_from_slice(b"shuffle");
        order.shuffle(&mut ChaCha8Rng::from_seed(key));
    }
    order
}

fn produce(
    dataset: &AudioDataset,
    config: &LoaderConfig,
    start: Cursor,
    tx: &SyncSender<Result<LoadedBatch, AudioError>>,
    stop: &AtomicBool,
) {
    let per_epoch = batches_per_epoch(dataset.len(), config);
    let seed = dataset.config().seed;
    let mut skipped = Vec::new();
    let mut epoch = start.epoch;
    let mut batch_index = start.batch;
    while config.max_epochs.is_none_or(|max| epoch < max) {
        let mut loaded_any = false;
        let order = epoch_order(dataset.len(), seed, epoch, config.shuffle);
        while batch_index < per_epoch {
            let lo = batch_index * config.batch_size;
            let hi = (lo + config.batch_size).min(order.len());
            let results: Vec<Result<Item, AudioError>> = order[lo..hi]
                .par_iter()
                .map(|&i| dataset.load(i, epoch))
                .collect();
            batch_index += 1;
            let next = if batch_index == per_epoch {
                Cursor {
                    epoch: epoch + 1,
                    batch: 0,
                }
            } else {
                Cursor {
                    epoch,
                    batch: batch_index,
                }
            };
            let mut items = Vec::with_capacity(results.len());
            for result in results {
                match result {
                    Ok(item) => items.push(item),
                    Err(err) if config.skip_bad_audio => skipped.push(err),
                    Err(err) => {
                        let _ = tx.send(Err(err));
                        return;
                    }
                }
            }
            if items.is_empty() {
                continue;
            }
            loaded_any = true;
            let loaded = LoadedBatch {
                batch: Batch::from_items(&items),
                cursor: next,
                skipped: std::mem::take(&mut skipped),
            };
            if !send(tx, Ok(loaded), stop) {
                return;
            }
        }
        if !loaded_any && start.batch == 0 {
            let _ = tx.send(Err(AudioError::NoUsableAudio {
                path: dataset.manifest().source.clone(),
                skipped: skipped.len(),
            }));
            return;
        }
        epoch += 1;
        batch_index = 0;
    }
}

/// Sends, waiting while the channel is full; false once the consumer is gone or asks to stop.
fn send(
    tx: &SyncSender<Result<LoadedBatch, AudioError>>,
    mut msg: Result<LoadedBatch, AudioError>,
    stop: &AtomicBool,
) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        match tx.try_send(msg) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(back)) => {
                msg = back;
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}
