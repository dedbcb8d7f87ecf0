//! The study's report (`docs/results.md`): every sentence that states a number takes it from
//! the run's own rows, and every verdict comes from [`judge`].

use std::fmt::Write as _;
use std::path::PathBuf;

use super::claims::{Comparison, Measure, NO_WORSE_MARGIN, SPEED_TIE, TASKS, claims};
use super::judge::{Detail, Judgement, judge};
use super::model::ModelRow;
use super::stats::BOOTSTRAP_RESAMPLES;

/// How the study ran (the report's header and reproduce line).
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// The teacher checkpoint.
    pub teacher: PathBuf,
    /// The distillation corpus.
    pub data: PathBuf,
    /// The recipe folder.
    pub recipes: PathBuf,
    /// The probe corpus.
    pub probe_data: PathBuf,
    /// `--steps`, if given.
    pub steps: Option<u64>,
    /// The seeds every model ran with.
    pub seeds: Vec<u64>,
    /// Recipes distilled on the first seed only.
    pub single_seed: Vec<String>,
    /// The backend, as passed (`cpu`, `tch`...).
    pub device: String,
    /// Minutes this invocation took (reusing finished pieces).
    pub minutes: f64,
    /// The `ssl-distill study ...` command that regenerates the report, every flag included.
    pub command: String,
}

/// The report in Markdown.
pub fn report_markdown(ctx: &ReportContext, rows: &[ModelRow]) -> String {
    let mut s = String::new();
    header(&mut s, ctx, rows);
    models_table(&mut s, rows);
    method(&mut s, ctx, rows);
    for claim in claims() {
        let _ = writeln!(s, "### {}\n\nClaim: {}.\n", claim.source, claim.claim);
        let _ = writeln!(
            s,
            "| measure | A | B | A | B | A better by | 95% interval / tolerance | test | per \
             seed | verdict |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for c in &claim.comparisons {
            let _ = writeln!(s, "{}", comparison_row(c, &judge(c, rows)));
        }
        let _ = writeln!(s);
    }
    limits(&mut s, rows);
    layer_weights(&mut s, rows);
    let script = if ctx.device.starts_with("tch") {
        format!("FEATURES=tch DEVICE={} tools/results/run.sh", ctx.device)
    } else {
        format!("DEVICE={} tools/results/run.sh", ctx.device)
    };
    let _ = writeln!(
        s,
        "\n## Reproduce\n\nThis report, every flag included:\n\n```sh\n{}\n```\n\n\
         `{script}` builds the release binary, synthesises the corpora if needed and runs the \
         study with the script's settings (its header gives them and their time budget).",
        ctx.command
    );
    s
}

fn header(s: &mut String, ctx: &ReportContext, rows: &[ModelRow]) {
    let seeds: Vec<String> = ctx.seeds.iter().map(ToString::to_string).collect();
    let distill_min = rows
        .iter()
        .flat_map(|r| &r.seeds)
        .filter_map(|s| s.distill.as_ref().map(|d| d.seconds))
        .sum::<f64>()
        / 60.0;
    let probe_min = rows
        .iter()
        .flat_map(|r| &r.seeds)
        .flat_map(|s| s.probes.values().map(|p| p.seconds))
        .sum::<f64>()
        / 60.0;
    let _ = writeln!(s, "# Results: every recipe on the offline world\n");
    let _ = writeln!(
        s,
        "Written by `ssl-distill study` (see \"Reproduce\" below); do not edit by hand. Teacher \
         `{}`; students distilled on `{}` with the recipes of `{}`{}; probes trained and tested \
         on `{}` ({}); seeds {} (each seed: every student distilled again, the twin drawn again, \
         every probe trained again{}); backend `{}`. Compute: {distill_min:.0} min of \
         distillation and {probe_min:.0} min of probing (this invocation {:.1} min, reusing \
         finished pieces).\n",
        ctx.teacher.display(),
        ctx.data.display(),
        ctx.recipes.display(),
        ctx.steps
            .map_or(String::new(), |n| format!(" for {n} steps each")),
        ctx.probe_data.display(),
        epochs_used(rows),
        seeds.join(", "),
        if ctx.single_seed.is_empty() {
            String::new()
        } else {
            format!(
                "; {} on the first seed only, to fit the budget",
                ctx.single_seed.join(", ")
            )
        },
        ctx.device,
        ctx.minutes,
    );
}

