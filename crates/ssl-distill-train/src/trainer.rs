//! The hand-written training loop (see the crate docs for why not burn-train's Learner).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{
    LoopState, RngState, clean_tmp_dirs, latest_checkpoint, load_checkpoint, prune_checkpoints,
    write_checkpoint,
};
use crate::config::{NanPolicy, TrainConfig};
use crate::error::TrainError;
use crate::groups::ResolvedGroups;
use crate::metrics::{MetricsRow, MetricsWriter, resident_set_mib};
use crate::parallel::{data_parallel, seed_devices, single_device};
use crate::params::{clip_global_norm, init_lazy_params};
use crate::step::{DataSource, StepModel};
use crate::validate::Validator;

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// A progress bar on a TTY, plain `tracing` info lines (every `log_every` steps) otherwise.
    #[default]
    Auto,
    /// Plain lines only.
    Plain,
    /// Nothing but the metrics file.
    Off,
}

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output directory (`metrics.jsonl`, `checkpoints/`).
    pub out_dir: PathBuf,
    /// Continue from the newest complete checkpoint in `out_dir` (a fresh start if there is none).
    pub resume: bool,
    /// Stop after this step even if `max_steps` is larger (the schedule still follows
    /// `max_steps`); used to split a run into several jobs and by tests to simulate pre-emption.
    /// A checkpoint is written at the stop step.
    pub stop_after: Option<u64>,
    /// Progress display.
    pub progress: ProgressMode,
    /// Data-parallel devices (all autodiff); empty = the model's own device. The model is moved
    /// to `devices[0]` (where the optimizer runs and checkpoints are taken from), each step forks
    /// a replica to every other device, and each device gets `grad_accum` micro-batches from
    /// [`DataSource::next_batch_on`]; gradients are summed on `devices[0]`. See
    /// `docs/multi-device.md`: on CPU there is one flex device, so this runs the devices in
    /// turn and gives no speed-up; it is meant for several GPUs (not exercised here).
    pub devices: Vec<Device>,
}

impl RunOptions {
    /// Options for a fresh run in `out_dir` with default progress display.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        Self {
            out_dir: out_dir.into(),
            resume: false,
            stop_after: None,
            progress: ProgressMode::Auto,
            devices: Vec::new(),
        }
    }
}

/// Result of a run.
#[derive(Debug)]
pub struct TrainOutcome<M> {
    /// The trained model.
    pub model: M,
    /// Last completed step.
    pub step: u64,
    /// Step the run resumed from (`None` for a fresh start).
    pub resumed_from: Option<u64>,
    /// Steps skipped by the `skip_step` NaN policy (whole run, including before a resume).
    pub skipped_steps: u64,
    /// Loss of the last step.
    pub last_loss: f64,
    /// Step and results of the last validation of this run, if any ran.
    pub validation: Option<(u64, Vec<(String, f64)>)>,
}

/// The AdamW optimizer described by `cfg` (betas, eps, weight decay; no burn-side clipping,
/// the loop clips by global norm itself). Each of `cfg.param_groups` with a `weight_decay` gets
/// its own AdamW through `ModuleOptimizer::with_group` (a group with an invalid selector is left
/// out here; the loop rejects such a config before the first step).
pub fn adamw_from_config(cfg: &TrainConfig) -> ModuleOptimizer {
    let base = AdamWConfig::new()
        .with_beta_1(cfg.beta1)
        .with_beta_2(cfg.beta2)
        .with_epsilon(cfg.eps)
        .with_weight_decay(cfg.weight_decay);
    let mut optim = base.init();
    for g in &cfg.param_groups {
        if let (Some(wd), Ok(group)) = (g.weight_decay, g.param_group()) {
            optim = optim.with_group(group, base.clone().with_weight_decay(wd).build(), None);
        }
    }
    optim
}

/// Runs training with AdamW from `cfg`. See [`train_with_optimizer`].
pub fn train<M, D>(
    cfg: &TrainConfig,
    opts: &RunOptions,
    model: M,
    data: &mut D,
) -> Result<TrainOutcome<M>, TrainError>
where
    M: StepModel,
    D: DataSource<Batch = M::Batch>,
{
    train_with_validation(cfg, opts, model, adamw_from_config(cfg), data, None)
}

