//! `ssl-distill demo`: the whole pipeline on the bundled mini teacher and corpus — distil a
//! DistilHuBERT-style student, probe teacher and student on PR / SID / KS, compare their layers
//! with CKA, and write `OUT/report.md` with a table, the loss curve and the CKA heatmap.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use ssl_distill_probe::{AnalysisConfig, ProbeReport, Task, analyze, load_upstream};
use ssl_distill_recipes::{Overrides, Recipe, ScheduleOverrides};

use crate::cmd::analyze::data_manifest;
use crate::cmd::pipeline::{
    CORPUS_ASSET, ProbeBudget, TEACHER_ASSET, bundled, plot_loss, probe, realtime_factor,
    run_resumable, scaled_epochs,
};
use crate::device::DeviceArg;

/// The recipe the demo distils with (the repository's `recipes/distilhubert.toml`).
const RECIPE: &str = include_str!("../../../../recipes/distilhubert.toml");

/// Arguments of `ssl-distill demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output directory (report.md, loss.png, cka/, distill/, probes/). Running the demo again
    /// into the same directory continues (or reuses) its distillation run.
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    /// Teacher checkpoint. Default: the bundled mini HuBERT (`assets/mini-hubert`).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Corpus directory (as `ssl-distill corpus synth` writes it). Default: the bundled one
    /// (`assets/demo-corpus`); without it, the `ci` corpus is synthesised into `OUT/corpus`
    /// (needs espeak-ng).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Distillation steps (batch 8 x 2 s crops). The defaults keep the whole demo under 15
    /// minutes on 2 CPU cores.
    #[arg(long, default_value_t = 200)]
    steps: u64,
    /// Peak learning rate of the distillation (the recipe's 2e-4 is meant for 200k steps).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Multiplies every probe's epoch budget (PR 30, SID 60, KS 60): 0.5 by default, 1 for
    /// the full budgets of `ssl-distill probe`.
    #[arg(long, default_value_t = 0.5)]
    probe_epochs: f64,
    /// Seed of the distillation and the probes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

/// One row of the report.
struct Row {
    name: String,
    params: usize,
    realtime: f64,
    probes: Vec<ProbeReport>,
}

/// Runs `ssl-distill demo`.
pub fn run_demo(args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    let device = args.device.device()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let teacher_path = match &args.teacher {
        Some(t) => t.clone(),
        None => bundled(TEACHER_ASSET)?,
    };
    if !teacher_path.exists() {
        bail!(
            "{}: the teacher checkpoint does not exist (pass --teacher PATH)",
            teacher_path.display()
        );
    }
    let corpus = corpus_dir(args)?;

    // 1. Distillation.
    tracing::info!(
        "[1/4] distilling a DistilHuBERT-style student from {}",
        teacher_path.display()
    );
    let recipe_path = PathBuf::from("recipes/distilhubert.toml");
    let mut recipe = Recipe::from_toml_str(RECIPE, &recipe_path)?;
    recipe.apply(&Overrides {
        teacher: Some(teacher_path.clone()),
        data: Some(corpus.join("train.jsonl")),
        dev: Some(corpus.join("valid.jsonl")),
        schedule: ScheduleOverrides {
            max_steps: Some(args.steps),
            batch_size: Some(8),
            crop_seconds: Some(2.0),
            checkpoint_every: Some(args.steps.div_ceil(4).max(1)),
            seed: Some(args.seed),
        },
    });
    recipe.train.lr = args.lr;
    recipe.train.log_every = 10;
    recipe.train.val_every = (args.steps / 5).max(1);
    recipe.validate(&recipe_path)?;
    let distill_dir = args.out.join("distill");
    let distill_started = Instant::now();
    let report = run_resumable(&recipe, &recipe_path, &distill_dir, &device)?;
    let distill_seconds = distill_started.elapsed().as_secs_f64();
    let student_path = report
        .student_dir
        .clone()
        .context("the distillation stopped before saving the student")?;
    let loss_png = args.out.join("loss.png");
    plot_loss(
        &distill_dir.join("metrics.jsonl"),
        &loss_png,
        "Distillation loss (L1 + -log sigmoid(cos), mean over targets)",
    )?;

    // 2. Probes.
    tracing::info!("[2/4] probing teacher and student on PR, SID and KS");
    let teacher = load_upstream(&teacher_path, &device)?;
    let student = load_upstream(&student_path, &device)?;
    let mut rows = Vec::new();
    let budget = ProbeBudget {
        seed: args.seed,
        epochs_scale: args.probe_epochs,
    };
    for (name, upstream) in [("teacher", &teacher), ("student", &student)] {
        let out = args.out.join("probes").join(name);
        let mut probes = Vec::new();
        for task in [Task::Pr, Task::Sid, Task::Ks] {
            probes.push(probe(name, upstream, task, &corpus, &out, budget, &device)?);
        }
        rows.push(Row {
            name: name.into(),
            params: upstream.num_params(),
            realtime: 0.0,
            probes,
        });
    }

    // 3. Speed.
    tracing::info!("[3/4] timing the forward pass on 10 s of audio");
    rows[0].realtime = realtime_factor(&teacher, &device);
    rows[1].realtime = realtime_factor(&student, &device);

    // 4. Layers.
    tracing::info!("[4/4] CKA between student and teacher layers");
    let manifest = data_manifest(&corpus)?;
    let cka = analyze(
        &student,
        Some(&teacher),
        &manifest,
        &AnalysisConfig {
            clusters: 2.min(student.num_hidden_states() - 1).max(1),
            ..AnalysisConfig::default()
        },
    )?;
    let cka_dir = args.out.join("cka");
    cka.write(&cka_dir)?;

    let text = report_markdown(&ReportInputs {
        args,
        teacher: &teacher_path,
        student: &student_path,
        corpus: &corpus,
        rows: &rows,
        distill_seconds,
        first_loss: report.stages.last().map_or(f64::NAN, |s| s.first_loss),
        last_loss: report.stages.last().map_or(f64::NAN, |s| s.last_loss),
        total_seconds: started.elapsed().as_secs_f64(),
    });
    let report_path = args.out.join("report.md");
    ssl_distill_models::write_atomic(&report_path, text.as_bytes())?;
    println!("{text}");
    println!("report: {}", report_path.display());
    Ok(())
}

