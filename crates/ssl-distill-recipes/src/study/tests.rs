//! Verdicts and the report on hand-made rows.

use std::collections::BTreeMap;

use ssl_distill_probe::{ItemOutcome, Task, TestItem};

use super::*;

/// A probe result of classification items: `right[i]` says whether item `i` was right.
fn classified(right: &[bool]) -> ProbeResult {
    let items: Vec<TestItem> = right
        .iter()
        .enumerate()
        .map(|(i, &correct)| TestItem {
            id: format!("u{i}"),
            outcome: ItemOutcome::Classified { correct },
        })
        .collect();
    ProbeResult {
        value: right.iter().filter(|r| **r).count() as f64 / right.len() as f64,
        baseline: 0.0,
        layer_weights: vec![0.5, 0.5],
        test_items: right.len(),
        seconds: 1.0,
        epochs: 1,
        items,
    }
}

/// A PR probe result: `(edit distance, reference length)` per item.
fn transcribed(items: &[(usize, usize)]) -> ProbeResult {
    let (e, n) = items
        .iter()
        .fold((0, 0), |(e, n), (ei, ni)| (e + ei, n + ni));
    ProbeResult {
        items: items
            .iter()
            .enumerate()
            .map(|(i, &(edit_distance, reference_len))| TestItem {
                id: format!("u{i}"),
                outcome: ItemOutcome::Transcribed {
                    edit_distance,
                    reference_len,
                },
            })
            .collect(),
        ..classified(&[true])
    }
    .with_value(e as f64 / n as f64)
}

impl ProbeResult {
    fn with_value(mut self, value: f64) -> Self {
        self.value = value;
        self
    }
}

