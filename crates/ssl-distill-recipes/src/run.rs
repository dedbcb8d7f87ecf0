//! [`run`]: a recipe from teacher checkpoint to a saved student.
//!
//! 1. load the teacher (HF directory or fairseq `.pt`) on the plain device;
//! 2. open the training manifest (crops seeded by `(seed, epoch, index)`);
//! 3. build the targets: fixed/mean/autoregressive directly, clustered (SKILL) by linear CKA
//!    on the first `calibration_utterances` utterances (groups logged and saved to
//!    `OUT/targets.json`, reused on `--resume`);
//! 4. build the `disc` codewords if a stage needs them (the teacher's HuBERT head, or seeded
//!    k-means on the last target's frames of the calibration utterances);
//! 5. resolve the student against the teacher, initialise it (copying teacher parts when
//!    asked), write `OUT/student.json`;
//! 6. run each stage with the train crate's loop (the last stage in `OUT`, earlier ones in
//!    `OUT/stages/NAME`), each resumable;
//! 7. save the student to `OUT/student/` (`student.json` with architecture, targets and
//!    recipe, and `model.safetensors`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Device;
use ssl_distill_audio::{AudioDataset, DatasetConfig, Manifest};
use ssl_distill_losses::{CodewordHead, LossKind};
use ssl_distill_models::{Checkpoint, SslModel, load_checkpoint_full};
use ssl_distill_students::{Student, StudentConfig};
use ssl_distill_targets::LayerTargets;
use ssl_distill_train::adamw_from_config;

use crate::calibration::{build_codewords, build_targets};
use crate::data::{TeacherRunner, TeacherStream};
use crate::error::RecipeError;
use crate::prune::PruneReport;
use crate::recipe::{Objective, Recipe, Stage};
use crate::run_setup::{
    RunConfig, create_out_dir, loader_config, logged_losses, open_training_data,
    refuse_existing_runs, required, run_options, write_json,
};
use crate::task::{DistillModel, LossPlan};
use crate::validate::DevValidator;

/// What one stage did.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Its run directory.
    pub dir: PathBuf,
    /// Steps completed.
    pub steps: u64,
    /// Loss of the first logged step (from `metrics.jsonl`).
    pub first_loss: f64,
    /// Loss of the last step.
    pub last_loss: f64,
    /// Unreadable audio files left out with `data.skip_bad_audio` (the whole stage, resumes
    /// included).
    pub skipped_audio: usize,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct DistillReport {
    /// One entry per stage that ran (or was already complete).
    pub stages: Vec<StageReport>,
    /// The saved student (`None` when the run stopped early with `stop_after`).
    pub student_dir: Option<PathBuf>,
    /// Parameters of the final student without heads (the papers' count; after pruning).
    pub backbone_params: usize,
    /// The targets as described in `student.json`.
    pub targets: serde_json::Value,
    /// What structured pruning did (recipes with `[prune]` whose pruning stage completed).
    pub pruning: Option<PruneReport>,
}

