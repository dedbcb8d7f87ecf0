//! The teacher side of a distillation step: audio batches from a manifest, run through the
//! frozen teacher on a plain (non-autodiff) device, handed to the student's autodiff device
//! as constants.
//!
//! The teacher never holds gradient memory: its module lives on `device.inner()` and its
//! outputs enter the training graph through `Tensor::autodiff()` as leaves.

use std::sync::Arc;
use std::time::Instant;

use burn::tensor::{Bool, Device, Tensor};
use rand_chacha::ChaCha8Rng;
use ssl_distill_audio::{AudioDataset, Batch, Cursor, Loader, LoaderConfig};
use ssl_distill_models::{SslInput, SslModel};
use ssl_distill_targets::LayerTargets;
use ssl_distill_train::{BoxError, DataSource};

/// One batch with the teacher's targets, on the training device.
#[derive(Debug, Clone)]
pub struct DistillBatch {
    /// The student's input (waveforms and sample padding mask).
    pub input: SslInput,
    /// One target per head output, `[batch, frames, teacher dim]` each.
    pub targets: Vec<Tensor<3>>,
    /// The teacher CNN's output `[batch, frames, conv_dim]`, when a stage regresses onto it.
    pub teacher_cnn: Option<Tensor<3>>,
    /// Padded frames `[batch, frames]` (`true` = padded); `None` when no row is padded.
    pub frame_padding: Option<Tensor<2, Bool>>,
    /// Seconds of audio in the batch (valid samples / 16 kHz).
    pub seconds: f64,
}

/// The frozen teacher and the rule turning its hidden states into targets.
#[derive(Debug)]
pub struct TeacherRunner {
    /// The teacher, on `device` (no autodiff).
    pub model: SslModel,
    /// Target strategy.
    pub targets: Arc<dyn LayerTargets>,
    /// Keep the CNN output (front-end regression stages).
    pub keep_cnn: bool,
    /// The teacher's device (a plain device).
    pub device: Device,
}

impl TeacherRunner {
    /// The teacher's tensors for `batch` on its own device: `(input, hidden states up to the
    /// deepest target, cnn features, frame padding)`. Rows all of full length get no mask, so
    /// group-norm teachers see exactly what an unpadded run sees.
    pub fn hidden_states(
        &self,
        batch: &Batch,
        up_to: usize,
    ) -> (SslInput, Vec<Tensor<3>>, Tensor<3>, Option<Tensor<2, Bool>>) {
        let (wave, mask) = batch.to_tensors(&self.device);
        let padded = batch.lengths.iter().any(|&l| l < batch.max_len);
        let input = if padded {
            SslInput::new(wave).with_padding_mask(mask)
        } else {
            SslInput::new(wave)
        };
        let out = self.model.forward_until(input.clone(), up_to);
        (input, out.hidden_states, out.cnn_features, out.frame_mask)
    }

    /// The batch with its targets, moved to `train_device` (into its autodiff graph as
    /// constants when it is an autodiff device; plain for validation).
    pub fn distill_batch(&self, batch: &Batch, train_device: &Device) -> DistillBatch {
        let (input, hidden, cnn, frame_padding) =
            self.hidden_states(batch, self.targets.deepest_layer());
        let plain = train_device.clone().inner();
        let autodiff = train_device.is_autodiff();
        let to_train = |t: Tensor<3>| onto(t, &plain, autodiff);
        let targets = self
            .targets
            .targets(&hidden)
            .into_iter()
            .map(to_train)
            .collect();
        let student_input = SslInput {
            wave: onto(input.wave, &plain, autodiff),
            padding_mask: input.padding_mask.map(|m| m.to_device(train_device)),
            time_mask: None,
        };
        DistillBatch {
            input: student_input,
            targets,
            teacher_cnn: self.keep_cnn.then(|| to_train(cnn)),
            frame_padding: frame_padding.map(|m| m.to_device(train_device)),
            seconds: batch.lengths.iter().sum::<usize>() as f64
                / f64::from(ssl_distill_audio::SAMPLE_RATE),
        }
    }
}

