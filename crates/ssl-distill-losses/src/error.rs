//! Errors of loss configuration.

/// A loss specification that cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LossError {
    /// No loss term was configured.
    #[error("no loss term configured: add at least one [[loss]] with a kind")]
    NoTerms,
    /// A weight is negative or not finite.
    #[error("loss `{kind}`: weight {weight} must be a finite number >= 0")]
    BadWeight {
        /// The term.
        kind: &'static str,
        /// Its weight.
        weight: f32,
    },
    /// A temperature is not a finite number > 0.
    #[error("loss `{kind}`: tau {tau} must be a finite number > 0")]
    BadTau {
        /// The term.
        kind: &'static str,
        /// Its temperature.
        tau: f32,
    },
    /// A head tensor whose values do not fill its (2-D) shape.
    #[error("codeword head: `{tensor}` has shape {shape:?} but {values} values")]
    HeadData {
        /// The checkpoint tensor name.
        tensor: &'static str,
        /// Its declared shape.
        shape: Vec<usize>,
        /// Number of values given.
        values: usize,
    },
    /// HuBERT head tensors whose sizes disagree.
    #[error(
        "codeword head: final_proj has {proj} outputs but its bias has {bias} and the \
         codewords have dimension {codeword_dim}"
    )]
    HeadShape {
        /// Rows of `final_proj.weight`.
        proj: usize,
        /// Length of `final_proj.bias`.
        bias: usize,
        /// Columns of `label_embs_concat`.
        codeword_dim: usize,
    },
    /// A `disc` term without a codeword head.
    #[error(
        "loss `disc` needs a codeword head: a HuBERT checkpoint with final_proj and \
         label_embs_concat, or k-means centroids of teacher features"
    )]
    MissingHead,
}

/// Input that k-means cannot fit or assign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KMeansError {
    /// The data length is not a multiple of the dimension (or the dimension is 0).
    #[error("k-means: {len} values do not form rows of dimension {dim}")]
    Shape {
        /// Number of values.
        len: usize,
        /// Row dimension.
        dim: usize,
    },
    /// Fewer rows than clusters.
    #[error("k-means: {rows} rows cannot make {k} clusters (need at least k >= 1 rows)")]
    TooFewRows {
        /// Number of rows.
        rows: usize,
        /// Requested clusters.
        k: usize,
    },
    /// A NaN or infinite value.
    #[error("k-means: value at flat index {index} is not finite")]
    NonFinite {
        /// Flat index of the value.
        index: usize,
    },
}