fn seed(seed: u64, params: usize, realtime: f64, probes: Vec<(Task, ProbeResult)>) -> SeedResult {
    SeedResult {
        seed,
        params,
        realtime,
        distill: None,
        probes: probes
            .into_iter()
            .map(|(t, p)| (t.name().to_string(), p))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn row(key: &str, seeds: Vec<SeedResult>) -> ModelRow {
    ModelRow {
        key: key.into(),
        description: format!("model {key}"),
        seeds,
    }
}

fn cmp(measure: Measure) -> Comparison {
    Comparison {
        measure,
        a: "a",
        b: "b",
    }
}

/// `n` items, A right on the first `a_right`, B right on the first `b_right`.
fn pair(n: usize, a_right: usize, b_right: usize) -> (ProbeResult, ProbeResult) {
    let a: Vec<bool> = (0..n).map(|i| i < a_right).collect();
    let b: Vec<bool> = (0..n).map(|i| i < b_right).collect();
    (classified(&a), classified(&b))
}

#[test]
fn a_paired_difference_decides_where_independent_errors_could_not() {
    // 200 items, A right on 110, B on 100, and every item B gets right A gets right too:
    // 10 discordant items all for A. Independent binomial errors would give 2 s.e. =
    // 2 sqrt(2 * 0.25 / 200) = 0.1 against a difference of 0.05 (inconclusive); paired, every
    // resample has A ahead, and McNemar's p = 2 / 2^10.
    let (a, b) = pair(200, 110, 100);
    let rows = [
        row("a", vec![seed(0, 1, 1.0, vec![(Task::Sid, a)])]),
        row("b", vec![seed(0, 1, 1.0, vec![(Task::Sid, b)])]),
    ];
    let j = judge(&cmp(Measure::Probe(Task::Sid)), &rows);
    assert_eq!(j.verdict, Verdict::Holds);
    assert!((j.effect - 0.05).abs() < 1e-12);
    let Detail::Quality { per_seed, combined } = &j.detail else {
        panic!("{j:?}")
    };
    let m = per_seed[0].1.mcnemar.unwrap();
    assert_eq!((m.a_only, m.b_only), (10, 0));
    assert!((m.p_value - 2.0 / 1024.0).abs() < 1e-12);
    assert!(combined.interval.0 > 0.0);
    // The other way round it is contradicted; as "no worse" it holds both ways round within
    // the margin only when the interval allows.
    let j = judge(
        &Comparison {
            measure: Measure::Probe(Task::Sid),
            a: "b",
            b: "a",
        },
        &rows,
    );
    assert_eq!(j.verdict, Verdict::Contradicted);
    assert_eq!(
        judge(&cmp(Measure::ProbeNoWorse(Task::Sid)), &rows).verdict,
        Verdict::Holds
    );
}

#[test]
fn seeds_that_disagree_make_a_verdict_inconclusive() {
    // Seed 0: A ahead by 10 items of 200; seed 1: B ahead by 10. Each seed alone decides;
    // the mean is 0 with a seed spread: inconclusive.
    let (a0, b0) = pair(200, 110, 100);
    let (a1, b1) = pair(200, 100, 110);
    let rows = [
        row(
            "a",
            vec![
                seed(0, 1, 1.0, vec![(Task::Ks, a0)]),
                seed(1, 1, 1.0, vec![(Task::Ks, a1)]),
            ],
        ),
        row(
            "b",
            vec![
                seed(0, 1, 1.0, vec![(Task::Ks, b0)]),
                seed(1, 1, 1.0, vec![(Task::Ks, b1)]),
            ],
        ),
    ];
    let j = judge(&cmp(Measure::Probe(Task::Ks)), &rows);
    assert_eq!(j.verdict, Verdict::Inconclusive);
    let Detail::Quality { per_seed, combined } = &j.detail else {
        panic!("{j:?}")
    };
    assert_eq!(per_seed.len(), 2);
    assert!(combined.mean.abs() < 1e-12);
    assert!((combined.seed_sd - 0.05f64.hypot(0.05)).abs() < 1e-12);
}

#[test]
fn per_comparisons_pair_utterances_and_old_reports_cannot_pair() {
    // A makes 1 error in 10 phones on every utterance, B 3: PER 0.1 vs 0.3, A better by 0.2
    // in every resample.
    let a = transcribed(&[(1, 10); 30]);
    let b = transcribed(&[(3, 10); 30]);
    let rows = [
        row("a", vec![seed(0, 1, 1.0, vec![(Task::Pr, a.clone())])]),
        row("b", vec![seed(0, 1, 1.0, vec![(Task::Pr, b)])]),
    ];
    let j = judge(&cmp(Measure::Probe(Task::Pr)), &rows);
    assert_eq!(j.verdict, Verdict::Holds);
    assert!((j.effect - 0.2).abs() < 1e-12);
    let Detail::Quality { per_seed, .. } = &j.detail else {
        panic!()
    };
    let (lo, hi) = per_seed[0].1.interval;
    assert!((lo - 0.2).abs() < 1e-12 && (hi - 0.2).abs() < 1e-12);
    // A report without items (an older probe file) cannot be paired.
    let old = ProbeResult {
        items: Vec::new(),
        ..a
    };
    let rows = [
        row("a", vec![seed(0, 1, 1.0, vec![(Task::Pr, old)])]),
        rows[1].clone(),
    ];
    assert_eq!(
        judge(&cmp(Measure::Probe(Task::Pr)), &rows).verdict,
        Verdict::Unpaired
    );
}

#[test]
fn magnitudes_are_judged_against_the_papers_figures() {
    let rows = |pa, ra| {
        [
            row("a", vec![seed(0, pa, ra, Vec::new())]),
            row("b", vec![seed(0, 100, 100.0, Vec::new())]),
        ]
    };
    let fewer = cmp(Measure::ParamsReduction {
        expected: 0.17,
        tolerance: 0.05,
    });
    assert_eq!(judge(&fewer, &rows(83, 1.0)).verdict, Verdict::Holds);
    // 3% fewer is smaller, but not "17% fewer".
    assert_eq!(judge(&fewer, &rows(97, 1.0)).verdict, Verdict::Contradicted);
    assert_eq!(
        judge(&cmp(Measure::Params), &rows(97, 1.0)).verdict,
        Verdict::Holds
    );
    let twice = cmp(Measure::Speedup {
        expected: 2.0,
        tolerance: 0.4,
    });
    assert_eq!(judge(&twice, &rows(1, 195.0)).verdict, Verdict::Holds);
    // 1.5x: outside 2 +- 0.4 but within the timing noise of its edge.
    assert_eq!(
        judge(&twice, &rows(1, 150.0)).verdict,
        Verdict::Inconclusive
    );
    assert_eq!(
        judge(&twice, &rows(1, 128.0)).verdict,
        Verdict::Contradicted
    );
    // Direction only: a tie within 10%.
    let speed = cmp(Measure::Speed);
    assert_eq!(
        judge(&speed, &rows(1, 105.0)).verdict,
        Verdict::Inconclusive
    );
    assert_eq!(judge(&speed, &rows(1, 128.0)).verdict, Verdict::Holds);
    assert_eq!(judge(&speed, &rows(1, 80.0)).verdict, Verdict::Contradicted);
    // An absent model.
    assert_eq!(judge(&speed, &rows(1, 1.0)[..1]).verdict, Verdict::Missing);
}

#[test]
fn pruning_holds_within_tolerance_of_the_target_on_every_seed() {
    let pruned = |seed_no, params| SeedResult {
        distill: Some(DistillSummary {
            steps: 30,
            seconds: 1.0,
            first_loss: 1.0,
            last_loss: 0.5,
            pruning: Some(PruningSummary {
                steps: 20,
                target_params: 1000,
                pruned_params: params,
            }),
        }),
        ..seed(seed_no, params, 1.0, Vec::new())
    };
    let target = cmp(Measure::PruneTarget { tolerance: 0.1 });
    let teacher = row("b", vec![seed(0, 4000, 1.0, Vec::new())]);
    let close = [
        row("a", vec![pruned(0, 1050), pruned(1, 980)]),
        teacher.clone(),
    ];
    let j = judge(&target, &close);
    assert_eq!(j.verdict, Verdict::Holds);
    assert!((j.effect - 0.015).abs() < 1e-12);
    // One seed 12% above the target is enough to miss it.
    let far = [row("a", vec![pruned(0, 1050), pruned(1, 1120)]), teacher];
    assert_eq!(judge(&target, &far).verdict, Verdict::Contradicted);
}

#[test]
fn the_report_states_the_runs_own_numbers_and_its_command() {
    let (a, b) = pair(100, 60, 50);
    let mut rows = vec![
        row(
            "teacher",
            vec![seed(0, 4_000_000, 100.0, vec![(Task::Sid, a)])],
        ),
        row(
            "random-twin",
            vec![seed(0, 4_000_000, 90.0, vec![(Task::Sid, b)])],
        ),
    ];
    rows.push(row(
        "dphubert",
        vec![SeedResult {
            distill: Some(DistillSummary {
                steps: 4050,
                seconds: 60.0,
                first_loss: 1.0,
                last_loss: 0.5,
                pruning: Some(PruningSummary {
                    steps: 2700,
                    target_params: 995_000,
                    pruned_params: 1_060_000,
                }),
            }),
            ..seed(0, 1_060_000, 200.0, Vec::new())
        }],
    ));
    let ctx = ReportContext {
        teacher: "assets/mini-hubert".into(),
        data: "runs/corpus-small".into(),
        recipes: "recipes/study".into(),
        probe_data: "runs/corpus-probe".into(),
        steps: None,
        seeds: vec![0],
        single_seed: vec!["dphubert".into()],
        device: "tch".into(),
        minutes: 1.0,
        command: "ssl-distill study --seeds 1 --device tch".into(),
    };
    let text = report_markdown(&ctx, &rows);
    for needle in [
        "| SID accuracy | teacher | random-twin | 0.600 | 0.500 | +0.100 |",
        "McNemar p 0.002",
        "after 2700 pruning steps",
        "a 4.0 M-parameter teacher",
        "students distilled for 4050 steps",
        "dphubert ends at 1.060 M backbone parameters against a target of 0.995 M",
        "| params (M) vs pruning target | dphubert | teacher | 1.060 | 0.995 | +6.5% of target |",
        "ssl-distill study --seeds 1 --device tch",
        "FEATURES=tch DEVICE=tch tools/results/run.sh",
        "backend `tch`",
        "; dphubert on the first seed only",
        "| PR per | skill | dphubert | – | – | – | – | – | – | not run |",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
    assert!(!text.contains("900 pruning steps"));
}
