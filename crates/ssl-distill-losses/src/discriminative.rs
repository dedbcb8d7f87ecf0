//! The discriminative loss of Wang et al. (2023): KL divergence
//! between the teacher's and the student's posteriors over HuBERT codewords,
//! `p = softmax(cos(W h + b, e_c) / τ)`, averaged over valid frames.
//!
//! The codeword head is HuBERT's own pretraining head (`final_proj` + `label_embs_concat`,
//! `τ = 0.1`), or centroids from k-means on teacher features with an identity projection.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::error::LossError;
use crate::mask::{masked_mean, valid_weights};

/// A projection and codeword embeddings: `logits_c = cos(W h + b, e_c) / τ`.
#[derive(Debug, Clone)]
pub struct CodewordHead {
    /// `W` as `[hidden, proj]` (burn layout; the transpose of PyTorch's `final_proj.weight`), or
    /// `None` for the identity.
    pub proj_weight: Option<Tensor<2>>,
    /// `b` `[proj]`, if any.
    pub proj_bias: Option<Tensor<1>>,
    /// Codewords `[num_codewords, proj]`.
    pub codewords: Tensor<2>,
    /// Temperature τ (HuBERT: 0.1).
    pub tau: f32,
}

impl CodewordHead {
    /// HuBERT's head from PyTorch-layout values: `final_proj.weight` `[proj, hidden]`,
    /// `final_proj.bias` `[proj]`, `label_embs_concat` `[codewords, proj]` (row-major values).
    ///
    /// # Errors
    /// [`LossError::HeadData`] if a shape is not 2-D or a value count does not match its
    /// shape; [`LossError::HeadShape`] as [`CodewordHead::from_tensors`].
    pub fn from_hubert(
        final_proj_weight: (&[usize], &[f32]),
        final_proj_bias: &[f32],
        label_embs: (&[usize], &[f32]),
        tau: f32,
        device: &Device,
    ) -> Result<Self, LossError> {
        let matrix = |tensor: &'static str, (shape, values): (&[usize], &[f32])| {
            match <[usize; 2]>::try_from(shape) {
                Ok([r, c]) if r * c == values.len() => Ok(Tensor::<2>::from_data(
                    TensorData::new(values.to_vec(), [r, c]),
                    device,
                )),
                _ => Err(LossError::HeadData {
                    tensor,
                    shape: shape.to_vec(),
                    values: values.len(),
                }),
            }
        };
        let w = matrix("final_proj.weight", final_proj_weight)?;
        let e = matrix("label_embs_concat", label_embs)?;
        let b = Tensor::<1>::from_data(
            TensorData::new(final_proj_bias.to_vec(), [final_proj_bias.len()]),
            device,
        );
        Self::from_tensors(w, b, e, tau)
    }

    /// HuBERT's head from PyTorch-layout tensors as the models crate hands them over:
    /// `final_proj.weight` `[proj, hidden]`, `final_proj.bias` `[proj]`, `label_embs_concat`
    /// `[codewords, proj]`.
    ///
    /// # Errors
    /// [`LossError::HeadShape`] if the bias or the codewords do not match the projection size.
    pub fn from_tensors(
        final_proj_weight: Tensor<2>,
        final_proj_bias: Tensor<1>,
        label_embs: Tensor<2>,
        tau: f32,
    ) -> Result<Self, LossError> {
        let [proj, _] = final_proj_weight.dims();
        let [bias] = final_proj_bias.dims();
        let [_, emb] = label_embs.dims();
        if bias != proj || emb != proj {
            return Err(LossError::HeadShape {
                proj,
                bias,
                codeword_dim: emb,
            });
        }
        Ok(Self {
            proj_weight: Some(final_proj_weight.transpose()),
            proj_bias: Some(final_proj_bias),
            codewords: label_embs,
            tau,
        })
    }

    /// Centroids `[k, dim]` used directly on hidden states (no projection).
    pub fn from_centroids(centroids: Tensor<2>, tau: f32) -> Self {
        Self {
            proj_weight: None,
            proj_bias: None,
            codewords: centroids,
            tau,
        }
    }

    /// Centroids fitted by [`KMeans`](crate::KMeans) on teacher features (identity projection).
    pub fn from_kmeans(kmeans: &crate::KMeans, tau: f32, device: &Device) -> Self {
        Self::from_centroids(kmeans.centroids_tensor(device), tau)
    }

    /// Log-posteriors over codewords `[batch, frames, codewords]`.
    pub fn log_posteriors(&self, h: Tensor<3>) -> Tensor<3> {
        let mut x = h;
        if let Some(w) = &self.proj_weight {
            x = x.matmul(w.clone().unsqueeze_dim(0));
        }
        if let Some(bias) = &self.proj_bias {
            x = x + bias.clone().reshape([1, 1, bias.dims()[0]]);
        }
        let x_norm = x.clone().powi_scalar(2).sum_dim(2).sqrt().clamp_min(1e-8);
        let e = self.codewords.clone();
        let e_norm = e.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-8); // [C, 1]
        let dots = x.matmul(e.transpose().unsqueeze_dim(0)); // [B, T, C]
        let n = self.codewords.dims()[0];
        let cos = dots / x_norm / e_norm.reshape([1, 1, n]);
        log_softmax(cos / self.tau, 2)
    }
}

/// `mean KL(p_teacher ‖ p_student)` over valid frames, posteriors from `head`.
///
/// # Shapes
/// `student`, `teacher`: `[batch, frames, hidden]`; `padding`: `[batch, frames]`
pub fn discriminative(
    student: Tensor<3>,
    teacher: Tensor<3>,
    head: &CodewordHead,
    padding: Option<&Tensor<2, Bool>>,
) -> Tensor<1> {
    assert_eq!(
        student.dims(),
        teacher.dims(),
        "student and teacher shapes differ"
    );
    let [b, t, _] = student.dims();
    let w = valid_weights(padding, b, t, &student);
    let log_p = head.log_posteriors(teacher);
    let log_q = head.log_posteriors(student);
    let kl = (log_p.clone().exp() * (log_p - log_q))
        .sum_dim(2)
        .squeeze_dim(2);
    masked_mean(kl, w)
}
