//! Zero-padded batches of utterances with a padding mask.

use crate::dataset::Item;

/// Utterances padded with zeros to the longest one.
///
/// `waves` is row-major `[batch_size, max_len]`; `padding_mask` has the same shape with
/// `true` on padded samples (burn's `mask_pad` convention; HF's `attention_mask` is its
/// negation).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Padded samples, `[batch_size, max_len]`, row-major.
    pub waves: Vec<f32>,
    /// `true` where `waves` is padding, `[batch_size, max_len]`, row-major.
    pub padding_mask: Vec<bool>,
    /// Valid samples of each row.
    pub lengths: Vec<usize>,
    /// Manifest index of each row.
    pub indices: Vec<usize>,
    /// Number of rows.
    pub batch_size: usize,
    /// Padded length (the longest row).
    pub max_len: usize,
}

impl Batch {
    /// Pads `items` to the longest one.
    pub fn from_items(items: &[Item]) -> Self {
        let batch_size = items.len();
        let max_len = items.iter().map(|i| i.samples.len()).max().unwrap_or(0);
        let mut waves = vec![0.0; batch_size * max_len];
        let mut padding_mask = vec![true; batch_size * max_len];
        for (row, item) in items.iter().enumerate() {
            let start = row * max_len;
            waves[start..start + item.samples.len()].copy_from_slice(&item.samples);
            padding_mask[start..start + item.samples.len()].fill(false);
        }
        Self {
            waves,
            padding_mask,
            lengths: items.iter().map(|i| i.samples.len()).collect(),
            indices: items.iter().map(|i| i.index).collect(),
            batch_size,
            max_len,
        }
    }

    /// The valid samples of row `row`.
    ///
    /// # Panics
    /// If `row >= batch_size`.
    pub fn row(&self, row: usize) -> &[f32] {
        let start = row * self.max_len;
        &self.waves[start..start + self.lengths[row]]
    }

    /// The frame-level padding mask of the standard conv front-end, `[batch_size, frames]`
    /// (see [`frame_padding_mask`](crate::frame_padding_mask)).
    pub fn frame_padding_mask(&self) -> (Vec<bool>, usize) {
        crate::frames::frame_padding_mask(&self.lengths, self.max_len)
    }

    /// The batch as burn tensors on `device`: waves `[B, S]` and the padding mask `[B, S]`
    /// (`true` = padded).
    #[cfg(feature = "tensor")]
    pub fn to_tensors(
        &self,
        device: &burn::tensor::Device,
    ) -> (
        burn::tensor::Tensor<2>,
        burn::tensor::Tensor<2, burn::tensor::Bool>,
    ) {
        use burn::tensor::{Bool, Tensor, TensorData};
        let shape = [self.batch_size, self.max_len];
        let waves = Tensor::<2>::from_data(TensorData::new(self.waves.clone(), shape), device);
        let mask =
            Tensor::<2, Bool>::from_data(TensorData::new(self.padding_mask.clone(), shape), device);
        (waves, mask)
    }
}
