//! End-to-end: generate the `ci` preset (twice, for determinism) and check it.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;
use ssl_distill_corpus::{CorpusConfig, INVENTORY, KS_LABELS, Preset, SIL, synthesize};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ssl-distill-corpus-it-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The `ci` corpus, generated once per test binary.
fn corpus() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("a");
        let t = Instant::now();
        let mut last = (0, 0);
        let s = synthesize(&CorpusConfig::preset(Preset::Ci).with_seed(11), &dir, |d, n| last = (d, n))
            .expect("ci corpus");
        let secs = t.elapsed().as_secs_f64();
        let clips = s.utts.iter().sum::<usize>() + s.ks_clips.iter().sum::<usize>();
        eprintln!(
            "ci corpus: {clips} clips, {:.1} s audio in {secs:.2} s: {:.1} clips/s, {:.0}x real time; unknown phones {}",
            s.utt_seconds + s.ks_seconds,
            clips as f64 / secs,
            (s.utt_seconds + s.ks_seconds) / secs,
            s.unknown_phones
        );
        assert_eq!(last.0, last.1);
        assert_eq!(last.0, clips);
        dir
    })
}

fn rows(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("manifest")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json row"))
        .collect()
}

fn read_wav(path: &Path) -> Vec<i16> {
    let r = hound::WavReader::open(path).expect("wav");
    let spec = r.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16_000, 1, 16)
    );
    r.into_samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect()
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[test]
fn manifests_alignments_and_audio() {
    let dir = corpus();
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.join("corpus.json")).unwrap()).unwrap();
    assert_eq!(summary["clipped_samples"], 0);
    assert_eq!(
        summary["inventory"].as_array().unwrap().len(),
        INVENTORY.len()
    );

    let mut texts: Vec<BTreeSet<String>> = Vec::new();
    let (mut sil_rms, mut speech_rms) = (Vec::new(), Vec::new());
    for (split, n) in [("train", 120), ("valid", 30), ("test", 30)] {
        let rs = rows(&dir.join(format!("{split}.jsonl")));
        assert_eq!(rs.len(), n);
        let mut set = BTreeSet::new();
        for r in &rs {
            let audio = read_wav(&dir.join(r["path"].as_str().unwrap()));
            assert!(audio.len() > 8000, "clip too short");
            assert!(
                audio.iter().all(|&v| v > i16::MIN && v < i16::MAX),
                "clipped"
            );
            let align = r["align"].as_array().unwrap();
            let mut prev_end = 0u64;
            let mut phones = Vec::new();
            for seg in align {
                let (p, s, e) = (
                    seg[0].as_str().unwrap(),
                    seg[1].as_u64().unwrap(),
                    seg[2].as_u64().unwrap(),
                );
                assert!(INVENTORY.contains(&p), "{p}");
                assert_eq!(s, prev_end, "segments contiguous");
                assert!(e > s);
                prev_end = e;
                let x = &audio[s as usize..e as usize];
                if p == SIL {
                    // Trim 10 ms at each edge: the boundary sample itself may carry onset energy.
                    if x.len() > 800 {
                        sil_rms.push(rms(&x[160..x.len() - 160]));
                    }
                } else {
                    phones.push(p);
                    if "aeiouAEIOUV03@".contains(&p[..1]) {
                        speech_rms.push(rms(x));
                    }
                }
            }
            assert_eq!(prev_end as usize, audio.len(), "alignment covers the clip");
            assert_eq!(r["phones"].as_str().unwrap(), phones.join(" "));
            assert!(phones.len() >= 5);
            for s in r["text"].as_str().unwrap().split(". ") {
                set.insert(s.to_string());
            }
            assert!(r["speaker"].as_str().unwrap().starts_with("spk"));
        }
        texts.push(set);
    }
    for i in 0..3 {
        for j in i + 1..3 {
            assert!(
                texts[i].is_disjoint(&texts[j]),
                "splits {i} and {j} share a sentence"
            );
        }
    }
    sil_rms.sort_by(f64::total_cmp);
    speech_rms.sort_by(f64::total_cmp);
    let med = |v: &[f64]| v[v.len() / 2];
    eprintln!(
        "median RMS: pauses {:.1}, vowels {:.1} ({} / {} segments)",
        med(&sil_rms),
        med(&speech_rms),
        sil_rms.len(),
        speech_rms.len()
    );
    assert!(sil_rms.len() > 50 && speech_rms.len() > 500);
    assert!(
        med(&sil_rms) < 30.0,
        "pauses are not quiet: {}",
        med(&sil_rms)
    );
    assert!(
        med(&speech_rms) > 1000.0,
        "vowels are too quiet: {}",
        med(&speech_rms)
    );
}

#[test]
fn keyword_set() {
    let dir = corpus();
    let mut speakers: Vec<BTreeSet<String>> = Vec::new();
    for (split, per) in [("train", 10), ("valid", 3), ("test", 3)] {
        let rs = rows(&dir.join("ks").join(format!("{split}.jsonl")));
        assert_eq!(rs.len(), per * KS_LABELS.len());
        let mut by_label: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut spk = BTreeSet::new();
        for r in &rs {
            let audio = read_wav(&dir.join("ks").join(r["path"].as_str().unwrap()));
            assert_eq!(audio.len(), 16_000);
            by_label
                .entry(r["label"].as_str().unwrap().into())
                .or_default()
                .push(rms(&audio));
            spk.insert(r["speaker"].as_str().unwrap().to_string());
        }
        assert_eq!(by_label.len(), KS_LABELS.len());
        let sil_max = by_label["_silence_"].iter().copied().fold(0.0, f64::max);
        assert!(sil_max < 40.0, "silence clip too loud: {sil_max}");
        for l in &KS_LABELS[..10] {
            let min = by_label[*l].iter().copied().fold(f64::INFINITY, f64::min);
            assert!(min > 150.0, "{l} clip without speech: {min}");
        }
        speakers.push(spk);
    }
    for i in 0..3 {
        for j in i + 1..3 {
            assert!(
                speakers[i].is_disjoint(&speakers[j]),
                "KS splits {i},{j} share a speaker"
            );
        }
    }
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Helper run in a child process by `deterministic_across_processes` (no-op otherwise): libespeak-ng
/// state carries over between runs in one process, so bit-exact reruns are defined per process.
#[test]
fn child_generate() {
    if let Some(out) = std::env::var_os("SSL_DISTILL_CORPUS_CHILD_OUT") {
        synthesize(
            &CorpusConfig::preset(Preset::Ci).with_seed(11),
            Path::new(&out),
            |_, _| {},
        )
        .expect("child run");
    }
}

#[test]
fn deterministic_across_processes_and_refuses_existing_output() {
    let a = corpus();
    let b = scratch("b");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "ci_corpus::child_generate", "--test-threads=1"])
        .env("SSL_DISTILL_CORPUS_CHILD_OUT", &b)
        .status()
        .expect("spawn child");
    assert!(status.success());
    let (ta, tb) = (tree(a), tree(&b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs between runs");
    }
    let again = synthesize(
        &CorpusConfig::preset(Preset::Ci).with_seed(11),
        &b,
        |_, _| {},
    );
    assert!(matches!(
        again,
        Err(ssl_distill_corpus::CorpusError::OutputExists { .. })
    ));
    let _ = std::fs::remove_dir_all(&b);
}