/// The epochs the probes ran, per task (`PR 15, SID 30, KS 30`); a task whose models ran
/// different budgets lists each.
fn epochs_used(rows: &[ModelRow]) -> String {
    let per_task: Vec<String> = TASKS
        .iter()
        .map(|&t| {
            let mut e: Vec<usize> = rows
                .iter()
                .flat_map(|r| &r.seeds)
                .filter_map(|s| s.probe(t).map(|p| p.epochs))
                .collect();
            e.sort_unstable();
            e.dedup();
            let e: Vec<String> = e.iter().map(ToString::to_string).collect();
            format!("{} {}", t.name().to_uppercase(), e.join("/"))
        })
        .collect();
    format!("probe epochs: {}", per_task.join(", "))
}

fn models_table(s: &mut String, rows: &[ModelRow]) {
    let _ = writeln!(
        s,
        "## All models (means over seeds)\n\n| model | params (M) | speed (× real time) | \
         distillation | PR PER ↓ | SID acc ↑ | KS acc ↑ |\n|---|---|---|---|---|---|---|"
    );
    let opt = |v: Option<f64>, digits: usize| v.map_or("–".into(), |v| format!("{v:.digits$}"));
    for r in rows {
        let distill =
            r.mean_of(|s| s.distill.as_ref().map(|d| d.seconds))
                .map_or("–".to_string(), |secs| {
                    format!(
                        "{} steps, {:.1} min, loss {:.3} → {:.3}",
                        opt(r.mean_of(|s| s.distill.as_ref().map(|d| d.steps as f64)), 0),
                        secs / 60.0,
                        r.mean_of(|s| s.distill.as_ref().map(|d| d.first_loss))
                            .unwrap_or(f64::NAN),
                        r.mean_of(|s| s.distill.as_ref().map(|d| d.last_loss))
                            .unwrap_or(f64::NAN),
                    )
                });
        let probes: Vec<String> = TASKS.iter().map(|&t| opt(r.metric(t), 3)).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {distill} | {} |",
            r.key,
            opt(r.params().map(|p| p / 1e6), 2),
            opt(r.realtime(), 0),
            probes.join(" | ")
        );
    }
    if let Some(first) = rows.first().and_then(|r| r.seeds.first()) {
        let cell = |f: &dyn Fn(&super::model::ProbeResult) -> String| -> String {
            TASKS
                .iter()
                .map(|&t| first.probe(t).map_or("–".into(), f))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let _ = writeln!(
            s,
            "| trivial predictor | – | – | – | {} |",
            cell(&|p| format!("{:.3}", p.baseline))
        );
        let _ = writeln!(
            s,
            "| test utterances | | | | {} |",
            cell(&|p| p.test_items.to_string())
        );
    }
    let _ = writeln!(s);
    for r in rows {
        let _ = writeln!(s, "- **{}**: {}", r.key, r.description);
    }
    let _ = writeln!(
        s,
        "\nParams: the whole upstream as probed (front-end, encoder; no prediction heads). \
         Speed: one 10 s clip, median of 9 per seed and the median over seeds, on this machine's \
         CPU, which other jobs share. Probes: frozen upstream, learnable softmax-weighted sum of \
         all hidden states; PR = 2-layer transformer + CTC (phone error rate), SID = mean \
         pooling + linear, KS = mean pooling + MLP; the test metric of the best dev epoch.\n"
    );
}

