use std::fs;

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ssl_distill_train::*;

use crate::loop_tests::{cfg, data, opts};
use crate::toy::{Mlp, Synth, device, weight_bytes};

/// A held-out batch, built on `dev`.
fn held_out(dev: &burn::tensor::Device) -> (Tensor<2>, Tensor<2>) {
    let mut s = Synth {
        idx: 10_000,
        device: dev.clone(),
        nan_at: None,
    };
    s.next_batch(&mut ChaCha8Rng::seed_from_u64(1)).unwrap()
}

/// MSE on the held-out batch. It also draws device random numbers on purpose: validation must
/// not change training even when it uses the device RNG.
fn validator(
    calls: &mut Vec<u64>,
) -> impl FnMut(&Mlp) -> Result<Vec<(String, f64)>, ValidationError> + '_ {
    move |m: &Mlp| {
        let dev = m.devices()[0].clone();
        assert!(!dev.is_autodiff(), "the validator must get model.valid()");
        let _noise = Tensor::<1>::random([64], Distribution::Default, &dev).sum();
        let mse = f64::from(m.mse(&held_out(&dev)).into_scalar::<f32>());
        calls.push(mse.to_bits());
        Ok(vec![
            ("mse".into(), mse),
            ("calls".into(), calls.len() as f64),
        ])
    }
}

#[test]
fn validation_does_not_change_training_and_fills_rows() {
    let _serial = crate::toy::serial();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        max_steps: 12,
        val_every: 5,
        log_every: 3,
        ..cfg()
    };
    // Dropout is on in training: the device RNG matters.
    let m0 = Mlp::with_dropout(&device(), 0.2);
    let plain = train(&c, &opts(a.path()), m0.clone(), &mut data()).unwrap();
    let mut calls = Vec::new();
    let mut v = validator(&mut calls);
    let with_val = train_with_validation(
        &c,
        &opts(b.path()),
        m0,
        adamw_from_config(&c),
        &mut data(),
        Some(&mut v),
    )
    .unwrap();
    assert_eq!(weight_bytes(&plain.model), weight_bytes(&with_val.model));
    assert!(plain.validation.is_none());

    // Rows: step 1, every log_every, every val_every, and the last step (validated too).
    let rows_a = read_metrics(&a.path().join("metrics.jsonl")).unwrap();
    let rows_b = read_metrics(&b.path().join("metrics.jsonl")).unwrap();
    let steps_b: Vec<u64> = rows_b.iter().map(|r| r.step).collect();
    assert_eq!(steps_b, vec![1, 3, 5, 6, 9, 10, 12]);
    let val_steps: Vec<u64> = rows_b
        .iter()
        .filter(|r| r.extra.contains_key("val_mse"))
        .map(|r| r.step)
        .collect();
    assert_eq!(val_steps, vec![5, 10, 12]);
    assert_eq!(rows_b[6].extra["val_calls"], 3.0);
    for ra in &rows_a {
        let rb = rows_b.iter().find(|r| r.step == ra.step).unwrap();
        assert_eq!((ra.loss, ra.grad_norm), (rb.loss, rb.grad_norm));
        assert!(!ra.extra.contains_key("val_mse"));
    }

    // The last value is the final model's held-out MSE (dropout off in valid mode).
    let (step, last) = with_val.validation.clone().unwrap();
    assert_eq!(step, 12);
    let valid = with_val.model.valid();
    let dev = valid.devices()[0].clone();
    let want = f64::from(valid.mse(&held_out(&dev)).into_scalar::<f32>());
    assert_eq!(last[0], ("mse".to_string(), want));
    assert_eq!(rows_b[6].extra["val_mse"].as_f64().unwrap(), want);
}

#[test]
fn resume_with_validation_is_exact() {
    let _serial = crate::toy::serial();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        max_steps: 20,
        val_every: 5,
        ..cfg()
    };
    let mut calls = Vec::new();
    let mut v = validator(&mut calls);
    let straight = train_with_validation(
        &c,
        &opts(a.path()),
        Mlp::with_dropout(&device(), 0.2),
        adamw_from_config(&c),
        &mut data(),
        Some(&mut v),
    )
    .unwrap();

    // Stopped at 12 (validated at 5 and 10), step-12 checkpoint lost, resumed from 10 with a
    // fresh model and a fresh validator.
    let first = RunOptions {
        stop_after: Some(12),
        ..opts(b.path())
    };
    let mut calls_b = Vec::new();
    let mut vb = validator(&mut calls_b);
    let out = train_with_validation(
        &c,
        &first,
        Mlp::with_dropout(&device(), 0.2),
        adamw_from_config(&c),
        &mut data(),
        Some(&mut vb),
    )
    .unwrap();
    assert_eq!(out.validation.as_ref().map(|v| v.0), Some(10));
    fs::remove_file(checkpoint_dir(b.path(), 12).join("meta.json")).unwrap();
    let again = RunOptions {
        resume: true,
        ..opts(b.path())
    };
    let mut calls_c = Vec::new();
    let mut vc = validator(&mut calls_c);
    let resumed = train_with_validation(
        &c,
        &again,
        Mlp::with_dropout(&device(), 0.2),
        adamw_from_config(&c),
        &mut data(),
        Some(&mut vc),
    )
    .unwrap();
    assert_eq!(resumed.resumed_from, Some(10));
    assert_eq!(weight_bytes(&straight.model), weight_bytes(&resumed.model));
    // Same final held-out MSE (the fresh validator's own call count differs, by design).
    let (sa, va) = straight.validation.unwrap();
    let (sb, vb) = resumed.validation.unwrap();
    assert_eq!((sa, &va[0]), (sb, &vb[0]));

    let rows_a = read_metrics(&a.path().join("metrics.jsonl")).unwrap();
    let rows_b = read_metrics(&b.path().join("metrics.jsonl")).unwrap();
    assert_eq!(
        rows_b.iter().map(|r| r.step).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    let val = |rows: &[MetricsRow]| -> Vec<(u64, f64)> {
        rows.iter()
            .filter_map(|r| Some((r.step, r.extra.get("val_mse")?.as_f64()?)))
            .collect()
    };
    assert_eq!(val(&rows_a).len(), 4);
    assert_eq!(val(&rows_a), val(&rows_b));
}

#[test]
fn validator_error_stops_the_run() {
    let _serial = crate::toy::serial();
    let d = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        max_steps: 6,
        val_every: 4,
        ..cfg()
    };
    let mut failing = |_: &Mlp| -> Result<Vec<(String, f64)>, ValidationError> {
        Err("held-out set missing".into())
    };
    let e = train_with_validation(
        &c,
        &opts(d.path()),
        Mlp::new(&device()),
        adamw_from_config(&c),
        &mut data(),
        Some(&mut failing),
    )
    .unwrap_err();
    match e {
        TrainError::Validation { step, message } => {
            assert_eq!(step, 4);
            assert!(message.contains("held-out"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