/// `t` on `plain`, entering the autodiff graph as a constant when `autodiff`.
fn onto<const D: usize>(t: Tensor<D>, plain: &Device, autodiff: bool) -> Tensor<D> {
    let t = t.to_device(plain);
    if autodiff { t.autodiff() } else { t }
}

/// The audio side shared by the training streams: the audio crate's [`Loader`] at an exact
/// position of a seeded epoch order (a [`Cursor`], saved in checkpoints), the skipped-file
/// count, and the audio-seconds-per-second meter of `metrics.jsonl`.
#[derive(Debug)]
pub(crate) struct AudioStream {
    dataset: Arc<AudioDataset>,
    loader_config: LoaderConfig,
    loader: Option<Loader>,
    cursor: Cursor,
    seconds: f64,
    window: Instant,
    skipped: usize,
}

impl AudioStream {
    /// A stream from the start of `dataset`.
    pub(crate) fn new(dataset: Arc<AudioDataset>, loader_config: LoaderConfig) -> Self {
        Self {
            dataset,
            loader_config,
            loader: None,
            cursor: Cursor::default(),
            seconds: 0.0,
            window: Instant::now(),
            skipped: 0,
        }
    }

    /// The next audio batch (unreadable files logged and counted when the loader skips them).
    pub(crate) fn next_audio(&mut self) -> Result<Batch, BoxError> {
        if self.loader.is_none() {
            self.loader = Some(Loader::new(
                Arc::clone(&self.dataset),
                self.loader_config.clone(),
                self.cursor,
            )?);
        }
        let loader = self.loader.as_mut().expect("just created");
        let loaded = loader
            .next()
            .ok_or("the audio loader stopped before the run ended")??;
        for e in &loaded.skipped {
            tracing::warn!("skipped unreadable audio: {e}");
        }
        self.skipped += loaded.skipped.len();
        if loaded.batch.batch_size == 0 {
            return Err("a whole batch of unreadable audio: nothing to train on".into());
        }
        self.cursor = loaded.cursor;
        Ok(loaded.batch)
    }

    /// Counts `seconds` of audio trained on (for `audio_sec_per_sec`).
    pub(crate) fn add_seconds(&mut self, seconds: f64) {
        self.seconds += seconds;
    }

    /// Utterances left out so far (with `skip_bad_audio`).
    pub(crate) fn skipped(&self) -> usize {
        self.skipped
    }

    /// The position after the last batch, as saved in checkpoints, with the skipped-file count
    /// (so `skipped_audio` counts the whole run across resumes).
    pub(crate) fn cursor(&self) -> serde_json::Value {
        serde_json::json!({
            "epoch": self.cursor.epoch,
            "batch": self.cursor.batch,
            "skipped": self.skipped,
        })
    }

    /// `audio_sec_per_sec` since the previous call and `skipped_audio`.
    pub(crate) fn log_extra(&mut self) -> serde_json::Map<String, serde_json::Value> {
        let elapsed = self.window.elapsed().as_secs_f64().max(1e-9);
        let mut m = serde_json::Map::new();
        m.insert(
            "audio_sec_per_sec".into(),
            serde_json::json!(self.seconds / elapsed),
        );
        m.insert("skipped_audio".into(), serde_json::json!(self.skipped));
        self.seconds = 0.0;
        self.window = Instant::now();
        m
    }

