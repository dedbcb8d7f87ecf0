//! `ssl-distill study`: the science check behind `docs/results.md`. Distils one student per
//! recipe of a folder (`recipes/study/`: every method, sized for the bundled mini teacher) on
//! each of `--seeds` seeds, probes the teacher, its random-init twin and every student on
//! PR / SID / KS, times their forward pass, and hands the numbers to
//! [`ssl_distill_recipes::study`], which judges each paper's claim (paired statistics over
//! seeds) and writes the report. This file keeps the orchestration: arguments, which pieces to
//! make or reuse, printing.
//!
//! Every finished piece is kept in `--out` (`seed-<s>/distill/<recipe>/`,
//! `seed-<s>/probes/<model>/`, `seed-<s>/twin/`) with a key of everything that made it
//! ([`PieceKey`]); a piece whose key matches is reused, one whose key differs is made again
//! (the log says which parts changed), so an interrupted study continues where it stopped and
//! a finished one only rewrites the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;
use ssl_distill_models::{SslConfig, export_hf, write_atomic};
use ssl_distill_probe::{ProbeReport, Upstream, load_upstream};
use ssl_distill_recipes::study::{
    DistillSummary, KEY_FILE, KeyCheck, ModelRow, PieceKey, ProbeResult, PruningSummary,
    ReportContext, SeedResult, TASKS, fingerprint_dir, fingerprint_files, judge_all,
    report_markdown,
};
use ssl_distill_recipes::{Overrides, Recipe, ScheduleOverrides};

use crate::cmd::pipeline::{
    ProbeBudget, TEACHER_ASSET, bundled, plot_loss, probe, realtime_factor, run_resumable,
    scaled_epochs,
};
use crate::device::DeviceArg;

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
    /// The first seed: seeds `seed, seed + 1, ...` (`--seeds` of them) each distil every
    /// student, draw the twin and train every probe again.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How many seeds; the verdicts combine the seed spread with the test-set sampling.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Recipes (file stems, comma-separated) distilled on the first seed only, to fit a budget:
    /// their comparisons are judged on that seed, and the report says "1 seed".
    #[arg(long, value_delimiter = ',')]
    single_seed: Vec<String>,
    /// Output directory: `seed-<s>/{distill,probes,twin}/`, `results.json`, `results.md`.
    #[arg(long, default_value = "runs/study")]
    out: PathBuf,
    /// Also write the report here (e.g. `docs/results.md`).
    #[arg(long)]
    doc: Option<PathBuf>,
    /// Backend.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

/// What every piece of one invocation shares.
struct Study<'a> {
    args: &'a StudyArgs,
    device: Device,
    /// `--device` as typed.
    device_name: String,
    teacher: PathBuf,
    probe_data: PathBuf,
    /// Fingerprints of the teacher, the distillation corpus and the probe corpus.
    teacher_fp: String,
    data_fp: String,
    probe_fp: String,
}