fn device_seed(seed: u64, step: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step.wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// Runs training with a caller-built optimizer and no validator. See [`train_with_validation`].
pub fn train_with_optimizer<M, D>(
    cfg: &TrainConfig,
    opts: &RunOptions,
    model: M,
    optim: ModuleOptimizer,
    data: &mut D,
) -> Result<TrainOutcome<M>, TrainError>
where
    M: StepModel,
    D: DataSource<Batch = M::Batch>,
{
    train_with_validation(cfg, opts, model, optim, data, None)
}

/// Runs training with a caller-built optimizer (e.g. burn's `ModuleOptimizer::with_group` for
/// other optimizers per group) and an optional validator.
///
/// Per step `s` (1-based): reseed the devices from `(seed, s)` (dropout is reproducible across
/// resumes), draw `grad_accum` batches (per device, see [`RunOptions::devices`]), back-propagate
/// `loss / micro_batches` for each, clip the summed gradients to `clip_grad_norm` (global norm),
/// optimizer step with `lr_at(s)` (times each group's `lr_scale`, see
/// [`crate::ParamGroupConfig`]), validate every `val_every` and at `max_steps` (see
/// [`Validator`]), log at step 1, every `log_every`, at the last step and whenever validation ran, checkpoint every
/// `checkpoint_every` and at the end.
///
/// Parameter groups are matched against `model` before a resume replaces its weights; the model
/// must be on an autodiff device.
pub fn train_with_validation<M, D>(
    cfg: &TrainConfig,
    opts: &RunOptions,
    model: M,
    optim: ModuleOptimizer,
    data: &mut D,
    mut validator: Option<&mut dyn Validator<M>>,
) -> Result<TrainOutcome<M>, TrainError>
where
    M: StepModel,
    D: DataSource<Batch = M::Batch>,
{
    let groups = check_run(cfg, opts, &model, validator.is_some())?;
    // Lazy parameters draw their initial values now, from (seed, 0), not inside step 1.
    seed_devices(&model.devices(), device_seed(cfg.seed, 0));
    init_lazy_params(&model);
    let out = &opts.out_dir;
    let config_json = serde_json::to_value(cfg).unwrap_or(serde_json::Value::Null);
    let (model, mut optim, resumed) = resume(opts, model, optim, data)?;
    let resumed_from = resumed.as_ref().map(|r| r.step);
    let r = resumed.unwrap_or_else(|| Resumed::fresh(cfg.seed));
    let (start, mut rng, mut skipped) = (r.step, r.rng, r.skipped);
    let devices = opts.devices.clone();
    let (mut model, seeded) = place(model, &devices);
    let mut metrics = MetricsWriter::open(out, start)?;
    let end = opts
        .stop_after
        .map_or(cfg.max_steps, |s| s.min(cfg.max_steps));
    let bar = make_bar(opts.progress, start, cfg.max_steps);
    let mut last_loss = f64::NAN;
    let mut last_val = None;
    let mut window_start = Instant::now();
    let mut window_steps = 0u64;
    let accum = cfg.grad_accum;

    for step in start + 1..=end {
        let lr = cfg.lr_at(step);
        seed_devices(&seeded, device_seed(cfg.seed, step));
        let sg = if devices.len() > 1 {
            data_parallel(&model, &devices, data, &mut rng, accum, step)?
        } else {
            single_device(&model, devices.first(), data, &mut rng, accum, step)?
        };
        let micro = f64::from(sg.micro);
        let loss = sg.loss_sum / micro;
        last_loss = loss;
        let mut grads = sg.grads;
        let grad_norm = if sg.bad_loss {
            f64::NAN
        } else {
            clip_global_norm(&model, &mut grads, cfg.clip_grad_norm)
        };
        match (non_finite(sg.bad_loss, grad_norm), cfg.nan_policy) {
            (Some(what), NanPolicy::Stop) => {
                if let Some(b) = &bar {
                    b.abandon();
                }
                return Err(TrainError::NonFinite { step, what });
            }
            (Some(what), NanPolicy::SkipStep) => {
                skipped += 1;
                tracing::warn!(step, what, skipped, "non-finite value, step skipped");
            }
            (None, _) if groups.is_empty() => model = optim.step(lr, model, grads),
            (None, _) => model = optim.step(groups.module_lr(lr), model, grads),
        }
        window_steps += 1;

        let val = validate_if_due(cfg, step, &model, validator.as_deref_mut())?;
        if let Some(r) = &val {
            last_val = Some((step, r.clone()));
        }

        if step == 1 || step % cfg.log_every == 0 || step == end || val.is_some() {
            let logged = Logged {
                step,
                loss,
                lr,
                grad_norm,
                sec_per_step: window_start.elapsed().as_secs_f64() / window_steps as f64,
                skipped_steps: skipped,
                term_sums: &sg.term_sums,
                micro,
                val: val.as_deref(),
            };
            let line = log_step(&mut metrics, data, &groups, logged, cfg.max_steps)?;
            show(bar.as_ref(), opts.progress, line);
            window_start = Instant::now();
            window_steps = 0;
        }
        if let Some(b) = &bar {
            b.set_position(step);
        }

        let due = cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0;
        if due || step == end {
            let state = LoopState {
                step,
                rng: RngState::capture(&rng),
                skipped_steps: skipped,
                data_cursor: data.cursor(),
            };
            write_checkpoint(out, &model, &optim, &state, config_json.clone())?;
            prune_checkpoints(out, cfg.keep_last_n)?;
        }
    }
    if let Some(b) = &bar {
        b.finish();
    }
    Ok(TrainOutcome {
        model,
        step: end.max(start),
        resumed_from,
        skipped_steps: skipped,
        last_loss,
        validation: last_val,
    })
}

/// Checks the run before anything is loaded: the config, its parameter groups against
/// `model`, autodiff devices; warns about `val_every` without a validator.
fn check_run<M: Module>(
    cfg: &TrainConfig,
    opts: &RunOptions,
    model: &M,
    has_validator: bool,
) -> Result<ResolvedGroups, TrainError> {
    cfg.validate()?;
    let groups = ResolvedGroups::resolve(&cfg.param_groups, model, cfg.weight_decay)?;
    for (index, d) in opts.devices.iter().enumerate() {
        if !d.is_autodiff() {
            return Err(TrainError::Device {
                index,
                device: format!("{d:?}"),
                expected: "an autodiff device (`device.autodiff()`)",
            });
        }
    }
    if cfg.val_every > 0 && !has_validator {
        tracing::warn!(
            val_every = cfg.val_every,
            "val_every is set but no validator was given"
        );
    }
    Ok(groups)
}

/// Where a run continues from (a checkpoint, or [`Resumed::fresh`]).
struct Resumed {
    /// The step of the checkpoint.
    step: u64,
    /// The loop's RNG at that step.
    rng: ChaCha8Rng,
    /// Steps skipped before it.
    skipped: u64,
}

impl Resumed {
    /// A fresh start: step 0, the loop's RNG seeded with `seed`, nothing skipped.
    fn fresh(seed: u64) -> Self {
        Self {
            step: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            skipped: 0,
        }
    }
}

/// With `opts.resume`, loads the newest complete checkpoint in `opts.out_dir` (after removing
/// incomplete temporary ones) into `model`, `optim` and `data`; `None` without `opts.resume` or
/// when there is none (a fresh start).
fn resume<M: Module, D: DataSource>(
    opts: &RunOptions,
    model: M,
    optim: ModuleOptimizer,
    data: &mut D,
) -> Result<(M, ModuleOptimizer, Option<Resumed>), TrainError> {
    if !opts.resume {
        return Ok((model, optim, None));
    }
    let out = &opts.out_dir;
    let removed = clean_tmp_dirs(out)?;
    if removed > 0 {
        tracing::info!(
            removed,
            "removed incomplete temporary checkpoint directories"
        );
    }
    let Some((step, dir)) = latest_checkpoint(out)? else {
        return Ok((model, optim, None));
    };
    let (model, optim, state) = load_checkpoint(&dir, model, optim)?;
    let rng = state
        .rng
        .restore()
        .ok_or_else(|| TrainError::ckpt(&dir, "malformed RNG state"))?;
    data.restore(&state.data_cursor)
        .map_err(|e| TrainError::Data {
            step,
            message: e.to_string(),
        })?;
    tracing::info!(step, dir = %dir.display(), "resuming");
    let resumed = Resumed {
        step,
        rng,
        skipped: state.skipped_steps,
    };
    Ok((model, optim, Some(resumed)))
}

/// Which value of a step is not finite: the loss (`bad_loss`), else the gradient norm.
fn non_finite(bad_loss: bool, grad_norm: f64) -> Option<&'static str> {
    if bad_loss {
        Some("loss")
    } else if !grad_norm.is_finite() {
        Some("grad_norm")
    } else {
        None
    }
}