fn method(s: &mut String, ctx: &ReportContext, rows: &[ModelRow]) {
    let seeds = ctx.seeds.len();
    let _ = writeln!(
        s,
        "## The papers' claims\n\nEvery quality comparison is paired: both models are scored \
         on the same test utterances, seed by seed. Per seed, the effect is how much A is better \
         (accuracy: acc_A − acc_B; PR: PER_B − PER_A, each PER the sum of edit distances over \
         the sum of reference lengths) and its variance comes from a paired bootstrap over \
         utterances ({BOOTSTRAP_RESAMPLES} resamples, fixed seed); for SID and KS McNemar's \
         exact test on the discordant utterances is shown too. Over the S = {seeds} seed(s) the \
         mean effect d̄ has SE² = mean(bootstrap variance) + s_b²/S (s_b²: the variance of the \
         per-seed effects; the test-set term is not divided by S because every seed uses the \
         same utterances) and the 95% interval is d̄ ± t·SE, t the Student quantile at the \
         Welch–Satterthwaite degrees of freedom (1.96 with one seed or no spread). A \
         comparison *holds* when the interval lies above 0, is **contradicted** when it lies \
         below 0, and is *inconclusive* otherwise; a claim of a small cost (\"no worse\") holds \
         when the interval's lower end is above −{NO_WORSE_MARGIN} (A at most {:.0} points \
         worse) and is contradicted when its upper end is below −{NO_WORSE_MARGIN}. Sizes are \
         exact; speeds count as a tie within ±{:.0}%. A paper's figure (17% fewer parameters, \
         2× faster, a pruning target) is checked as a magnitude within the tolerance shown. The \
         intervals hold test-set sampling and {}; not the spread across speaker sets (one probe \
         corpus), which for SID was larger than one corpus's binomial error \
         (`tools/results/twin-seeds.sh`, docs/experiments.md).\n",
        100.0 * NO_WORSE_MARGIN,
        100.0 * (SPEED_TIE - 1.0),
        if seeds > 1 {
            "the spread over seeds (distillation, twin init, probe training)"
        } else {
            "nothing of the spread over seeds (one seed)"
        },
    );
    let unpaired = rows.iter().any(|r| {
        r.seeds
            .iter()
            .any(|s| s.probes.values().any(|p| p.items.is_empty()))
    });
    if unpaired {
        let _ = writeln!(
            s,
            "Some probe reports carry no per-utterance outcomes (written by an older version): \
             their comparisons say \"cannot pair\"; run the study again to redo those probes.\n"
        );
    }
}

fn signed(v: f64) -> String {
    format!("{v:+.3}")
}

fn comparison_row(c: &Comparison, j: &Judgement) -> String {
    let name = c.measure.name();
    let (effect, interval, test, per_seed) = match &j.detail {
        _ if j.effect.is_nan() => ("–".into(), "–".into(), "–".into(), "–".into()),
        Detail::Quality { per_seed, combined } => {
            let (lo, hi) = combined.interval;
            let test = if per_seed.iter().all(|(_, e)| e.mcnemar.is_some()) {
                let p: Vec<String> = per_seed
                    .iter()
                    .filter_map(|(_, e)| e.mcnemar.map(|m| format!("{:.3}", m.p_value)))
                    .collect();
                format!("McNemar p {}", p.join(" / "))
            } else {
                "paired bootstrap".into()
            };
            let seeds: Vec<String> = combined.per_seed.iter().map(|d| signed(*d)).collect();
            let spread = if seeds.len() > 1 {
                format!(" (s.d. {:.3})", combined.seed_sd)
            } else {
                " (1 seed)".into()
            };
            (
                signed(j.effect),
                format!("[{}, {}]", signed(lo), signed(hi)),
                test,
                format!("{}{spread}", seeds.join(", ")),
            )
        }
        Detail::Exact => (
            format!("{:.0}% smaller", 100.0 * j.effect),
            "–".into(),
            "exact".into(),
            "–".into(),
        ),
        Detail::Timed => (
            format!("× {:.2}", j.effect),
            format!("tie within ±{:.0}%", 100.0 * (SPEED_TIE - 1.0)),
            "timing".into(),
            "–".into(),
        ),
        Detail::Magnitude {
            expected,
            tolerance,
        } => match c.measure {
            Measure::Speedup { .. } => (
                format!("× {:.2}", j.effect),
                format!("× {expected} ± {tolerance}"),
                "timing".into(),
                "–".into(),
            ),
            _ => (
                format!("{:.1}% fewer", 100.0 * j.effect),
                format!("{:.0}% ± {:.0} points", 100.0 * expected, 100.0 * tolerance),
                "exact".into(),
                "–".into(),
            ),
        },
        Detail::Pruning {
            steps,
            worst,
            tolerance,
            ..
        } => {
            let steps: Vec<String> = steps.iter().map(ToString::to_string).collect();
            (
                format!("{:+.1}% of target", 100.0 * j.effect),
                format!("target ± {:.0}%", 100.0 * tolerance),
                format!("{} pruning steps", steps.join(" / ")),
                format!("worst {:+.1}%", 100.0 * worst),
            )
        }
    };
    let value = |v: f64| {
        if v.is_nan() {
            "–".to_string()
        } else {
            format!("{v:.3}")
        }
    };
    format!(
        "| {name} | {} | {} | {} | {} | {effect} | {interval} | {test} | {per_seed} | {} |",
        c.a,
        c.b,
        value(j.a),
        value(j.b),
        j.verdict.label()
    )
}

