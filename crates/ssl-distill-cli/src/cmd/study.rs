//! `ssl-distill study`: the science check behind `docs/results.md`. Distils one student per
//! recipe of a folder (`recipes/study/`: every method, sized for the bundled mini teacher),
//! probes the teacher, its random-init twin and every student on PR / SID / KS, times their
//! forward pass, and writes a report that checks each paper's claim against the numbers:
//! a claim holds when the difference in its direction exceeds twice its standard error, is
//! contradicted when it exceeds it the other way, and is inconclusive otherwise.
//!
//! Every finished piece is kept in `--out` (distillation runs, probe reports, the twin), so an
//! interrupted study continues where it stopped and a finished one only rewrites the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;
use serde::{Deserialize, Serialize};
use ssl_distill_models::{SslConfig, export_hf, write_atomic};
use ssl_distill_probe::{ProbeReport, Task, Upstream, load_upstream};
use ssl_distill_recipes::{Overrides, Recipe, ScheduleOverrides};

use crate::cmd::pipeline::{
    ProbeBudget, TEACHER_ASSET, bundled, plot_loss, probe, realtime_factor, run_resumable,
};
use crate::device::DeviceArg;

const TASKS: [Task; 3] = [Task::Pr, Task::Sid, Task::Ks];

/// Arguments of `ssl-distill study`.
#[derive(Debug, Args)]
pub struct StudyArgs {
    /// Corpus the students are distilled on (as `ssl-distill corpus synth` writes it:
    /// `train.jsonl`, `valid.jsonl`).
    #[arg(long)]
    data: PathBuf,
    /// Corpus the probes train and test on. Default: `--data`.
    #[arg(long)]
    probe_data: Option<PathBuf>,
    /// Teacher checkpoint. Default: the bundled mini HuBERT (`assets/mini-hubert`).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Folder of recipes: every `*.toml`, one student each, keyed by file name. Default: the
    /// bundled `recipes/study`.
    #[arg(long)]
    recipes: Option<PathBuf>,
    /// Steps of every distillation. Default: each recipe's `train.max_steps`.
    #[arg(long)]
    steps: Option<u64>,
    /// Multiplies every probe's default epoch budget (PR 30, SID 60, KS 60).
    #[arg(long, default_value_t = 1.0)]
    probe_epochs: f64,
    /// Seed of the distillations, the twin and the probes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory: `distill/<recipe>/`, `probes/<model>/`, `twin/`, `results.json`,
    /// `results.md`.
    #[arg(long, default_value = "runs/study")]
    out: PathBuf,
    /// Also write the report here (e.g. `docs/results.md`).
    #[arg(long)]
    doc: Option<PathBuf>,
    /// Backend.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

/// One probe's outcome, as read back from its `probe-<task>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProbeResult {
    value: f64,
    baseline: f64,
    layer_weights: Vec<f64>,
    /// Test utterances (the standard error's `n`).
    test_items: usize,
    /// Seconds spent (feature extraction + training).
    seconds: f64,
    /// Training epochs it ran.
    epochs: usize,
}

/// One model of the study.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelRow {
    /// `teacher`, `random-twin`, or the recipe's file stem.
    key: String,
    /// What it is (the recipe's description for students).
    description: String,
    params: usize,
    /// Seconds of audio per second of compute (10 s clip, median of 9).
    realtime: f64,
    /// Distillation: steps, seconds, first and last loss of the last stage.
    distill: Option<DistillSummary>,
    probes: BTreeMap<String, ProbeResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DistillSummary {
    steps: u64,
    seconds: f64,
    first_loss: f64,
    last_loss: f64,
}

