//! Integration tests of ssl-distill-losses: hand-computed values, masking, gradients.

mod gradients;
mod values;

use burn::tensor::{Bool, Device, Tensor, TensorData};

/// A `[b, t, d]` tensor from values.
pub fn t3(values: &[f32], shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// A `[b, t]` padding mask.
pub fn mask(values: &[bool], shape: [usize; 2], device: &Device) -> Tensor<2, Bool> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// The scalar of a 1-element tensor.
pub fn scalar(t: Tensor<1>) -> f32 {
    t.try_into_vec_as::<f32>().unwrap()[0]
}
