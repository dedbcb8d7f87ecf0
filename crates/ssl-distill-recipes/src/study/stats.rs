//! Paired statistics of two models scored on the same test items, and their combination over
//! seeds.
//!
//! - Accuracy (SID, KS): McNemar's test on the discordant items (`n10`: A right and B wrong,
//!   `n01`: the reverse), exact: under the null each discordant item falls either way with
//!   probability 1/2, so the two-sided p-value is `min(1, 2 · P[X ≤ min(n10, n01)])` with
//!   `X ~ Binomial(n10 + n01, 1/2)` (the chi-square form is its large-sample approximation; the
//!   exact sum is cheap at any count here). The effect is the accuracy difference
//!   `(n10 − n01) / n`.
//! - Both metrics: a paired bootstrap over items (Efron & Tibshirani 1993, ch. 13; Koehn 2004 for
//!   MT): draw `n` item indices with replacement ([`BOOTSTRAP_RESAMPLES`] times, a fixed seed:
//!   deterministic), recompute both models' corpus-level metric on the same draw
//!   (`Σ errors / Σ count`: for PER the sum of edit distances over the sum of reference
//!   lengths, not a mean of per-utterance rates), and keep the difference. The 95% percentile
//!   interval is the `k`-th smallest and `k`-th largest difference, `k = ⌊0.025 · B⌋`, so
//!   swapping A and B mirrors it exactly; the variance of the draws is the within-seed variance
//!   that [`combine_seeds`] uses.
//! - Seeds: per-seed effects `d_s` with bootstrap variances `v_s`, `S` seeds. The mean
//!   `d̄ = Σ d_s / S`; its variance `SE² = mean(v_s) + s_b² / S`, where `s_b²` is the sample
//!   variance of the `d_s` (between seeds). The test-set term is not divided by `S`: every
//!   seed is scored on the same test items, so their sampling error is shared, not averaged
//!   out. The interval is `d̄ ± t · SE` with `t` the 97.5% Student quantile at the
//!   Welch–Satterthwaite degrees of freedom `ν = SE⁴ · (S − 1) / (s_b² / S)²` (the bootstrap
//!   term counted as known), rounded down; 1.96 when `s_b² = 0`. With one seed the spread is
//!   unknown: `SE² = v_1`, `t = 1.96`, and the report says so.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Resamples of every paired bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of every paired bootstrap (the draws depend only on it and the item count).
pub const BOOTSTRAP_SEED: u64 = 20_261_206;

/// Errors and the count they are out of, per item, for two models on the same items (accuracy:
/// `(1 − correct, 1)`; PER: `(edit distance, reference length)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairedItem {
    /// Model A's errors on the item.
    pub a_errors: usize,
    /// Model B's errors on the item.
    pub b_errors: usize,
    /// What the errors are out of (1, or the reference length).
    pub count: usize,
}

/// McNemar's exact test on the discordant pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Items A got right and B wrong.
    pub a_only: usize,
    /// Items B got right and A wrong.
    pub b_only: usize,
    /// Two-sided exact p-value.
    pub p_value: f64,
}

/// McNemar's exact two-sided test for `a_only` against `b_only` discordant items:
/// `min(1, 2 · P[X ≤ min])`, `X ~ Binomial(a_only + b_only, 1/2)`; 1 without discordant items.
pub fn mcnemar(a_only: usize, b_only: usize) -> McNemar {
    let n = a_only + b_only;
    let k = a_only.min(b_only);
    // ln C(n, i) built up term by term; every term is scaled by 2^-n in log space, so no
    // intermediate underflows at any n.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_choose = 0.0f64;
    let mut tail = 0.0f64;
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_choose + ln_half_n).exp();
    }
    McNemar {
        a_only,
        b_only,
        p_value: (2.0 * tail).min(1.0),
    }
}

/// The paired comparison of two models on one seed's test items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedEffect {
    /// Items compared.
    pub items: usize,
    /// How much A is better than B in the metric's unit (accuracy: `acc_A − acc_B`; PER:
    /// `PER_B − PER_A`): positive when A is better.
    pub effect: f64,
    /// 2.5% and 97.5% percentiles of the bootstrap effect.
    pub interval: (f64, f64),
    /// Variance of the bootstrap effect (the within-seed variance).
    pub variance: f64,
    /// McNemar's test (classification only).
    pub mcnemar: Option<McNemar>,
}

/// `Σ errors / Σ count` of A and of B over the items `idx` (0 for an empty count).
fn rates(items: &[PairedItem], idx: impl Iterator<Item = usize>) -> (f64, f64) {
    let (mut ea, mut eb, mut n) = (0usize, 0usize, 0usize);
    for i in idx {
        ea += items[i].a_errors;
        eb += items[i].b_errors;
        n += items[i].count;
    }
    let n = n.max(1) as f64;
    (ea as f64 / n, eb as f64 / n)
}