/// Runs `ssl-distill study`.
pub fn run_study(args: &StudyArgs) -> Result<()> {
    let started = Instant::now();
    let device = args.device.device()?;
    let teacher_path = match &args.teacher {
        Some(path) => path.clone(),
        None => bundled(TEACHER_ASSET)?,
    };
    if !teacher_path.exists() {
        bail!(
            "{}: the teacher checkpoint does not exist (pass --teacher PATH)",
            teacher_path.display()
        );
    }
    let probe_data = args.probe_data.clone().unwrap_or_else(|| args.data.clone());
    for (dir, what) in [(&args.data, "--data"), (&probe_data, "--probe-data")] {
        if !dir.join("train.jsonl").is_file() {
            bail!(
                "{}: not a corpus directory ({what} needs train.jsonl; make one with \
                 `ssl-distill corpus synth --preset small --out DIR`)",
                dir.display()
            );
        }
    }
    let recipes_dir = match &args.recipes {
        Some(dir) => dir.clone(),
        None => bundled("recipes/study")?,
    };
    let recipes = recipe_files(&recipes_dir)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let budget = ProbeBudget {
        seed: args.seed,
        epochs_scale: args.probe_epochs,
    };

    // 1. The references: the teacher and its random-init twin.
    let mut rows = Vec::new();
    let twin_path = args.out.join("twin");
    if !twin_path.join("model.safetensors").is_file() {
        write_twin(&teacher_path, &twin_path, args.seed, &device)?;
    }
    for (key, path, description) in [
        (
            "teacher",
            &teacher_path,
            "the pretrained mini HuBERT".to_string(),
        ),
        (
            "random-twin",
            &twin_path,
            "the teacher's architecture with random weights".into(),
        ),
    ] {
        rows.push(study_model(
            args,
            key,
            description,
            path,
            None,
            &probe_data,
            budget,
            &device,
        )?);
    }

    // 2. One student per recipe.
    for (i, path) in recipes.iter().enumerate() {
        let key = file_key(path);
        let mut recipe = Recipe::from_file(path)?;
        tracing::info!(
            "[{}/{}] {key}: {}",
            i + 1,
            recipes.len(),
            recipe.description
        );
        let distill = distill_student(args, &key, &mut recipe, path, &teacher_path, &device)?;
        let student = args.out.join("distill").join(&key).join("student");
        rows.push(study_model(
            args,
            &key,
            recipe.description.clone(),
            &student,
            Some(distill),
            &probe_data,
            budget,
            &device,
        )?);
    }

    let json = serde_json::to_vec_pretty(&rows).expect("rows serialize");
    write_atomic(&args.out.join("results.json"), &json)?;
    let text = report_markdown(
        args,
        &recipes_dir,
        &teacher_path,
        &probe_data,
        &rows,
        started,
    );
    write_atomic(&args.out.join("results.md"), text.as_bytes())?;
    if let Some(doc) = &args.doc {
        write_atomic(doc, text.as_bytes())?;
    }
    println!("{text}");
    println!("report: {}", args.out.join("results.md").display());
    Ok(())
}

/// The `*.toml` files of `dir`, sorted by name.
fn recipe_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read the recipe folder", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot read the recipe folder", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    if files.is_empty() {
        bail!("{}: no recipe (*.toml) in this folder", dir.display());
    }
    files.sort();
    Ok(files)
}

