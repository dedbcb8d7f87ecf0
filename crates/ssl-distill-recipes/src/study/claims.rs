//! The papers' claims as code: each is a list of comparisons of two models of the study, judged
//! by [`judge`](super::judge) and rendered by [`report_markdown`](super::report_markdown), so
//! the report cannot drift from the numbers.

use ssl_distill_probe::Task;

/// The probing tasks, in report order.
pub const TASKS: [Task; 3] = [Task::Pr, Task::Sid, Task::Ks];

/// A "no worse" claim holds when A is at most this much worse (absolute: 2 points of accuracy
/// or of PER) at the lower end of the interval.
pub const NO_WORSE_MARGIN: f64 = 0.02;

/// Speeds within this factor count as a tie (timings on a shared machine).
pub const SPEED_TIE: f64 = 1.1;

/// What a comparison measures and how it is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// A's probe metric is better than B's (PER lower, accuracy higher): the paired interval
    /// over seeds lies above 0.
    Probe(Task),
    /// A's probe metric is no worse than B's: the interval's lower end is above
    /// `-NO_WORSE_MARGIN`.
    ProbeNoWorse(Task),
    /// A has fewer parameters than B (exact).
    Params,
    /// A is faster than B, beyond [`SPEED_TIE`].
    Speed,
    /// A has `expected` (a fraction) fewer parameters than B, within `± tolerance`.
    ParamsReduction {
        /// The paper's figure (0.17: 17% fewer).
        expected: f64,
        /// Allowed absolute deviation of the fraction.
        tolerance: f64,
    },
    /// A is `expected` times as fast as B, within `± tolerance` (× [`SPEED_TIE`] of timing
    /// noise before the claim counts as contradicted).
    Speedup {
        /// The paper's factor.
        expected: f64,
        /// Allowed absolute deviation of the factor.
        tolerance: f64,
    },
    /// A, a pruned student, ends within `± tolerance` (relative) of its pruning target, on
    /// every seed (B is the model the target is a fraction of).
    PruneTarget {
        /// Allowed relative deviation from the target parameter count.
        tolerance: f64,
    },
}

/// One comparison: `measure` of model `a` against model `b` (keys of the study's models).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// What is compared.
    pub measure: Measure,
    /// The model the claim is about.
    pub a: &'static str,
    /// The model it is compared with.
    pub b: &'static str,
}

/// A paper's claim.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The paper.
    pub source: &'static str,
    /// The claim in words.
    pub claim: &'static str,
    /// Its checks.
    pub comparisons: Vec<Comparison>,
}

impl Measure {
    /// Whether this is a quality comparison on the probes (paired, over seeds).
    pub fn task(self) -> Option<Task> {
        match self {
            Self::Probe(t) | Self::ProbeNoWorse(t) => Some(t),
            _ => None,
        }
    }

    /// Its name in the report's tables.
    pub fn name(self) -> String {
        match self {
            Self::Probe(t) => format!("{} {}", t.name().to_uppercase(), t.metric()),
            Self::ProbeNoWorse(t) => {
                format!("{} {} (no worse)", t.name().to_uppercase(), t.metric())
            }
            Self::Params => "params (M)".into(),
            Self::ParamsReduction { expected, .. } => {
                format!("params (M), {:.0}% fewer", 100.0 * expected)
            }
            Self::Speed => "speed (× real time)".into(),
            Self::Speedup { expected, .. } => format!("speed (× real time), {expected}× faster"),
            Self::PruneTarget { .. } => "params (M) vs pruning target".into(),
        }
    }
}

fn cmp(measure: Measure, a: &'static str, b: &'static str) -> Comparison {
    Comparison { measure, a, b }
}

fn on_all(a: &'static str, b: &'static str) -> Vec<Comparison> {
    TASKS
        .iter()
        .map(|&t| cmp(Measure::Probe(t), a, b))
        .collect()
}

/// Every claim the study checks.
pub fn claims() -> Vec<Claim> {
    use Measure::{Params, ProbeNoWorse, Speed};
    vec![
        Claim {
            source: "HuBERT pretraining (this project's mini teacher)",
            claim: "masked prediction of k-means units teaches the model something every probe \
                    can use: the teacher beats its random-init twin",
            comparisons: on_all("teacher", "random-twin"),
        },
        Claim {
            source: "DistilHuBERT (Chang et al. 2022)",
            claim: "a 2-layer student with prediction heads is much smaller and faster than its \
                    teacher and keeps what the teacher learned (it beats the random twin)",
            comparisons: [
                cmp(Params, "distilhubert", "teacher"),
                cmp(Speed, "distilhubert", "teacher"),
            ]
            .into_iter()
            .chain(on_all("distilhubert", "random-twin"))
            .collect(),
        },
        Claim {
            source: "Deep vs Wide (Ashihara et al. 2022)",
            claim: "at equal size, a deep-narrow student wins content tasks (PR) and a \
                    shallow-wide one wins speaker tasks (SID)",
            comparisons: vec![
                cmp(Measure::Probe(Task::Pr), "deep-narrow", "shallow-wide"),
                cmp(Measure::Probe(Task::Sid), "shallow-wide", "deep-narrow"),
            ],
        },
        Claim {
            source: "Wang et al. 2023, discriminative loss",
            claim: "adding KL(p_teacher || p_student) over the teacher's codeword posteriors to \
                    the regression loss improves the student",
            comparisons: on_all("wang-disc", "wang-regression"),
        },
        Claim {
            source: "Wang et al. 2023, Fbank front-end",
            claim: "an Fbank front-end instead of the waveform CNN makes the student smaller and \
                    faster (17% fewer parameters, about 2x faster) at a small cost",
            comparisons: [
                cmp(
                    Measure::ParamsReduction {
                        expected: 0.17,
                        tolerance: 0.05,
                    },
                    "wang-disc-fbank",
                    "wang-disc",
                ),
                cmp(
                    Measure::Speedup {
                        expected: 2.0,
                        tolerance: 0.4,
                    },
                    "wang-disc-fbank",
                    "wang-disc",
                ),
            ]
            .into_iter()
            .chain(
                TASKS
                    .iter()
                    .map(|&t| cmp(ProbeNoWorse(t), "wang-disc-fbank", "wang-disc")),
            )
            .collect(),
        },
        Claim {
            source: "SKILL (2024) on DPHuBERT (Peng et al. 2023)",
            claim: "with the same pruning to 25% of the teacher, targets from CKA-clustered layer \
                    groups beat hand-picked layers",
            comparisons: [
                cmp(
                    Measure::PruneTarget { tolerance: 0.1 },
                    "dphubert",
                    "teacher",
                ),
                cmp(Measure::PruneTarget { tolerance: 0.1 }, "skill", "teacher"),
            ]
            .into_iter()
            .chain(on_all("skill", "dphubert"))
            .collect(),
        },
        Claim {
            source: "GenDistiller (Gao et al. 2024)",
            claim: "generating the teacher's layers autoregressively (each from the previous) \
                    beats predicting them all at once from the student output",
            comparisons: on_all("gendistiller", "gendistiller-nar"),
        },
    ]
}
