//! `[targets]`: which teacher layers the student learns, resolved against the teacher's depth.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ssl_distill_targets::{Autoregressive, Fixed, LayerTargets, Linkage, MeanOfLastK};

use crate::error::RecipeError;

/// The recipe's target strategy (`strategy = "..."`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetsSpec {
    /// Fixed layers (HF indices, 1 = first layer's output), one target each.
    Fixed {
        /// The layers, e.g. `[4, 8, 12]` (DistilHuBERT).
        layers: Vec<usize>,
        /// If set, `layers` are for a teacher of this depth and are rescaled to the actual
        /// teacher's: layer `l` becomes `round(l × L / relative_to)` (so `[4, 8, 12]` of 12 is
        /// `[2, 4, 6]` on a 6-layer teacher). Default: not set (used as given).
        #[serde(default)]
        relative_to: Option<usize>,
    },
    /// One target, the mean of the last `k` layers (LightHuBERT: 8 of 12).
    MeanOfLastK {
        /// Layers averaged.
        k: usize,
    },
    /// SKILL: layers grouped by hierarchical clustering of their linear CKA on a calibration
    /// set; each target is the mean of a group.
    Clustered {
        /// Number of groups (SKILL: about 4).
        k: usize,
        /// Linkage. Default `average` (SKILL does not publish its choice).
        #[serde(default = "average")]
        linkage: Linkage,
        /// Only groups of consecutive layers. Default false.
        #[serde(default)]
        contiguous: bool,
        /// Utterances (the first of the training manifest) used for CKA. Default 32.
        #[serde(default = "thirty_two")]
        calibration_utterances: usize,
    },
    /// GenDistiller: layers `1..=L`, one per generation step.
    Autoregressive,
}

fn average() -> Linkage {
    Linkage::Average
}

fn thirty_two() -> usize {
    32
}

impl TargetsSpec {
    /// Checks what does not depend on the teacher.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`].
    pub fn validate(&self, path: &Path) -> Result<(), RecipeError> {
        let bad = |field: &str, problem: String| Err(RecipeError::invalid(path, field, problem));
        match self {
            Self::Fixed {
                layers,
                relative_to,
            } => {
                if layers.is_empty() {
                    return bad("targets.layers", "must list at least one layer".into());
                }
                if layers.contains(&0) {
                    return bad(
                        "targets.layers",
                        "layer 0 is the transformer input, not a layer output; use 1..=L".into(),
                    );
                }
                if *relative_to == Some(0) {
                    return bad("targets.relative_to", "must be >= 1".into());
                }
                Ok(())
            }
            Self::MeanOfLastK { k } if *k == 0 => bad("targets.k", "must be >= 1".into()),
            Self::Clustered {
                k,
                calibration_utterances,
                ..
            } => {
                if *k == 0 {
                    return bad("targets.k", "must be >= 1".into());
                }
                if *calibration_utterances == 0 {
                    return bad("targets.calibration_utterances", "must be >= 1".into());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Whether the strategy needs a calibration pass over data (clustering).
    pub fn needs_calibration(&self) -> bool {
        matches!(self, Self::Clustered { .. })
    }

    /// The fixed layers for a teacher of `depth` layers (after `relative_to` rescaling).
    ///
    /// # Errors
    /// [`RecipeError::Invalid`] when a layer is deeper than the teacher, or rescaling maps two
    /// layers to one.
    pub fn fixed_layers(
        layers: &[usize],
        relative_to: Option<usize>,
        depth: usize,
        path: &Path,
    ) -> Result<Vec<usize>, RecipeError> {
        let out: Vec<usize> = match relative_to {
            Some(r) => layers
                .iter()
                .map(|&l| ((l * depth) as f64 / r as f64).round().max(1.0) as usize)
                .collect(),
            None => layers.to_vec(),
        };
        if let Some(&l) = out.iter().find(|&&l| l > depth) {
            return Err(RecipeError::invalid(
                path,
                "targets.layers",
                format!("layer {l} does not exist: the teacher has layers 1..={depth}"),
            ));
        }
        if (1..out.len()).any(|i| out[..i].contains(&out[i])) {
            return Err(RecipeError::invalid(
                path,
                "targets.layers",
                format!("{layers:?} rescaled to a {depth}-layer teacher repeats a layer: {out:?}"),
            ));
        }
        Ok(out)
    }

    /// The strategy for a teacher of `depth` layers; [`TargetsSpec::Clustered`] is built by the
    /// run after calibration, so it is not handled here.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`] when the teacher is too shallow.
    ///
    /// # Panics
    /// For [`TargetsSpec::Clustered`] (a programmer error: calibrate it instead).
    pub fn resolve(&self, depth: usize, path: &Path) -> Result<Box<dyn LayerTargets>, RecipeError> {
        Ok(match self {
            Self::Fixed {
                layers,
                relative_to,
            } => Box::new(Fixed::new(Self::fixed_layers(
                layers,
                *relative_to,
                depth,
                path,
            )?)?),
            Self::MeanOfLastK { k } => Box::new(
                MeanOfLastK::new(*k, depth)
                    .map_err(|e| RecipeError::invalid(path, "targets.k", e.to_string()))?,
            ),
            Self::Autoregressive => Box::new(Autoregressive { num_layers: depth }),
            Self::Clustered { .. } => panic!("clustered targets are built from calibration"),
        })
    }
}
