//! Verdicts: each [`Comparison`] of two models judged from their numbers. Quality comparisons
//! pair the two models' test items seed by seed ([`paired_effect`]) and combine the seeds
//! ([`combine_seeds`]); the verdict reads the combined 95% interval. Sizes are exact; speeds
//! count as a tie within [`SPEED_TIE`]; magnitude claims hold within their stated tolerance.

use std::collections::HashMap;

use serde::Serialize;
use ssl_distill_probe::{Task, TestItem};

use super::claims::{Comparison, Measure, NO_WORSE_MARGIN, SPEED_TIE};
use super::model::ModelRow;
use super::stats::{PairedEffect, PairedItem, SeedEffect, combine_seeds, paired_effect};

/// The outcome of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// As claimed.
    Holds,
    /// The other way, beyond the noise.
    Contradicted,
    /// Within the noise.
    Inconclusive,
    /// A model of the comparison is not in the study.
    Missing,
    /// The probes kept no per-item outcomes (reports of an older version), or were scored on
    /// different items: no paired comparison is possible.
    Unpaired,
}

impl Verdict {
    /// Its label in the report.
    pub fn label(self) -> &'static str {
        match self {
            Self::Holds => "holds",
            Self::Contradicted => "**contradicted**",
            Self::Inconclusive => "inconclusive",
            Self::Missing => "not run",
            Self::Unpaired => "cannot pair",
        }
    }
}

/// How a comparison was judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Detail {
    /// Paired per seed, combined over seeds.
    Quality {
        /// `(seed, effect)` per seed both models ran.
        per_seed: Vec<(u64, PairedEffect)>,
        /// The combination.
        combined: SeedEffect,
    },
    /// Exact counts.
    Exact,
    /// Timings, a tie within [`SPEED_TIE`].
    Timed,
    /// A magnitude against the paper's figure.
    Magnitude {
        /// The paper's figure.
        expected: f64,
        /// The tolerance.
        tolerance: f64,
    },
    /// A pruned student against its target.
    Pruning {
        /// Target backbone parameters (M, mean over seeds).
        target: f64,
        /// Pruning steps per seed.
        steps: Vec<u64>,
        /// The largest relative deviation from the target over seeds.
        worst: f64,
        /// The tolerance.
        tolerance: f64,
    },
}

/// One judged comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// A's value (mean metric over seeds, params in M, speed, or pruned params in M).
    pub a: f64,
    /// B's value.
    pub b: f64,
    /// How much A is better as claimed: the metric difference (positive = A better), the
    /// fraction of B's parameters A saves, the speed ratio, or the relative deviation from the
    /// pruning target.
    pub effect: f64,
    /// How it was judged.
    pub detail: Detail,
    /// The verdict.
    pub verdict: Verdict,
}

impl Judgement {
    fn missing() -> Self {
        Self {
            a: f64::NAN,
            b: f64::NAN,
            effect: f64::NAN,
            detail: Detail::Exact,
            verdict: Verdict::Missing,
        }
    }
}

/// A's and B's items paired by id, as errors out of counts; `None` when either has no items or
/// their ids differ.
pub fn pair_items(a: &[TestItem], b: &[TestItem]) -> Option<Vec<PairedItem>> {
    if a.is_empty() || a.len() != b.len() {
        return None;
    }
    let by_id: HashMap<&str, &TestItem> = b.iter().map(|i| (i.id.as_str(), i)).collect();
    a.iter()
        .map(|ia| {
            let ib = by_id.get(ia.id.as_str())?;
            let (a_errors, count) = ia.outcome.errors_of();
            let (b_errors, b_count) = ib.outcome.errors_of();
            (count == b_count).then_some(PairedItem {
                a_errors,
                b_errors,
                count,
            })
        })
        .collect()
}

/// Judges `c` on the study's `rows`.
pub fn judge(c: &Comparison, rows: &[ModelRow]) -> Judgement {
    let find = |k: &str| rows.iter().find(|r| r.key == k);
    let (Some(a), Some(b)) = (find(c.a), find(c.b)) else {
        return Judgement::missing();
    };
    match c.measure {
        Measure::Probe(task) => quality(task, None, a, b),
        Measure::ProbeNoWorse(task) => quality(task, Some(NO_WORSE_MARGIN), a, b),
        Measure::Params | Measure::ParamsReduction { .. } => {
            let (Some(pa), Some(pb)) = (a.params(), b.params()) else {
                return Judgement::missing();
            };
            let saved = 1.0 - pa / pb;
            let (detail, holds) = match c.measure {
                Measure::ParamsReduction {
                    expected,
                    tolerance,
                } => magnitude(saved, expected, tolerance),
                _ => (Detail::Exact, pa < pb),
            };
            Judgement {
                a: pa / 1e6,
                b: pb / 1e6,
                effect: saved,
                detail,
                verdict: if holds {
                    Verdict::Holds
                } else {
                    Verdict::Contradicted
                },
            }
        }
        Measure::Speed | Measure::Speedup { .. } => speed(c.measure, a, b),
        Measure::PruneTarget { tolerance } => pruning(tolerance, a),
    }
}

