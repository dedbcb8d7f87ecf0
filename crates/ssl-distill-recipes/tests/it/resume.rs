//! An interrupted and resumed run ends with the same student as an uninterrupted one, bit for
//! bit on the CPU, also across a stage boundary; a fresh run never overwrites an old one.

use std::path::Path;

use crate::common::{run_config, small_recipe, write_audio, write_teacher};

/// The saved student's tensors as raw bits by name (not the file's bytes: burn writes its
/// safetensors metadata map in arbitrary order).
fn student_bytes(out: &Path) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    let dict =
        ssl_distill_models::read_safetensors(&out.join("student/model.safetensors")).unwrap();
    dict.into_iter()
        .map(|(k, t)| (k, t.shape, t.data.iter().map(|v| v.to_bits()).collect()))
        .collect()
}

/// Runs `name` for `steps` straight, and again stopped after each of `stops` (resuming each
/// time); both must save identical students.
fn resumed_equals_uninterrupted(name: &str, steps: u64, stops: &[u64]) {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_teacher(&teacher, false);
    let data = write_audio(&tmp.path().join("audio"), 10, 1.2);
    let mut recipe = small_recipe(name, &teacher, &data, steps);
    recipe.train.checkpoint_every = 3;
    recipe.data.batch_size = 3;

    let straight = tmp.path().join("straight");
    ssl_distill_recipes::run(&recipe, &run_config(name, &straight)).unwrap();

    let split = tmp.path().join("split");
    for (i, &stop) in stops.iter().enumerate() {
        let mut cfg = run_config(name, &split);
        cfg.resume = i > 0;
        cfg.stop_after = Some(stop);
        let report = ssl_distill_recipes::run(&recipe, &cfg).unwrap();
        assert!(report.student_dir.is_none(), "stopped runs save no student");
    }
    let mut cfg = run_config(name, &split);
    cfg.resume = true;
    let report = ssl_distill_recipes::run(&recipe, &cfg).unwrap();
    assert!(report.student_dir.is_some());
    assert!(
        student_bytes(&straight) == student_bytes(&split),
        "{name}: the resumed student differs from the uninterrupted one"
    );
    let a = std::fs::read_to_string(straight.join("metrics.jsonl")).unwrap();
    let b = std::fs::read_to_string(split.join("metrics.jsonl")).unwrap();
    let losses = |t: &str| -> Vec<f64> {
        t.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"]
                    .as_f64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(losses(&a), losses(&b), "{name}: logged losses differ");
}

#[test]
fn distilhubert_resume_is_exact() {
    let _serial = crate::common::serial();
    resumed_equals_uninterrupted("distilhubert", 8, &[4]);
}

#[test]
fn two_stage_resume_is_exact_across_the_stage_boundary() {
    let _serial = crate::common::serial();
    // 10 steps: stage 1 gets 1, stage 2 gets 9. Stop inside stage 2, then at a step that is
    // not a checkpoint multiple.
    resumed_equals_uninterrupted("wang-disc-fbank", 10, &[1, 5, 7]);
}

#[test]
fn a_fresh_run_refuses_an_output_directory_with_checkpoints() {
    let _serial = crate::common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_teacher(&teacher, false);
    let data = write_audio(&tmp.path().join("audio"), 4, 1.0);
    let recipe = small_recipe("distilhubert", &teacher, &data, 2);
    let out = tmp.path().join("run");
    ssl_distill_recipes::run(&recipe, &run_config("distilhubert", &out)).unwrap();
    let before = student_bytes(&out);
    let err = ssl_distill_recipes::run(&recipe, &run_config("distilhubert", &out)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("--resume") && msg.contains("run"), "{msg}");
    assert_eq!(before, student_bytes(&out), "the old run is untouched");
}
