#![doc = include_str!("../README.md")]

mod checkpoint;
mod config;
mod error;
mod groups;
mod metrics;
mod parallel;
mod params;
mod step;
mod trainer;
mod validate;

pub use checkpoint::{
    CheckpointMeta, LoopState, META_FILE, MODEL_FILE, OPTIM_FILE, RngState, checkpoint_dir,
    checkpoints_root, clean_tmp_dirs, complete_checkpoints, latest_checkpoint, load_checkpoint,
    prune_checkpoints, read_meta, write_checkpoint,
};
pub use config::{DecayKind, NanPolicy, TrainConfig};
pub use error::TrainError;
pub use groups::{ParamGroupConfig, ResolvedGroups, validate_groups};
pub use metrics::{METRICS_FILE, MetricsRow, MetricsWriter, read_metrics};
pub use params::{clip_global_norm, global_grad_norm, init_lazy_params};
pub use step::{BoxError, DataSource, StepModel, StepOutput};
pub use trainer::{
    ProgressMode, RunOptions, TrainOutcome, adamw_from_config, train, train_with_optimizer,
    train_with_validation,
};
pub use validate::{ValidationError, Validator};
