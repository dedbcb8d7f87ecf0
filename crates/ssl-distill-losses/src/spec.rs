//! Composable, weighted loss terms configured from a recipe.
//!
//! ```toml
//! [[loss]]
//! kind = "l1"
//! weight = 1.0
//! [[loss]]
//! kind = "logsig_cos"
//! weight = 1.0
//! ```

use burn::tensor::{Bool, Tensor};
use serde::{Deserialize, Serialize};

use crate::discriminative::{CodewordHead, discriminative};
use crate::error::LossError;
use crate::regression::{cosine_distance, l1, l2, log_sigmoid_cosine};

/// Which loss a term computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Mean absolute error.
    L1,
    /// Mean squared error.
    L2,
    /// `1 - cos`.
    Cos,
    /// `-log σ(cos)` (DistilHuBERT).
    LogsigCos,
    /// KL over codeword posteriors (Wang et al.); needs a [`CodewordHead`].
    Disc,
}

impl LossKind {
    /// The name used in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::L1 => "l1",
            Self::L2 => "l2",
            Self::Cos => "cos",
            Self::LogsigCos => "logsig_cos",
            Self::Disc => "disc",
        }
    }
}

/// One weighted term.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossSpec {
    /// The loss.
    pub kind: LossKind,
    /// Its weight in the total. Default 1.
    #[serde(default = "one")]
    pub weight: f32,
    /// Temperature of the `disc` term's posteriors; `None` keeps the head's own τ (HuBERT: 0.1).
    /// Ignored by the other kinds.
    #[serde(default)]
    pub tau: Option<f32>,
}

fn one() -> f32 {
    1.0
}

impl LossSpec {
    /// A term of `kind` with `weight`.
    pub fn new(kind: LossKind, weight: f32) -> Self {
        Self {
            kind,
            weight,
            tau: None,
        }
    }

    /// The same term with temperature `tau` (for `disc`).
    pub fn with_tau(mut self, tau: f32) -> Self {
        self.tau = Some(tau);
        self
    }
}

/// The DistilHuBERT objective: L1 + 1.0 · (−log σ(cos)).
pub fn distilhubert_terms() -> Vec<LossSpec> {
    vec![
        LossSpec::new(LossKind::L1, 1.0),
        LossSpec::new(LossKind::LogsigCos, 1.0),
    ]
}

/// The weighted sum and every unweighted term.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// `Σ weight · term`.
    pub total: Tensor<1>,
    /// `(name, unweighted value)` per term, in spec order.
    pub terms: Vec<(&'static str, Tensor<1>)>,
}

/// Checks a list of terms: non-empty, finite non-negative weights.
///
/// # Errors
/// [`LossError::NoTerms`], [`LossError::BadWeight`], [`LossError::BadTau`].
pub fn validate(specs: &[LossSpec]) -> Result<(), LossError> {
    if specs.is_empty() {
        return Err(LossError::NoTerms);
    }
    for s in specs {
        if let Some(tau) = s.tau
            && !(tau.is_finite() && tau > 0.0)
        {
            return Err(LossError::BadTau {
                kind: s.kind.name(),
                tau,
            });
        }
        if !(s.weight.is_finite() && s.weight >= 0.0) {
            return Err(LossError::BadWeight {
                kind: s.kind.name(),
                weight: s.weight,
            });
        }
    }
    Ok(())
}

/// Computes every term of `specs` between `pred` and `target` (valid frames only).
///
/// # Errors
/// [`LossError::MissingHead`] for a `disc` term without `head`, and [`validate`]'s errors.
pub fn compute(
    specs: &[LossSpec],
    pred: Tensor<3>,
    target: Tensor<3>,
    padding: Option<&Tensor<2, Bool>>,
    head: Option<&CodewordHead>,
) -> Result<LossOutput, LossError> {
    validate(specs)?;
    let mut terms = Vec::with_capacity(specs.len());
    let mut total: Option<Tensor<1>> = None;
    for s in specs {
        let (p, t) = (pred.clone(), target.clone());
        let value = match s.kind {
            LossKind::L1 => l1(p, t, padding),
            LossKind::L2 => l2(p, t, padding),
            LossKind::Cos => cosine_distance(p, t, padding),
            LossKind::LogsigCos => log_sigmoid_cosine(p, t, padding),
            LossKind::Disc => {
                let head = head.ok_or(LossError::MissingHead)?;
                match s.tau {
                    Some(tau) => {
                        let mut h = head.clone();
                        h.tau = tau;
                        discriminative(p, t, &h, padding)
                    }
                    None => discriminative(p, t, head, padding),
                }
            }
        };
        let weighted = value.clone() * s.weight;
        total = Some(match total {
            Some(acc) => acc + weighted,
            None => weighted,
        });
        terms.push((s.kind.name(), value));
    }
    Ok(LossOutput {
        total: total.expect("validated: non-empty"),
        terms,
    })
}
