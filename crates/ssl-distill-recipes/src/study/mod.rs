//! The study behind `docs/results.md` (`ssl-distill study`): the papers' claims as code
//! ([`claims`]), what was measured of each model per seed ([`ModelRow`]), paired statistics
//! ([`paired_effect`]: McNemar's exact test and a paired bootstrap over test utterances;
//! [`combine_seeds`]: the mean over seeds with within- and between-seed variance), the
//! verdicts ([`judge`]), the keys that decide whether a stored piece can be reused
//! ([`PieceKey`]) and the report ([`report_markdown`]). The CLI runs the distillations and
//! probes and hands the numbers here.
//!
//! Statistics follow Efron & Tibshirani, *An Introduction to the Bootstrap* (1993; paired
//! bootstrap over items as in Koehn, "Statistical Significance Tests for Machine Translation
//! Evaluation", EMNLP 2004) and McNemar (1947), exact binomial form; the formulas are in
//! [`stats`](self::stats) and in the report.

mod claims;
mod judge;
mod key;
mod model;
mod report;
pub mod stats;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use claims::{Claim, Comparison, Measure, NO_WORSE_MARGIN, SPEED_TIE, TASKS, claims};
pub use judge::{Detail, Judgement, Verdict, judge, pair_items};
pub use key::{
    KEY_FILE, KeyCheck, PieceKey, STUDY_CODE_VERSION, fingerprint_dir, fingerprint_files,
};
pub use model::{DistillSummary, ModelRow, ProbeResult, PruningSummary, SeedResult};
pub use report::{ReportContext, report_markdown};
pub use stats::{McNemar, PairedEffect, PairedItem, SeedEffect, combine_seeds, paired_effect};

/// One judged comparison in `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct JudgedComparison {
    /// The measure's name.
    pub measure: String,
    /// Model A.
    pub a: &'static str,
    /// Model B.
    pub b: &'static str,
    /// The judgement (per-seed effects, percentile intervals, McNemar counts).
    pub judgement: Judgement,
}

/// One claim with its judged comparisons in `results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct JudgedClaim {
    /// The paper.
    pub source: &'static str,
    /// The claim.
    pub claim: &'static str,
    /// Its comparisons.
    pub comparisons: Vec<JudgedComparison>,
}

/// Every claim judged on `rows` (what `results.json` holds beside the rows).
pub fn judge_all(rows: &[ModelRow]) -> Vec<JudgedClaim> {
    claims()
        .into_iter()
        .map(|c| JudgedClaim {
            source: c.source,
            claim: c.claim,
            comparisons: c
                .comparisons
                .iter()
                .map(|cmp| JudgedComparison {
                    measure: cmp.measure.name(),
                    a: cmp.a,
                    b: cmp.b,
                    judgement: judge(cmp, rows),
                })
                .collect(),
        })
        .collect()
}