/// The paired comparison of A and B on `items`: the effect (B's error rate minus A's, which
/// is also `acc_A − acc_B`), its paired bootstrap interval and variance, and for
/// classification (`classification`: every count is 1) McNemar's test.
///
/// # Panics
/// If `items` is empty.
pub fn paired_effect(items: &[PairedItem], classification: bool) -> PairedEffect {
    assert!(!items.is_empty(), "a paired comparison needs items");
    let n = items.len();
    let (ra, rb) = rates(items, 0..n);
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut draws: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            // Modulo draw: the bias is below n / 2^64.
            let (a, b) = rates(items, (0..n).map(|_| (rng.next_u64() % n as u64) as usize));
            b - a
        })
        .collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let variance = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (draws.len() - 1) as f64;
    draws.sort_by(f64::total_cmp);
    let k = (0.025 * BOOTSTRAP_RESAMPLES as f64).floor() as usize;
    let mcnemar = classification.then(|| {
        let a_only = items
            .iter()
            .filter(|i| i.a_errors == 0 && i.b_errors > 0)
            .count();
        let b_only = items
            .iter()
            .filter(|i| i.b_errors == 0 && i.a_errors > 0)
            .count();
        mcnemar(a_only, b_only)
    });
    PairedEffect {
        items: n,
        effect: rb - ra,
        interval: (draws[k], draws[BOOTSTRAP_RESAMPLES - 1 - k]),
        variance,
        mcnemar,
    }
}

/// The effect over seeds (see the module docs for the formula).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedEffect {
    /// Per-seed effects `d_s`.
    pub per_seed: Vec<f64>,
    /// Their mean `d̄`.
    pub mean: f64,
    /// Standard deviation of the `d_s` (0 with one seed).
    pub seed_sd: f64,
    /// `SE` of the mean: within-seed (bootstrap) and between-seed variance combined.
    pub std_error: f64,
    /// The quantile used (`t` at ν degrees of freedom, or 1.96).
    pub multiplier: f64,
    /// 95% interval `d̄ ± multiplier · SE`.
    pub interval: (f64, f64),
}

/// 97.5% quantile of Student's t with `df` degrees of freedom: the table for 1..=30,
/// `1.96 + 2.5 / df` above (within 0.002 of the exact value), 1.96 for infinite `df`.
pub fn t_975(df: f64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if !df.is_finite() {
        return 1.96;
    }
    let df = df.floor().max(1.0);
    if df <= 30.0 {
        TABLE[df as usize - 1]
    } else {
        1.96 + 2.5 / df
    }
}

