#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - [`SslConfig`]: architecture, presets, HF `config.json`;
//! - [`SslModel`]: the model, [`SslInput`] → [`SslOutput`];
//! - [`nn`]: the building blocks (conv extractor, projection, positional conv, attention with
//!   WavLM's relative position bias, encoder layers), reused by students;
//! - loading: [`load_checkpoint`], [`load_checkpoint_full`] (with the HuBERT head and the
//!   [`Preprocessor`]), [`load_hf_state_dict`], [`LoadReport`];
//! - fairseq: [`load_fairseq`] (architecture from the pickled `cfg` / `args`, checked against
//!   the tensors and inferred from them where silent), [`read_fairseq_cfg`], [`HubertHead`];
//! - extraction: [`Extractor`] (the checkpoint's preprocessing, batching of unequal lengths)
//!   over any [`Backbone`] → [`Features`];
//! - export: [`export_hf`], [`hf_state_dict`];
//! - errors: [`ConfigError`], [`LoadError`], [`ExtractError`], [`ExportError`].

mod checkpoint;
mod config;
mod encoder;
mod error;
mod export;
mod extract;
mod fairseq;
mod head;
mod load;
mod model;
pub mod nn;
mod preprocessor;
mod state;
mod weights;

pub use checkpoint::{Checkpoint, load_checkpoint, load_checkpoint_full};
pub use config::{FeatExtractNorm, ModelKind, SslConfig};
pub use encoder::{Encoder, EncoderConfig, EncoderOutput};
pub use error::{ConfigError, ExportError, ExtractError, LoadError};
pub use export::{export_hf, hf_state_dict};
pub use extract::{Backbone, Extractor, Features};
pub use fairseq::{
    CfgSource, ConvLayer, FairseqCfg, parse_conv_layers, read_fairseq_cfg,
    read_fairseq_preprocessor,
};
pub use fairseq::{FairseqCheckpoint, FairseqOverrides, infer_config, load_fairseq, read_pytorch};
pub use head::HubertHead;
pub use load::{
    IGNORABLE_PREFIXES, LoadReport, load_hf_state_dict, load_hf_state_dict_with, unused_allowlist,
};
pub use model::{SslInput, SslModel, SslOutput};
pub use preprocessor::Preprocessor;
pub use state::{
    StateDict, StateTensor, parse_safetensors, read_safetensors, write_atomic, write_dir_atomic,
    write_safetensors,
};
