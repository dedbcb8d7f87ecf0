//! Data parallelism at the recipe level: a DistilHuBERT run on 2 devices × batch 2 makes the same
//! updates as one device × batch 4 (the CPU has one flex device, listed twice: this checks the
//! arithmetic of the split, the teacher batches handed to each replica and the gradient sum).

use std::path::Path;

use burn::tensor::Device;

use crate::common::{run_config, small_recipe, write_audio, write_teacher};

fn weights(out: &Path) -> Vec<(String, Vec<f32>)> {
    ssl_distill_models::read_safetensors(&out.join("student/model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.data))
        .collect()
}

/// Every utterance (1.5 s) is longer than the crop (1 s), so no row is padded and the mean loss
/// of a batch of 4 is the mean of the two batches of 2: only float rounding differs. Stated
/// tolerance: 2e-5 absolute on every weight after 6 AdamW steps, while the weights move by more
/// than 1e-3.
#[test]
fn two_devices_of_batch_2_match_one_device_of_batch_4() {
    let _serial = crate::common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_teacher(&teacher, false);
    let data = write_audio(&tmp.path().join("audio"), 16, 1.5);

    let mut big = small_recipe("distilhubert", &teacher, &data, 6);
    big.data.batch_size = 4;
    let one = tmp.path().join("one");
    ssl_distill_recipes::run(&big, &run_config("distilhubert", &one)).unwrap();

    let mut small = big.clone();
    small.data.batch_size = 2;
    let two = tmp.path().join("two");
    let mut cfg = run_config("distilhubert", &two);
    cfg.data_parallel = vec![Device::flex()];
    ssl_distill_recipes::run(&small, &cfg).unwrap();

    // The initial weights: one step at a negligible learning rate (the config refuses lr 0).
    let init = tmp.path().join("init");
    let mut zero = big.clone();
    zero.train.max_steps = 1;
    zero.train.lr = 1e-30;
    ssl_distill_recipes::run(&zero, &run_config("distilhubert", &init)).unwrap();

    let (a, b, w0) = (weights(&one), weights(&two), weights(&init));
    let (mut max_diff, mut max_move) = (0.0f32, 0.0f32);
    for (((ka, va), (kb, vb)), (_, v0)) in a.iter().zip(&b).zip(&w0) {
        assert_eq!(ka, kb);
        for ((x, y), z) in va.iter().zip(vb).zip(v0) {
            max_diff = max_diff.max((x - y).abs());
            max_move = max_move.max((x - z).abs());
        }
    }
    assert!(max_diff <= 2e-5, "max |diff| {max_diff}");
    assert!(max_move > 1e-3, "the weights must have moved ({max_move})");
    let losses = |dir: &Path| -> Vec<f64> {
        ssl_distill_train::read_metrics(&dir.join("metrics.jsonl"))
            .unwrap()
            .iter()
            .map(|r| r.loss)
            .collect()
    };
    for (x, y) in losses(&one).iter().zip(losses(&two)) {
        assert!((x - y).abs() <= 1e-5 * x.abs(), "loss {x} vs {y}");
    }
}
