//! One module per subcommand: its clap arguments and its `run` function.

pub mod analyze;
pub mod corpus;
pub mod demo;
pub mod distill;
pub mod export;
pub mod fbank;
pub mod features;
pub mod features_out;
pub mod inspect;
pub mod pipeline;
pub mod pretrain;
pub mod probe;
pub mod study;