fn limits(s: &mut String, rows: &[ModelRow]) {
    let params = |k: &str| {
        rows.iter()
            .find(|r| r.key == k)
            .and_then(ModelRow::params)
            .map(|p| p / 1e6)
    };
    let mut sizes = Vec::new();
    if let (Some(dn), Some(sw)) = (params("deep-narrow"), params("shallow-wide")) {
        sizes.push(format!(
            "deep-narrow's CNN is scaled with its width (conv 64), so it has {dn:.2} M \
             parameters against shallow-wide's {sw:.2} M (the paper's pair differs too: 26.87 M \
             vs 30.58 M)"
        ));
    }
    if let (Some(fb), Some(cnn)) = (params("wang-disc-fbank"), params("wang-disc")) {
        sizes.push(format!(
            "the mini teacher's CNN is small (conv 128), so the Fbank front-end saves {:.1}% of \
             the parameters here (the paper's 17% is of a Base-sized CNN)",
            100.0 * (1.0 - fb / cnn)
        ));
    }
    let pruned: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            let p: Vec<_> = r
                .seeds
                .iter()
                .filter_map(|s| s.distill.as_ref().and_then(|d| d.pruning))
                .collect();
            let first = p.first()?;
            let n = p.len() as f64;
            let mean = p.iter().map(|x| x.pruned_params as f64).sum::<f64>() / n / 1e6;
            Some(format!(
                "{} ends at {mean:.3} M backbone parameters against a target of {:.3} M after {} \
                 pruning steps",
                r.key,
                first.target_params as f64 / 1e6,
                first.steps
            ))
        })
        .collect();
    if !pruned.is_empty() {
        sizes.push(format!("{} (mean over seeds)", pruned.join("; ")));
    }
    let seeds = rows.iter().map(|r| r.seeds.len()).max().unwrap_or(0);
    let fewer: Vec<String> = rows
        .iter()
        .filter(|r| r.seeds.len() < seeds)
        .map(|r| format!("{} ({})", r.key, r.seeds.len()))
        .collect();
    let seed_count = if fewer.is_empty() {
        format!("{seeds} seed(s) per model")
    } else {
        format!("{seeds} seed(s) per model except {}", fewer.join(", "))
    };
    let _ = writeln!(
        s,
        "## What limits these numbers\n\n\
         - Scale: a {} teacher pretrained for minutes, students distilled for {} (the papers: \
         HuBERT Base, 95 M parameters, 200k steps of batch 24 on 960 h). A claim that does not hold here may hold at scale; one that holds \
         here was at least not an artefact of scale.\n\
         - Initialisation: students with `init_from_teacher` start from the teacher's layers \
         (DistilHuBERT, shallow-wide, Wang, GenDistiller), the pruned ones from a whole copy \
         (DPHuBERT, SKILL); deep-narrow starts random, as in the paper, which a short budget \
         penalises.\n\
         - Sizes: {}.\n\
         - Noise: {seed_count} and test sets of the size shown; the intervals \
         cover test-set sampling and the seed spread, not the choice of speakers.\n",
        params("teacher").map_or("small".into(), |p| format!("{p:.1} M-parameter")),
        step_range(rows),
        if sizes.is_empty() {
            "as in the table".to_string()
        } else {
            sizes.join("; ")
        }
    );
}

/// `150 steps` or `150 to 4050 steps`: the distillations' lengths.
fn step_range(rows: &[ModelRow]) -> String {
    let steps: Vec<u64> = rows
        .iter()
        .flat_map(|r| &r.seeds)
        .filter_map(|s| s.distill.as_ref().map(|d| d.steps))
        .collect();
    match (steps.iter().min(), steps.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo} steps"),
        (Some(lo), Some(hi)) => format!("{lo} to {hi} steps"),
        _ => "no steps (no student)".into(),
    }
}

fn layer_weights(s: &mut String, rows: &[ModelRow]) {
    let _ = writeln!(
        s,
        "## Learned layer weights (first seed; hidden state 0 = CNN projection)\n"
    );
    for r in rows {
        let Some(first) = r.seeds.first() else {
            continue;
        };
        for t in TASKS {
            if let Some(p) = first.probe(t) {
                let w: Vec<String> = p.layer_weights.iter().map(|w| format!("{w:.2}")).collect();
                let _ = writeln!(s, "- {} {}: [{}]", r.key, t, w.join(", "));
            }
        }
    }
}
