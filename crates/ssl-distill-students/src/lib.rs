#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`StudentConfig`] (presets [`StudentConfig::distilhubert`],
//!   [`StudentConfig::three_layer_one`], [`StudentConfig::twelve_layer_half`]) → [`Student`];
//! - heads: [`PredictionHeads`], [`LayerProjections`]; GenDistiller's [`Generator`];
//! - [`Student::init_from_teacher`]; errors: [`StudentError`].

mod error;
mod generator;
mod heads;
mod student;

pub use error::StudentError;
pub use generator::{Generator, GeneratorConfig};
pub use heads::{LayerProjections, LayerProjectionsConfig, PredictionHeads, PredictionHeadsConfig};
pub use student::{HeadConfig, Student, StudentConfig, StudentOutput};
