//! The bundled mini teacher (`assets/mini-hubert`, pretrained by `ssl-distill pretrain`, see
//! `assets/README.md`) against its random-init twin (same config, seed 0) on the bundled demo
//! corpus (`assets/demo-corpus`, the `ci` preset), with the probes' default budgets: pretraining
//! must have taught it something every probe can use. The twin is drawn as pretraining draws
//! its model (the CNN with fairseq's `kaiming_normal_`), so it is the teacher before training.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ssl_distill_models::{SslConfig, export_hf};
use ssl_distill_probe::{ProbeConfig, Task, load_upstream, read_task, run_probe};

use crate::util::serial;

/// Required advantage of the pretrained teacher over its twin: 5 points of PER (lower is
/// better) or of accuracy (higher is better).
const MARGIN: f64 = 0.05;

fn assets() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets")).to_path_buf()
}

/// Heavy (six probes with full budgets, minutes each): run with
/// `cargo test --release -p ssl-distill-probe --test it mini_teacher -- --ignored --nocapture`.
#[test]
#[ignore = "heavy: six full-budget probes (run by hand, see the doc comment)"]
fn mini_teacher_beats_its_random_twin_on_every_probe() {
    let _serial = serial();
    let teacher = assets().join("mini-hubert");
    let corpus = assets().join("demo-corpus");
    let tmp = tempfile::tempdir().unwrap();
    let twin = tmp.path().join("twin");
    let device = Device::flex();
    let config = SslConfig::from_hf_json(teacher.join("config.json")).unwrap();
    device.seed(0);
    // Drawn as pretraining draws it (the CNN with fairseq's kaiming_normal_).
    let mut random_model = config.init(&device);
    random_model.feature_extractor = random_model.feature_extractor.with_kaiming_normal(&device);
    export_hf(&random_model, &config, &twin).unwrap();
    std::fs::copy(
        teacher.join("preprocessor_config.json"),
        twin.join("preprocessor_config.json"),
    )
    .unwrap();

    let pretrained = load_upstream(&teacher, &device).unwrap();
    let random = load_upstream(&twin, &device).unwrap();
    let mut failures = Vec::new();
    for task in [Task::Pr, Task::Sid, Task::Ks] {
        let data = read_task(&corpus, task).unwrap();
        let config = ProbeConfig::new(task);
        let score = |up| {
            run_probe(up, &data, &config, &device, &mut |_| {})
                .unwrap()
                .value
        };
        let (ours, theirs) = (score(&pretrained), score(&random));
        println!("{task}: pretrained {ours:.4}, random twin {theirs:.4}");
        let advantage = if task.lower_is_better() {
            theirs - ours
        } else {
            ours - theirs
        };
        if advantage < MARGIN {
            failures.push(format!(
                "{task}: pretrained {ours:.4} vs random {theirs:.4} (advantage {advantage:.4} < {MARGIN})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("; "));
}

/// ASR (characters, greedy CTC, WER) of the bundled mini teacher on a spoken-command corpus
/// (`ssl-distill corpus synth --preset asr --out DIR`: 1000 / 100 / 200 utterances over 49
/// words; espeak-ng needed, so not bundled) with the default budget: the WER must beat the
/// trivial predictor's (the most frequent word, about 0.9) by half. Measured in docs/probes.md.
/// Heavy: `ASR_CORPUS=DIR cargo test --workspace --test it mini_teacher_asr -- --ignored
/// --nocapture`.
#[test]
#[ignore = "heavy, and needs a corpus made with espeak-ng (see the doc comment)"]
fn mini_teacher_asr_on_spoken_commands() {
    let _serial = serial();
    let corpus =
        std::env::var_os("ASR_CORPUS").expect("set ASR_CORPUS=DIR (corpus synth --preset asr)");
    let device = Device::flex();
    let teacher = load_upstream(assets().join("mini-hubert"), &device).unwrap();
    let data = read_task(&corpus, Task::Asr).unwrap();
    let config = ProbeConfig::new(Task::Asr);
    let report = run_probe(&teacher, &data, &config, &device, &mut |e| {
        if let ssl_distill_probe::ProbeEvent::Epoch(r) = e {
            println!(
                "epoch {}: loss {:.4}, dev WER {:.4}",
                r.epoch, r.loss, r.dev
            );
        }
    })
    .unwrap();
    println!(
        "ASR WER {:.4}, CER {:?} (trivial {:.4}), dev {:.4} at epoch {}, {:.0} s + {:.0} s",
        report.value,
        report.cer,
        report.baseline,
        report.dev,
        report.best_epoch,
        report.seconds.extract,
        report.seconds.train
    );
    assert!(
        report.value < report.baseline / 2.0,
        "WER {} vs trivial {}",
        report.value,
        report.baseline
    );
}
