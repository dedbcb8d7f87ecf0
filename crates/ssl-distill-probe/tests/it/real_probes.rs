//! The probes on the fixtures of `real_layouts`: each learns, well above its trivial predictor.
//! KS on Speech Commands (made from the bundled corpus) and SID on VoxCeleb1 (made from the tone
//! corpus, whose 4 "speakers" are resonances) with the tiny random teacher of `util`; PR and
//! ASR on LibriSpeech (made from the bundled corpus's command words) with the bundled mini
//! teacher, since a random 2 × 32 upstream does not separate the phones of synthetic speech
//! within a test's budget (PER 0.975 on this fixture; on the tone corpus PER 0.58-0.69 and WER
//! 0.72-0.80 against a trivial 0.78-0.80). ASR on the synthetic layout runs end to end here; it
//! learns on the `asr` corpus preset (docs/probes.md, `mini_teacher_asr_on_spoken_commands`).
//! Unreadable clips stop a probe with the file's name or are skipped and counted.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ssl_distill_probe::{
    DataOptions, Layout, ProbeConfig, ProbeReport, Task, load_upstream, read_task, read_task_with,
    run_probe,
};

use crate::real_layouts::{
    demo_corpus, write_librispeech, write_real_layouts, write_speech_commands, write_voxceleb1,
};
use crate::util::{serial, tiny_teacher, tone_corpus};

/// Runs `task` on `data` with the upstream at `model`, `epochs` epochs.
fn probe(
    model: &Path,
    data: &Path,
    task: Task,
    options: &DataOptions,
    epochs: usize,
) -> ProbeReport {
    let device = Device::flex();
    let upstream = load_upstream(model, &device).unwrap();
    let data = read_task_with(data, task, options).unwrap();
    let mut config = ProbeConfig::new(task);
    config.budget.epochs = epochs;
    let report = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap();
    eprintln!(
        "{task} on {}: test {} {:.4} (trivial {:.4}, cer {:?}), dev {:.4} at epoch {}",
        report.data.layout,
        report.metric,
        report.value,
        report.baseline,
        report.cer,
        report.dev,
        report.best_epoch
    );
    report
}

fn teacher(dir: &Path) -> PathBuf {
    let path = dir.join("teacher");
    tiny_teacher(&path, 11);
    path
}

fn mini_teacher() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/mini-hubert"
    ))
    .to_path_buf()
}

/// KS on Speech Commands: 35 test clips of 12 classes, trivial (always `_silence_`, the most
/// frequent training class) 2/35; measured 0.31 after 30 epochs.
#[test]
fn ks_learns_on_speech_commands() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("sc");
    write_speech_commands(&demo_corpus(), &sc);
    let options = DataOptions::default();
    let report = probe(&teacher(dir.path()), &sc, Task::Ks, &options, 30);
    assert_eq!(report.data.layout, Layout::SpeechCommands);
    assert_eq!(report.data.classes, 12);
    assert_eq!(report.data.utterances, [122, 35, 35]);
    assert!(
        (report.baseline - 2.0 / 35.0).abs() < 1e-12,
        "{}",
        report.baseline
    );
    assert!(
        report.value >= report.baseline + 0.15,
        "KS accuracy {} vs trivial {}",
        report.value,
        report.baseline
    );
}

/// SID on VoxCeleb1 made from the tone corpus: 4 speakers, trivial 0.25.
#[test]
fn sid_learns_on_voxceleb1() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let tones = dir.path().join("tones");
    tone_corpus(&tones, [32, 12, 16], 7);
    let vox = dir.path().join("vox");
    write_voxceleb1(&tones, &vox, None);
    let report = probe(
        &teacher(dir.path()),
        &vox,
        Task::Sid,
        &DataOptions::default(),
        60,
    );
    assert_eq!(report.data.layout, Layout::VoxCeleb1);
    assert_eq!(report.data.classes, 4);
    assert_eq!(report.data.utterances, [32, 12, 16]);
    assert_eq!(report.baseline, 0.25);
    assert!(report.value >= 0.6, "SID accuracy {}", report.value);
}

/// PR (phones through the lexicon) and ASR (characters, WER) on LibriSpeech made from the
/// bundled corpus's command words (100 / 30 / 30 clips), with the bundled mini teacher, PR 20
/// epochs and ASR 30. PR's trivial predictor (the empty hypothesis) scores PER 1; ASR's (the
/// most frequent word, 3 of the 30 test clips) WER 0.9. Measured: PER 0.16; WER 0.10, CER 0.03
/// (after 20 epochs ASR was at WER 0.40).
#[test]
fn pr_and_asr_learn_on_librispeech() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let libri = dir.path().join("LibriSpeech");
    let lexicon = write_librispeech(&demo_corpus(), &libri);
    let options = DataOptions {
        lexicon: Some(lexicon),
        ..DataOptions::default()
    };
    let pr = probe(&mini_teacher(), &libri, Task::Pr, &options, 20);
    assert_eq!((pr.metric.as_str(), pr.baseline), ("per", 1.0));
    assert_eq!(pr.data.layout, Layout::LibriSpeech);
    assert_eq!(pr.data.classes, 18);
    assert_eq!(pr.data.utterances, [100, 30, 30]);
    assert!(pr.value <= 0.5, "PER {}", pr.value);
    let asr = probe(&mini_teacher(), &libri, Task::Asr, &options, 30);
    assert_eq!(asr.metric, "wer");
    assert_eq!(asr.data.classes, 29);
    assert!((asr.baseline - 0.9).abs() < 1e-12, "{}", asr.baseline);
    assert!(
        asr.value <= asr.baseline / 2.0,
        "WER {} vs trivial {}",
        asr.value,
        asr.baseline
    );
    let cer = asr.cer.unwrap();
    assert!(cer < asr.value.max(0.3), "CER {cer}");
}

/// ASR on a synthetic corpus (the tone corpus, whose words are its one-letter "phones") end to
/// end: a falling loss, the WER against its trivial predictor, the CER, and the report read
/// back with the layout.
#[test]
fn asr_runs_on_a_synthetic_corpus() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("tones");
    tone_corpus(&corpus, [16, 6, 6], 5);
    let data = read_task(&corpus, Task::Asr).unwrap();
    assert_eq!(data.layout, Layout::Synthetic);
    let report = probe(
        &teacher(dir.path()),
        &corpus,
        Task::Asr,
        &DataOptions::default(),
        3,
    );
    assert_eq!(report.metric, "wer");
    assert!(report.value.is_finite() && report.value >= 0.0);
    assert!((0.0..=1.0).contains(&report.baseline));
    let h = &report.history;
    assert!(h[h.len() - 1].loss < h[0].loss, "{h:?}");
    let path = report.write(&dir.path().join("out")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["data"]["layout"], "synthetic");
    assert_eq!(json["task"], "asr");
    assert_eq!(json["cer"].as_f64(), report.cer);
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
