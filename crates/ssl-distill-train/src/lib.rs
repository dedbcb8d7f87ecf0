#![doc = include_str!("../README.md")]

pub mod checkpoint;
pub mod config;
pub mod error;
pub mod groups;
pub mod metrics;
mod parallel;
pub mod params;
pub mod trainer;
pub mod validate;

pub use checkpoint::{
    CheckpointMeta, LoopState, RngState, checkpoint_dir, clean_tmp_dirs, complete_checkpoints,
    latest_checkpoint, load_checkpoint, prune_checkpoints, write_checkpoint,
};
pub use config::{DecayKind, NanPolicy, TrainConfig};
pub use error::TrainError;
pub use groups::{ParamGroupConfig, ResolvedGroups, validate_groups};
pub use metrics::{MetricsRow, MetricsWriter, read_metrics};
pub use params::{clip_global_norm, global_grad_norm, init_lazy_params};
pub use trainer::{
    DataSource, ProgressMode, RunOptions, StepModel, StepOutput, TrainOutcome, adamw_from_config,
    train, train_with_optimizer, train_with_validation,
};
pub use validate::{ValidationError, Validator};
