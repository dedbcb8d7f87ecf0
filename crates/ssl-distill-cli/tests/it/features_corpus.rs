//! `ssl-distill features --data`: a 100-utterance manifest against one-by-one runs, pooling,
//! weighted sums, bad audio, and students (Fbank, unevenly pruned) with their own-format export.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use ssl_distill_audio::{load_audio, normalize};
use ssl_distill_models::{
    FeatExtractNorm, SslConfig, SslInput, StateDict, export_hf, load_checkpoint, read_safetensors,
};
use ssl_distill_students::{
    FbankFrontEndConfig, FrontEndConfig, HeadConfig, PruneConfig, Student, StudentConfig,
};

use crate::{assert_one_line_error, assets, run};

/// The first `n` clips of the bundled corpus's training split.
fn demo_clips(n: usize) -> Vec<PathBuf> {
    let dir = assets().join("demo-corpus/wav/train");
    let mut clips: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    clips.sort();
    assert!(
        clips.len() >= n,
        "{} clips in {}",
        clips.len(),
        dir.display()
    );
    clips.truncate(n);
    clips
}

/// A JSONL manifest of absolute paths, with an `id` where given.
fn write_manifest(path: &Path, lines: &[(PathBuf, Option<String>)]) {
    let text: String = lines
        .iter()
        .map(|(p, id)| {
            let mut line = serde_json::json!({ "path": std::path::absolute(p).unwrap() });
            if let Some(id) = id {
                line["id"] = id.as_str().into();
            }
            format!("{line}\n")
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

fn index(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("index.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The output files, each read once.
#[derive(Default)]
struct Files(HashMap<String, StateDict>);

impl Files {
    /// The tensor `key` of an index entry: (shape, values).
    fn get(&mut self, out: &Path, entry: &serde_json::Value, key: &str) -> (Vec<usize>, Vec<f32>) {
        let file = entry["file"].as_str().unwrap().to_string();
        let dict = self
            .0
            .entry(file.clone())
            .or_insert_with(|| read_safetensors(&out.join(&file)).unwrap());
        let t = dict
            .get(key)
            .unwrap_or_else(|| panic!("{key} not in {file}"));
        (t.shape.clone(), t.data.clone())
    }
}

/// Hidden states of `wave` run alone through `forward`, as host values `[frames, hidden]`.
fn alone(
    forward: impl Fn(SslInput) -> Vec<Tensor<3>>,
    mut wave: Vec<f32>,
    do_normalize: bool,
) -> Vec<Vec<f32>> {
    if do_normalize {
        normalize(&mut wave);
    }
    let len = wave.len();
    let input = Tensor::<2>::from_data(TensorData::new(wave, [1, len]), &Device::flex());
    forward(SslInput::new(input))
        .into_iter()
        .map(|h| h.try_into_vec_as::<f32>().unwrap())
        .collect()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let d = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(d <= tol, "{what}: max difference {d}");
}

fn succeeds(args: &[&str]) -> String {
    let res = run(args);
    let stderr = String::from_utf8_lossy(&res.stderr).into_owned();
    assert!(res.status.success(), "{stderr}");
    stderr
}

/// The acceptance test: 100 utterances of unequal lengths, batched by 8 into padded
/// batches of a layer-norm teacher that normalises its input, written to several shards; every
/// utterance is in the index, and each tensor equals a one-by-one run of the library.
#[test]
fn a_100_utterance_manifest_equals_one_by_one_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Device::flex();
    device.seed(1);
    let teacher = tmp.path().join("teacher");
    let config = SslConfig {
        feat_extract_norm: FeatExtractNorm::Layer,
        conv_bias: true,
        ..SslConfig::tiny()
    };
    export_hf(&config.init(&device), &config, &teacher).unwrap();
    let clips = demo_clips(100);
    let manifest = tmp.path().join("corpus.jsonl");
    write_manifest(
        &manifest,
        &clips.iter().map(|c| (c.clone(), None)).collect::<Vec<_>>(),
    );
    let out = tmp.path().join("features");
    #[rustfmt::skip]
    succeeds(&[
        "features", "--model", teacher.to_str().unwrap(), "--data", manifest.to_str().unwrap(),
        "--out", out.to_str().unwrap(), "--batch-size", "8", "--shard-mb", "0.5",
    ]);

    let entries = index(&out);
    assert_eq!(entries.len(), 100);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("features.json")).unwrap()).unwrap();
    assert_eq!(summary["utterances"], 100);
    assert_eq!(summary["preprocessor"]["do_normalize"], true);
    assert!(summary["shards"].as_u64().unwrap() > 1, "{summary}");
    let (_, model, _) = load_checkpoint(&teacher, &device).unwrap();
    let mut files = Files::default();
    for (entry, clip) in entries.iter().zip(&clips) {
        let id = clip.file_stem().unwrap().to_str().unwrap();
        assert_eq!(entry["id"], id);
        let wave = load_audio(clip, 16_000).unwrap();
        assert_eq!(entry["samples"], wave.len());
        let want = alone(|x| model.forward(x).hidden_states, wave, true);
        let frames = entry["frames"].as_u64().unwrap() as usize;
        let keys: Vec<&str> = entry["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(keys.len(), 4, "{keys:?}");
        for (i, w) in want.iter().enumerate() {
            let key = format!("{id}/hidden_states.{i}");
            assert!(keys.contains(&key.as_str()), "{key} not in {keys:?}");
            let (shape, got) = files.get(&out, entry, &key);
            assert_eq!(shape, [1, frames, 32]);
            assert_close(&got, w, 1e-5, &key);
        }
    }
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp-")),
        "a temporary directory was left behind"
    );
}

/// A group-norm teacher (batches of equal lengths only: each clip is listed twice) with
/// `--per-utterance --pool mean`, and `--weighted-sum` from a probe report.
#[test]
fn pooled_and_weighted_features_of_a_group_norm_teacher() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 2, 7, false, &device).unwrap();
    let clips = demo_clips(5);
    let lines: Vec<(PathBuf, Option<String>)> = clips
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            [
                (c.clone(), Some(format!("a/{i}"))),
                (c.clone(), Some(format!("b/{i}"))),
            ]
        })
        .collect();
    let manifest = tmp.path().join("twice.jsonl");
    write_manifest(&manifest, &lines);
    let (m, t) = (manifest.to_str().unwrap(), teacher.to_str().unwrap());
    let pooled = tmp.path().join("pooled");
    #[rustfmt::skip]
    succeeds(&[
        "features", "--model", t, "--data", m, "--out", pooled.to_str().unwrap(),
        "--per-utterance", "--pool", "mean", "--batch-size", "4",
    ]);
    let report = tmp.path().join("probe-sid.json");
    let weights = [0.2f32, 0.3, 0.5];
    std::fs::write(
        &report,
        serde_json::json!({ "layer_weights": weights }).to_string(),
    )
    .unwrap();
    let summed = tmp.path().join("summed");
    #[rustfmt::skip]
    succeeds(&[
        "features", "--model", t, "--data", m, "--out", summed.to_str().unwrap(),
        "--weighted-sum", report.to_str().unwrap(),
    ]);

    let (_, model, _) = load_checkpoint(&teacher, &device).unwrap();
    let (pooled_index, summed_index) = (index(&pooled), index(&summed));
    assert_eq!(pooled_index.len(), 10);
    let mut files = Files::default();
    for ((entry, summed_entry), (clip, id)) in pooled_index.iter().zip(&summed_index).zip(&lines) {
        let id = id.as_deref().unwrap();
        assert_eq!(entry["id"], id);
        assert_eq!(entry["file"], format!("{id}.safetensors"));
        let want = alone(
            |x| model.forward(x).hidden_states,
            load_audio(clip, 16_000).unwrap(),
            false,
        );
        let frames = entry["frames"].as_u64().unwrap() as usize;
        for (i, w) in want.iter().enumerate() {
            let mean: Vec<f32> = (0..32)
                .map(|d| (0..frames).map(|f| w[f * 32 + d]).sum::<f32>() / frames as f32)
                .collect();
            let (shape, got) = files.get(&pooled, entry, &format!("hidden_states.{i}"));
            assert_eq!(shape, [1, 32]);
            assert_close(&got, &mean, 1e-5, &format!("{id} mean {i}"));
        }
        let sum: Vec<f32> = (0..frames * 32)
            .map(|j| (0..3).map(|l| weights[l] * want[l][j]).sum())
            .collect();
        let key = format!("{id}/weighted_sum");
        assert_eq!(summed_entry["keys"], serde_json::json!([key]));
        let (shape, got) = files.get(&summed, summed_entry, &key);
        assert_eq!(shape, [1, frames, 32]);
        assert_close(&got, &sum, 1e-5, &key);
    }

    let res = run(&[
        "features",
        "--model",
        t,
        "--data",
        m,
        "--out",
        tmp.path().join("x").to_str().unwrap(),
        "--weighted-sum",
        report.to_str().unwrap(),
        "--layers",
        "1",
    ]);
    assert_one_line_error(&res, &["--weighted-sum", "--layers"]);
    std::fs::write(&report, "[0.5, 0.5]").unwrap();
    let res = run(&[
        "features",
        "--model",
        t,
        "--data",
        m,
        "--out",
        tmp.path().join("x").to_str().unwrap(),
        "--weighted-sum",
        report.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &res,
        &["probe-sid.json", "2 layer weights", "3 hidden states"],
    );
    let res = run(&["features", "--model", t, "--data", m]);
    assert_one_line_error(&res, &["--out"]);
    let res = run(&[
        "features",
        "--model",
        t,
        "--data",
        m,
        "--out",
        pooled.to_str().unwrap(),
    ]);
    assert_one_line_error(&res, &["pooled", "not empty"]);
}

