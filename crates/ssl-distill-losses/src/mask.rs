//! Frame masks: which frames count in a loss.

use burn::tensor::{Bool, Tensor};

/// Per-frame weights `[batch, frames]`: 1 for valid frames, 0 for padded ones (`padding` true),
/// all ones without a mask.
pub fn valid_weights(
    padding: Option<&Tensor<2, Bool>>,
    batch: usize,
    frames: usize,
    like: &Tensor<3>,
) -> Tensor<2> {
    match padding {
        Some(mask) => {
            assert_eq!(mask.dims(), [batch, frames], "padding mask shape");
            mask.clone().bool_not().float()
        }
        None => Tensor::ones([batch, frames], &like.device()),
    }
}

/// Mean of per-frame values `[batch, frames]` over valid frames.
///
/// # Panics
/// If the mask leaves no valid frame (a programmer error upstream: empty batches are not formed).
pub fn masked_mean(values: Tensor<2>, weights: Tensor<2>) -> Tensor<1> {
    let total = (values * weights.clone()).sum();
    let count = weights.sum();
    total / count.clamp_min(1.0)
}
