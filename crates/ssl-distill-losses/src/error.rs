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
    /// A `disc` term without a codeword head.
    #[error(
        "loss `disc` needs a codeword head: a HuBERT checkpoint with final_proj and \
         label_embs_concat, or k-means centroids of teacher features"
    )]
    MissingHead,
}