/// A corrupt and a too-short file stop the run with a one-line error and no output, or, with
/// `--skip-bad-audio`, are left out and listed.
#[test]
fn bad_audio_follows_skip_bad_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    ssl_distill_recipes::toy::write_tiny_teacher(&teacher, 2, 3, false, &Device::flex()).unwrap();
    let broken = tmp.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF not really").unwrap();
    let short = tmp.path().join("short.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&short, spec).unwrap();
    for i in 0..300 {
        w.write_sample((i * 50) as i16).unwrap();
    }
    w.finalize().unwrap();
    let clips = demo_clips(3);
    for (bad, needle) in [(&broken, "broken.wav"), (&short, "short.wav")] {
        let manifest = tmp.path().join("m.jsonl");
        let mut lines: Vec<(PathBuf, Option<String>)> =
            clips.iter().map(|c| (c.clone(), None)).collect();
        lines.insert(1, (bad.clone(), None));
        write_manifest(&manifest, &lines);
        let out = tmp.path().join(format!("out-{needle}"));
        let (t, m, o) = (
            teacher.to_str().unwrap(),
            manifest.to_str().unwrap(),
            out.to_str().unwrap(),
        );
        let res = run(&["features", "--model", t, "--data", m, "--out", o]);
        assert_one_line_error(&res, &[needle]);
        assert!(!out.exists());
        succeeds(&[
            "features",
            "--model",
            t,
            "--data",
            m,
            "--out",
            o,
            "--skip-bad-audio",
        ]);
        let ids: Vec<String> = index(&out)
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("features.json")).unwrap())
                .unwrap();
        let skipped = summary["skipped"].as_array().unwrap();
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0]["error"].as_str().unwrap().contains(needle),
            "{summary}"
        );
    }
}

