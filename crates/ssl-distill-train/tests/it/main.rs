//! Integration tests of the training loop on a toy MLP.

mod config;
mod loop_tests;
mod toy;