/// Runs `recipe` (already validated and overridden) as `cfg` says.
///
/// # Errors
/// Every [`RecipeError`]: missing teacher or data, a student that does not fit the teacher,
/// unreadable audio, a non-finite loss, checkpoint I/O.
pub fn run(recipe: &Recipe, cfg: &RunConfig) -> Result<DistillReport, RecipeError> {
    let path = cfg.recipe_path.as_path();
    let teacher_path = required(
        &recipe.teacher.path,
        "teacher checkpoint",
        "teacher.path",
        "--teacher PATH",
    )?;
    let data_path = required(
        &recipe.data.train,
        "training data",
        "data.train",
        "--data PATH",
    )?;
    let plain = cfg.device.clone().inner();
    let train_device = plain.clone().autodiff();
    let stages = recipe.resolved_stages(path)?;
    let dirs = stage_dirs(&cfg.out, &stages);
    if !cfg.resume {
        refuse_existing_runs(&dirs)?;
    }

    // 1-2. Data (checked first: it is the cheapest input to get wrong), then the teacher.
    let manifest = open_training_data(&data_path)?;
    let teacher = load_teacher(&teacher_path, &plain)?;
    let (dataset, dev) = datasets(recipe, manifest, teacher.preprocessor.do_normalize)?;
    create_out_dir(&cfg.out)?;

    // 3. Targets.
    let targets = build_targets(recipe, cfg, &dataset, &teacher)?;

    // 4. Codewords for `disc`.
    let needs_disc = stages.iter().any(|s| {
        s.objective == Objective::Distill && s.loss.iter().any(|l| l.kind == LossKind::Disc)
    });
    let codewords = if needs_disc {
        Some(build_codewords(
            recipe,
            path,
            &dataset,
            &teacher.model,
            targets.as_ref(),
            teacher.head.as_ref(),
            &train_device,
        )?)
    } else {
        None
    };

    // 5. Student.
    let built = build_student(recipe, cfg, &teacher_path, &teacher, targets.as_ref())?;

    // 6. Stages.
    let context = StageContext {
        recipe,
        cfg,
        dataset,
        dev,
        teacher: Arc::new(teacher.model),
        targets,
        codewords,
        teacher_forcing: DistillModel::uses_teacher_forcing(&built.config.head),
        plain,
        train_device,
    };
    let trained = run_stages(&context, &stages, &dirs, built.student)?;

    // 7. The student.
    let student_dir = if trained.stopped {
        None
    } else {
        Some(save_student(
            &trained.student,
            &cfg.out,
            &built.run_json,
            trained.pruning.as_ref(),
        )?)
    };
    Ok(DistillReport {
        stages: trained.reports,
        student_dir,
        backbone_params: trained.student.backbone_params(),
        pruning: trained.pruning,
        targets: built.run_json["targets"].clone(),
    })
}

/// Loads the teacher on the plain device `plain` and logs its size.
fn load_teacher(teacher_path: &Path, plain: &Device) -> Result<Checkpoint, RecipeError> {
    let teacher = load_checkpoint_full(teacher_path, plain)?;
    tracing::info!(
        teacher = %teacher_path.display(),
        layers = teacher.config.num_hidden_layers,
        hidden = teacher.config.hidden_size,
        params = teacher.model.num_params(),
        "teacher loaded"
    );
    Ok(teacher)
}

/// The training dataset over `manifest` and the dev dataset (`data.dev`), normalised as
/// `data.normalize` says, else as the teacher (`teacher_normalizes`).
fn datasets(
    recipe: &Recipe,
    manifest: Manifest,
    teacher_normalizes: bool,
) -> Result<(Arc<AudioDataset>, Option<Arc<AudioDataset>>), RecipeError> {
    let dataset_config = DatasetConfig {
        max_seconds: recipe.data.crop_seconds,
        normalize: recipe.data.normalize.unwrap_or(teacher_normalizes),
        seed: recipe.train.seed,
        ..DatasetConfig::default()
    };
    let dev = match &recipe.data.dev {
        Some(p) => Some(Arc::new(AudioDataset::new(
            Manifest::open(p)?,
            dataset_config.clone(),
        )?)),
        None => None,
    };
    let dataset = Arc::new(AudioDataset::new(manifest, dataset_config)?);
    Ok((dataset, dev))
}

/// The student before training, with the description written to `OUT/student.json`.
struct BuiltStudent {
    config: StudentConfig,
    student: Student,
    run_json: serde_json::Value,
}

