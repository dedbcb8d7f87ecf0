#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - upstreams: [`load_upstream`] → [`Upstream`] (teacher or student), [`UpstreamOutput`];
//! - tasks: [`Task`] (PR, SID, KS, ASR), [`read_task`] / [`read_task_with`] ([`DataOptions`])
//!   → [`TaskData`] ([`LabelledSet`] per split) from a directory in one of four [`Layout`]s
//!   (synthetic corpus, Speech Commands, VoxCeleb1, LibriSpeech; [`detect_layout`]),
//!   [`Lexicon`] (PR on LibriSpeech), [`normalize_transcript`] (ASR);
//! - features: [`extract`], [`extract_set`] → [`FeatureSet`] ([`Pooling`]), [`LayerStats`];
//! - probes: [`WeightedSum`], [`BiLstm`], [`PrHead`], [`PooledHead`]; [`run_probe`] with a
//!   [`ProbeConfig`] ([`Budget`]) → [`ProbeReport`] (with a [`TestItem`] per test utterance:
//!   [`ItemOutcome`], [`items_metric`]);
//! - metrics: [`edit_distance`], [`phone_error_rate`], [`word_error_rate`],
//!   [`ctc_greedy_decode`], [`accuracy`];
//! - analysis: [`analyze`] with an [`AnalysisConfig`] → [`CkaReport`], [`cross_cka`]; plots:
//!   [`plot::heatmap_png`], [`plot::dendrogram_png`];
//! - errors: [`ProbeError`].

mod analyze;
mod config;
mod ctc;
mod data;
mod error;
mod features;
mod heads;
mod items;
mod layout;
mod lstm;
mod metrics;
pub mod plot;
mod probe;
mod task;
mod upstream;
mod weighted_sum;

pub use analyze::{
    AnalysisConfig, CKA_DENDROGRAM, CKA_HEATMAP, CKA_JSON, CKA_TEACHER_HEATMAP, CkaReport, analyze,
    cross_cka,
};
pub use config::{Budget, ProbeConfig};
pub use data::{
    Crop, LabelledSet, Lexicon, SILENCE, SPEECH_COMMANDS_CLASSES, TaskData, UNKNOWN, read_task,
    read_task_with,
};
pub use error::ProbeError;
pub use features::{Extracted, FeatureSet, LayerStats, Pooling, extract, extract_set};
pub use heads::{
    PooledHead, PooledHeadConfig, PrBody, PrHead, PrHeadConfig, PrSequence, PrTransformer,
};
pub use items::{ItemOutcome, TestItem, items_metric};
pub use layout::{DataOptions, LIBRISPEECH_SPLITS, Layout, detect_layout};
pub use lstm::{BiLstm, BiLstmConfig, BiLstmLayer, LstmCell};
pub use metrics::{accuracy, ctc_greedy_decode, edit_distance, phone_error_rate, word_error_rate};
pub use probe::{DataInfo, EpochRecord, ProbeEvent, ProbeReport, Timing, UpstreamInfo, run_probe};
/// One merge of the layer clustering (re-exported: [`CkaReport::dendrogram`] holds them).
pub use ssl_distill_targets::Merge;
pub use task::{BLANK, CHARACTERS, Task, normalize_transcript};
pub use upstream::{Upstream, UpstreamKind, UpstreamOutput, load_upstream};
pub use weighted_sum::{WeightedSum, WeightedSumConfig};
