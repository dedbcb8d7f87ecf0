//! One module per subcommand: its clap arguments and its `run` function.

pub mod fbank;
pub mod features;
