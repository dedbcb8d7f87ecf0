//! Every recipe of `recipes/` runs end to end on the tiny teacher and lowers its loss.

use std::path::Path;

use crate::common::{first_last_mean, run_config, small_recipe, write_audio, write_teacher};

const STEPS: u64 = 40;
/// The mean loss of the last 5 steps must be below `(1 - MARGIN)` times that of the first 5.
const MARGIN: f64 = 0.2;

/// Runs recipe `name` for [`STEPS`] steps and checks the loss, the files and the metrics rows.
fn runs_and_learns(name: &str, teacher_head: bool) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_teacher(&teacher, teacher_head);
    let data = write_audio(&tmp.path().join("audio"), 16, 1.5);
    let out = tmp.path().join("run");
    let recipe = small_recipe(name, &teacher, &data, STEPS);
    let report = ssl_distill_recipes::run(&recipe, &run_config(name, &out)).unwrap();

    let last_stage = report.stages.last().unwrap();
    assert_eq!(last_stage.dir, out);
    let (first, last) = first_last_mean(&out.join("metrics.jsonl"), 5);
    println!("{name}: loss {first:.4} -> {last:.4} ({:?})", report.stages);
    assert!(
        last < (1.0 - MARGIN) * first,
        "{name}: loss {first:.4} -> {last:.4}, expected a drop of at least {MARGIN}"
    );
    let student = report
        .student_dir
        .expect("a completed run saves the student");
    assert!(student.join("model.safetensors").is_file());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(student.join("student.json")).unwrap())
            .unwrap();
    for key in ["targets", "recipe", "teacher"] {
        assert!(
            json.get(key).is_some(),
            "student.json lacks `{key}`: {json}"
        );
    }
    assert_eq!(json["recipe"]["name"], name);
    let ckpt = out.join(format!(
        "checkpoints/step-{}/model.safetensors",
        last_stage.steps
    ));
    assert!(ckpt.is_file(), "{} missing", ckpt.display());
    json
}

fn metrics_terms(out: &Path) -> serde_json::Map<String, serde_json::Value> {
    ssl_distill_train::read_metrics(&out.join("metrics.jsonl"))
        .unwrap()
        .pop()
        .unwrap()
        .terms
}

#[test]
fn distilhubert_learns() {
    let _serial = crate::common::serial();
    let json = runs_and_learns("distilhubert", false);
    assert_eq!(
        json["targets"]["groups"],
        serde_json::json!([[4], [8], [12]])
    );
}

#[test]
fn shallow_wide_learns() {
    let _serial = crate::common::serial();
    runs_and_learns("shallow-wide-3l-one", false);
}

#[test]
fn deep_narrow_learns() {
    let _serial = crate::common::serial();
    let json = runs_and_learns("deep-narrow-12l-half", false);
    assert_eq!(json["targets"]["groups"].as_array().unwrap().len(), 12);
}

#[test]
fn wang_disc_fbank_learns_with_the_teacher_head() {
    let _serial = crate::common::serial();
    let json = runs_and_learns("wang-disc-fbank", true);
    assert_eq!(json["recipe"]["stages"].as_array().unwrap().len(), 2);
}

#[test]
fn skill_learns_with_clustered_targets() {
    let _serial = crate::common::serial();
    // SKILL runs on DPHuBERT's joint distillation + pruning: the same checks as DPHuBERT's
    // (`prune.rs`): size within 2% of the target, the pruning stage's distillation term and the
    // final stage's loss falling by 20% / 10% above the logsig-cos floor ln(1 + 1/e) = 0.313.
    // Measured (seed 0): pruned 27,869 vs target 27,896 (-0.10%); distillation term above the
    // floor 1.269 -> 0.098 (-92%); final stage 0.0997 -> 0.0796 (-20%); about 31-37 s. Seeds
    // 1-4: +0.31%, +2.19%, +2.30%, -0.47%: the margin is thin for this recipe.
    let (_, json) = crate::prune::prunes_to_target_and_learns("skill");
    let groups = json["targets"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4, "{json}");
    let mut layers: Vec<u64> = groups
        .iter()
        .flat_map(|g| g.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .collect();
    layers.sort_unstable();
    assert_eq!(
        layers,
        (1..=12).collect::<Vec<_>>(),
        "every layer in one group"
    );
}

#[test]
fn gendistiller_learns() {
    let _serial = crate::common::serial();
    let json = runs_and_learns("gendistiller", false);
    assert_eq!(json["targets"]["strategy"], "autoregressive");
}

#[test]
fn metrics_carry_per_target_terms_and_disc() {
    let _serial = crate::common::serial();
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_teacher(&teacher, false);
    let data = write_audio(&tmp.path().join("audio"), 8, 1.0);
    let out = tmp.path().join("run");
    let mut recipe = small_recipe("wang-disc-fbank", &teacher, &data, 4);
    recipe.data.batch_size = 2;
    ssl_distill_recipes::run(&recipe, &crate::common::run_config("wang-disc-fbank", &out)).unwrap();
    let terms = metrics_terms(&out);
    for key in ["l1", "cos", "disc", "l1/layer4", "cos/layer12"] {
        assert!(terms.contains_key(key), "no `{key}` in {terms:?}");
    }
    let stage1 = metrics_terms(&out.join("stages/front-end"));
    assert!(stage1.contains_key("front_end/l1"), "{stage1:?}");
    let row = ssl_distill_train::read_metrics(&out.join("metrics.jsonl"))
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        row.extra.contains_key("audio_sec_per_sec"),
        "{:?}",
        row.extra
    );
}
