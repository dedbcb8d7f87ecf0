//! Times DistilHuBERT distillation steps on the CPU backend (flex) and prints JSON medians,
//! the per-phase split (teacher forward, student forward + loss, backward, clipping, AdamW)
//! and the process's peak resident memory.
//!
//! The step (Chang et al. 2022, "DistilHuBERT", arXiv:2110.01900; s3prl
//! `pretrain/distiller`): a HuBERT Base teacher (random init) runs up to layer 12 on the plain
//! device; the DistilHuBERT student (2 × 768, initialised from the teacher's front-end,
//! projection, positional conv and first 2 layers, `feature_grad_mult` 0.1) predicts teacher
//! layers 4, 8 and 12 through its prediction heads; loss = L1 + (−log σ(cos)) averaged over the
//! 3 targets; backward; global-norm clipping at 5.0; AdamW (lr 2e-4, betas (0.9, 0.98),
//! eps 1e-6, weight decay 0.01).
//!
//! Used by `tools/bench/distill_vs_pytorch.py`, which times the same step in PyTorch in the
//! same run. The criterion twin is `benches/distill_step.rs`.
//!
//! `cargo run --release --example distill_step_timing -- [--steps N] [--batch B]
//! [--seconds S] [--device flex|tch] [--smoke]` (defaults: 5 timed steps after one warm-up step, batch 8 × 4 s, flex;
//! `--smoke` runs one step on 1 × 1 s).

use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Distribution, Tensor};
use ssl_distill_losses::{compute, distilhubert_terms};
use ssl_distill_models::{SslConfig, SslInput, SslModel};
use ssl_distill_students::{Student, StudentConfig};
use ssl_distill_train::{TrainConfig, adamw_from_config, clip_global_norm};

#[path = "timing/mod.rs"]
mod timing;

use timing::{device, median};

/// Teacher layers the student predicts (HF `hidden_states` indices).
const TARGETS: [usize; 3] = [4, 8, 12];
/// Global gradient-norm bound (DistilHuBERT's `gradient_clipping`).
const MAX_GRAD_NORM: f64 = 5.0;
/// Learning rate (constant here: the schedule costs nothing).
const LR: f64 = 2e-4;

struct Args {
    steps: usize,
    batch: usize,
    seconds: f64,
    device: String,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        steps: 5,
        batch: 8,
        seconds: 4.0,
        device: "flex".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--steps" => args.steps = value("--steps")?.parse().context("--steps")?,
            "--batch" => args.batch = value("--batch")?.parse().context("--batch")?,
            "--seconds" => args.seconds = value("--seconds")?.parse().context("--seconds")?,
            "--device" => args.device = value("--device")?,
            "--smoke" => {
                args.steps = 1;
                args.batch = 1;
                args.seconds = 1.0;
            }
            other => {
                bail!(
                    "unknown argument {other:?} (expected --steps, --batch, --seconds, --device, --smoke)"
                )
            }
        }
    }
    if args.steps == 0 || args.batch == 0 || args.seconds < 0.025 {
        bail!("--steps and --batch must be >= 1 and --seconds >= 0.025 (400 samples)");
    }
    Ok(args)
}

/// Peak resident set size of this process so far, in MiB (`VmHWM`; 0 where unavailable).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Seconds spent in each phase of one step.
#[derive(Default)]
struct Phases {
    teacher: f64,
    student_forward_loss: f64,
    backward: f64,
    clip: f64,
    optim: f64,
    total: f64,
}

/// One distillation step; returns the updated student, the loss and the phase times.
fn step(
    teacher: &SslModel,
    student: Student,
    optim: &mut burn::optim::ModuleOptimizer,
    wave: &Tensor<2>,
) -> Result<(Student, f32, Phases)> {
    let mut p = Phases::default();
    let start = Instant::now();

    let t = Instant::now();
    let hidden = teacher
        .forward_until(SslInput::new(wave.clone()), TARGETS[2])
        .hidden_states;
    // Plain tensors enter the student's graph as constants.
    let targets: Vec<Tensor<3>> = TARGETS
        .iter()
        .map(|&l| hidden[l].clone().autodiff())
        .collect();
    drop(hidden);
    p.teacher = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let predictions = student
        .forward(SslInput::new(wave.clone().autodiff()))
        .predictions;
    let terms = distilhubert_terms();
    let mut loss: Option<Tensor<1>> = None;
    for (pred, target) in predictions.into_iter().zip(targets) {
        let l = compute(&terms, pred, target, None, None)?.total;
        loss = Some(match loss {
            Some(acc) => acc + l,
            None => l,
        });
    }
    let loss = loss.context("no target")? / TARGETS.len() as f32;
    let value = loss.clone().into_scalar::<f32>();
    p.student_forward_loss = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut grads = GradientsParams::from_grads(loss.backward(), &student);
    p.backward = t.elapsed().as_secs_f64();

    let t = Instant::now();
    clip_global_norm(&student, &mut grads, MAX_GRAD_NORM);
    p.clip = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let student = optim.step(LR, student, grads);
    p.optim = t.elapsed().as_secs_f64();

    p.total = start.elapsed().as_secs_f64();
    Ok((student, value, p))
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let train_device = device(&args.device)?.autodiff();
    let plain = train_device.clone().inner();

    let setup = Instant::now();
    let teacher = SslConfig::hubert_base().init(&plain);
    let student = StudentConfig::distilhubert()
        .init(&plain)?
        .init_from_teacher(&teacher, 2)?;
    let mut student = student.to_device(&train_device).train();
    let mut optim = adamw_from_config(&TrainConfig {
        lr: LR,
        weight_decay: 0.01,
        clip_grad_norm: MAX_GRAD_NORM,
        ..TrainConfig::default()
    });
    let samples = (args.seconds * 16_000.0).round() as usize;
    let wave = Tensor::<2>::random(
        [args.batch, samples],
        Distribution::Normal(0.0, 0.1),
        &plain,
    );
    let setup_s = setup.elapsed().as_secs_f64();
    let rss_setup = peak_rss_mib();

    let mut losses = Vec::new();
    let mut phases = Vec::new();
    for _ in 0..=args.steps {
        let (s, loss, p) = step(&teacher, student, &mut optim, &wave)?;
        student = s;
        losses.push(loss);
        phases.push(p);
    }
    let first = phases.remove(0); // warm-up step
    let med = |f: fn(&Phases) -> f64| median(phases.iter().map(f).collect());
    let out = serde_json::json!({
        "batch": args.batch,
        "seconds": args.seconds,
        "steps": args.steps,
        "threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "setup_s": setup_s,
        "first_step_s": first.total,
        "median_s": med(|p| p.total),
        "teacher_median_s": med(|p| p.teacher),
        "student_forward_loss_median_s": med(|p| p.student_forward_loss),
        "backward_median_s": med(|p| p.backward),
        "clip_median_s": med(|p| p.clip),
        "optim_median_s": med(|p| p.optim),
        "step_s": phases.iter().map(|p| p.total).collect::<Vec<_>>(),
        "losses": losses,
        "student_params": student.num_params(),
        "rss_after_setup_mib": rss_setup,
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{out}");
    Ok(())
}