/// A tiny student that HF cannot hold: an Fbank front-end, or heads pruned in layer 0 only.
fn write_students(dir: &Path) -> [(PathBuf, &'static str); 2] {
    let device = Device::flex();
    device.seed(11);
    let backbone = SslConfig {
        feat_proj_layer_norm: false,
        ..SslConfig::tiny()
    };
    let head = HeadConfig::Prediction {
        num_targets: 1,
        d_target: 32,
    };
    let fbank = StudentConfig::new(backbone.clone(), head.clone())
        .with_front_end(FrontEndConfig::Fbank(
            FbankFrontEndConfig::new().with_channels(8),
        ))
        .init(&device)
        .unwrap();
    let mut gated = StudentConfig::new(backbone, head)
        .with_prune(Some(PruneConfig::new()))
        .init(&device)
        .unwrap();
    let heads = &mut gated.gates.as_mut().unwrap().heads[0];
    heads.log_alpha = Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![-10.0f32, 8.0, 8.0, 8.0], [4]),
        &device,
    ));
    let pruned = gated.prune().unwrap();
    assert_eq!(pruned.config().layer_shapes[0].heads, 3);
    let (f, p) = (dir.join("fbank-student"), dir.join("pruned-student"));
    fbank.save(&f).unwrap();
    pruned.save(&p).unwrap();
    [(f, "Fbank"), (p, "heads")]
}

