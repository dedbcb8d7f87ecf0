//! Probes end to end on a tiny random upstream and the synthetic tone corpus.

use burn::tensor::Device;
use ssl_distill_probe::{
    Budget, ItemOutcome, ProbeConfig, ProbeError, ProbeEvent, ProbeReport, Task, items_metric,
    load_upstream, read_task, run_probe,
};

use crate::util::{serial, tiny_teacher, tone_corpus};

struct Fixture {
    _dir: tempfile::TempDir,
    corpus: std::path::PathBuf,
    teacher: std::path::PathBuf,
    out: std::path::PathBuf,
}

fn fixture(per_split: [usize; 3]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    tone_corpus(&corpus, per_split, 7);
    let teacher = dir.path().join("teacher");
    tiny_teacher(&teacher, 11);
    let out = dir.path().join("out");
    Fixture {
        _dir: dir,
        corpus,
        teacher,
        out,
    }
}

/// SID where "speakers" are tones of 4 pitches: chance is 25 %; the probe of a random tiny
/// HuBERT must reach at least 75 % (a margin of 50 points).
#[test]
fn sid_on_pitch_speakers_beats_chance_by_50_points() {
    let _serial = serial();
    let f = fixture([32, 12, 16]);
    let device = Device::flex();
    let upstream = load_upstream(&f.teacher, &device).unwrap();
    let data = read_task(&f.corpus, Task::Sid).unwrap();
    let config = ProbeConfig::new(Task::Sid);

    let mut epochs = 0;
    let mut extracted = 0;
    let report = run_probe(&upstream, &data, &config, &device, &mut |e| match e {
        ProbeEvent::Epoch(_) => epochs += 1,
        ProbeEvent::Extracting { done, total, .. } if done == total => extracted += total,
        ProbeEvent::Extracting { .. } => {}
    })
    .unwrap();
    assert_eq!(epochs, config.budget.epochs);
    assert_eq!(extracted, 32 + 12 + 16);
    assert_eq!(report.metric, "accuracy");
    assert_eq!(report.baseline, 0.25);
    eprintln!("{:?} {:?}", report.history, report.layer_weights);
    assert!(
        report.value >= 0.75,
        "test accuracy {} (chance 0.25)",
        report.value
    );
    let sum: f64 = report.layer_weights.iter().sum();
    assert_eq!(report.layer_weights.len(), 3);
    assert!((sum - 1.0).abs() < 1e-5, "{:?}", report.layer_weights);
    assert_eq!(report.history.len(), config.budget.epochs);
    // One outcome per test utterance, in manifest order, and the metric is theirs.
    assert_eq!(report.items.len(), data.test.len());
    for (item, u) in report.items.iter().zip(&data.test.utterances) {
        assert_eq!(item.id, u.path.display().to_string());
        assert!(matches!(item.outcome, ItemOutcome::Classified { .. }));
    }
    assert_eq!(items_metric(Task::Sid, &report.items), report.value);

    let path = report.write(&f.out).unwrap();
    assert_eq!(path, f.out.join("probe-sid.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(json["task"], "sid");
    assert_read_back(&path, &report);
    assert_eq!(json["metric"], "accuracy");
    assert_eq!(json["seed"], 0);
    assert_eq!(json["budget"]["epochs"], 60);
    assert_eq!(json["layer_weights"].as_array().unwrap().len(), 3);
    assert_eq!(json["upstream"]["kind"], "teacher");
    assert!(
        json["upstream"]["path"]
            .as_str()
            .unwrap()
            .ends_with("teacher")
    );
    // No temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(&f.out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["probe-sid.json"]);
    // A report written before the items were kept still loads, with none.
    let mut old = json.clone();
    old.as_object_mut().unwrap().remove("items");
    let old_path = f.out.join("old").join("probe-sid.json");
    std::fs::create_dir_all(old_path.parent().unwrap()).unwrap();
    std::fs::write(&old_path, serde_json::to_vec(&old).unwrap()).unwrap();
    let read = ProbeReport::read(&old_path).unwrap();
    assert!(read.items.is_empty());
    assert_eq!(read.value, report.value);

    // Same seed, same result.
    let again = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap();
    assert_eq!(again.value, report.value);
    assert_eq!(again.layer_weights, report.layer_weights);
}

/// PR (BiLSTM + CTC) and KS (MLP) run end to end on a small budget and give sane reports.
#[test]
fn pr_and_ks_run_end_to_end() {
    let _serial = serial();
    let f = fixture([16, 6, 6]);
    let device = Device::flex();
    let upstream = load_upstream(&f.teacher, &device).unwrap();

    let data = read_task(&f.corpus, Task::Pr).unwrap();
    let mut config = ProbeConfig::new(Task::Pr);
    config.budget = Budget {
        epochs: 3,
        batch_size: 4,
        ..config.budget
    };
    config.pr_hidden = 16;
    let report = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap();
    assert_eq!(report.metric, "per");
    assert!(
        report.value.is_finite() && report.value >= 0.0,
        "{}",
        report.value
    );
    assert!(
        report
            .history
            .iter()
            .all(|r| r.loss.is_finite() && r.loss > 0.0)
    );
    // The loss goes down over three epochs of the same data.
    assert!(
        report.history[2].loss < report.history[0].loss,
        "{:?}",
        report.history
    );
    assert!((report.layer_weights.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    // Per utterance: edit distance and reference length; their ratio of sums is the PER.
    assert_eq!(report.items.len(), data.test.len());
    for (item, labels) in report.items.iter().zip(&data.test.labels) {
        let ItemOutcome::Transcribed { reference_len, .. } = item.outcome else {
            panic!("{item:?}")
        };
        assert_eq!(reference_len, labels.len());
    }
    assert_eq!(items_metric(Task::Pr, &report.items), report.value);
    assert_eq!(report.write(&f.out).unwrap(), f.out.join("probe-pr.json"));
    assert_read_back(&f.out.join("probe-pr.json"), &report);

    let data = read_task(&f.corpus, Task::Ks).unwrap();
    let mut config = ProbeConfig::new(Task::Ks);
    config.budget.epochs = 10;
    let report = run_probe(&upstream, &data, &config, &device, &mut |_| {}).unwrap();
    assert_eq!(report.data.classes, 4);
    assert!((0.0..=1.0).contains(&report.value));
    assert_eq!(report.write(&f.out).unwrap(), f.out.join("probe-ks.json"));

    let mut bad = ProbeConfig::new(Task::Ks);
    bad.budget.epochs = 0;
    let err = run_probe(&upstream, &data, &bad, &device, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("epochs"), "{err}");
}

/// Both PR heads: a row of a right-padded batch gives, on its valid frames, the log-probabilities
/// of the row run alone (padding never reaches a valid frame).
#[test]
fn pr_heads_ignore_padding() {
    let _serial = serial();
    use burn::tensor::{Distribution, Tensor};
    use ssl_distill_probe::{PrBody, PrHeadConfig};
    let device = Device::flex();
    device.seed(3);
    for body in [PrBody::Transformer, PrBody::Lstm] {
        let head = PrHeadConfig::new(3, 24, 7)
            .with_body(body)
            .with_d_hidden(32)
            .init(&device);
        let (long, short) = (11, 6);
        let x = Tensor::<4>::random([3, 2, long, 24], Distribution::Normal(0.0, 1.0), &device);
        let batch = head.forward(x.clone(), &[long, short]);
        let alone = head.forward(x.slice([0..3, 1..2, 0..short]), &[short]);
        let d = (batch.slice([1..2, 0..short]) - alone)
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(d <= 1e-5, "{body:?}: padded vs alone differ by {d}");
    }
}

/// A missing, truncated or foreign report file is an error naming the file, not a panic.
#[test]
fn reading_a_bad_report_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("probe-pr.json");
    assert!(matches!(
        ProbeReport::read(&missing),
        Err(ProbeError::NotFound { path }) if path == missing
    ));
    let truncated = dir.path().join("probe-sid.json");
    std::fs::write(&truncated, br#"{"task": "sid", "metric": "accu"#).unwrap();
    let err = ProbeReport::read(&truncated).unwrap_err();
    assert!(matches!(err, ProbeError::BadReport { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&truncated.display().to_string()),
        "{err}"
    );
    let foreign = dir.path().join("cka.json");
    std::fs::write(&foreign, br#"{"layers": 5}"#).unwrap();
    let err = ProbeReport::read(&foreign).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}

/// `ProbeReport::read` gives back what was written: floats to within one unit in the last
/// place (serde_json parses without its `float_roundtrip` feature, which would rebuild burn),
/// everything else exactly.
fn assert_read_back(path: &std::path::Path, written: &ProbeReport) {
    let mut read = ProbeReport::read(path).unwrap();
    let close = |a: f64, b: f64| a.to_bits().abs_diff(b.to_bits()) <= 1;
    let floats = |r: &ProbeReport| {
        let mut v = vec![
            r.value,
            r.dev,
            r.baseline,
            r.seconds.extract,
            r.seconds.train,
        ];
        v.extend(&r.layer_weights);
        v.extend(r.history.iter().flat_map(|e| [e.loss, e.dev]));
        v
    };
    let (a, b) = (floats(written), floats(&read));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(&x, &y)| close(x, y)), "{a:?}\n{b:?}");
    read.value = written.value;
    read.dev = written.dev;
    read.baseline = written.baseline;
    read.seconds = written.seconds;
    read.layer_weights.clone_from(&written.layer_weights);
    read.history.clone_from(&written.history);
    assert_eq!(&read, written);
}