    /// Moves to a position previously returned by [`cursor`](Self::cursor).
    pub(crate) fn restore(&mut self, cursor: &serde_json::Value) -> Result<(), BoxError> {
        let epoch = cursor.get("epoch").and_then(serde_json::Value::as_u64);
        let batch = cursor.get("batch").and_then(serde_json::Value::as_u64);
        let (Some(epoch), Some(batch)) = (epoch, batch) else {
            return Err(format!("malformed data cursor {cursor}").into());
        };
        self.cursor = Cursor {
            epoch,
            batch: usize::try_from(batch)?,
        };
        // Absent in checkpoints written before the count was saved.
        let skipped = cursor.get("skipped").and_then(serde_json::Value::as_u64);
        self.skipped = usize::try_from(skipped.unwrap_or(0))?;
        self.loader = None;
        Ok(())
    }
}

/// Turns the audio batches of a [`BatchStream`] into training batches: the one step in which
/// the distillation and the pretraining streams differ.
pub trait BatchMaker {
    /// The training batch.
    type Batch;
    /// The training batch of `audio` with its tensors on `device` (`rng`: the loop's RNG).
    ///
    /// # Errors
    /// Whatever keeps the batch from being made.
    fn make(
        &self,
        audio: &Batch,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Self::Batch, BoxError>;
    /// Seconds of audio in `batch` (for `audio_sec_per_sec`).
    fn seconds(batch: &Self::Batch) -> f64;
}

/// A resumable stream of training batches: an [`AudioStream`] (exact position in a seeded
/// epoch order, saved in checkpoints) feeding a [`BatchMaker`].
#[derive(Debug)]
pub struct BatchStream<M> {
    audio: AudioStream,
    maker: M,
    train_device: Device,
}

impl<M> BatchStream<M> {
    /// A stream from the start of `dataset` whose batches `maker` makes on `train_device`.
    pub fn with_maker(
        dataset: Arc<AudioDataset>,
        loader_config: LoaderConfig,
        maker: M,
        train_device: Device,
    ) -> Self {
        Self {
            audio: AudioStream::new(dataset, loader_config),
            maker,
            train_device,
        }
    }

    /// Utterances left out so far (with `skip_bad_audio`).
    pub fn skipped(&self) -> usize {
        self.audio.skipped()
    }
}

impl<M: BatchMaker> DataSource for BatchStream<M> {
    type Batch = M::Batch;

    fn next_batch(&mut self, rng: &mut ChaCha8Rng) -> Result<M::Batch, BoxError> {
        let device = self.train_device.clone();
        self.next_batch_on(rng, &device)
    }

    /// The next batch with its tensors on `device` (a data-parallel replica's autodiff
    /// device); a teacher runs on its own device either way.
    fn next_batch_on(
        &mut self,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<M::Batch, BoxError> {
        let audio = self.audio.next_audio()?;
        let batch = self.maker.make(&audio, rng, device)?;
        self.audio.add_seconds(M::seconds(&batch));
        Ok(batch)
    }

    fn cursor(&self) -> serde_json::Value {
        self.audio.cursor()
    }

    fn log_extra(&mut self) -> serde_json::Map<String, serde_json::Value> {
        self.audio.log_extra()
    }

    fn restore(&mut self, cursor: &serde_json::Value) -> Result<(), BoxError> {
        self.audio.restore(cursor)
    }
}

/// A resumable stream of [`DistillBatch`]es: an [`AudioStream`] feeding a [`TeacherRunner`].
pub type TeacherStream = BatchStream<Arc<TeacherRunner>>;

impl TeacherStream {
    /// A stream from the start of `dataset`.
    pub fn new(
        dataset: Arc<AudioDataset>,
        loader_config: LoaderConfig,
        teacher: Arc<TeacherRunner>,
        train_device: Device,
    ) -> Self {
        Self::with_maker(dataset, loader_config, teacher, train_device)
    }
}

impl BatchMaker for Arc<TeacherRunner> {
    type Batch = DistillBatch;

    fn make(
        &self,
        audio: &Batch,
        _rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<DistillBatch, BoxError> {
        Ok(self.distill_batch(audio, device))
    }

    fn seconds(batch: &DistillBatch) -> f64 {
        batch.seconds
    }
}