/// Students and pruned students load in `features`; `export` writes what HF cannot hold in this
/// project's format (saying why), and that directory gives the same features and probes.
#[test]
fn students_load_and_export_to_their_own_format() {
    let tmp = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let clips = demo_clips(4);
    let manifest = tmp.path().join("m.jsonl");
    write_manifest(
        &manifest,
        &clips.iter().map(|c| (c.clone(), None)).collect::<Vec<_>>(),
    );
    for (dir, reason) in write_students(tmp.path()) {
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let exported = tmp.path().join(format!("{name}-exported"));
        let stderr = succeeds(&[
            "export",
            "--checkpoint",
            dir.to_str().unwrap(),
            "--out",
            exported.to_str().unwrap(),
        ]);
        assert!(
            stderr.contains("cannot be exported to HF") && stderr.contains(reason),
            "{stderr}"
        );
        assert!(!exported.join("config.json").exists());
        assert!(exported.join("preprocessor_config.json").is_file());

        let student = Student::load(&dir, &device).unwrap();
        for model in [&dir, &exported] {
            let out = tmp.path().join(format!(
                "{}-features",
                model.file_name().unwrap().to_str().unwrap()
            ));
            #[rustfmt::skip]
            succeeds(&[
                "features", "--model", model.to_str().unwrap(), "--data",
                manifest.to_str().unwrap(), "--out", out.to_str().unwrap(),
            ]);
            let mut files = Files::default();
            for (entry, clip) in index(&out).iter().zip(&clips) {
                let want = alone(
                    |x| student.forward(x).backbone.hidden_states,
                    load_audio(clip, 16_000).unwrap(),
                    false,
                );
                let id = entry["id"].as_str().unwrap();
                for (i, w) in want.iter().enumerate() {
                    let key = format!("{id}/hidden_states.{i}");
                    let (_, got) = files.get(&out, entry, &key);
                    assert_close(&got, w, 1e-5, &format!("{name}: {key}"));
                }
            }
        }
        let probe = tmp.path().join(format!("{name}-probe"));
        #[rustfmt::skip]
        succeeds(&[
            "probe", "--model", exported.to_str().unwrap(), "--task", "sid", "--data",
            assets().join("demo-corpus").to_str().unwrap(), "--out", probe.to_str().unwrap(),
            "--epochs", "1",
        ]);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(probe.join("probe-sid.json")).unwrap())
                .unwrap();
        assert_eq!(report["upstream"]["kind"], "student");
    }
    // An explicit --format student, and a refusal to write into a non-empty directory.
    let (student, _) = write_students(&tmp.path().join("again"))[0].clone();
    let out = tmp.path().join("explicit");
    let args = |out: &Path| {
        vec![
            "export".to_string(),
            "--checkpoint".into(),
            student.to_str().unwrap().into(),
            "--format".into(),
            "student".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let a = args(&out);
    succeeds(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let res = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_one_line_error(&res, &["explicit", "not empty"]);
}
