//! What the study measured of each model, per seed: the rows of `results.json` and the input of
//! the claims' verdicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ssl_distill_probe::{ProbeReport, Task, TestItem};

/// One probe's outcome, as read back from its `probe-<task>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// The test metric (PER or accuracy).
    pub value: f64,
    /// What a trivial predictor scores on test.
    pub baseline: f64,
    /// The learned layer weights.
    pub layer_weights: Vec<f64>,
    /// Test utterances.
    pub test_items: usize,
    /// Seconds spent (feature extraction + training).
    pub seconds: f64,
    /// Training epochs it ran.
    pub epochs: usize,
    /// Per test item: id and outcome (what paired comparisons use; not written to
    /// `results.json`, whose probe files hold them).
    #[serde(skip)]
    pub items: Vec<TestItem>,
}

impl From<ProbeReport> for ProbeResult {
    fn from(report: ProbeReport) -> Self {
        Self {
            value: report.value,
            baseline: report.baseline,
            layer_weights: report.layer_weights,
            test_items: report.data.utterances[2],
            seconds: report.seconds.extract + report.seconds.train,
            epochs: report.budget.epochs,
            items: report.items,
        }
    }
}

/// What the pruning stage of a recipe did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PruningSummary {
    /// Steps of the pruning stage(s).
    pub steps: u64,
    /// The backbone parameter count the target sparsity asks for.
    pub target_params: usize,
    /// Backbone parameters of the pruned student.
    pub pruned_params: usize,
}

/// A distillation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillSummary {
    /// Steps of every stage.
    pub steps: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// First logged loss of the last stage.
    pub first_loss: f64,
    /// Last loss of the last stage.
    pub last_loss: f64,
    /// What pruning did (recipes with `[prune]`).
    #[serde(default)]
    pub pruning: Option<PruningSummary>,
}

/// One model on one seed (the seed of its distillation, or its twin's init, and its probes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Parameters of the upstream as probed.
    pub params: usize,
    /// Seconds of audio per second of compute (10 s clip, median of 9).
    pub realtime: f64,
    /// The distillation (students).
    pub distill: Option<DistillSummary>,
    /// Per task name (`pr`, `sid`, `ks`).
    pub probes: BTreeMap<String, ProbeResult>,
}

impl SeedResult {
    /// The probe of `task`, if it ran.
    pub fn probe(&self, task: Task) -> Option<&ProbeResult> {
        self.probes.get(task.name())
    }
}

/// One model of the study over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    /// `teacher`, `random-twin`, or the recipe's file stem.
    pub key: String,
    /// What it is (the recipe's description for students).
    pub description: String,
    /// One entry per seed, in seed order.
    pub seeds: Vec<SeedResult>,
}

impl ModelRow {
    /// The mean of `f` over the seeds that have it (`None` when none has).
    pub fn mean_of(&self, f: impl Fn(&SeedResult) -> Option<f64>) -> Option<f64> {
        let v: Vec<f64> = self.seeds.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    }

    /// The mean test metric of `task` over seeds.
    pub fn metric(&self, task: Task) -> Option<f64> {
        self.mean_of(|s| s.probe(task).map(|p| p.value))
    }

    /// The mean parameter count over seeds.
    pub fn params(&self) -> Option<f64> {
        self.mean_of(|s| Some(s.params as f64))
    }

    /// The median speed over seeds (timings on a shared machine: the median resists one slow
    /// measurement).
    pub fn realtime(&self) -> Option<f64> {
        let mut v: Vec<f64> = self.seeds.iter().map(|s| s.realtime).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        Some(if v.len() % 2 == 1 {
            v[m]
        } else {
            (v[m - 1] + v[m]) / 2.0
        })
    }

    /// The seed entry of `seed`.
    pub fn seed(&self, seed: u64) -> Option<&SeedResult> {
        self.seeds.iter().find(|s| s.seed == seed)
    }
}
