#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`LayerTargets`] and its strategies [`Fixed`], [`MeanOfLastK`], [`Clustered`],
//!   [`Autoregressive`];
//! - [`linear_cka`], [`cka_matrix`]: layer similarity, on [`CalibrationFeatures`];
//! - [`cluster`] with a [`Linkage`]: hierarchical clustering into groups; [`merge_tree`]: its
//!   [`Merge`]s (a dendrogram);
//! - errors: [`TargetError`].

mod calibration;
mod cka;
mod cluster;
mod error;
mod strategy;

pub use calibration::CalibrationFeatures;
pub use cka::{cka_matrix, linear_cka};
pub use cluster::{Groups, Linkage, Merge, cluster, merge_tree};
pub use error::TargetError;
pub use strategy::{Autoregressive, Clustered, Fixed, LayerTargets, MeanOfLastK};