/// `--data`, the bundled corpus, or the `ci` corpus synthesised into `OUT/corpus`.
fn corpus_dir(args: &DemoArgs) -> Result<PathBuf> {
    if let Some(d) = &args.data {
        return Ok(d.clone());
    }
    let bundled = bundled(CORPUS_ASSET);
    if let Ok(dir) = &bundled
        && dir.join("train.jsonl").is_file()
    {
        return Ok(dir.clone());
    }
    let out = args.out.join("corpus");
    if out.join("train.jsonl").is_file() {
        return Ok(out);
    }
    tracing::info!(
        "no bundled corpus ({}): synthesising the `ci` corpus into {}",
        match &bundled {
            Ok(dir) => format!("{} has no train.jsonl", dir.display()),
            Err(e) => e.to_string(),
        },
        out.display()
    );
    let config = ssl_distill_corpus::CorpusConfig::preset(ssl_distill_corpus::Preset::Ci);
    ssl_distill_corpus::synthesize(&config, &out, |_, _| {})
        .with_context(|| format!("synthesising the demo corpus into {}", out.display()))?;
    Ok(out)
}

struct ReportInputs<'a> {
    args: &'a DemoArgs,
    teacher: &'a Path,
    student: &'a Path,
    corpus: &'a Path,
    rows: &'a [Row],
    distill_seconds: f64,
    first_loss: f64,
    last_loss: f64,
    total_seconds: f64,
}

fn report_markdown(r: &ReportInputs<'_>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# ssl-distill demo\n");
    let _ = writeln!(
        s,
        "Teacher `{}`; student `{}`, distilled with `recipes/distilhubert.toml` for {} steps \
         (batch 8 × 2 s, peak lr {}) in {:.1} min, loss {:.4} → {:.4}; corpus `{}`. \
         Whole demo: {:.1} min.\n",
        r.teacher.display(),
        r.student.display(),
        r.args.steps,
        r.args.lr,
        r.distill_seconds / 60.0,
        r.first_loss,
        r.last_loss,
        r.corpus.display(),
        r.total_seconds / 60.0
    );
    let _ = writeln!(
        s,
        "| model | params (M) | speed (× real time) | PR PER ↓ | SID acc ↑ | KS acc ↑ |\n\
         |---|---|---|---|---|---|"
    );
    for row in r.rows {
        let v: Vec<String> = row
            .probes
            .iter()
            .map(|p| format!("{:.3}", p.value))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.0} | {} |",
            row.name,
            row.params as f64 / 1e6,
            row.realtime,
            v.join(" | ")
        );
    }
    if let Some(first) = r.rows.first() {
        let v: Vec<String> = first
            .probes
            .iter()
            .map(|p| format!("{:.3}", p.baseline))
            .collect();
        let _ = writeln!(s, "| trivial predictor | – | – | {} |", v.join(" | "));
    }
    let _ = writeln!(
        s,
        "\nSpeed: forward pass of one 10 s utterance on this machine's CPU (median of 9). \
         Probes: frozen upstream, learnable softmax-weighted sum of all hidden states; PR = \
         2-layer transformer + CTC (phone error rate), SID = mean pooling + linear, KS = mean \
         pooling + MLP; the test metric of the best dev epoch; epochs PR {}, SID {}, KS {} (the \
         defaults × {}).\n",
        scaled_epochs(Task::Pr, r.args.probe_epochs),
        scaled_epochs(Task::Sid, r.args.probe_epochs),
        scaled_epochs(Task::Ks, r.args.probe_epochs),
        r.args.probe_epochs
    );
    let _ = writeln!(s, "## Learned layer weights\n");
    for row in r.rows {
        for p in &row.probes {
            let w: Vec<String> = p.layer_weights.iter().map(|w| format!("{w:.2}")).collect();
            let _ = writeln!(s, "- {} {}: [{}]", row.name, p.task, w.join(", "));
        }
    }
    let _ = writeln!(
        s,
        "\n## Loss curve\n\n![loss](loss.png)\n\n## Student vs teacher layers (linear CKA)\n\n\
         ![CKA](cka/cka-teacher.png)\n\nReproduce: `cargo run --release -p ssl-distill-cli -- \
         demo --out {} --steps {} --probe-epochs {} --seed {}`.",
        r.args.out.display(),
        r.args.steps,
        r.args.probe_epochs,
        r.args.seed
    );
    s
}