/// Runs `ssl-distill study`.
pub fn run_study(args: &StudyArgs) -> Result<()> {
    let started = Instant::now();
    if args.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let study = Study::new(args)?;
    let recipes_dir = match &args.recipes {
        Some(dir) => dir.clone(),
        None => bundled("recipes/study")?,
    };
    let recipes = recipe_files(&recipes_dir)?;
    for name in &args.single_seed {
        if !recipes.iter().any(|p| &file_key(p) == name) {
            bail!(
                "--single-seed {name}: no recipe {name}.toml in {}",
                recipes_dir.display()
            );
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let seeds: Vec<u64> = (args.seed..args.seed + args.seeds).collect();

    let mut rows: BTreeMap<String, ModelRow> = BTreeMap::new();
    let mut order = vec!["teacher".to_string(), "random-twin".to_string()];
    order.extend(recipes.iter().map(|p| file_key(p)));
    for &seed in &seeds {
        tracing::info!("seed {seed} ({} of {})", seed - args.seed + 1, seeds.len());
        study.seed_models(seed, &recipes, &mut rows)?;
    }
    let rows: Vec<ModelRow> = order.iter().filter_map(|k| rows.remove(k)).collect();

    let ctx = ReportContext {
        teacher: relative_to_cwd(&study.teacher),
        data: args.data.clone(),
        recipes: relative_to_cwd(&recipes_dir),
        probe_data: study.probe_data.clone(),
        steps: args.steps,
        seeds: seeds.clone(),
        single_seed: args.single_seed.clone(),
        device: study.device_name.clone(),
        minutes: started.elapsed().as_secs_f64() / 60.0,
        command: study.command(),
    };
    let results = serde_json::json!({ "models": rows, "claims": judge_all(&rows) });
    let json = serde_json::to_vec_pretty(&results).expect("results serialize");
    write_atomic(&args.out.join("results.json"), &json)?;
    let text = report_markdown(&ctx, &rows);
    write_atomic(&args.out.join("results.md"), text.as_bytes())?;
    if let Some(doc) = &args.doc {
        write_atomic(doc, text.as_bytes())?;
    }
    println!("{text}");
    println!("report: {}", args.out.join("results.md").display());
    Ok(())
}

impl<'a> Study<'a> {
    fn new(args: &'a StudyArgs) -> Result<Self> {
        let device = args.device.device()?;
        let teacher = match &args.teacher {
            Some(path) => path.clone(),
            None => bundled(TEACHER_ASSET)?,
        };
        if !teacher.exists() {
            bail!(
                "{}: the teacher checkpoint does not exist (pass --teacher PATH)",
                teacher.display()
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
        let manifests = |dir: &Path, names: &[&str]| -> Vec<PathBuf> {
            names.iter().map(|n| dir.join(n)).collect()
        };
        let probe_files = [
            "train.jsonl",
            "valid.jsonl",
            "test.jsonl",
            "ks/train.jsonl",
            "ks/valid.jsonl",
            "ks/test.jsonl",
        ];
        Ok(Self {
            device,
            device_name: device_name(args.device),
            teacher_fp: fingerprint_dir(&teacher)?,
            data_fp: fingerprint_files(&manifests(&args.data, &["train.jsonl", "valid.jsonl"]))?,
            probe_fp: fingerprint_files(&manifests(&probe_data, &probe_files))?,
            teacher,
            probe_data,
            args,
        })
    }

    /// The command that regenerates this study, every flag that changes a number included.
    fn command(&self) -> String {
        let a = self.args;
        let mut c = format!(
            "ssl-distill study --data {} --probe-data {}",
            a.data.display(),
            self.probe_data.display()
        );
        if let Some(t) = &a.teacher {
            c += &format!(" --teacher {}", t.display());
        }
        if let Some(r) = &a.recipes {
            c += &format!(" --recipes {}", r.display());
        }
        if let Some(n) = a.steps {
            c += &format!(" --steps {n}");
        }
        if !a.single_seed.is_empty() {
            c += &format!(" --single-seed {}", a.single_seed.join(","));
        }
        c += &format!(
            " --probe-epochs {} --seed {} --seeds {} --device {} --out {}",
            a.probe_epochs,
            a.seed,
            a.seeds,
            self.device_name,
            a.out.display()
        );
        if let Some(d) = &a.doc {
            c += &format!(" --doc {}", d.display());
        }
        c
    }

    fn seed_dir(&self, seed: u64) -> PathBuf {
        self.args.out.join(format!("seed-{seed}"))
    }

    /// Every model of one seed: the teacher (probes only), the twin, one student per recipe.
    fn seed_models(
        &self,
        seed: u64,
        recipes: &[PathBuf],
        rows: &mut BTreeMap<String, ModelRow>,
    ) -> Result<()> {
        let teacher_key = PieceKey::new()
            .with("piece", "teacher")
            .with("teacher", &self.teacher_fp);
        let teacher = self.measure("teacher", &self.teacher, &teacher_key, seed, None)?;
        push(rows, "teacher", "the pretrained mini HuBERT", teacher);
        let twin_dir = self.seed_dir(seed).join("twin");
        let twin_key = self.twin(&twin_dir, seed)?;
        let twin = self.measure("random-twin", &twin_dir, &twin_key, seed, None)?;
        let what = "the teacher's architecture with random weights";
        push(rows, "random-twin", what, twin);
        for (i, path) in recipes.iter().enumerate() {
            let key = file_key(path);
            if seed != self.args.seed && self.args.single_seed.contains(&key) {
                continue;
            }
            let mut recipe = Recipe::from_file(path)?;
            tracing::info!(
                "seed {seed} [{}/{}] {key}: {}",
                i + 1,
                recipes.len(),
                recipe.description
            );
            let (distill, student_key) = self.distill(&key, &mut recipe, path, seed)?;
            let student = self
                .seed_dir(seed)
                .join("distill")
                .join(&key)
                .join("student");
            let result = self.measure(&key, &student, &student_key, seed, Some(distill))?;
            push(rows, &key, &recipe.description, result);
        }
        Ok(())
    }

    /// Writes (or reuses) the random-init twin of seed `seed` in `dir`; returns its key.
    fn twin(&self, dir: &Path, seed: u64) -> Result<PieceKey> {
        let key = PieceKey::new()
            .with("piece", "twin")
            .with("teacher", &self.teacher_fp)
            .with("seed", seed)
            .with("device", &self.device_name);
        if !reusable(&key, &dir.join(KEY_FILE), "the random twin", dir) {
            remove_dir(dir)?;
            write_twin(&self.teacher, dir, seed, &self.device)?;
            key.write(&dir.join(KEY_FILE))?;
        }
        Ok(key)
    }

    /// Runs (or resumes, or reuses) the distillation of `recipe` into
    /// `OUT/seed-<s>/distill/<key>`; returns its summary and the student's key.
    fn distill(
        &self,
        name: &str,
        recipe: &mut Recipe,
        recipe_path: &Path,
        seed: u64,
    ) -> Result<(DistillSummary, PieceKey)> {
        let args = self.args;
        recipe.apply(&Overrides {
            teacher: Some(self.teacher.clone()),
            data: Some(args.data.join("train.jsonl")),
            dev: Some(args.data.join("valid.jsonl")),
            schedule: ScheduleOverrides {
                max_steps: args.steps,
                seed: Some(seed),
                ..ScheduleOverrides::default()
            },
        });
        recipe.validate(recipe_path)?;
        let key = PieceKey::new()
            .with("piece", "student")
            .with("recipe", fingerprint_files(&[recipe_path.to_path_buf()])?)
            .with(
                "steps",
                args.steps.map_or("recipe".into(), |n| n.to_string()),
            )
            .with("teacher", &self.teacher_fp)
            .with("data", &self.data_fp)
            .with("seed", seed)
            .with("device", &self.device_name);
        let dir = self.seed_dir(seed).join("distill").join(name);
        // The key is written when the run starts (a matching key lets an interrupted run
        // resume); the summary when the student is saved (its presence means complete).
        let summary_path = dir.join("study-distill.json");
        if reusable(&key, &dir.join(KEY_FILE), name, &dir) {
            if let Ok(bytes) = std::fs::read(&summary_path) {
                let summary = serde_json::from_slice::<DistillSummary>(&bytes)
                    .with_context(|| format!("{}: not a study summary", summary_path.display()))?;
                tracing::info!("{name}: reusing the finished run in {}", dir.display());
                return Ok((summary, key));
            }
        } else {
            remove_dir(&dir)?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        key.write(&dir.join(KEY_FILE))?;
        let started = Instant::now();
        let report = run_resumable(recipe, recipe_path, &dir, &self.device)?;
        let Some(student_dir) = report.student_dir.as_ref() else {
            bail!("{name}: the distillation stopped before saving the student");
        };
        let last = report.stages.last();
        let prune_steps: u64 = recipe
            .resolved_stages(recipe_path)?
            .iter()
            .filter(|s| s.prune)
            .map(|s| s.steps)
            .sum();
        let summary = DistillSummary {
            steps: report.stages.iter().map(|s| s.steps).sum(),
            seconds: started.elapsed().as_secs_f64(),
            first_loss: last.map_or(f64::NAN, |s| s.first_loss),
            last_loss: last.map_or(f64::NAN, |s| s.last_loss),
            pruning: read_pruning(student_dir, prune_steps)?,
        };
        plot_loss(
            &dir.join("metrics.jsonl"),
            &dir.join("loss.png"),
            &format!("{name}: distillation loss (seed {seed})"),
        )?;
        let json = serde_json::to_vec_pretty(&summary).expect("summary serializes");
        write_atomic(&summary_path, &json)?;
        Ok((summary, key))
    }

    /// Probes (or reads back the probes of) one model on seed `seed` and times its forward pass.
    fn measure(
        &self,
        name: &str,
        path: &Path,
        model_key: &PieceKey,
        seed: u64,
        distill: Option<DistillSummary>,
    ) -> Result<SeedResult> {
        let upstream: Upstream = load_upstream(path, &self.device)?;
        let out = self.seed_dir(seed).join("probes").join(name);
        let budget = ProbeBudget {
            seed,
            epochs_scale: self.args.probe_epochs,
        };
        let mut probes = BTreeMap::new();
        for task in TASKS {
            let key = PieceKey::new()
                .with("piece", "probe")
                .with("model", model_key.digest())
                .with("task", task)
                .with("corpus", &self.probe_fp)
                .with("epochs", scaled_epochs(task, self.args.probe_epochs))
                .with("seed", seed)
                .with("device", &self.device_name);
            let file = out.join(format!("probe-{task}.json"));
            let key_file = out.join(format!("probe-{task}.{KEY_FILE}"));
            let what = format!("{name} {task} probe");
            let stored = reusable(&key, &key_file, &what, &file)
                .then(|| ProbeReport::read(&file).ok())
                .flatten();
            let report = match stored {
                Some(r) if !r.items.is_empty() => r,
                stored => {
                    if stored.is_some() {
                        tracing::info!(
                            "{what}: the stored report has no per-utterance outcomes, so it \
                             cannot be paired: probing again"
                        );
                    }
                    let data = &self.probe_data;
                    probe(name, &upstream, task, data, &out, budget, &self.device)?;
                    key.write(&key_file)?;
                    // Read back, so a fresh run and a reusing one see the same numbers
                    // (serde_json's float parsing may differ from the value in memory by an ulp).
                    ProbeReport::read(&file)?
                }
            };
            probes.insert(task.name().to_string(), ProbeResult::from(report));
        }
        Ok(SeedResult {
            seed,
            params: upstream.num_params(),
            realtime: realtime_factor(&upstream, &self.device),
            distill,
            probes,
        })
    }
}

/// `path` relative to the working directory when it lies below it (the bundled teacher and
/// recipes are found as absolute paths; the report should not name this machine's checkout).
fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd.canonicalize().unwrap_or(cwd)).ok())
        .map_or_else(|| path.to_path_buf(), Path::to_path_buf)
}

/// Adds one seed's result to the row of `key` (made on first sight).
fn push(rows: &mut BTreeMap<String, ModelRow>, key: &str, description: &str, r: SeedResult) {
    rows.entry(key.to_string())
        .or_insert_with(|| ModelRow {
            key: key.to_string(),
            description: description.to_string(),
            seeds: Vec::new(),
        })
        .seeds
        .push(r);
}

/// Whether the piece at `piece` (a file or directory) can be reused under `key` (stored at
/// `key_file`); logs why not when it exists.
fn reusable(key: &PieceKey, key_file: &Path, what: &str, piece: &Path) -> bool {
    match key.check(key_file) {
        KeyCheck::Same => true,
        KeyCheck::Absent => {
            if piece.exists() {
                tracing::info!(
                    "{what}: {} has no key (unfinished, or made by an older study): making it \
                     again",
                    piece.display()
                );
            }
            false
        }
        KeyCheck::Changed(parts) => {
            tracing::info!(
                "{what}: made with other {} than now: making it again",
                parts.join(", ")
            );
            false
        }
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

/// `--device` as typed (`cpu`, `tch`, `cuda:1`...).
fn device_name(device: DeviceArg) -> String {
    use clap::ValueEnum;
    device
        .to_possible_value()
        .map_or_else(|| format!("{device:?}"), |v| v.get_name().to_string())
}

/// The pruning outcome recorded in the student's `student.json` (recipes with `[prune]`).
fn read_pruning(student: &Path, steps: u64) -> Result<Option<PruningSummary>> {
    if steps == 0 {
        return Ok(None);
    }
    let path = student.join("student.json");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a student description", path.display()))?;
    let field = |name: &str| {
        json["pruning"][name]
            .as_u64()
            .map(|v| v as usize)
            .with_context(|| format!("{}: no pruning.{name}", path.display()))
    };
    Ok(Some(PruningSummary {
        steps,
        target_params: field("target_params")?,
        pruned_params: field("pruned_params")?,
    }))
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
