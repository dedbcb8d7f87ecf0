//! Data parallel over `RunOptions::devices`, exercised on CPU with the one flex device listed
//! twice (burn 0.22.1 has a single flex device; see docs/multi-device.md). This checks the
//! arithmetic of the data-parallel path (micro-batch split, loss scaling, gradient transfer and
//! sum, seeding), not a speed-up.

use burn::tensor::Device;
use ssl_distill_train::*;

use crate::loop_tests::{cfg, data, opts};
use crate::toy::{Mlp, Samples, device, weight_bytes, weight_values};

fn two() -> Vec<Device> {
    vec![device(), device()]
}

#[test]
fn two_devices_equal_one_device_with_twice_the_accumulation_bit_for_bit() {
    let _serial = crate::toy::serial();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let one = TrainConfig {
        grad_accum: 4,
        ..cfg()
    };
    let par = TrainConfig {
        grad_accum: 2,
        ..cfg()
    };
    let m0 = Mlp::with_dropout(&device(), 0.2);
    let single = train(&one, &opts(a.path()), m0.clone(), &mut data()).unwrap();
    let multi_opts = RunOptions {
        devices: two(),
        ..opts(b.path())
    };
    let multi = train(&par, &multi_opts, m0, &mut data()).unwrap();
    assert_eq!(weight_bytes(&single.model), weight_bytes(&multi.model));
    let ra = read_metrics(&a.path().join("metrics.jsonl")).unwrap();
    let rb = read_metrics(&b.path().join("metrics.jsonl")).unwrap();
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!((x.loss, x.grad_norm), (y.loss, y.grad_norm));
        assert_eq!(x.terms, y.terms);
    }
}

/// 2 devices x batch 2 against 1 device x batch 4, 8 steps of AdamW with global-norm clipping.
/// Only float rounding differs (a mean of two means of 2 against one mean of 4, and gradient
/// sums in another order): the stated tolerance is 1e-5 absolute on every weight.
#[test]
fn two_devices_of_batch_b_match_one_device_of_batch_2b() {
    let _serial = crate::toy::serial();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        max_steps: 8,
        grad_accum: 1,
        ..cfg()
    };
    let src = |per_batch| Samples {
        idx: 0,
        per_batch,
        device: device(),
    };
    let m0 = Mlp::new(&device());
    let w0 = weight_values(&m0);
    let big = train(&c, &opts(a.path()), m0.clone(), &mut src(4)).unwrap();
    let par_opts = RunOptions {
        devices: two(),
        ..opts(b.path())
    };
    let split = train(&c, &par_opts, m0, &mut src(2)).unwrap();
    let (wa, wb) = (weight_values(&big.model), weight_values(&split.model));
    let mut max_diff = 0.0f32;
    let mut max_move = 0.0f32;
    for t in 0..4 {
        for i in 0..wa[t].len() {
            max_diff = max_diff.max((wa[t][i] - wb[t][i]).abs());
            max_move = max_move.max((wa[t][i] - w0[t][i]).abs());
        }
    }
    assert!(max_diff <= 1e-5, "max |diff| {max_diff}");
    assert!(max_move > 1e-3, "the weights must have moved ({max_move})");
    let ra = read_metrics(&a.path().join("metrics.jsonl")).unwrap();
    let rb = read_metrics(&b.path().join("metrics.jsonl")).unwrap();
    for (x, y) in ra.iter().zip(&rb) {
        assert!(
            (x.loss - y.loss).abs() <= 1e-5 * x.loss.abs(),
            "{} {}",
            x.loss,
            y.loss
        );
    }
}

#[test]
fn data_parallel_resume_is_bit_exact() {
    let _serial = crate::toy::serial();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        grad_accum: 1,
        ..cfg()
    };
    let par = |dir: &std::path::Path| RunOptions {
        devices: two(),
        ..opts(dir)
    };
    let straight = train(&c, &par(a.path()), Mlp::new(&device()), &mut data()).unwrap();
    let first = RunOptions {
        stop_after: Some(7),
        ..par(b.path())
    };
    train(&c, &first, Mlp::new(&device()), &mut data()).unwrap();
    let again = RunOptions {
        resume: true,
        ..par(b.path())
    };
    let resumed = train(&c, &again, Mlp::new(&device()), &mut data()).unwrap();
    assert_eq!(resumed.resumed_from, Some(7));
    assert_eq!(weight_bytes(&straight.model), weight_bytes(&resumed.model));
}

#[test]
fn non_autodiff_device_is_rejected() {
    let _serial = crate::toy::serial();
    let d = tempfile::tempdir().unwrap();
    let o = RunOptions {
        devices: vec![device(), Device::flex()],
        ..opts(d.path())
    };
    match train(&cfg(), &o, Mlp::new(&device()), &mut data()).unwrap_err() {
        TrainError::Device { index, .. } => assert_eq!(index, 1),
        other => panic!("{other:?}"),
    }
}

/// burn's collectives (`DistributedContext`, `all_reduce`) are not implemented for flex: the
/// dispatch only has arms for collective-capable backends (`distributed: true` in
/// burn-backend-extension 0.22.1 `src/catalog.rs`: Cube, Remote). If this starts failing, burn
/// gained CPU collectives: revisit docs/multi-device.md.
#[test]
fn burn_collectives_are_unavailable_on_flex() {
    let _serial = crate::toy::serial();
    use burn::tensor::Tensor;
    use burn::tensor::distributed::{
        DistributedConfig, DistributedContext, ReduceOperation, all_reduce,
    };
    let msg = |r: std::thread::Result<()>| -> String {
        let e = r.expect_err("expected a panic");
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    };
    let init = std::panic::catch_unwind(|| {
        let _ctx = DistributedContext::init(
            two(),
            DistributedConfig {
                all_reduce_op: ReduceOperation::Mean,
            },
        );
    });
    let m = msg(init);
    assert!(
        m.contains("Distributed operations are not supported"),
        "{m}"
    );
    let reduce = std::panic::catch_unwind(|| {
        let t = Tensor::<1>::from_floats([1.0, 2.0], &device());
        let _ = all_reduce(t, ReduceOperation::Sum, two()).resolve();
    });
    let m = msg(reduce);
    assert!(
        m.contains("Distributed operations are not supported"),
        "{m}"
    );
}