/// Combines per-seed paired effects into the mean effect and its interval (module docs).
///
/// # Panics
/// If `seeds` is empty.
pub fn combine_seeds(seeds: &[PairedEffect]) -> SeedEffect {
    assert!(!seeds.is_empty(), "at least one seed");
    let s = seeds.len() as f64;
    let per_seed: Vec<f64> = seeds.iter().map(|e| e.effect).collect();
    let mean = per_seed.iter().sum::<f64>() / s;
    let within = seeds.iter().map(|e| e.variance).sum::<f64>() / s;
    let between = if seeds.len() > 1 {
        per_seed.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (s - 1.0)
    } else {
        0.0
    };
    let var = within + between / s;
    let multiplier = if between > 0.0 {
        t_975(var * var * (s - 1.0) / (between / s).powi(2))
    } else {
        1.96
    };
    let std_error = var.sqrt();
    SeedEffect {
        per_seed,
        mean,
        seed_sd: between.sqrt(),
        std_error,
        multiplier,
        interval: (mean - multiplier * std_error, mean + multiplier * std_error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cls(a_right: bool, b_right: bool) -> PairedItem {
        PairedItem {
            a_errors: usize::from(!a_right),
            b_errors: usize::from(!b_right),
            count: 1,
        }
    }

    #[test]
    fn mcnemar_matches_the_binomial_sum_by_hand() {
        // 8 vs 2 discordant: P[X <= 2] for Binomial(10, 1/2) = (1 + 10 + 45) / 1024 = 56/1024,
        // two-sided p = 112/1024 = 0.109375.
        let t = mcnemar(8, 2);
        assert!((t.p_value - 112.0 / 1024.0).abs() < 1e-12, "{t:?}");
        assert_eq!(mcnemar(2, 8).p_value, t.p_value);
        // 5 vs 0: 2 * (1/32) = 0.0625.
        assert!((mcnemar(5, 0).p_value - 0.0625).abs() < 1e-12);
        // A tie and no discordance are p = 1 (capped).
        assert_eq!(mcnemar(3, 3).p_value, 1.0);
        assert_eq!(mcnemar(0, 0).p_value, 1.0);
        // 600 vs 500: ~ normal, z = 100 / sqrt(1100) = 3.015, two-sided p ~ 0.0026 (the
        // continuity-corrected chi-square gives 0.0029); no underflow at this n.
        let p = mcnemar(600, 500).p_value;
        assert!(p > 0.002 && p < 0.0035, "{p}");
    }

    #[test]
    fn a_model_always_right_against_one_always_wrong_has_a_point_interval() {
        // Every resample has A at accuracy 1 and B at 0: the interval is exactly [1, 1].
        let items = vec![cls(true, false); 40];
        let e = paired_effect(&items, true);
        assert_eq!(e.effect, 1.0);
        assert_eq!(e.interval, (1.0, 1.0));
        assert_eq!(e.variance, 0.0);
        let m = e.mcnemar.unwrap();
        assert_eq!((m.a_only, m.b_only), (40, 0));
        // Identical outcomes: no difference in any resample.
        let same = [cls(true, true), cls(false, false), cls(true, true)];
        let e = paired_effect(&same, true);
        assert_eq!((e.effect, e.interval, e.variance), (0.0, (0.0, 0.0), 0.0));
        assert_eq!(e.mcnemar.unwrap().p_value, 1.0);
    }

    #[test]
    fn swapping_the_models_mirrors_the_effect_and_the_interval() {
        let items: Vec<PairedItem> = (0..50)
            .map(|i| PairedItem {
                a_errors: i % 3,
                b_errors: (i % 5) / 2,
                count: 4,
            })
            .collect();
        let swapped: Vec<PairedItem> = items
            .iter()
            .map(|i| PairedItem {
                a_errors: i.b_errors,
                b_errors: i.a_errors,
                count: i.count,
            })
            .collect();
        let (e, s) = (paired_effect(&items, false), paired_effect(&swapped, false));
        assert!((e.effect + s.effect).abs() < 1e-15);
        assert!((e.interval.0 + s.interval.1).abs() < 1e-12);
        assert!((e.interval.1 + s.interval.0).abs() < 1e-12);
        assert!((e.variance - s.variance).abs() < 1e-15);
        assert!(e.interval.0 < e.effect && e.effect < e.interval.1);
        assert!(e.mcnemar.is_none());
    }

    #[test]
    fn per_is_a_ratio_of_sums_not_a_mean_of_rates() {
        // A: 1 error in 10 phones and 1 in 2; B: 0 in 10 and 2 in 2. Corpus PER A = 2/12,
        // B = 2/12: no difference (a mean of per-utterance rates would say 0.3 vs 0.5).
        let items = [
            PairedItem {
                a_errors: 1,
                b_errors: 0,
                count: 10,
            },
            PairedItem {
                a_errors: 1,
                b_errors: 2,
                count: 2,
            },
        ];
        assert_eq!(paired_effect(&items, false).effect, 0.0);
    }

    #[test]
    fn the_bootstrap_is_deterministic_and_as_wide_as_the_binomial_says() {
        // 100 items, A right on 60 where B is wrong, B right on the 40 others: the effect's
        // variance is that of a mean of +-1 draws with p = 0.6: 4 p (1 - p) / n = 0.0096.
        let items: Vec<PairedItem> = (0..100).map(|i| cls(i < 60, i >= 60)).collect();
        let e = paired_effect(&items, true);
        assert_eq!(e, paired_effect(&items, true));
        assert!((e.effect - 0.2).abs() < 1e-12);
        assert!((e.variance - 0.0096).abs() < 0.0096 * 0.1, "{}", e.variance);
    }

    fn effect(effect: f64, variance: f64) -> PairedEffect {
        PairedEffect {
            items: 100,
            effect,
            interval: (0.0, 0.0),
            variance,
            mcnemar: None,
        }
    }

    #[test]
    fn seeds_combine_within_and_between_variance() {
        // One seed: 1.96 sqrt(v).
        let one = combine_seeds(&[effect(0.1, 0.0004)]);
        assert_eq!(one.mean, 0.1);
        assert!((one.interval.0 - (0.1 - 1.96 * 0.02)).abs() < 1e-12);
        // Three seeds 0.1, 0.2, 0.3, within variance 0.0004 each: mean 0.2, s_b^2 = 0.01,
        // SE^2 = 0.0004 + 0.01 / 3 = 0.0037333, nu = SE^4 * 2 / (0.01/3)^2 = 2.508 -> 2,
        // t = 4.303, half-width 4.303 * 0.061101 = 0.26292.
        let three = combine_seeds(&[
            effect(0.1, 0.0004),
            effect(0.2, 0.0004),
            effect(0.3, 0.0004),
        ]);
        assert!((three.mean - 0.2).abs() < 1e-12);
        assert!((three.seed_sd - 0.1).abs() < 1e-12);
        let se = (0.0004f64 + 0.01 / 3.0).sqrt();
        assert!((three.std_error - se).abs() < 1e-12);
        assert_eq!(three.multiplier, 4.303);
        assert!((three.interval.1 - 0.2 - 4.303 * se).abs() < 1e-12);
        // Equal effects: no seed spread, the normal quantile.
        let flat = combine_seeds(&[effect(0.2, 0.0004), effect(0.2, 0.0004)]);
        assert_eq!((flat.seed_sd, flat.multiplier), (0.0, 1.96));
    }

    #[test]
    fn t_quantiles_follow_the_table_and_approach_the_normal() {
        assert_eq!(t_975(1.0), 12.706);
        assert_eq!(t_975(2.9), 4.303);
        assert_eq!(t_975(30.0), 2.042);
        assert!((t_975(60.0) - 2.000).abs() < 0.002);
        assert!((t_975(120.0) - 1.980).abs() < 0.002);
        assert_eq!(t_975(f64::INFINITY), 1.96);
    }
}
