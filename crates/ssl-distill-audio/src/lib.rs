#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - decoding: [`decode_file`], [`load_audio`], [`Audio`] (WAV via hound, FLAC via claxon);
//! - sample rates: [`SAMPLE_RATE`] (the models' 16 kHz), [`MAX_SAMPLE_RATE`];
//! - resampling: [`resample`] (rubato windowed sinc);
//! - features: [`Fbank`], [`Mfcc`] (Kaldi-compatible), [`normalize`];
//! - corpora: [`Manifest`] (fairseq TSV, JSONL, LibriSpeech folder), [`AudioDataset`],
//!   [`Batch`], [`Loader`];
//! - frames: [`num_frames`], [`frame_padding_mask`] of the wav2vec2 conv front-end;
//! - errors: [`AudioError`], [`ResampleError`], [`FeatureError`].

mod batch;
mod dataset;
mod decode;
mod error;
mod features;
mod frames;
mod loader;
mod manifest;
mod normalize;
mod rate;
mod resample;

pub use batch::Batch;
pub use dataset::{AudioDataset, DatasetConfig, Item};
pub use decode::{Audio, AudioFormat, decode_bytes, decode_file, load_audio, sniff_format};
pub use error::{AudioError, ResampleError};
pub use features::*;
pub use frames::{CONV_KERNELS, CONV_STRIDES, conv_output_frames, frame_padding_mask, num_frames};
pub use loader::{Cursor, LoadedBatch, Loader, LoaderConfig, batches_per_epoch, epoch_order};
pub use manifest::{Manifest, Utterance};
pub use normalize::normalize;
pub use rate::{MAX_SAMPLE_RATE, SAMPLE_RATE};
pub use resample::{output_len, resample};
