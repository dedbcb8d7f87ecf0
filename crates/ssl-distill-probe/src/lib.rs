#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - upstreams: [`load_upstream`] → [`Upstream`] (teacher or student), [`UpstreamOutput`];
//! - tasks: [`Task`], [`read_task`] → [`TaskData`] ([`LabelledSet`] per split);
//! - features: [`extract`] → [`FeatureSet`] ([`Pooling`]), [`LayerStats`];
//! - probes: [`WeightedSum`], [`BiLstm`], [`PrHead`], [`PooledHead`]; [`run_probe`] with a
//!   [`ProbeConfig`] ([`Budget`]) → [`ProbeReport`] (with a [`TestItem`] per test utterance:
//!   [`ItemOutcome`], [`items_metric`]);
//! - metrics: [`edit_distance`], [`phone_error_rate`], [`ctc_greedy_decode`], [`accuracy`];
//! - analysis: [`analyze`] with an [`AnalysisConfig`] → [`CkaReport`], [`cross_cka`]; plots:
//!   [`plot::heatmap_png`], [`plot::dendrogram_png`];
//! - errors: [`ProbeError`].

mod analyze;
mod config;
mod ctc;
mod error;
mod features;
mod heads;
mod items;
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
pub use error::ProbeError;
pub use features::{FeatureSet, LayerStats, Pooling, extract};
pub use heads::{
    PooledHead, PooledHeadConfig, PrBody, PrHead, PrHeadConfig, PrSequence, PrTransformer,
};
pub use items::{ItemOutcome, TestItem, items_metric};
pub use lstm::{BiLstm, BiLstmConfig, BiLstmLayer, LstmCell};
pub use metrics::{accuracy, ctc_greedy_decode, edit_distance, phone_error_rate};
pub use probe::{DataInfo, EpochRecord, ProbeEvent, ProbeReport, Timing, UpstreamInfo, run_probe};
/// One merge of the layer clustering (re-exported: [`CkaReport::dendrogram`] holds them).
pub use ssl_distill_targets::Merge;
pub use task::{BLANK, LabelledSet, Task, TaskData, read_task};
pub use upstream::{Upstream, UpstreamKind, UpstreamOutput, load_upstream};
pub use weighted_sum::{WeightedSum, WeightedSumConfig};