/// Resolves the student against the teacher, initialises it (seeded; copying teacher parts when
/// asked) on the training device and writes `OUT/student.json`.
fn build_student(
    recipe: &Recipe,
    cfg: &RunConfig,
    teacher_path: &Path,
    teacher: &Checkpoint,
    targets: &dyn LayerTargets,
) -> Result<BuiltStudent, RecipeError> {
    let path = cfg.recipe_path.as_path();
    let plain = cfg.device.clone().inner();
    let mut config = recipe
        .student
        .resolve(&teacher.config, targets.num_targets(), path)?;
    if let Some(p) = &recipe.prune {
        config.prune = Some(p.gates(config.backbone.kind));
        config
            .validate()
            .map_err(|e| RecipeError::invalid(path, "prune", e.to_string()))?;
    }
    // Seeded, so the same recipe and seed give the same initial student (and resume matches).
    plain.seed(recipe.train.seed);
    let mut student = config.init(&plain)?;
    if recipe.student.init_from_teacher > 0 {
        student = student.init_from_teacher(&teacher.model, recipe.student.init_from_teacher)?;
    }
    if recipe.prune.as_ref().is_some_and(|p| p.copy_teacher) {
        student = student.copy_teacher(&teacher.model)?;
    }
    let student = student.to_device(&plain.clone().autodiff()).train();
    let backbone_params = student.backbone_params();
    let run_json = serde_json::json!({
        "student": config,
        "targets": targets.describe(),
        "recipe": recipe,
        "teacher": { "path": teacher_path, "config": teacher.config.to_hf_json() },
        "backbone_params": backbone_params,
    });
    write_json(&cfg.out.join("student.json"), &run_json)?;
    let groups = targets.groups();
    tracing::info!(
        params_without_heads = backbone_params,
        params = student.num_params(),
        targets = %serde_json::Value::from(groups.iter().map(|g| format!("{g:?}")).collect::<Vec<_>>()),
        "student built"
    );
    Ok(BuiltStudent {
        config,
        student,
        run_json,
    })
}

/// What every stage of a run shares.
struct StageContext<'a> {
    recipe: &'a Recipe,
    cfg: &'a RunConfig,
    dataset: Arc<AudioDataset>,
    dev: Option<Arc<AudioDataset>>,
    teacher: Arc<SslModel>,
    targets: Arc<dyn LayerTargets>,
    codewords: Option<CodewordHead>,
    teacher_forcing: bool,
    plain: Device,
    train_device: Device,
}

/// The student after the stages, and what they did.
struct Trained {
    student: Student,
    reports: Vec<StageReport>,
    pruning: Option<PruneReport>,
    /// The run stopped early (`stop_after`).
    stopped: bool,
}

/// Runs the stages in order on one student (the last in `OUT`, earlier ones in their
/// directories), stopping after `stop_after` steps in total.
fn run_stages(
    ctx: &StageContext<'_>,
    stages: &[Stage],
    dirs: &[PathBuf],
    mut student: Student,
) -> Result<Trained, RecipeError> {
    let mut reports = Vec::new();
    let mut pruning = None;
    let mut offset = 0u64;
    let mut stopped = false;
    for (stage, dir) in stages.iter().zip(dirs) {
        let stop_after = match ctx.cfg.stop_after {
            Some(s) if s <= offset => {
                stopped = true;
                break;
            }
            Some(s) if s - offset < stage.steps => {
                stopped = true;
                Some(s - offset)
            }
            _ => None,
        };
        let (trained, report, pruned) = run_stage(ctx, stage, dir, stop_after, student)?;
        student = trained;
        pruning = pruned.or(pruning);
        reports.push(report);
        offset += stage.steps;
        if stopped {
            break;
        }
    }
    Ok(Trained {
        student,
        reports,
        pruning,
        stopped,
    })
}