fn quality(task: Task, no_worse: Option<f64>, a: &ModelRow, b: &ModelRow) -> Judgement {
    let (Some(ma), Some(mb)) = (a.metric(task), b.metric(task)) else {
        return Judgement::missing();
    };
    let mut per_seed = Vec::new();
    for sa in &a.seeds {
        let Some(sb) = b.seed(sa.seed) else { continue };
        let (Some(pa), Some(pb)) = (sa.probe(task), sb.probe(task)) else {
            continue;
        };
        let Some(items) = pair_items(&pa.items, &pb.items) else {
            return Judgement {
                a: ma,
                b: mb,
                effect: f64::NAN,
                detail: Detail::Exact,
                verdict: Verdict::Unpaired,
            };
        };
        per_seed.push((sa.seed, paired_effect(&items, !task.lower_is_better())));
    }
    if per_seed.is_empty() {
        return Judgement::missing();
    }
    let effects: Vec<PairedEffect> = per_seed.iter().map(|(_, e)| e.clone()).collect();
    let combined = combine_seeds(&effects);
    let (lo, hi) = combined.interval;
    let floor = -no_worse.unwrap_or(0.0);
    let verdict = if lo > floor {
        Verdict::Holds
    } else if hi < floor {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    };
    Judgement {
        a: ma,
        b: mb,
        effect: combined.mean,
        detail: Detail::Quality { per_seed, combined },
        verdict,
    }
}

fn speed(measure: Measure, a: &ModelRow, b: &ModelRow) -> Judgement {
    let (Some(ra), Some(rb)) = (a.realtime(), b.realtime()) else {
        return Judgement::missing();
    };
    let ratio = ra / rb;
    // Direction: a tie within the timing noise. Magnitude: within the stated band holds (the
    // band is wider than the noise); beyond the band by more than the noise is contradicted.
    let (detail, holds, contradicted) = match measure {
        Measure::Speedup {
            expected,
            tolerance,
        } => {
            let (detail, holds) = magnitude(ratio, expected, tolerance);
            let beyond = ratio < (expected - tolerance) / SPEED_TIE
                || ratio > (expected + tolerance) * SPEED_TIE;
            (detail, holds, beyond)
        }
        _ => (Detail::Timed, ratio > SPEED_TIE, ratio < 1.0 / SPEED_TIE),
    };
    let verdict = if holds {
        Verdict::Holds
    } else if contradicted {
        Verdict::Contradicted
    } else {
        Verdict::Inconclusive
    };
    Judgement {
        a: ra,
        b: rb,
        effect: ratio,
        detail,
        verdict,
    }
}

/// A magnitude check: its detail, and whether `value` is within `tolerance` of `expected`.
fn magnitude(value: f64, expected: f64, tolerance: f64) -> (Detail, bool) {
    let detail = Detail::Magnitude {
        expected,
        tolerance,
    };
    (detail, (value - expected).abs() <= tolerance)
}

fn pruning(tolerance: f64, a: &ModelRow) -> Judgement {
    let runs: Vec<_> = a
        .seeds
        .iter()
        .filter_map(|s| s.distill.as_ref().and_then(|d| d.pruning))
        .collect();
    if runs.is_empty() {
        return Judgement::missing();
    }
    let n = runs.len() as f64;
    let pruned = runs.iter().map(|p| p.pruned_params as f64).sum::<f64>() / n;
    let target = runs.iter().map(|p| p.target_params as f64).sum::<f64>() / n;
    let deviation = |p: &super::model::PruningSummary| {
        p.pruned_params as f64 / (p.target_params as f64).max(1.0) - 1.0
    };
    let worst = runs
        .iter()
        .map(deviation)
        .max_by(|x, y| x.abs().total_cmp(&y.abs()))
        .unwrap_or(0.0);
    Judgement {
        a: pruned / 1e6,
        b: target / 1e6,
        effect: pruned / target.max(1.0) - 1.0,
        detail: Detail::Pruning {
            target: target / 1e6,
            steps: runs.iter().map(|p| p.steps).collect(),
            worst,
            tolerance,
        },
        verdict: if worst.abs() <= tolerance {
            Verdict::Holds
        } else {
            Verdict::Contradicted
        },
    }
}