/// What a logged step reports.
struct Logged<'a> {
    step: u64,
    loss: f64,
    lr: f64,
    grad_norm: f64,
    sec_per_step: f64,
    skipped_steps: u64,
    /// Sums of the loss terms over the step's `micro` micro-batches.
    term_sums: &'a [(String, f64)],
    micro: f64,
    val: Option<&'a [(String, f64)]>,
}

/// Writes the `metrics.jsonl` row of a logged step (with the data source's extras, the groups'
/// learning rates, the resident set and the validation results) and returns its progress line.
fn log_step<D: DataSource>(
    metrics: &mut MetricsWriter,
    data: &mut D,
    groups: &ResolvedGroups,
    logged: Logged<'_>,
    max_steps: u64,
) -> Result<String, TrainError> {
    let Logged {
        step,
        loss,
        lr,
        grad_norm,
        sec_per_step,
        skipped_steps,
        term_sums,
        micro,
        val,
    } = logged;
    let terms = term_sums
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::json!(v / micro)))
        .collect();
    let mut extra = data.log_extra();
    for (k, v) in groups.lrs(lr) {
        extra.insert(k, serde_json::json!(v));
    }
    if let Some(rss) = resident_set_mib() {
        extra.insert("rss_mib".into(), serde_json::json!(rss));
    }
    let mut val_text = String::new();
    for (k, v) in val.into_iter().flatten() {
        extra.insert(format!("val_{k}"), serde_json::json!(v));
        val_text.push_str(&format!(" val_{k} {v:.5}"));
    }
    metrics.write(&MetricsRow {
        step,
        loss,
        lr,
        grad_norm,
        sec_per_step,
        skipped_steps,
        terms,
        extra,
    })?;
    Ok(format!(
        "step {step}/{max_steps} loss {loss:.5} lr {lr:.3e} grad_norm {grad_norm:.4}{val_text} {:.2} steps/s",
        1.0 / sec_per_step.max(1e-12)
    ))
}

