//! HuBERT masked-prediction pretraining of a teacher from scratch: HuBERT (Hsu et al. 2021,
//! "HuBERT: Self-Supervised Speech Representation Learning by Masked Prediction of Hidden
//! Units", arXiv:2106.07447), following fairseq's `examples/hubert` (model, criterion,
//! `simple_kmeans`) and HF transformers' `_compute_mask_indices`.
//!
//! - [`PretrainRecipe`] (TOML: `[data]`, `[model]`, `[units]`, `[masking]`, `[objective]`,
//!   `[train]`) with [`PretrainOverrides`] from the command line;
//! - [`Units`]: k-means units of MFCCs (iteration 1) or of a model's layer (iteration 2), one
//!   per model frame;
//! - [`MaskingConfig`]: HuBERT / HF span masking;
//! - [`HubertPretrainModel`] + [`PretrainStream`]: the train crate's `StepModel` and
//!   `DataSource`;
//! - [`pretrain`] → [`PretrainReport`], exporting an HF directory with the head.

mod masking;
mod recipe;
mod run;
mod task;
mod units;

pub use masking::MaskingConfig;
pub use recipe::{ModelSpec, ObjectiveConfig, PretrainData, PretrainOverrides, PretrainRecipe};
pub use run::{PretrainReport, UNITS_FILE, export_with_head, pretrain};
pub use task::{
    HubertPretrainModel, PretrainBatch, PretrainLabels, PretrainStream, pretrain_batch,
};
pub use units::{UnitFeatures, UnitSource, Units, UnitsConfig};