fn file_key(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The teacher's architecture drawn as pretraining draws it (the CNN with fairseq's
/// `kaiming_normal_`), written as an HF directory next to a copy of the teacher's
/// preprocessor config.
fn write_twin(teacher: &Path, out: &Path, seed: u64, device: &Device) -> Result<()> {
    let config = SslConfig::from_hf_json(teacher.join("config.json"))?;
    device.seed(seed);
    let mut model = config.init(device);
    model.feature_extractor = model.feature_extractor.with_kaiming_normal(device);
    export_hf(&model, &config, out)?;
    let pre = teacher.join("preprocessor_config.json");
    if pre.is_file() {
        let bytes = std::fs::read(&pre).with_context(|| format!("reading {}", pre.display()))?;
        write_atomic(&out.join("preprocessor_config.json"), &bytes)?;
    }
    Ok(())
}

/// Runs (or resumes, or reuses) the distillation of `recipe` into `OUT/distill/<key>`.
fn distill_student(
    args: &StudyArgs,
    key: &str,
    recipe: &mut Recipe,
    recipe_path: &Path,
    teacher: &Path,
    device: &Device,
) -> Result<DistillSummary> {
    recipe.apply(&Overrides {
        teacher: Some(teacher.to_path_buf()),
        data: Some(args.data.join("train.jsonl")),
        dev: Some(args.data.join("valid.jsonl")),
        schedule: ScheduleOverrides {
            max_steps: args.steps,
            seed: Some(args.seed),
            ..ScheduleOverrides::default()
        },
    });
    recipe.validate(recipe_path)?;
    let dir = args.out.join("distill").join(key);
    // Written last, once the student is saved: its presence means the run is complete.
    let summary_path = dir.join("study-distill.json");
    if let Ok(bytes) = std::fs::read(&summary_path) {
        let summary = serde_json::from_slice::<DistillSummary>(&bytes)
            .with_context(|| format!("{}: not a study summary", summary_path.display()))?;
        tracing::info!("{key}: reusing the finished run in {}", dir.display());
        return Ok(summary);
    }
    let started = Instant::now();
    let report = run_resumable(recipe, recipe_path, &dir, device)?;
    if report.student_dir.is_none() {
        bail!("{key}: the distillation stopped before saving the student");
    }
    let last = report.stages.last();
    let summary = DistillSummary {
        steps: report.stages.iter().map(|s| s.steps).sum(),
        seconds: started.elapsed().as_secs_f64(),
        first_loss: last.map_or(f64::NAN, |s| s.first_loss),
        last_loss: last.map_or(f64::NAN, |s| s.last_loss),
    };
    plot_loss(
        &dir.join("metrics.jsonl"),
        &dir.join("loss.png"),
        &format!("{key}: distillation loss"),
    )?;
    let json = serde_json::to_vec_pretty(&summary).expect("summary serializes");
    write_atomic(&summary_path, &json)?;
    Ok(summary)
}

/// Probes (or reads back the probes of) one model and times its forward pass.
#[allow(clippy::too_many_arguments)]
fn study_model(
    args: &StudyArgs,
    key: &str,
    description: String,
    path: &Path,
    distill: Option<DistillSummary>,
    corpus: &Path,
    budget: ProbeBudget,
    device: &Device,
) -> Result<ModelRow> {
    let upstream: Upstream = load_upstream(path, device)?;
    let out = args.out.join("probes").join(key);
    let mut probes = BTreeMap::new();
    for task in TASKS {
        let file = out.join(format!("probe-{task}.json"));
        if !file.is_file() {
            probe(key, &upstream, task, corpus, &out, budget, device)?;
        }
        probes.insert(task.name().to_string(), read_probe(&file)?);
    }
    Ok(ModelRow {
        key: key.to_string(),
        description,
        params: upstream.num_params(),
        realtime: realtime_factor(&upstream, device),
        distill,
        probes,
    })
}

fn read_probe(file: &Path) -> Result<ProbeResult> {
    let report = ProbeReport::read(file)?;
    Ok(ProbeResult {
        value: report.value,
        baseline: report.baseline,
        layer_weights: report.layer_weights,
        test_items: report.data.utterances[2],
        seconds: report.seconds.extract + report.seconds.train,
        epochs: report.budget.epochs,
    })
}

/// What a claim compares.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// A probe's test metric (PER lower is better, accuracy higher).
    Probe(Task),
    /// Parameter count (fewer is better).
    Params,
    /// Forward-pass speed (faster is better).
    Speed,
}

/// "`a` is better than `b` on `measure`", or with `no_worse`, "`a` is not worse than `b`"
/// (a claim of a small cost: it holds unless `a` is worse beyond the noise).
struct Comparison {
    measure: Measure,
    a: &'static str,
    b: &'static str,
    no_worse: bool,
}

struct Claim {
    source: &'static str,
    claim: &'static str,
    comparisons: Vec<Comparison>,
}