/// `model` on `devices[0]` (forked there unless it is already), and the devices to reseed
/// every step (`devices`, or the model's own without them).
fn place<M: Module>(model: M, devices: &[Device]) -> (M, Vec<Device>) {
    let model = match devices.first() {
        Some(main) if model.devices() != [main.clone()] => model.fork(main),
        _ => model,
    };
    let seeded = if devices.is_empty() {
        model.devices()
    } else {
        devices.to_vec()
    };
    (model, seeded)
}

/// Runs `validator` on `model.valid()` every `val_every` steps and at `max_steps`.
fn validate_if_due<M: StepModel>(
    cfg: &TrainConfig,
    step: u64,
    model: &M,
    validator: Option<&mut (dyn Validator<M> + '_)>,
) -> Result<Option<Vec<(String, f64)>>, TrainError> {
    let due = (cfg.val_every > 0 && step.is_multiple_of(cfg.val_every)) || step == cfg.max_steps;
    match validator {
        Some(v) if due => {
            v.validate(&model.valid())
                .map(Some)
                .map_err(|e| TrainError::Validation {
                    step,
                    message: e.to_string(),
                })
        }
        _ => Ok(None),
    }
}

/// Shows a logged step's line: on the progress bar, else on stderr unless progress is off.
fn show(bar: Option<&ProgressBar>, mode: ProgressMode, line: String) {
    match (bar, mode) {
        (Some(b), _) => b.set_message(line),
        (None, ProgressMode::Off) => {}
        (None, _) => eprintln!("{line}"),
    }
}

fn make_bar(mode: ProgressMode, start: u64, total: u64) -> Option<ProgressBar> {
    if mode != ProgressMode::Auto || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} [{elapsed_precise}] {msg}")
    {
        bar.set_style(style);
    }
    bar.set_position(start);
    Some(bar)
}
