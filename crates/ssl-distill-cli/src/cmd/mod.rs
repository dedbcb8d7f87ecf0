//! One module per subcommand: its clap arguments and its `run` function.

pub mod corpus;
pub mod distill;
pub mod fbank;
pub mod features;
