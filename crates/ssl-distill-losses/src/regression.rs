//! Regression losses between a prediction and a target hidden state, averaged over valid frames:
//! L1, L2, cosine distance and DistilHuBERT's `-log σ(cos)`.
//!
//! DistilHuBERT (Chang et al. 2022, arXiv:2110.01900), eq. 1: per target,
//! `L = mean|ĥ - h| - λ mean log σ(cos(ĥ, h))` with λ = 1. s3prl's implementation averages over
//! every frame, padding included; ours averages over valid frames only.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Bool, Tensor};

use crate::mask::{masked_mean, valid_weights};

/// Cosine similarity of the last axis with PyTorch's `eps` handling (`max(‖a‖‖b‖, eps)`),
/// `[batch, frames, dim]` → `[batch, frames]`.
pub fn cosine_similarity(a: Tensor<3>, b: Tensor<3>) -> Tensor<2> {
    let dot = (a.clone() * b.clone()).sum_dim(2);
    let na = a.powi_scalar(2).sum_dim(2).sqrt();
    let nb = b.powi_scalar(2).sum_dim(2).sqrt();
    let cos = dot / (na * nb).clamp_min(1e-8);
    cos.squeeze_dim(2)
}

/// Masked mean over valid frames of `per_frame(pred, target)` (`[batch, frames]`).
fn frame_mean(
    pred: Tensor<3>,
    target: Tensor<3>,
    padding: Option<&Tensor<2, Bool>>,
    per_frame: impl FnOnce(Tensor<3>, Tensor<3>) -> Tensor<2>,
) -> Tensor<1> {
    assert_eq!(
        pred.dims(),
        target.dims(),
        "prediction and target shapes differ"
    );
    let [b, t, _] = pred.dims();
    let w = valid_weights(padding, b, t, &pred);
    masked_mean(per_frame(pred, target), w)
}

/// `mean |pred - target|` over valid frames and all dimensions.
///
/// # Shapes
/// `pred`, `target`: `[batch, frames, dim]`; `padding`: `[batch, frames]` (true = padded)
pub fn l1(pred: Tensor<3>, target: Tensor<3>, padding: Option<&Tensor<2, Bool>>) -> Tensor<1> {
    frame_mean(pred, target, padding, |p, t| {
        (p - t).abs().mean_dim(2).squeeze_dim(2)
    })
}

/// `mean (pred - target)²` over valid frames and all dimensions (MSE).
pub fn l2(pred: Tensor<3>, target: Tensor<3>, padding: Option<&Tensor<2, Bool>>) -> Tensor<1> {
    frame_mean(pred, target, padding, |p, t| {
        (p - t).powi_scalar(2).mean_dim(2).squeeze_dim(2)
    })
}

/// `mean (1 - cos(pred, target))` over valid frames.
pub fn cosine_distance(
    pred: Tensor<3>,
    target: Tensor<3>,
    padding: Option<&Tensor<2, Bool>>,
) -> Tensor<1> {
    frame_mean(pred, target, padding, |p, t| {
        cosine_similarity(p, t).neg() + 1.0
    })
}

/// `mean -log σ(cos(pred, target))` over valid frames (DistilHuBERT's cosine term).
pub fn log_sigmoid_cosine(
    pred: Tensor<3>,
    target: Tensor<3>,
    padding: Option<&Tensor<2, Bool>>,
) -> Tensor<1> {
    frame_mean(pred, target, padding, |p, t| {
        log_sigmoid(cosine_similarity(p, t)).neg()
    })
}
