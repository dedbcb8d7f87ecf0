//! The probes on the fixtures of `real_layouts` with the tiny random teacher of `util`: each
//! learns, well above its trivial predictor. KS on Speech Commands made from the bundled corpus;
//! SID (VoxCeleb1), PR and ASR (LibriSpeech) on the layouts made from the tone corpus, whose
//! "speakers" and "phones" are resonances a random 2 × 32 upstream separates (the bundled
//! corpus's 24 voices and 1 s words are beyond it within a test's budget: SID 0.10 vs trivial
//! 0.07 after 60 epochs, PR PER 0.975); ASR on the synthetic layout too. Unreadable clips stop
//! a probe with the file's name or are skipped and counted.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ssl_distill_probe::{
    DataOptions, Layout, ProbeConfig, ProbeReport, Task, load_upstream, read_task, read_task_with,
    run_probe,
};

use crate::real_layouts::{
    Transcripts, demo_corpus, write_librispeech, write_real_layouts, write_speech_commands,
    write_voxceleb1,
};
use crate::util::{serial, tiny_teacher, tone_corpus};

/// The tone corpus's "words" (its one-letter phones) and their one phone each.
const TONE_LEXICON: &str = "A\ta\nB\tb\nC\tc\n";

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

/// The tone corpus (4 "speakers", utterances of 2-4 "phones") at `dir/tones`.
fn tones(dir: &Path) -> PathBuf {
    let corpus = dir.join("tones");
    tone_corpus(&corpus, [48, 12, 16], 5);
    corpus
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
    assert!((report.baseline - 2.0 / 35.0).abs() < 1e-12, "{}", report.baseline);
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
    let vox = dir.path().join("vox");
    write_voxceleb1(&tones(dir.path()), &vox, None);
    let report = probe(&teacher(dir.path()), &vox, Task::Sid, &DataOptions::default(), 60);
    assert_eq!(report.data.layout, Layout::VoxCeleb1);
    assert_eq!(report.data.classes, 4);
    assert_eq!(report.data.utterances, [48, 12, 16]);
    assert_eq!(report.baseline, 0.25);
    assert!(report.value >= 0.75, "SID accuracy {}", report.value);
}

/// PR (phones through the lexicon) and ASR (characters, WER) on LibriSpeech made from the tone
/// corpus. PR's trivial predictor (the empty hypothesis) scores PER 1; ASR's (the better of
/// the empty hypothesis and the most frequent word) scores WER 0.8 here.
#[test]
fn pr_and_asr_learn_on_librispeech() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let libri = dir.path().join("LibriSpeech");
    let transcripts = Transcripts::Utterances {
        lexicon: TONE_LEXICON,
    };
    let lexicon = write_librispeech(&tones(dir.path()), &libri, transcripts);
    let teacher = teacher(dir.path());
    let options = DataOptions {
        lexicon: Some(lexicon),
        ..DataOptions::default()
    };
    let pr = probe(&teacher, &libri, Task::Pr, &options, 30);
    assert_eq!((pr.metric.as_str(), pr.baseline), ("per", 1.0));
    assert_eq!(pr.data.layout, Layout::LibriSpeech);
    assert_eq!(pr.data.classes, 4);
    assert_eq!(pr.data.utterances, [48, 12, 16]);
    assert!(pr.value <= 0.5, "PER {}", pr.value);
    let asr = probe(&teacher, &libri, Task::Asr, &options, 30);
    assert_eq!(asr.metric, "wer");
    assert_eq!(asr.data.classes, 29);
    assert!(asr.baseline < 1.0, "{}", asr.baseline);
    assert!(
        asr.value <= asr.baseline - 0.2,
        "WER {} vs trivial {}",
        asr.value,
        asr.baseline
    );
    let cer = asr.cer.unwrap();
    assert!((0.0..asr.value.max(0.5)).contains(&cer), "CER {cer}");
}

/// ASR on a synthetic corpus (the tone corpus, whose words are its one-letter "phones"), and
/// its report read back with the layout.
#[test]
fn asr_learns_on_a_synthetic_corpus() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let corpus = tones(dir.path());
    let data = read_task(&corpus, Task::Asr).unwrap();
    assert_eq!(data.layout, Layout::Synthetic);
    let report = probe(&teacher(dir.path()), &corpus, Task::Asr, &DataOptions::default(), 30);
    assert_eq!(report.metric, "wer");
    assert!(
        report.value <= report.baseline - 0.2,
        "WER {} vs trivial {}",
        report.value,
        report.baseline
    );
    let path = report.write(&dir.path().join("out")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["data"]["layout"], "synthetic");
    assert_eq!(json["task"], "asr");
    assert!(json["cer"].as_f64().is_some());
    assert_eq!(ProbeReport::read(&path).unwrap().data.layout, Layout::Synthetic);
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

#[test]
#[ignore = "scratch"]
fn scratch_asr_sweep() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let n: usize = std::env::var("N").unwrap().parse().unwrap();
    let epochs: usize = std::env::var("E").unwrap().parse().unwrap();
    let lr: f64 = std::env::var("LR").unwrap().parse().unwrap();
    let corpus = dir.path().join("tones");
    tone_corpus(&corpus, [n, n / 4, n / 3], 5);
    let device = Device::flex();
    let upstream = load_upstream(teacher(dir.path()), &device).unwrap();
    for task in [Task::Asr, Task::Pr, Task::Sid] {
        let data = read_task(&corpus, task).unwrap();
        let mut config = ProbeConfig::new(task);
        config.budget.epochs = epochs;
        if task != Task::Sid {
            config.budget.lr = lr;
        }
        let r = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap();
        eprintln!(
            "SWEEP n {n} e {epochs} lr {lr} {task}: {:.4} (trivial {:.4}, cer {:?}), dev {:.4} at {} ({:.0}+{:.0} s)",
            r.value, r.baseline, r.cer, r.dev, r.best_epoch, r.seconds.extract, r.seconds.train
        );
    }
}