fn claims() -> Vec<Claim> {
    use Measure::{Params, Probe, Speed};
    let on_all = |a, b| {
        TASKS
            .iter()
            .map(|&t| Comparison {
                measure: Probe(t),
                a,
                b,
                no_worse: false,
            })
            .collect::<Vec<_>>()
    };
    let cmp = |measure, a, b| Comparison {
        measure,
        a,
        b,
        no_worse: false,
    };
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
                cmp(Probe(Task::Pr), "deep-narrow", "shallow-wide"),
                cmp(Probe(Task::Sid), "shallow-wide", "deep-narrow"),
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
                cmp(Params, "wang-disc-fbank", "wang-disc"),
                cmp(Speed, "wang-disc-fbank", "wang-disc"),
            ]
            .into_iter()
            .chain(
                on_all("wang-disc-fbank", "wang-disc")
                    .into_iter()
                    .map(|c| Comparison {
                        no_worse: true,
                        ..c
                    }),
            )
            .collect(),
        },
        Claim {
            source: "SKILL (2024) on DPHuBERT (Peng et al. 2023)",
            claim: "with the same pruning to 25% of the teacher, targets from CKA-clustered layer \
                    groups beat hand-picked layers",
            comparisons: [
                cmp(Params, "dphubert", "teacher"),
                cmp(Params, "skill", "teacher"),
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

/// The outcome of one comparison.
enum Verdict {
    Holds,
    Contradicted,
    Inconclusive,
    Missing,
}

impl Verdict {
    fn label(&self) -> &'static str {
        match self {
            Self::Holds => "holds",
            Self::Contradicted => "**contradicted**",
            Self::Inconclusive => "inconclusive",
            Self::Missing => "not run",
        }
    }
}

/// Standard error of a rate `m` measured on `n` items (binomial; for PER an approximation
/// that treats each test utterance as one draw).
fn std_error(m: f64, n: usize) -> f64 {
    let m = m.clamp(0.0, 1.0);
    (m * (1.0 - m) / n.max(1) as f64).sqrt()
}

/// The comparison's values (a, b), how much `a` is better (in the measure's unit, positive =
/// as claimed), the noise threshold, and the verdict.
fn judge(c: &Comparison, rows: &[ModelRow]) -> Option<(f64, f64, f64, f64, Verdict)> {
    let find = |k: &str| rows.iter().find(|r| r.key == k);
    let (a, b) = (find(c.a)?, find(c.b)?);
    Some(match c.measure {
        Measure::Probe(task) => {
            let (pa, pb) = (a.probes.get(task.name())?, b.probes.get(task.name())?);
            let better = if task.lower_is_better() {
                pb.value - pa.value
            } else {
                pa.value - pb.value
            };
            let noise = 2.0
                * (std_error(pa.value, pa.test_items).powi(2)
                    + std_error(pb.value, pb.test_items).powi(2))
                .sqrt();
            let v = if better > noise || (c.no_worse && better >= -noise) {
                Verdict::Holds
            } else if better < -noise {
                Verdict::Contradicted
            } else {
                Verdict::Inconclusive
            };
            (pa.value, pb.value, better, noise, v)
        }
        Measure::Params => {
            let (pa, pb) = (a.params as f64, b.params as f64);
            let v = if pa < pb {
                Verdict::Holds
            } else {
                Verdict::Contradicted
            };
            (pa / 1e6, pb / 1e6, 1.0 - pa / pb, 0.0, v)
        }
        Measure::Speed => {
            // Timings on a shared machine: within ±10% counts as a tie.
            let ratio = a.realtime / b.realtime;
            let v = if ratio > 1.1 {
                Verdict::Holds
            } else if ratio < 1.0 / 1.1 {
                Verdict::Contradicted
            } else {
                Verdict::Inconclusive
            };
            (a.realtime, b.realtime, ratio, 0.1, v)
        }
    })
}

fn measure_name(m: Measure) -> String {
    match m {
        Measure::Probe(t) => format!("{} {}", t.name().to_uppercase(), t.metric()),
        Measure::Params => "params (M)".into(),
        Measure::Speed => "speed (× real time)".into(),
    }
}

/// The epochs the probes ran, per task (`PR 15 epochs, SID 30, KS 30`), from their reports;
/// a task whose models ran different budgets lists each budget.
fn epochs_used(rows: &[ModelRow]) -> String {
    let per_task: Vec<String> = TASKS
        .iter()
        .map(|t| {
            let mut e: Vec<usize> = rows
                .iter()
                .filter_map(|r| r.probes.get(t.name()).map(|p| p.epochs))
                .collect();
            e.sort_unstable();
            e.dedup();
            let e: Vec<String> = e.iter().map(ToString::to_string).collect();
            format!("{} {}", t.name().to_uppercase(), e.join("/"))
        })
        .collect();
    format!("probe epochs: {}", per_task.join(", "))
}

fn report_markdown(
    args: &StudyArgs,
    recipes: &Path,
    teacher: &Path,
    probe_data: &Path,
    rows: &[ModelRow],
    started: Instant,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Results: every recipe on the offline world\n");
    let _ = writeln!(
        s,
        "Written by `ssl-distill study` (see \"Reproduce\" below); do not edit by hand. Teacher \
         `{}`; students distilled on `{}` with the recipes of `{}`{}; probes trained and tested \
         on `{}` ({}); seed {}; backend {:?}. Compute: {:.0} min of \
         distillation and {:.0} min of probing on this machine (2 CPU cores; this invocation \
         {:.1} min, reusing finished pieces).\n",
        teacher.display(),
        args.data.display(),
        recipes.display(),
        args.steps
            .map_or(String::new(), |n| format!(" for {n} steps each")),
        probe_data.display(),
        epochs_used(rows),
        args.seed,
        args.device,
        rows.iter()
            .filter_map(|r| r.distill.as_ref().map(|d| d.seconds))
            .sum::<f64>()
            / 60.0,
        rows.iter()
            .flat_map(|r| r.probes.values().map(|p| p.seconds))
            .sum::<f64>()
            / 60.0,
        started.elapsed().as_secs_f64() / 60.0
    );
    let _ = writeln!(
        s,
        "## All models\n\n| model | params (M) | speed (× real time) | distillation | PR PER ↓ | \
         SID acc ↑ | KS acc ↑ |\n|---|---|---|---|---|---|---|"
    );
    for r in rows {
        let distill = r.distill.as_ref().map_or("–".to_string(), |d| {
            format!(
                "{} steps, {:.1} min, loss {:.3} → {:.3}",
                d.steps,
                d.seconds / 60.0,
                d.first_loss,
                d.last_loss
            )
        });
        let probes: Vec<String> = TASKS
            .iter()
            .map(|t| {
                r.probes
                    .get(t.name())
                    .map_or("–".into(), |p| format!("{:.3}", p.value))
            })
            .collect();
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.0} | {} | {} |",
            r.key,
            r.params as f64 / 1e6,
            r.realtime,
            distill,
            probes.join(" | ")
        );
    }
    if let Some(first) = rows.first() {
        let trivial: Vec<String> = TASKS
            .iter()
            .map(|t| {
                first
                    .probes
                    .get(t.name())
                    .map_or("–".into(), |p| format!("{:.3}", p.baseline))
            })
            .collect();
        let _ = writeln!(
            s,
            "| trivial predictor | – | – | – | {} |",
            trivial.join(" | ")
        );
        let n: Vec<String> = TASKS
            .iter()
            .map(|t| {
                first
                    .probes
                    .get(t.name())
                    .map_or("–".into(), |p| p.test_items.to_string())
            })
            .collect();
        let _ = writeln!(s, "| test utterances | | | | {} |", n.join(" | "));
    }
    let _ = writeln!(s);
    for r in rows {
        let _ = writeln!(s, "- **{}**: {}", r.key, r.description);
    }
    let _ = writeln!(
        s,
        "\nParams: the whole upstream as probed (front-end, encoder; no prediction heads). \
         Speed: one 10 s clip, median of 9, on this machine's CPU, which other jobs share. \
         Probes: frozen upstream, learnable softmax-weighted sum of all hidden states; PR = \
         2-layer transformer + CTC (phone error rate), SID = mean pooling + linear, KS = mean \
         pooling + MLP; the test metric of the best dev epoch.\n"
    );

    let _ = writeln!(
        s,
        "## The papers' claims\n\nA comparison *holds* when the difference in the claimed \
         direction exceeds twice its standard error (binomial over the test utterances: \
         sqrt(m(1−m)/n) per model, combined in quadrature; for PER this treats each utterance \
         as one draw), is **contradicted** when it exceeds it the other way, and is \
         *inconclusive* otherwise; a claim of a small cost (\"no worse\") holds unless the \
         difference exceeds twice its standard error the wrong way. Sizes are exact; speeds \
         count as a tie within ±10%. One seed per model and one probe corpus: neither the \
         probe's seed-to-seed spread nor the spread across speaker sets is in the error bar. \
         For SID the latter is the larger: over five probe corpora (corpus seeds 1-5) the \
         teacher's advantage over its twin varied more between corpora than the binomial \
         error allows (`tools/results/twin-seeds.sh`; numbers in assets/README.md), so read \
         an SID verdict from one corpus as weaker than its error bar says. Experiments that \
         re-check single verdicts (more steps, more corpora) are in docs/experiments.md.\n"
    );
    for claim in claims() {
        let _ = writeln!(s, "### {}\n\nClaim: {}.\n", claim.source, claim.claim);
        let _ = writeln!(
            s,
            "| measure | A | B | A | B | A better by | ±2 s.e. | verdict |\n\
             |---|---|---|---|---|---|---|---|"
        );
        for c in &claim.comparisons {
            match judge(c, rows) {
                Some((va, vb, better, noise, v)) => {
                    let (better, noise) = match c.measure {
                        Measure::Params => (format!("{:.0}% smaller", 100.0 * better), "–".into()),
                        Measure::Speed => (format!("× {better:.2}"), "±10%".into()),
                        Measure::Probe(_) => (format!("{better:+.3}"), format!("{noise:.3}")),
                    };
                    let _ = writeln!(
                        s,
                        "| {}{} | {} | {} | {va:.3} | {vb:.3} | {better} | {noise} | {} |",
                        measure_name(c.measure),
                        if c.no_worse { " (no worse)" } else { "" },
                        c.a,
                        c.b,
                        v.label()
                    );
                }
                None => {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | – | – | – | – | {} |",
                        measure_name(c.measure),
                        c.a,
                        c.b,
                        Verdict::Missing.label()
                    );
                }
            }
        }
        let _ = writeln!(s);
    }

    let _ = writeln!(
        s,
        "## What limits these numbers\n\n\
         - Scale: a 4-layer, 4 M-parameter teacher pretrained for minutes, students distilled \
         for a few hundred steps of 16 s of audio (the papers: HuBERT Base, 200k steps of \
         batch 24 on 960 h). A claim that does not hold here may hold at scale; one that holds \
         here was at least not an artefact of scale.\n\
         - Initialisation: students with `init_from_teacher` start from the teacher's layers \
         (DistilHuBERT, shallow-wide, Wang, GenDistiller), the pruned ones from a whole copy \
         (DPHuBERT, SKILL); deep-narrow starts random, as in the paper, which a short budget \
         penalises.\n\
         - Sizes: deep-narrow's CNN is scaled with its width (conv 64), so it has fewer \
         parameters than shallow-wide (the paper's pair differs too: 26.87 M vs 30.58 M); the \
         mini teacher's CNN is small (conv 128), so an Fbank front-end saves little here (the \
         paper's 17% is of a Base-sized CNN). The pruned students stop above their 25% target \
         in 900 pruning steps; both end at the same size, so they compare fairly.\n\
         - Noise: one seed per model and test sets of the size shown; the error bars cover \
         test-set sampling only.\n"
    );
    let _ = writeln!(
        s,
        "## Learned layer weights (hidden state 0 = CNN projection)\n"
    );
    for r in rows {
        for t in TASKS {
            if let Some(p) = r.probes.get(t.name()) {
                let w: Vec<String> = p.layer_weights.iter().map(|w| format!("{w:.2}")).collect();
                let _ = writeln!(s, "- {} {}: [{}]", r.key, t, w.join(", "));
            }
        }
    }
    let _ = writeln!(
        s,
        "\n## Reproduce\n\n```sh\ntools/results/run.sh\n```\n\nwhich synthesises the `small` \
         corpus (seed 0) and the `probe` corpus (seed 1) if needed and runs `ssl-distill study --data {} --probe-data {}{} \
         --probe-epochs {} --seed {} --out {} --doc docs/results.md`.",
        args.data.display(),
        probe_data.display(),
        args.steps
            .map_or(String::new(), |n| format!(" --steps {n}")),
        args.probe_epochs,
        args.seed,
        args.out.display()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, params: usize, realtime: f64, per: f64, acc: f64) -> ModelRow {
        let p = |value| ProbeResult {
            value,
            baseline: 0.0,
            layer_weights: Vec::new(),
            test_items: 100,
            seconds: 0.0,
            epochs: 1,
        };
        ModelRow {
            key: key.into(),
            description: String::new(),
            params,
            realtime,
            distill: None,
            probes: [("pr", p(per)), ("sid", p(acc)), ("ks", p(acc))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    fn verdict(measure: Measure, no_worse: bool, rows: &[ModelRow]) -> &'static str {
        let c = Comparison {
            measure,
            a: "a",
            b: "b",
            no_worse,
        };
        judge(&c, rows).map_or(Verdict::Missing, |j| j.4).label()
    }

    #[test]
    fn a_difference_counts_only_beyond_two_standard_errors() {
        // Accuracy 0.5 on 100 items: s.e. 0.05 each, 2 s.e. combined = 0.141.
        let sid = Measure::Probe(Task::Sid);
        let close = [row("a", 1, 1.0, 0.5, 0.6), row("b", 1, 1.0, 0.5, 0.5)];
        assert_eq!(verdict(sid, false, &close), "inconclusive");
        assert_eq!(verdict(sid, true, &close), "holds");
        let far = [row("a", 1, 1.0, 0.5, 0.8), row("b", 1, 1.0, 0.5, 0.5)];
        assert_eq!(verdict(sid, false, &far), "holds");
        let worse = [row("a", 1, 1.0, 0.5, 0.3), row("b", 1, 1.0, 0.5, 0.6)];
        assert_eq!(verdict(sid, false, &worse), "**contradicted**");
        assert_eq!(verdict(sid, true, &worse), "**contradicted**");
        // PER: lower is better.
        let pr = Measure::Probe(Task::Pr);
        let per = [row("a", 1, 1.0, 0.2, 0.5), row("b", 1, 1.0, 0.5, 0.5)];
        assert_eq!(verdict(pr, false, &per), "holds");
        let (a, b, better, noise, _) = judge(
            &Comparison {
                measure: pr,
                a: "a",
                b: "b",
                no_worse: false,
            },
            &per,
        )
        .unwrap();
        assert_eq!((a, b), (0.2, 0.5));
        assert!((better - 0.3).abs() < 1e-12);
        let expected = 2.0 * ((0.2 * 0.8 + 0.25) / 100.0f64).sqrt();
        assert!((noise - expected).abs() < 1e-12);
    }

    #[test]
    fn sizes_are_exact_speeds_tie_within_ten_percent_and_absent_models_are_not_run() {
        let rows = [row("a", 10, 105.0, 0.5, 0.5), row("b", 20, 100.0, 0.5, 0.5)];
        assert_eq!(verdict(Measure::Params, false, &rows), "holds");
        assert_eq!(verdict(Measure::Speed, false, &rows), "inconclusive");
        let rows = [row("a", 30, 200.0, 0.5, 0.5), row("b", 20, 100.0, 0.5, 0.5)];
        assert_eq!(verdict(Measure::Params, false, &rows), "**contradicted**");
        assert_eq!(verdict(Measure::Speed, false, &rows), "holds");
        assert_eq!(verdict(Measure::Speed, false, &rows[..1]), "not run");
    }
}