/// Trains `student` for one stage in `dir` (a pruning stage through [`crate::prune`]).
fn run_stage(
    ctx: &StageContext<'_>,
    stage: &Stage,
    dir: &Path,
    stop_after: Option<u64>,
    student: Student,
) -> Result<(Student, StageReport, Option<PruneReport>), RecipeError> {
    let recipe = ctx.recipe;
    let runner = Arc::new(TeacherRunner {
        model: (*ctx.teacher).clone(),
        targets: Arc::clone(&ctx.targets),
        keep_cnn: stage.objective == Objective::FrontEnd,
        device: ctx.plain.clone(),
    });
    let loader = loader_config(
        recipe.data.batch_size,
        recipe.data.prefetch,
        recipe.data.skip_bad_audio,
    );
    let mut stream = TeacherStream::new(
        Arc::clone(&ctx.dataset),
        loader,
        Arc::clone(&runner),
        ctx.train_device.clone(),
    );
    let plan = LossPlan::new(
        stage.objective,
        &stage.loss,
        ctx.codewords.clone(),
        &ctx.targets.groups(),
        ctx.teacher_forcing,
    );
    let train_cfg = stage_train_config(recipe, stage);
    let opts = run_options(ctx.cfg, dir.to_path_buf(), stop_after, &ctx.train_device);
    tracing::info!(stage = %stage.name, steps = stage.steps, dir = %dir.display(), "stage");
    let model = DistillModel { student, plan };
    let optim = adamw_from_config(&train_cfg);
    let mut validator = ctx.dev.as_ref().map(|d| {
        DevValidator::new(
            Arc::clone(d),
            Arc::clone(&runner),
            recipe.data.batch_size,
            recipe.data.dev_batches,
        )
    });
    let mut pruning = None;
    let (trained, steps, last_loss) = if stage.prune {
        let section = recipe
            .prune
            .as_ref()
            .expect("validated: a pruning stage has [prune]");
        let (s, steps, last, report) = crate::prune::run_stage(
            section,
            &train_cfg,
            &opts,
            model,
            &mut stream,
            validator.as_mut(),
        )?;
        pruning = report;
        (s, steps, last)
    } else {
        let outcome = ssl_distill_train::train_with_validation(
            &train_cfg,
            &opts,
            model,
            optim,
            &mut stream,
            validator
                .as_mut()
                .map(|v| v as &mut dyn ssl_distill_train::Validator<DistillModel>),
        )?;
        (outcome.model.student, outcome.step, outcome.last_loss)
    };
    let (first_loss, last_loss) = logged_losses(dir, last_loss);
    let report = StageReport {
        name: stage.name.clone(),
        dir: dir.to_path_buf(),
        steps,
        first_loss,
        last_loss,
        skipped_audio: stream.skipped(),
    };
    Ok((trained, report, pruning))
}

/// Saves the trained student to `OUT/student/`, with the run's targets, recipe, teacher and
/// pruning report merged into its `student.json`.
fn save_student(
    student: &Student,
    out: &Path,
    run_json: &serde_json::Value,
    pruning: Option<&PruneReport>,
) -> Result<PathBuf, RecipeError> {
    let dir = out.join("student");
    student.save(&dir)?;
    let file = dir.join("student.json");
    let mut json: serde_json::Value = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(obj) = json.as_object_mut() {
        obj.insert("targets".into(), run_json["targets"].clone());
        obj.insert("recipe".into(), run_json["recipe"].clone());
        obj.insert("teacher".into(), run_json["teacher"].clone());
        if let Some(p) = pruning {
            obj.insert(
                "pruning".into(),
                serde_json::to_value(p).expect("the pruning report serialises"),
            );
        }
    }
    write_json(&file, &json)?;
    tracing::info!(dir = %dir.display(), "student saved");
    Ok(dir)
}

/// The run directory of each stage: the last runs in `out`, the others in `out/stages/NAME`.
fn stage_dirs(out: &Path, stages: &[Stage]) -> Vec<PathBuf> {
    let last = stages.len().saturating_sub(1);
    stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i == last {
                out.to_path_buf()
            } else {
                out.join("stages").join(&s.name)
            }
        })
        .collect()
}

/// The loop settings of one stage: the recipe's, with the stage's steps and lr.
fn stage_train_config(recipe: &Recipe, stage: &Stage) -> ssl_distill_train::TrainConfig {
    let mut c = recipe.train.clone();
    c.max_steps = stage.steps;
    c.lr = stage.lr;
    if let Some(w) = c.warmup_steps {
        c.warmup_steps = Some(w.min(stage.steps));
    }
    c
}
