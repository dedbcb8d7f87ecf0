//! One module per subcommand: its clap arguments and its `run_<command>` function (`fbank` also
//! has `run_mfcc`); `pipeline` and `features_out` are shared by several commands.

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
