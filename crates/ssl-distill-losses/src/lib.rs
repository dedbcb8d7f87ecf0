#![doc = include_str!("../README.md")]
//!
//! # Modules
//! - regression terms: [`l1`], [`l2`], [`cosine_distance`], [`log_sigmoid_cosine`];
//! - the discriminative term: [`discriminative`] with a [`CodewordHead`];
//! - k-means units for a head without a checkpoint head, and for pretraining labels: [`KMeans`];
//! - composition: [`LossSpec`], [`compute`], [`LossOutput`];
//! - errors: [`LossError`], [`KMeansError`].
//!
//! Every term is averaged over valid frames only: `padding` (`[batch, frames]`, true = padded)
//! removes padded frames from both the sum and the count.

mod discriminative;
mod error;
mod kmeans;
mod mask;
mod regression;
mod spec;

pub use discriminative::{CodewordHead, discriminative};
pub use error::{KMeansError, LossError};
pub use kmeans::KMeans;
pub use mask::{masked_mean, valid_weights};
pub use regression::{cosine_distance, cosine_similarity, l1, l2, log_sigmoid_cosine};
pub use spec::{LossKind, LossOutput, LossSpec, compute, distilhubert_terms, validate};
