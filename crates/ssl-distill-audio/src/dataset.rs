//! A dataset over a [`Manifest`]: decode, resample, check, crop and normalize one utterance.
//!
//! Cropping is deterministic: the crop of utterance `index` in epoch `epoch` is drawn from a
//! ChaCha8 generator seeded by `(seed, epoch, index)`, so it does not depend on the order or
//! the thread the utterance is loaded in, and a resumed run sees the same crops.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::decode::decode_file;
use crate::error::AudioError;
use crate::manifest::{Manifest, Utterance};
use crate::normalize::normalize;
use crate::rate::{MAX_SAMPLE_RATE, SAMPLE_RATE};
use crate::resample::resample;

/// How utterances are prepared.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetConfig {
    /// Rate every utterance is resampled to (Hz). Default 16000.
    pub sample_rate: u32,
    /// Crop utterances longer than this many seconds to a random window of that length
    /// (`None`: no crop). Default `None`.
    pub max_seconds: Option<f32>,
    /// Zero-mean unit-variance normalization per utterance (after cropping). Default false.
    pub normalize: bool,
    /// Check a manifest's declared `num_samples` against the decoded file. Default true.
    pub check_lengths: bool,
    /// Seed of the crops (and of the loader's shuffling). Default 0.
    pub seed: u64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        Self {
            sample_rate: SAMPLE_RATE,
            max_seconds: None,
            normalize: false,
            check_lengths: true,
            seed: 0,
        }
    }
}

/// One prepared utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Position in the manifest.
    pub index: usize,
    /// Mono samples at [`DatasetConfig::sample_rate`].
    pub samples: Vec<f32>,
    /// Offset of the crop in the resampled utterance (0 when not cropped).
    pub crop_start: usize,
}

/// Utterances of a manifest, prepared on demand.
#[derive(Debug, Clone)]
pub struct AudioDataset {
    manifest: Manifest,
    config: DatasetConfig,
}

impl AudioDataset {
    /// A dataset over `manifest`.
    ///
    /// # Errors
    /// [`AudioError::InvalidOption`] for a zero/absurd sample rate or a non-positive or
    /// non-finite `max_seconds`.
    pub fn new(manifest: Manifest, config: DatasetConfig) -> Result<Self, AudioError> {
        if config.sample_rate == 0 || config.sample_rate > MAX_SAMPLE_RATE {
            return Err(AudioError::InvalidOption {
                field: "sample_rate",
                reason: "must be in 1..=768000 Hz",
            });
        }
        if let Some(s) = config.max_seconds
            && !(s.is_finite() && s > 0.0)
        {
            return Err(AudioError::InvalidOption {
                field: "max_seconds",
                reason: "must be a positive number of seconds",
            });
        }
        Ok(Self { manifest, config })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The configuration.
    pub fn config(&self) -> &DatasetConfig {
        &self.config
    }

    /// Number of utterances.
    pub fn len(&self) -> usize {
        self.manifest.len()
    }

    /// Whether the dataset is empty.
    pub fn is_empty(&self) -> bool {
        self.manifest.is_empty()
    }

    /// The manifest entry of utterance `index`.
    pub fn utterance(&self, index: usize) -> Option<&Utterance> {
        self.manifest.utterances.get(index)
    }

    /// Loads utterance `index` as seen in `epoch` (the epoch only changes the crop).
    ///
    /// # Errors
    /// [`AudioError::IndexOutOfRange`], every decoding error of [`decode_file`],
    /// [`AudioError::LengthMismatch`] (when checking lengths) and [`AudioError::Resample`].
    pub fn load(&self, index: usize, epoch: u64) -> Result<Item, AudioError> {
        let utt = self.utterance(index).ok_or(AudioError::IndexOutOfRange {
            index,
            len: self.len(),
        })?;
        let audio = decode_file(&utt.path)?;
        if self.config.check_lengths
            && let Some(declared) = utt.num_samples
            && declared != audio.samples.len() as u64
        {
            return Err(AudioError::LengthMismatch {
                path: utt.path.clone(),
                declared,
                got: audio.samples.len() as u64,
            });
        }
        let mut samples = resample(&audio.samples, audio.sample_rate, self.config.sample_rate)
            .map_err(|source| AudioError::Resample {
                path: utt.path.clone(),
                source,
            })?;
        let mut crop_start = 0;
        if let Some(max_seconds) = self.config.max_seconds {
            let max_len =
                ((f64::from(max_seconds) * f64::from(self.config.sample_rate)) as usize).max(1);
            if samples.len() > max_len {
                let mut rng = crop_rng(self.config.seed, epoch, index);
                crop_start = rng.random_range(0..=samples.len() - max_len);
                samples.drain(..crop_start);
                samples.truncate(max_len);
            }
        }
        if self.config.normalize {
            normalize(&mut samples);
        }
        Ok(Item {
            index,
            samples,
            crop_start,
        })
    }
}

/// The generator of the crop of utterance `index` in `epoch`.
fn crop_rng(seed: u64, epoch: u64, index: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&epoch.to_le_bytes());
    key[16..24].copy_from_slice(&(index as u64).to_le_bytes());
    key[24..].copy_from_slice(b"crop\0\0\0\0");
    ChaCha8Rng::from_seed(key)
}
