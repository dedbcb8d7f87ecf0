//! Calibration features for SKILL's layer clustering: the valid frames of every teacher layer
//! over a set of utterances, concatenated (CKA is computed on the concatenated frames, as in
//! the papers, not averaged per utterance).

use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::error::TargetError;

/// Accumulates, per hidden state, the rows `[frames, dim]` of valid (unpadded) frames.
#[derive(Debug, Clone, Default)]
pub struct CalibrationFeatures {
    first_layer: usize,
    dims: Vec<usize>,
    rows: Vec<Vec<f32>>,
    frames: usize,
}

impl CalibrationFeatures {
    /// An empty accumulator. `include_input = false` (the default in SKILL's use) skips
    /// `hidden_states[0]`, the transformer input, so clustering covers layers `1..=L`.
    pub fn new(include_input: bool) -> Self {
        Self {
            first_layer: usize::from(!include_input),
            ..Self::default()
        }
    }

    /// Adds one batch: `hidden_states` (index 0 = transformer input), each `[batch, frames, dim]`,
    /// with `padding` `[batch, frames]` (true = padded; `None` = all valid).
    ///
    /// # Errors
    /// [`TargetError::Calibration`] if the number of hidden states or a dimension differs from
    /// the first batch, or there are no layers to cluster.
    ///
    /// # Panics
    /// If a hidden state's batch/frames differ from the mask's (a programmer error).
    pub fn add(
        &mut self,
        hidden_states: &[Tensor<3>],
        padding: Option<&Tensor<2, Bool>>,
    ) -> Result<(), TargetError> {
        let layers = &hidden_states[self.first_layer.min(hidden_states.len())..];
        if layers.is_empty() {
            return Err(TargetError::Calibration {
                what: "hidden states to cluster",
                expected: self.first_layer + 1,
                got: hidden_states.len(),
            });
        }
        if self.dims.is_empty() {
            self.dims = layers.iter().map(|h| h.dims()[2]).collect();
            self.rows = vec![Vec::new(); layers.len()];
        }
        if layers.len() != self.dims.len() {
            return Err(TargetError::Calibration {
                what: "hidden states",
                expected: self.dims.len() + self.first_layer,
                got: hidden_states.len(),
            });
        }
        let [b, t, _] = layers[0].dims();
        let valid: Vec<bool> = match padding {
            Some(m) => {
                assert_eq!(m.dims(), [b, t], "padding mask shape");
                m.clone()
                    .into_data()
                    .try_into_vec::<bool>()
                    .expect("bool mask")
                    .into_iter()
                    .map(|p| !p)
                    .collect()
            }
            None => vec![true; b * t],
        };
        for ((h, &dim), rows) in layers.iter().zip(&self.dims).zip(&mut self.rows) {
            let [hb, ht, hd] = h.dims();
            assert_eq!([hb, ht], [b, t], "hidden states differ in batch/frames");
            if hd != dim {
                return Err(TargetError::Calibration {
                    what: "hidden dimension",
                    expected: dim,
                    got: hd,
                });
            }
            let values = h.clone().try_into_vec_as::<f32>().expect("f32 data");
            for (frame, &ok) in values.chunks_exact(dim).zip(&valid) {
                if ok {
                    rows.extend_from_slice(frame);
                }
            }
        }
        self.frames += valid.iter().filter(|&&v| v).count();
        Ok(())
    }

    /// The hidden-state index of the first accumulated layer (0 or 1).
    pub fn first_layer(&self) -> usize {
        self.first_layer
    }

    /// Valid frames accumulated so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Number of accumulated layers.
    pub fn num_layers(&self) -> usize {
        self.dims.len()
    }

    /// Every accumulated layer as a `[frames, dim]` tensor on `device`.
    pub fn to_tensors(&self, device: &Device) -> Vec<Tensor<2>> {
        self.rows
            .iter()
            .zip(&self.dims)
            .map(|(r, &d)| Tensor::from_data(TensorData::new(r.clone(), [self.frames, d]), device))
            .collect()
    }
}
