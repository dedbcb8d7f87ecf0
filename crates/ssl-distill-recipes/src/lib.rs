#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`Recipe`] (TOML) with [`Overrides`] from the command line; its sections
//!   [`StudentSpec`], [`TargetsSpec`], [`DiscSection`], [`StageSpec`];
//! - [`run`] with a [`RunConfig`] → [`DistillReport`];
//! - the pieces the run assembles: [`TeacherRunner`] / [`TeacherStream`] (frozen teacher on
//!   the plain device, batches of [`DistillBatch`]) and [`DistillModel`] (student + [`LossPlan`]);
//! - [`pretrain`]: HuBERT masked-prediction pretraining of a teacher ([`PretrainRecipe`] →
//!   [`pretrain()`](pretrain::pretrain));
//! - structured pruning (DPHuBERT, under SKILL): [`PruneSection`] (`[prune]`), stages with
//!   `prune = true` train a [`PruneModel`] (gated student + Lagrangian), then prune it;
//! - [`study`]: the science check behind `docs/results.md` (claims, paired statistics over
//!   seeds, verdicts, reuse keys, the report);
//! - [`toy`]: a tiny random teacher and a synthetic corpus for smoke runs and tests;
//! - errors: [`RecipeError`].

mod calibration;
mod data;
mod error;
mod prune;
mod prune_spec;
mod recipe;
mod run;
mod run_setup;
mod schedule;
mod student_spec;
pub mod study;
mod targets_spec;
mod task;
pub mod toy;
mod validate;

pub use data::{BatchMaker, BatchStream, DistillBatch, TeacherRunner, TeacherStream};
pub use error::RecipeError;
pub use prune::{PruneBatch, PruneModel, PruneReport, PruneStream, SparsitySchedule};
pub use prune_spec::PruneSection;
pub use recipe::{
    CodewordSource, DataSection, DiscSection, Objective, Overrides, Recipe, Stage, StageSpec,
    TeacherSection,
};
pub use run::{DistillReport, StageReport, run};
pub use run_setup::RunConfig;
pub use schedule::ScheduleOverrides;
pub use student_spec::{FrontEndKind, HeadSpec, StudentSpec};
pub use targets_spec::TargetsSpec;
pub use task::{DistillModel, LossPlan};
pub use validate::DevValidator;

pub mod pretrain;
pub use pretrain::{PretrainOverrides, PretrainRecipe};
