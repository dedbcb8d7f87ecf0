#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`StudentConfig`] (presets [`StudentConfig::distilhubert`],
//!   [`StudentConfig::three_layer_one`], [`StudentConfig::twelve_layer_half`];
//!   [`StudentConfig::validate`]) → [`Student`] → [`StudentOutput`];
//! - front-ends: [`FrontEndConfig`] (waveform CNN, or [`FbankFrontEndConfig`] →
//!   [`FbankFrontEnd`], Wang et al. 2023), gradient multiplier [`grad_mult`];
//! - heads ([`HeadConfig`]): [`PredictionHeads`] (DistilHuBERT), [`LayerProjections`]
//!   (Ashihara et al. 2022), GenDistiller's [`Generator`];
//! - structured pruning ([`prune`], DPHuBERT): hard-concrete gates ([`PruneConfig`] →
//!   [`PruneGates`]), the expected size ([`SizeModel`], [`Student::expected_params`]),
//!   physical pruning ([`Student::prune`]) to per-layer shapes ([`LayerShape`]);
//! - [`Student::init_from_teacher`], [`Student::copy_teacher`]; files: [`Student::save`],
//!   [`Student::load`]; HF export: [`Student::export_hf`], else this project's format:
//!   [`Student::export_dir`];
//! - extraction: `Student` is an `ssl_distill_models::Backbone`; its input preprocessing:
//!   [`student_preprocessor`];
//!   errors: [`StudentError`].

mod backbone;
mod checkpoint;
mod error;
mod export;
mod front_end;
mod generator;
mod heads;
pub mod prune;
mod student;
mod teacher_init;

pub use backbone::student_preprocessor;
pub use checkpoint::{STUDENT_CONFIG_FILE, STUDENT_WEIGHTS_FILE};
pub use error::StudentError;
pub use front_end::{FbankFrontEnd, FbankFrontEndConfig, FrontEndConfig, grad_mult};
pub use generator::{Generator, GeneratorConfig};
pub use heads::{LayerProjections, LayerProjectionsConfig, PredictionHeads, PredictionHeadsConfig};
pub use prune::{LayerShape, PruneConfig, PruneGates, SizeModel};
pub use student::{HeadConfig, Student, StudentConfig, StudentOutput};
