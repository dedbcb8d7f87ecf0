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
use burn::tensor::{Device, Tensor, TensorData};
use ssl_distill_audio::{AudioDataset, Batch, DatasetConfig, LoaderConfig, Manifest};
use ssl_distill_losses::{CodewordHead, KMeans, LossKind};
use ssl_distill_models::{Checkpoint, SslModel, load_checkpoint_full, write_atomic};
use ssl_distill_targets::{CalibrationFeatures, Clustered, LayerTargets};
use ssl_distill_train::{ProgressMode, RunOptions, adamw_from_config, latest_checkpoint};

use crate::data::{TeacherRunner, TeacherStream};
use crate::error::RecipeError;
use crate::recipe::{CodewordSource, Objective, Recipe, Stage};
use crate::targets_spec::TargetsSpec;
use crate::task::{DistillModel, LossPlan};
use crate::validate::DevValidator;

/// Where and how a recipe runs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The recipe file (for error messages and `student.json`).
    pub recipe_path: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Continue from the newest complete checkpoint in `out`.
    pub resume: bool,
    /// The device (the student trains on its autodiff twin, the teacher runs on it plainly).
    pub device: Device,
    /// More devices for data parallelism (burn's multi-device pieces, see
    /// `ssl_distill_train::RunOptions::devices`): each step also runs one micro-batch per
    /// device here on a replica of the student, and the gradients are summed on `device`.
    /// Empty (the default) trains on `device` alone.
    pub data_parallel: Vec<Device>,
    /// Progress display.
    pub progress: ProgressMode,
    /// Stop after this many optimizer steps in total (over all stages), writing a checkpoint;
    /// a later `resume` continues. Used to split runs into jobs and by tests.
    pub stop_after: Option<u64>,
}

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
    pub pruning: Option<crate::prune::PruneReport>,
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), RecipeError> {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    write_atomic(path, text.as_bytes()).map_err(|e| RecipeError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Runs `recipe` (already validated and overridden) as `cfg` says.
///
/// # Errors
/// Every [`RecipeError`]: missing teacher or data, a student that does not fit the teacher,
/// unreadable audio, a non-finite loss, checkpoint I/O.
pub fn run(recipe: &Recipe, cfg: &RunConfig) -> Result<DistillReport, RecipeError> {
    let path = cfg.recipe_path.as_path();
    let teacher_path = recipe.teacher.path.clone().ok_or(RecipeError::Missing {
        what: "teacher checkpoint",
        field: "teacher.path",
        flag: "--teacher PATH",
    })?;
    let data_path = recipe.data.train.clone().ok_or(RecipeError::Missing {
        what: "training data",
        field: "data.train",
        flag: "--data PATH",
    })?;
    let plain = cfg.device.clone().inner();
    let train_device = plain.clone().autodiff();
    let stages = recipe.resolved_stages(path)?;
    let dirs = stage_dirs(&cfg.out, &stages);
    if !cfg.resume {
        for dir in &dirs {
            if latest_checkpoint(dir)?.is_some() {
                return Err(RecipeError::invalid(
                    dir,
                    "--out",
                    "already holds a run's checkpoints: pass --resume to continue it, or choose \
                     another output directory",
                ));
            }
        }
    }

    // 1-2. Data (checked first: it is the cheapest input to get wrong), then the teacher.
    let manifest = Manifest::open(&data_path)?;
    if manifest.is_empty() {
        return Err(RecipeError::invalid(
            &data_path,
            "data.train",
            "holds no utterance",
        ));
    }
    let Checkpoint {
        config: teacher_config,
        model: teacher,
        head: teacher_head,
        preprocessor,
        ..
    } = load_checkpoint_full(&teacher_path, &plain)?;
    tracing::info!(
        teacher = %teacher_path.display(),
        layers = teacher_config.num_hidden_layers,
        hidden = teacher_config.hidden_size,
        params = teacher.num_params(),
        "teacher loaded"
    );
    let dataset_config = DatasetConfig {
        max_seconds: recipe.data.crop_seconds,
        normalize: recipe.data.normalize.unwrap_or(preprocessor.do_normalize),
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
    std::fs::create_dir_all(&cfg.out).map_err(|source| RecipeError::Io {
        path: cfg.out.clone(),
        source,
    })?;

    // 3. Targets.
    let depth = teacher_config.num_hidden_layers;
    let targets: Arc<dyn LayerTargets> = match &recipe.targets {
        TargetsSpec::Clustered {
            k,
            linkage,
            contiguous,
            calibration_utterances,
        } => {
            let saved = cfg.out.join("targets.json");
            let clustered = if cfg.resume && saved.exists() {
                Clustered::load(&saved)?
            } else {
                let mut features = CalibrationFeatures::new(false);
                for batch in calibration_batches(&dataset, *calibration_utterances)? {
                    let (wave, _) = batch.to_tensors(&plain);
                    let out = teacher.forward(ssl_distill_models::SslInput::new(wave));
                    features.add(&out.hidden_states, None)?;
                }
                let c = Clustered::from_calibration(&features, *k, *linkage, *contiguous, &plain)
                    .map_err(|e| RecipeError::invalid(path, "targets.k", e.to_string()))?;
                c.save(&saved)?;
                c
            };
            tracing::info!(groups = ?clustered.groups, "clustered teacher layers (SKILL)");
            Arc::new(clustered)
        }
        spec => Arc::from(spec.resolve(depth, path)?),
    };
    let groups = targets.groups();

    // 4. Codewords for `disc`.
    let needs_disc = stages.iter().any(|s| {
        s.objective == Objective::Distill && s.loss.iter().any(|l| l.kind == LossKind::Disc)
    });
    let codewords = if needs_disc {
        Some(build_codewords(
            recipe,
            path,
            &dataset,
            &teacher,
            targets.as_ref(),
            teacher_head.as_ref(),
            &train_device,
        )?)
    } else {
        None
    };

    // 5. Student.
    let mut student_config =
        recipe
            .student
            .resolve(&teacher_config, targets.num_targets(), path)?;
    if let Some(p) = &recipe.prune {
        student_config.prune = Some(p.gates(student_config.backbone.kind));
        student_config
            .validate()
            .map_err(|e| RecipeError::invalid(path, "prune", e.to_string()))?;
    }
    // Seeded, so the same recipe and seed give the same initial student (and resume matches).
    plain.seed(recipe.train.seed);
    let mut student = student_config.init(&plain)?;
    if recipe.student.init_from_teacher > 0 {
        student = student.init_from_teacher(&teacher, recipe.student.init_from_teacher)?;
    }
    if recipe.prune.as_ref().is_some_and(|p| p.copy_teacher) {
        student = student.copy_teacher(&teacher)?;
    }
    let mut student = student.to_device(&train_device).train();
    let backbone_params = student.backbone_params();
    let describe = targets.describe();
    let run_json = serde_json::json!({
        "student": student_config,
        "targets": describe,
        "recipe": recipe,
        "teacher": { "path": teacher_path, "config": teacher_config.to_hf_json() },
        "backbone_params": backbone_params,
    });
    write_json(&cfg.out.join("student.json"), &run_json)?;
    tracing::info!(
        params_without_heads = backbone_params,
        params = student.num_params(),
        targets = %serde_json::Value::from(groups.iter().map(|g| format!("{g:?}")).collect::<Vec<_>>()),
        "student built"
    );

    // 6. Stages.
    let teacher = Arc::new(teacher);
    let teacher_forcing = DistillModel::uses_teacher_forcing(&student_config.head);
    let mut reports = Vec::new();
    let mut pruning = None;
    let mut offset = 0u64;
    let mut stopped = false;
    for (i, stage) in stages.iter().enumerate() {
        let dir = dirs[i].clone();
        let stop_after = match cfg.stop_after {
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
        let runner = TeacherRunner {
            model: (*teacher).clone(),
            targets: Arc::clone(&targets),
            keep_cnn: stage.objective == Objective::FrontEnd,
            device: plain.clone(),
        };
        let loader = LoaderConfig {
            batch_size: recipe.data.batch_size,
            prefetch: recipe.data.prefetch,
            skip_bad_audio: recipe.data.skip_bad_audio,
            ..LoaderConfig::default()
        };
        let runner = Arc::new(runner);
        let mut stream = TeacherStream::new(
            Arc::clone(&dataset),
            loader,
            Arc::clone(&runner),
            train_device.clone(),
        );
        let plan = LossPlan::new(
            stage.objective,
            &stage.loss,
            codewords.clone(),
            &groups,
            teacher_forcing,
        );
        let train_cfg = stage_train_config(recipe, stage);
        let opts = RunOptions {
            out_dir: dir.clone(),
            // Earlier stages resume whenever the run does (a finished stage then runs 0 steps).
            resume: cfg.resume,
            stop_after,
            progress: cfg.progress,
            devices: parallel_devices(&train_device, &cfg.data_parallel),
        };
        tracing::info!(stage = %stage.name, steps = stage.steps, dir = %dir.display(), "stage");
        let model = DistillModel { student, plan };
        let optim = adamw_from_config(&train_cfg);
        let mut validator = dev.as_ref().map(|d| {
            DevValidator::new(
                Arc::clone(d),
                Arc::clone(&runner),
                recipe.data.batch_size,
                recipe.data.dev_batches,
            )
        });
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
            pruning = report.or(pruning);
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
        student = trained;
        let rows =
            ssl_distill_train::read_metrics(&dir.join(ssl_distill_train::metrics::METRICS_FILE))
                .unwrap_or_default();
        reports.push(StageReport {
            name: stage.name.clone(),
            dir,
            steps,
            first_loss: rows.first().map_or(f64::NAN, |r| r.loss),
            last_loss: rows.last().map_or(last_loss, |r| r.loss),
            skipped_audio: stream.skipped(),
        });
        offset += stage.steps;
        if stopped {
            break;
        }
    }

    // 7. The student.
    let student_dir = if stopped {
        None
    } else {
        let dir = cfg.out.join("student");
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
            if let Some(p) = &pruning {
                obj.insert(
                    "pruning".into(),
                    serde_json::to_value(p).expect("the pruning report serialises"),
                );
            }
        }
        write_json(&file, &json)?;
        tracing::info!(dir = %dir.display(), "student saved");
        Some(dir)
    };
    Ok(DistillReport {
        stages: reports,
        student_dir,
        backbone_params: student.backbone_params(),
        pruning,
        targets: describe,
    })
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

/// The first `n` utterances (crops of epoch 0), one batch each (no padding).
fn calibration_batches(dataset: &AudioDataset, n: usize) -> Result<Vec<Batch>, RecipeError> {
    (0..n.min(dataset.len()))
        .map(|i| Ok(Batch::from_items(&[dataset.load(i, 0)?])))
        .collect()
}

/// The `disc` term's codewords (see the module docs).
fn build_codewords(
    recipe: &Recipe,
    path: &Path,
    dataset: &AudioDataset,
    teacher: &SslModel,
    targets: &dyn LayerTargets,
    head: Option<&ssl_distill_models::HubertHead>,
    train_device: &Device,
) -> Result<CodewordHead, RecipeError> {
    let depth = teacher.num_layers();
    let groups = targets.groups();
    let last_is_top = groups.last().is_some_and(|g| g.as_slice() == [depth]);
    let use_head = match recipe.disc.codewords {
        CodewordSource::Auto => head.is_some() && last_is_top,
        CodewordSource::TeacherHead => {
            if head.is_none() {
                return Err(RecipeError::invalid(
                    path,
                    "disc.codewords",
                    "is `teacher_head` but the teacher checkpoint has no final_proj / \
                     label_embs_concat",
                ));
            }
            if !last_is_top {
                return Err(RecipeError::invalid(
                    path,
                    "disc.codewords",
                    format!(
                        "is `teacher_head`, which scores the teacher's last layer ({depth}), but \
                         the last target is {:?}",
                        groups.last()
                    ),
                ));
            }
            true
        }
        CodewordSource::Kmeans => false,
    };
    if use_head {
        let h = head.expect("checked above");
        let tau = 0.1;
        tracing::info!(
            codewords = h.label_embs.shape[0],
            "disc: the teacher's HuBERT head (final_proj + label_embs_concat)"
        );
        return Ok(CodewordHead::from_hubert(
            (&h.final_proj_weight.shape, &h.final_proj_weight.data),
            &h.final_proj_bias.data,
            (&h.label_embs.shape, &h.label_embs.data),
            tau,
            train_device,
        )?);
    }
    let d = &recipe.disc;
    let plain = teacher
        .devices()
        .into_iter()
        .next()
        .unwrap_or_else(|| train_device.clone().inner());
    let mut rows = Vec::new();
    let mut dim = 0;
    for batch in calibration_batches(dataset, d.calibration_utterances)? {
        let (wave, _) = batch.to_tensors(&plain);
        let out = teacher.forward_until(
            ssl_distill_models::SslInput::new(wave),
            targets.deepest_layer(),
        );
        let last = targets
            .targets(&out.hidden_states)
            .pop()
            .expect("at least one target");
        let [_, t, c] = last.dims();
        dim = c;
        let values: Vec<f32> = last
            .reshape([t, c])
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .expect("f32 data");
        rows.extend(values);
    }
    let kmeans = KMeans::fit(&rows, dim, d.kmeans_k, d.kmeans_iters, recipe.train.seed)?;
    tracing::info!(
        k = d.kmeans_k,
        frames = rows.len() / dim.max(1),
        "disc: k-means codewords on the last target's teacher features"
    );
    let centroids = kmeans.centroids_tensor(&plain);
    let data: TensorData = centroids.into_data();
    Ok(CodewordHead::from_centroids(
        Tensor::<2>::from_data(data, train_device),
        d.tau,
    ))
}

/// The training devices of a data-parallel run: the main autodiff device first, then the
/// autodiff twins of `extra`; empty (train on the model's own device) without `extra`.
fn parallel_devices(main: &Device, extra: &[Device]) -> Vec<Device> {
    if extra.is_empty() {
        return Vec::new();
    }
    std::iter::once(main.clone())
        .chain(extra.iter().map(|d| d.clone().inner().autodiff()))
        .collect()
}
