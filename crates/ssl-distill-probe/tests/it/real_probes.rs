//! The probes on the real-layout fixtures with the tiny random teacher of `util`: KS learns
//! (well above the trivial predictor) and ASR learns on a synthetic corpus; SID, PR and ASR run
//! end to end on VoxCeleb1 and LibriSpeech with their losses going down (a random 2 x 32
//! upstream does not separate 24 synthetic voices or 1 s words' phones within a test budget:
//! SID 0.10 vs trivial 0.07 over 60 epochs, PR PER 0.975 over 60). Unreadable clips stop a
//! probe with the file's name or are skipped and counted.

use std::path::Path;

use burn::tensor::Device;
use ssl_distill_probe::{
    DataOptions, Layout, ProbeConfig, ProbeReport, Task, load_upstream, read_task, read_task_with,
    run_probe,
};

use crate::real_layouts::{
    demo_corpus, write_librispeech, write_real_layouts, write_speech_commands, write_voxceleb1,
};
use crate::util::{serial, tiny_teacher, tone_corpus};

/// Runs `task` on `data` with the tiny teacher at `teacher`, `epochs` epochs.
fn probe(
    teacher: &Path,
    data: &Path,
    task: Task,
    options: &DataOptions,
    epochs: usize,
) -> ProbeReport {
    let device = Device::flex();
    let upstream = load_upstream(teacher, &device).unwrap();
    let data = read_task_with(data, task, options).unwrap();
    let mut config = ProbeConfig::new(task);
    config.budget.epochs = epochs;
    let report = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap();
    eprintln!(
        "{task} on {}: test {} {:.4} (trivial {:.4}), best epoch {}",
        report.data.layout, report.metric, report.value, report.baseline, report.best_epoch
    );
    report
}

fn teacher(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("teacher");
    tiny_teacher(&path, 11);
    path
}

/// KS on Speech Commands: 35 test clips of 12 classes, trivial (always `_silence_`, the most
/// frequent training class) 2/35.
#[test]
fn ks_learns_on_speech_commands() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("sc");
    write_speech_commands(&demo_corpus(), &sc);
    let report = probe(
        &teacher(dir.path()),
        &sc,
        Task::Ks,
        &DataOptions::default(),
        30,
    );
    assert_eq!(report.data.layout, Layout::SpeechCommands);
    assert_eq!(report.data.classes, 12);
    assert_eq!(report.data.utterances, [122, 35, 35]);
    assert!(
        (report.baseline - 2.0 / 35.0).abs() < 1e-12,
        "{}",
        report.baseline
    );
    assert!(
        report.value >= report.baseline + 0.25,
        "KS accuracy {} vs trivial {}",
        report.value,
        report.baseline
    );
}

/// SID on VoxCeleb1 (6 speakers) end to end: the report's layout, classes and counts, a loss
/// that goes down.
#[test]
fn sid_runs_on_voxceleb1() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let vox = dir.path().join("vox");
    write_voxceleb1(&demo_corpus(), &vox, Some(6));
    let report = probe(
        &teacher(dir.path()),
        &vox,
        Task::Sid,
        &DataOptions::default(),
        5,
    );
    assert_eq!(report.data.layout, Layout::VoxCeleb1);
    assert_eq!(report.data.classes, 6);
    assert_eq!(report.data.utterances, [32, 5, 5]);
    assert!((0.0..=1.0).contains(&report.value));
    assert_loss_falls(&report);
}

/// PR (lexicon phones) and ASR (characters, WER) on LibriSpeech's layout end to end.
#[test]
fn pr_and_asr_run_on_librispeech() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let libri = dir.path().join("LibriSpeech");
    let lexicon = write_librispeech(&demo_corpus(), &libri);
    let teacher = teacher(dir.path());
    let options = DataOptions {
        lexicon: Some(lexicon),
        ..DataOptions::default()
    };
    let pr = probe(&teacher, &libri, Task::Pr, &options, 3);
    assert_eq!((pr.metric.as_str(), pr.baseline), ("per", 1.0));
    assert_eq!(pr.data.classes, 18);
    assert_eq!(pr.data.utterances, [100, 30, 30]);
    assert_loss_falls(&pr);
    let asr = probe(&teacher, &libri, Task::Asr, &options, 3);
    assert_eq!((asr.metric.as_str(), asr.baseline), ("wer", 1.0));
    assert_eq!(asr.data.classes, 29);
    assert!(asr.value.is_finite() && asr.value >= 0.0);
    assert_loss_falls(&asr);
}

fn assert_loss_falls(report: &ProbeReport) {
    let h = &report.history;
    assert!(
        h.iter().all(|r| r.loss.is_finite()) && h[h.len() - 1].loss < h[0].loss,
        "{h:?}"
    );
}

/// ASR on a synthetic corpus (the tone corpus, whose words are its one-letter "phones"):
/// measured WER 0.78 against the empty hypothesis's 1.
#[test]
fn asr_learns_on_a_synthetic_corpus() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    tone_corpus(&corpus, [32, 8, 8], 5);
    let data = read_task(&corpus, Task::Asr).unwrap();
    assert_eq!(data.layout, Layout::Synthetic);
    let report = probe(
        &teacher(dir.path()),
        &corpus,
        Task::Asr,
        &DataOptions::default(),
        30,
    );
    assert_eq!(report.metric, "wer");
    assert!(report.value <= 0.85, "WER {}", report.value);
    // Reports read back with the layout.
    let path = report.write(&dir.path().join("out")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["data"]["layout"], "synthetic");
    assert_eq!(json["task"], "asr");
    assert_eq!(
        ProbeReport::read(&path).unwrap().data.layout,
        Layout::Synthetic
    );
}

/// A clip that does not decode: an error naming it, or skipped and counted.
#[test]
fn unreadable_clips_stop_the_probe_or_are_skipped() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("sc");
    write_speech_commands(&demo_corpus(), &sc);
    let list = std::fs::read_to_string(sc.join("validation_list.txt")).unwrap();
    let broken = sc.join(list.lines().next().unwrap());
    std::fs::write(&broken, b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
    let device = Device::flex();
    let upstream = load_upstream(teacher(dir.path()), &device).unwrap();
    let data = read_task(&sc, Task::Ks).unwrap();
    let mut config = ProbeConfig::new(Task::Ks);
    config.budget.epochs = 1;
    let err = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    let name = broken.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name) && !msg.contains('\n'), "{msg}");
    config.skip_bad_audio = true;
    let report = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap();
    assert_eq!(report.data.skipped, [0, 1, 0]);
    assert_eq!(report.data.utterances, [122, 34, 35]);
}

/// Writes the three layouts to `$PROBE_LAYOUTS_OUT` to look at (`tools/probe-layouts.sh`).
#[test]
#[ignore = "writes the fixtures to $PROBE_LAYOUTS_OUT (run by tools/probe-layouts.sh)"]
fn write_real_layouts_to() {
    let out = std::env::var_os("PROBE_LAYOUTS_OUT").expect("set PROBE_LAYOUTS_OUT=DIR");
    let layouts = write_real_layouts(Path::new(&out), None);
    for dir in [
        &layouts.speech_commands,
        &layouts.voxceleb1,
        &layouts.librispeech,
    ] {
        println!("{}", dir.display());
    }
}
