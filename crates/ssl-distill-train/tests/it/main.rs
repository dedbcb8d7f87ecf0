//! Integration tests of the training loop on a toy MLP.

mod config;
mod groups;
mod loop_tests;
mod multi_device;
mod toy;
mod validation;
