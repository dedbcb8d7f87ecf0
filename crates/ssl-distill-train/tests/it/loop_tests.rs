use std::fs;

use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use ssl_distill_train::*;

use crate::toy::{Mlp, Synth, device, weight_bytes};

pub fn cfg() -> TrainConfig {
    TrainConfig {
        max_steps: 20,
        lr: 1e-2,
        warmup_steps: Some(4),
        clip_grad_norm: 0.5,
        grad_accum: 2,
        checkpoint_every: 5,
        keep_last_n: 2,
        log_every: 1,
        seed: 7,
        ..Default::default()
    }
}

pub fn opts(dir: &std::path::Path) -> RunOptions {
    RunOptions {
        progress: ProgressMode::Off,
        ..RunOptions::new(dir)
    }
}

pub fn data() -> Synth {
    Synth {
        idx: 0,
        device: device(),
        nan_at: None,
    }
}

#[test]
fn global_norm_clipping_matches_hand_computation() {
    let _serial = crate::toy::serial();
    let dev = device();
    let m = Mlp::new(&dev);
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.5f32, -1.0, 2.0, 1.0, 0.0, -0.5], [2, 3]),
        &dev,
    );
    let y = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, -1.0, 0.5], [2, 2]), &dev);
    let out = m.loss(&(x, y));
    let mut g = GradientsParams::from_grads(out.loss.backward(), &m);
    let ids = burn::module::list_param_ids(&m);
    let flat = |g: &GradientsParams| -> Vec<f32> {
        let mut v = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let t: Vec<f32> = if i % 2 == 0 {
                g.get::<2>(*id)
                    .unwrap()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()
            } else {
                g.get::<1>(*id)
                    .unwrap()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()
            };
            v.extend(t);
        }
        v
    };
    let before = flat(&g);
    let hand = before
        .iter()
        .map(|v| f64::from(*v).powi(2))
        .sum::<f64>()
        .sqrt();
    let max = hand / 4.0;
    let norm = clip_global_norm(&m, &mut g, max);
    assert!((norm - hand).abs() < 1e-5 * hand, "{norm} vs {hand}");
    let after = flat(&g);
    let factor = max / (hand + 1e-6);
    for (a, b) in after.iter().zip(&before) {
        assert!(
            (f64::from(*a) - f64::from(*b) * factor).abs() < 1e-6,
            "{a} {b}"
        );
    }
    let after_norm = after
        .iter()
        .map(|v| f64::from(*v).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((after_norm - max).abs() < 1e-5 * max);
}

