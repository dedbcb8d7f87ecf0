//! `ssl-distill distill --recipe recipes/skill.toml` end to end on the toy teacher: joint
//! distillation + structured pruning to the target size, the pruned student probed like any
//! other, and `ssl-distill export` (HF when the shapes allow, this project's format otherwise).

use std::path::Path;

use burn::tensor::Device;

use crate::{assert_one_line_error, assert_success, assets, run};

/// `recipes/skill.toml` at the budget of the recipes crate's pruning test (`prune.rs` there,
/// which explains each change): 1350 steps of batch 1 × 0.5 s, lr 2e-3 with no final-stage
/// override, ramp 50 %, gates at drop rate 0.1, λ lr ×10, 8 calibration utterances.
fn tiny_skill_recipe(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipes"));
    let mut text = std::fs::read_to_string(root.join("skill.toml")).unwrap();
    for (from, to) in [
        ("batch_size = 24", "batch_size = 1"),
        ("crop_seconds = 15.6", "crop_seconds = 0.5"),
        ("calibration_utterances = 32", "calibration_utterances = 8"),
        (
            "sparsity_warmup_fraction = 0.1",
            "sparsity_warmup_fraction = 0.5\ninit_drop_rate = 0.1",
        ),
        ("lambda_lr_scale = 100.0", "lambda_lr_scale = 10.0"),
        ("max_steps = 75000", "max_steps = 1350"),
        ("lr = 2e-4", "lr = 2e-3"),
        ("checkpoint_every = 5000", "checkpoint_every = 675"),
        ("log_every = 50", "log_every = 10"),
        ("fraction = 0.3333\nlr = 1e-4", "fraction = 0.3333"),
    ] {
        assert!(text.contains(from), "recipes/skill.toml has no {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join("skill-tiny.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn skill_prunes_to_target_then_probes_and_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 12, 7, false, &Device::flex()).unwrap();
    let data = ssl_distill_recipes::toy::write_tone_corpus(&tmp.path().join("audio"), 16, 1.5, 11)
        .unwrap();
    let recipe = tiny_skill_recipe(tmp.path());
    let out = tmp.path().join("run");
    let res = run(&[
        "distill",
        "--recipe",
        recipe.to_str().unwrap(),
        "--teacher",
        teacher.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    assert!(stderr.contains("pruned "), "{stderr}");

    // The target size within 2 %, recorded in student.json.
    let student = out.join("student");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(student.join("student.json")).unwrap())
            .unwrap();
    let pruning = &json["pruning"];
    let (target, pruned) = (
        pruning["target_params"].as_f64().unwrap(),
        pruning["pruned_params"].as_f64().unwrap(),
    );
    assert!(
        (pruned - target).abs() <= 0.02 * target,
        "pruned to {pruned} parameters, target {target}"
    );
    assert!(pruned < 0.5 * pruning["original_params"].as_f64().unwrap());

    // The distillation term of the pruning stage (its total includes the Lagrangian) and the
    // final stage's loss fell.
    let rows = |name: &str| ssl_distill_train::read_metrics(&out.join(name)).unwrap();
    let distill = |r: &ssl_distill_train::MetricsRow| r.terms["distill"].as_f64().unwrap();
    let prune_rows = rows("stages/prune/metrics.jsonl");
    let (first, last) = (&prune_rows[0], prune_rows.last().unwrap());
    assert!(
        distill(last) < distill(first),
        "pruning stage: distillation term {} -> {}",
        distill(first),
        distill(last)
    );
    let final_rows = rows("metrics.jsonl");
    let (first, last) = (&final_rows[0], final_rows.last().unwrap());
    assert!(
        last.loss < first.loss,
        "final stage: loss {} -> {}",
        first.loss,
        last.loss
    );

    // Probed like any other upstream, on the bundled corpus.
    let probe_out = tmp.path().join("probe");
    let corpus = assets().join("demo-corpus");
    let res = run(&[
        "probe",
        "--model",
        student.to_str().unwrap(),
        "--task",
        "sid",
        "--data",
        corpus.to_str().unwrap(),
        "--out",
        probe_out.to_str().unwrap(),
        "--epochs",
        "2",
    ]);
    assert_success(&res);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(probe_out.join("probe-sid.json")).unwrap())
            .unwrap();
    assert_eq!(report["upstream"]["kind"], "student");
    assert_eq!(report["history"].as_array().unwrap().len(), 2);

    // Export: HF when every layer kept all heads and one FFN width, else this project's
    // student format, saying why.
    let layers = pruning["layers"].as_array().unwrap();
    let heads: Vec<u64> = layers.iter().map(|l| l[0].as_u64().unwrap()).collect();
    let ffn: Vec<u64> = layers.iter().map(|l| l[1].as_u64().unwrap()).collect();
    let full_heads = json["backbone"]["num_attention_heads"].as_u64();
    let uniform = heads.iter().all(|&h| Some(h) == full_heads) && ffn.iter().all(|&f| f == ffn[0]);
    let hf = tmp.path().join("hf");
    let res = run(&[
        "export",
        "--checkpoint",
        student.to_str().unwrap(),
        "--out",
        hf.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    if uniform {
        assert!(hf.join("config.json").is_file());
    } else {
        assert!(stderr.contains("cannot be exported to HF"), "{stderr}");
        assert!(hf.join("student.json").is_file() && hf.join("model.safetensors").is_file());
    }
}

/// A student that keeps the HF shape (an unpruned DistilHuBERT student) exports, and the HF
/// directory loads back as a teacher with the same hidden states.
#[test]
fn export_writes_an_hf_model_that_loads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let (teacher, data) = crate::distill::teacher_and_data(tmp.path());
    let out = tmp.path().join("run");
    let res = crate::distill::distill(&teacher, &data, &out, &[]);
    assert_success(&res);
    let hf = tmp.path().join("hf");
    let student = out.join("student");
    let res = run(&[
        "export",
        "--checkpoint",
        student.to_str().unwrap(),
        "--out",
        hf.to_str().unwrap(),
    ]);
    assert_success(&res);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(hf.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["num_hidden_layers"], 2);
    // The student and its HF export give the same hidden states.
    let device = Device::flex();
    let student = ssl_distill_students::Student::load(&student, &device).unwrap();
    let (_, model, _) = ssl_distill_models::load_checkpoint(&hf, &device).unwrap();
    let wave = burn::tensor::Tensor::<2>::random(
        [1, 8000],
        burn::tensor::Distribution::Uniform(-0.1, 0.1),
        &device,
    );
    let a = student.forward(ssl_distill_models::SslInput::new(wave.clone()));
    let b = model.forward(ssl_distill_models::SslInput::new(wave));
    assert_eq!(a.backbone.hidden_states.len(), b.hidden_states.len());
    for (x, y) in a.backbone.hidden_states.into_iter().zip(b.hidden_states) {
        let d = (x - y).abs().max().into_scalar::<f32>();
        assert!(d <= 1e-5, "student vs HF export: max difference {d}");
    }
    let missing = run(&[
        "export",
        "--checkpoint",
        tmp.path().join("nope").to_str().unwrap(),
        "--out",
        hf.to_str().unwrap(),
    ]);
    assert_one_line_error(&missing, &["nope"]);
}
