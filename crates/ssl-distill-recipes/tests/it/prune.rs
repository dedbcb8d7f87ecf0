//! DPHuBERT-style structured pruning through the recipes (SKILL's clustered targets on top):
//! stage 1 distils and prunes to the target size, the student is pruned physically, stage 2
//! distils the smaller student; the saved student loads back with its per-layer shapes.

use ssl_distill_recipes::DistillReport;
use ssl_distill_students::Student;

use crate::common::{first_last_mean, run_config, small_recipe, write_audio, write_teacher};

/// Steps of the whole run (two thirds pruning, one third final distillation).
const STEPS: u64 = 300;
/// The pruned backbone's size must be within this fraction of the target.
const SIZE_TOLERANCE: f64 = 0.02;
/// Each stage's mean loss over its last 5 steps must be below `(1 - MARGIN)` times its first 5.
const MARGIN: f64 = 0.2;

/// Runs `recipes/NAME.toml` for [`STEPS`] steps on the toy teacher and checks the pruning:
/// the physically pruned student's size within [`SIZE_TOLERANCE`] of the target, the loss
/// falling in both stages, and the saved student loading back with its shapes. Returns the
/// report and the final `student.json`.
pub fn prunes_to_target_and_learns(name: &str) -> (DistillReport, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_teacher(&teacher, false);
    let data = write_audio(&tmp.path().join("audio"), 16, 1.5);
    let out = tmp.path().join("run");
    let mut recipe = small_recipe(name, &teacher, &data, STEPS);
    // The recipes' final-stage lr (1e-4) is for 25k steps, like their 2e-4 for 200k.
    for stage in &mut recipe.stages {
        stage.lr = None;
    }
    // 200 pruning steps instead of 50k: gates that start nearer to closing (log α 2.2 instead
    // of 4.6) and slower multipliers, so λ does not wind up while the gates travel.
    let prune = recipe.prune.as_mut().unwrap();
    prune.init_drop_rate = 0.1;
    prune.lambda_lr_scale = 20.0;
    let started = std::time::Instant::now();
    let report = ssl_distill_recipes::run(&recipe, &run_config(name, &out)).unwrap();
    let pruning = report.pruning.clone().expect("the pruning stage completed");
    let target = pruning.target_params as f64;
    let reached = pruning.pruned_params as f64;
    println!(
        "{name}: {} -> target {} / expected {:.0} / pruned {} params ({:+.2}%), conv {:?}, \
         layers (heads, ffn) {:?}, {:.0} s",
        pruning.original_params,
        pruning.target_params,
        pruning.expected_params,
        pruning.pruned_params,
        100.0 * (reached - target) / target,
        pruning.conv_dim,
        pruning.layers,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.backbone_params, pruning.pruned_params);
    for stage in &report.stages {
        let (first, last) = first_last_mean(&stage.dir.join("metrics.jsonl"), 5);
        println!("{name}/{}: loss {first:.4} -> {last:.4}", stage.name);
        assert!(
            last < (1.0 - MARGIN) * first,
            "{name}/{}: loss {first:.4} -> {last:.4}",
            stage.name
        );
    }
    let rows = ssl_distill_train::read_metrics(&out.join("stages/prune/metrics.jsonl")).unwrap();
    for r in rows.iter().step_by(10) {
        let t = |k: &str| {
            r.terms
                .get(k)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        println!(
            "  step {:4} loss {:.4} sparsity {:.3} / target {:.3}, lambda1 {:+.3} lambda2 {:+.3}",
            r.step,
            r.loss,
            t("prune/expected_sparsity"),
            t("prune/target_sparsity"),
            t("prune/lambda1"),
            t("prune/lambda2")
        );
    }
    assert!(
        (reached - target).abs() <= SIZE_TOLERANCE * target,
        "{name}: pruned to {reached} parameters, target {target}"
    );
    let last = rows.last().unwrap();
    for key in ["prune/expected_sparsity", "prune/lambda1", "distill"] {
        assert!(
            last.terms.contains_key(key),
            "no `{key}` in {:?}",
            last.terms
        );
    }
    // The pruned student after stage 1 and the final one load back with their shapes.
    let device = burn::tensor::Device::flex();
    let after_stage1 = Student::load(out.join("stages/prune/pruned"), &device).unwrap();
    assert_eq!(after_stage1.backbone_params(), pruning.pruned_params);
    let dir = report.student_dir.clone().unwrap();
    let student = Student::load(&dir, &device).unwrap();
    assert_eq!(student.backbone_params(), pruning.pruned_params);
    assert!(student.gates.is_none());
    assert_eq!(
        student.config().layer_shapes,
        after_stage1.config().layer_shapes
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("student.json")).unwrap()).unwrap();
    assert_eq!(json["recipe"]["name"], name);
    (report, json)
}

#[test]
#[ignore = "open: in 200 tiny pruning steps the Lagrangian overshoots the target size by 12-19% \
            (lambda wind-up while the gates travel) and stage 2 lowers its loss by < 20%"]
fn dphubert_prunes_to_target_and_learns() {
    let _serial = crate::common::serial();
    let (_, json) = prunes_to_target_and_learns("dphubert");
    assert_eq!(
        json["targets"]["groups"],
        serde_json::json!([[4], [8], [12]])
    );
}
