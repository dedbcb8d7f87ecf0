//! The hand-written training loop (see the crate docs for why not burn-train's Learner).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
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
use crate::validate::Validator;

/// What a model returns for one (micro-)batch.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// The scalar loss (shape `[1]`) that is back-propagated.
    pub loss: Tensor<1>,
    /// Named components of the loss (shape `[1]` each), logged but not back-propagated separately.
    pub terms: Vec<(String, Tensor<1>)>,
}

/// A trainable model: computes its loss on a batch. It must live on an autodiff device.
pub trait StepModel: Module {
    /// The batch type the data source yields.
    type Batch;
    /// Forward pass and loss (no backward: the loop does it).
    fn loss(&self, batch: &Self::Batch) -> StepOutput;
}

/// A resumable stream of batches.
pub trait DataSource {
    /// The batch type.
    type Batch;
    /// The next batch. `rng` is the loop's RNG (checkpointed): use it for random crops/masks so a
    /// resumed run draws the same numbers.
    fn next_batch(
        &mut self,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self::Batch, Box<dyn std::error::Error + Send + Sync>>;
    /// The next batch with its tensors on `device`. Data-parallel runs
    /// ([`RunOptions::devices`]) call this instead of [`next_batch`](Self::next_batch), once per
    /// micro-batch, with the device of the replica that will consume it. The default ignores
    /// `device` and calls `next_batch`, which is right only while every listed device is the one
    /// the source already creates its tensors on (e.g. the single flex CPU device); a source used
    /// across distinct devices (GPUs) must override it.
    fn next_batch_on(
        &mut self,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Self::Batch, Box<dyn std::error::Error + Send + Sync>> {
        let _ = device;
        self.next_batch(rng)
    }
    /// The position after the last batch returned, saved in checkpoints.
    fn cursor(&self) -> serde_json::Value;
    /// Extra values merged into the next `metrics.jsonl` row (called once per logged step), e.g.
    /// `audio_sec_per_sec` accumulated since the previous call. Default: none.
    fn log_extra(&mut self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// Moves to a position previously returned by [`cursor`](Self::cursor).
    fn restore(
        &mut self,
        cursor: &serde_json::Value,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

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
    mut model: M,
    mut optim: ModuleOptimizer,
    data: &mut D,
    mut validator: Option<&mut dyn Validator<M>>,
) -> Result<TrainOutcome<M>, TrainError>
where
    M: StepModel,
    D: DataSource<Batch = M::Batch>,
{
    cfg.validate()?;
    let groups = ResolvedGroups::resolve(&cfg.param_groups, &model, cfg.weight_decay)?;
    for (index, d) in opts.devices.iter().enumerate() {
        if !d.is_autodiff() {
            return Err(TrainError::Device {
                index,
                device: format!("{d:?}"),
                expected: "an autodiff device (`device.autodiff()`)",
            });
        }
    }
    if cfg.val_every > 0 && validator.is_none() {
        tracing::warn!(
            val_every = cfg.val_every,
            "val_every is set but no validator was given"
        );
    }
    // Lazy parameters draw their initial values now, from (seed, 0), not inside step 1.
    seed_devices(&model.devices(), device_seed(cfg.seed, 0));
    init_lazy_params(&model);
    let out = &opts.out_dir;
    let config_json = serde_json::to_value(cfg).unwrap_or(serde_json::Value::Null);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut start = 0;
    let mut skipped = 0;
    let mut resumed_from = None;
    if opts.resume {
        let removed = clean_tmp_dirs(out)?;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed incomplete temporary checkpoint directories"
            );
        }
        if let Some((step, dir)) = latest_checkpoint(out)? {
            let (m, o, state) = load_checkpoint(&dir, model, optim)?;
            model = m;
            optim = o;
            rng = state
                .rng
                .restore()
                .ok_or_else(|| TrainError::ckpt(&dir, "malformed RNG state"))?;
            data.restore(&state.data_cursor)
                .map_err(|e| TrainError::Data {
                    step,
                    message: e.to_string(),
                })?;
            start = step;
            skipped = state.skipped_steps;
            resumed_from = Some(step);
            tracing::info!(step, dir = %dir.display(), "resuming");
        }
    }
    let devices = opts.devices.clone();
    if let Some(main) = devices.first()
        && model.devices() != [main.clone()]
    {
        model = model.fork(main);
    }
    let seeded = if devices.is_empty() {
        model.devices()
    } else {
        devices.clone()
    };
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
        let bad_loss = sg.bad_loss;
        let micro = f64::from(sg.micro);
        let loss = sg.loss_sum / micro;
        last_loss = loss;
        let mut grads = sg.grads;
        let grad_norm = if bad_loss {
            f64::NAN
        } else {
            clip_global_norm(&model, &mut grads, cfg.clip_grad_norm)
        };
        let bad = if bad_loss {
            Some("loss")
        } else if !grad_norm.is_finite() {
            Some("grad_norm")
        } else {
            None
        };
        match (bad, cfg.nan_policy) {
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

        let val_due = (cfg.val_every > 0 && step % cfg.val_every == 0) || step == cfg.max_steps;
        let val = match validator.as_deref_mut() {
            Some(v) if val_due => {
                let r = v
                    .validate(&model.valid())
                    .map_err(|e| TrainError::Validation {
                        step,
                        message: e.to_string(),
                    })?;
                last_val = Some((step, r.clone()));
                Some(r)
            }
            _ => None,
        };

        if step == 1 || step % cfg.log_every == 0 || step == end || val.is_some() {
            let sec_per_step = window_start.elapsed().as_secs_f64() / window_steps as f64;
            let terms = sg
                .term_sums
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
            for (k, v) in val.iter().flatten() {
                extra.insert(format!("val_{k}"), serde_json::json!(v));
                val_text.push_str(&format!(" val_{k} {v:.5}"));
            }
            metrics.write(&MetricsRow {
                step,
                loss,
                lr,
                grad_norm,
                sec_per_step,
                skipped_steps: skipped,
                terms,
                extra,
            })?;
            let line = format!(
                "step {step}/{} loss {loss:.5} lr {lr:.3e} grad_norm {grad_norm:.4}{val_text} {:.2} steps/s",
                cfg.max_steps,
                1.0 / sec_per_step.max(1e-12)
            );
            match (&bar, opts.progress) {
                (Some(b), _) => b.set_message(line),
                (None, ProgressMode::Off) => {}
                (None, _) => eprintln!("{line}"),
            }
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