#[test]
fn resume_is_bit_exact_and_metrics_have_no_duplicates() {
    let _serial = crate::toy::serial();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let straight = train(&cfg(), &opts(a.path()), Mlp::new(&device()), &mut data()).unwrap();
    assert_eq!(straight.step, 20);

    // Interrupted at 12 (checkpoint at 10 and at the stop step 12); then simulate losing step 12
    // (as if killed after writing metrics rows 11-12 but before its checkpoint).
    let first = RunOptions {
        stop_after: Some(12),
        ..opts(b.path())
    };
    train(&cfg(), &first, Mlp::new(&device()), &mut data()).unwrap();
    fs::remove_file(checkpoint_dir(b.path(), 12).join("meta.json")).unwrap();
    fs::create_dir_all(b.path().join("checkpoints/step-15.tmp-99999")).unwrap();
    let resumed_opts = RunOptions {
        resume: true,
        ..opts(b.path())
    };
    // A fresh model with different init and ParamIds: everything must come from the checkpoint.
    let resumed = train(&cfg(), &resumed_opts, Mlp::new(&device()), &mut data()).unwrap();
    assert_eq!(resumed.resumed_from, Some(10));
    assert!(!b.path().join("checkpoints/step-15.tmp-99999").exists());
    assert_eq!(weight_bytes(&straight.model), weight_bytes(&resumed.model));

    let rows_a = read_metrics(&a.path().join("metrics.jsonl")).unwrap();
    let rows_b = read_metrics(&b.path().join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = rows_b.iter().map(|r| r.step).collect();
    assert_eq!(steps, (1..=20).collect::<Vec<_>>());
    for (ra, rb) in rows_a.iter().zip(&rows_b) {
        assert_eq!(
            (ra.loss, ra.lr, ra.grad_norm),
            (rb.loss, rb.lr, rb.grad_norm)
        );
        assert_eq!(ra.terms, rb.terms);
    }
    // keep_last_n = 2.
    let kept: Vec<u64> = complete_checkpoints(b.path())
        .unwrap()
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(kept, vec![15, 20]);
    // Loss went down.
    assert!(rows_a[19].terms["mse"].as_f64().unwrap() < rows_a[0].terms["mse"].as_f64().unwrap());
}

#[test]
fn nan_stop_keeps_last_good_checkpoint() {
    let _serial = crate::toy::serial();
    let d = tempfile::tempdir().unwrap();
    // Batch 13 is the first micro-batch of step 7 (grad_accum 2).
    let mut src = Synth {
        nan_at: Some(12),
        ..data()
    };
    let e = train(&cfg(), &opts(d.path()), Mlp::new(&device()), &mut src).unwrap_err();
    match e {
        TrainError::NonFinite { step, what } => assert_eq!((step, what), (7, "loss")),
        other => panic!("{other:?}"),
    }
    let (step, dir) = latest_checkpoint(d.path()).unwrap().unwrap();
    assert_eq!(step, 5);
    let (m, _, state) =
        load_checkpoint(&dir, Mlp::new(&device()), adamw_from_config(&cfg())).unwrap();
    assert_eq!(state.step, 5);
    assert_eq!(state.data_cursor["idx"], 10);
    assert!(weight_bytes(&m).iter().all(|b| !b.is_empty()));
}

#[test]
fn nan_skip_counts_and_continues() {
    let _serial = crate::toy::serial();
    let d = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        nan_policy: NanPolicy::SkipStep,
        ..cfg()
    };
    let mut src = Synth {
        nan_at: Some(12),
        ..data()
    };
    let out = train(&c, &opts(d.path()), Mlp::new(&device()), &mut src).unwrap();
    assert_eq!(out.skipped_steps, 1);
    assert_eq!(out.step, 20);
    assert!(out.last_loss.is_finite());
    let rows = read_metrics(&d.path().join("metrics.jsonl")).unwrap();
    assert!(rows[6].loss.is_nan() && rows[6].skipped_steps == 1 && rows[5].skipped_steps == 0);
    for b in weight_bytes(&out.model) {
        let v: Vec<f32> = b
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert!(v.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn latest_ignores_incomplete_and_tmp_dirs() {
    let _serial = crate::toy::serial();
    let d = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        max_steps: 5,
        keep_last_n: 0,
        ..cfg()
    };
    train(&c, &opts(d.path()), Mlp::new(&device()), &mut data()).unwrap();
    fs::create_dir_all(d.path().join("checkpoints/step-9")).unwrap();
    fs::create_dir_all(d.path().join("checkpoints/step-7.tmp-123")).unwrap();
    fs::write(d.path().join("checkpoints/step-7.tmp-123/meta.json"), "{}").unwrap();
    let (step, _) = latest_checkpoint(d.path()).unwrap().unwrap();
    assert_eq!(step, 5);
    assert_eq!(clean_tmp_dirs(d.path()).unwrap(), 1);
    assert!(
        d.path()
            .join("checkpoints/step-5/model.safetensors")
            .is_file()
    );
}

/// A run shorter than `log_every` still logs its first and last steps (the starting loss).
#[test]
fn short_run_logs_the_first_and_last_step() {
    let _serial = crate::toy::serial();
    let dir = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        max_steps: 7,
        log_every: 50,
        checkpoint_every: 0,
        ..cfg()
    };
    let out = train(&c, &opts(dir.path()), Mlp::new(&device()), &mut data()).unwrap();
    let rows = read_metrics(&dir.path().join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = rows.iter().map(|r| r.step).collect();
    assert_eq!(steps, vec![1, 7]);
    assert_eq!(rows[1].loss, out.last_loss);
    assert_ne!(rows[0].loss, rows[1].loss);
}
