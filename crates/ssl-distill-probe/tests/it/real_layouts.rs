//! The fixtures: the real benchmarks' layouts, written at test time from a synthetic corpus
//! (the bundled `assets/demo-corpus`, the `ci` preset, or the tests' tone corpus), so no binary
//! fixture is committed and no espeak-ng is needed. Shared with the CLI's tests
//! (`#[path]`-included there): self-contained.
//!
//! - Speech Commands v0.01 from the corpus's keyword clips: `<word>/<speaker>_nohash_<n>.wav`
//!   (WAV, 1 s); the `_unknown_` clips (each says one of the corpus's 20 auxiliary words, which
//!   one is not recorded) are filed alternately under `bed/` and `bird/`; the `_silence_` clips
//!   are concatenated into two 8 s recordings in `_background_noise_/`; the corpus's
//!   speaker-disjoint valid/test clips are listed in `validation_list.txt` / `testing_list.txt`.
//! - VoxCeleb1 from the corpus's utterances: `wav/id1<speaker>/<video>/<n>.wav`, one "video"
//!   per speaker and split, and `iden_split.txt` (the corpus's train/valid/test as 1/2/3).
//! - LibriSpeech from the corpus's command-word clips (the words are known, so a lexicon can be
//!   written): `<split>/<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac` (the FLAC files
//!   copied) and `<speaker>-<chapter>.trans.txt` (`YES`, `STOP`...), SUPERB's split names, and
//!   `lexicon.txt` with the 10 words in CMUdict ARPAbet.
//!
//! `cargo test --workspace --test it write_real_layouts_to -- --ignored` with
//! `PROBE_LAYOUTS_OUT=DIR` writes them to `DIR` to look at (`tools/probe-layouts.sh`).

#![allow(
    dead_code,
    reason = "shared with the CLI's tests (included with #[path]), which use a part of it"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where each layout was written.
pub struct RealLayouts {
    /// Speech Commands v0.01.
    pub speech_commands: PathBuf,
    /// VoxCeleb1.
    pub voxceleb1: PathBuf,
    /// LibriSpeech.
    pub librispeech: PathBuf,
    /// The lexicon of the LibriSpeech fixture's 10 words.
    pub lexicon: PathBuf,
}

/// The 10 commands in CMUdict ARPAbet (with stress), as s3prl's LibriSpeech lexicons write them.
pub const LEXICON: &str = "YES\tY EH1 S\nNO\tN OW1\nUP\tAH1 P\nDOWN\tD AW1 N\nLEFT\tL EH1 F T\n\
                           RIGHT\tR AY1 T\nON\tAA1 N\nOFF\tAO1 F\nSTOP\tS T AA1 P\nGO\tG OW1\n";

/// Corpus splits and their names in each layout.
const SPLITS: [&str; 3] = ["train", "valid", "test"];
const LIBRI_SPLITS: [&str; 3] = ["train-clean-100", "dev-clean", "test-clean"];

/// The bundled `ci` corpus.
pub fn demo_corpus() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/demo-corpus"
    ))
    .to_path_buf()
}

fn rows(manifest: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(manifest)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn field<'a>(row: &'a serde_json::Value, key: &str) -> &'a str {
    row[key].as_str().unwrap()
}

/// `spk0007` → 7.
fn speaker_index(speaker: &str) -> usize {
    speaker.trim_start_matches("spk").parse().unwrap()
}

fn decode(path: &Path) -> Vec<f32> {
    let audio = ssl_distill_audio::decode_file(path).unwrap();
    assert_eq!(audio.sample_rate, 16_000, "{}", path.display());
    audio.samples
}

/// Writes 16 kHz 16-bit mono samples.
pub fn write_wav16(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// Speech Commands v0.01 from the corpus's `ks/` clips.
pub fn write_speech_commands(corpus: &Path, out: &Path) {
    let mut lists = [String::new(), String::new(), String::new()];
    let mut noise: Vec<f32> = Vec::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut unknown = 0usize;
    for (split, name) in SPLITS.iter().enumerate() {
        for row in rows(&corpus.join("ks").join(format!("{name}.jsonl"))) {
            let samples = decode(&corpus.join("ks").join(field(&row, "path")));
            let label = field(&row, "label");
            if label == "_silence_" {
                noise.extend(samples);
                continue;
            }
            let word = match label {
                "_unknown_" => {
                    unknown += 1;
                    if unknown % 2 == 1 { "bed" } else { "bird" }
                }
                w => w,
            };
            let speaker = format!(
                "{:08x}",
                0xa0b1_c2d3_u32 + speaker_index(field(&row, "speaker")) as u32
            );
            let n = counts.entry((word.into(), speaker.clone())).or_default();
            let rel = format!("{word}/{speaker}_nohash_{n}.wav");
            *n += 1;
            write_wav16(&out.join(&rel), &samples);
            lists[split].push_str(&rel);
            lists[split].push('\n');
        }
    }
    std::fs::write(out.join("validation_list.txt"), &lists[1]).unwrap();
    std::fs::write(out.join("testing_list.txt"), &lists[2]).unwrap();
    let half = noise.len() / 2;
    let noise_dir = out.join("_background_noise_");
    write_wav16(&noise_dir.join("running_tap.wav"), &noise[..half]);
    write_wav16(&noise_dir.join("white_noise.wav"), &noise[half..]);
    std::fs::write(noise_dir.join("README.md"), "noise recordings\n").unwrap();
}

/// VoxCeleb1 from the corpus's utterances of `speakers` (all when `None`).
pub fn write_voxceleb1(corpus: &Path, out: &Path, speakers: Option<usize>) {
    let mut split_file = String::new();
    let mut counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (split, name) in SPLITS.iter().enumerate() {
        for row in rows(&corpus.join(format!("{name}.jsonl"))) {
            let spk = speaker_index(field(&row, "speaker"));
            if speakers.is_some_and(|n| spk >= n) {
                continue;
            }
            let n = counts.entry((spk, split)).or_default();
            *n += 1;
            let video = format!("{}Vid{spk:04}x", ["trn", "dev", "tst"][split]);
            let rel = format!("id1{spk:04}/{video}/{n:05}.wav");
            write_wav16(
                &out.join("wav").join(&rel),
                &decode(&corpus.join(field(&row, "path"))),
            );
            split_file.push_str(&format!("{} {rel}\n", split + 1));
        }
    }
    std::fs::write(out.join("iden_split.txt"), split_file).unwrap();
}

/// LibriSpeech from the corpus's command-word clips, and the lexicon beside it.
pub fn write_librispeech(corpus: &Path, out: &Path) -> PathBuf {
    for (split, name) in SPLITS.iter().enumerate() {
        let mut chapters: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for row in rows(&corpus.join("ks").join(format!("{name}.jsonl"))) {
            let label = field(&row, "label");
            if label.starts_with('_') {
                continue;
            }
            let speaker = 100 + speaker_index(field(&row, "speaker"));
            let chapter = 1000 * (split + 1) + speaker;
            let lines = chapters.entry(speaker).or_default();
            let id = format!("{speaker}-{chapter}-{:04}", lines.len());
            let dir = out
                .join(LIBRI_SPLITS[split])
                .join(speaker.to_string())
                .join(chapter.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(
                corpus.join("ks").join(field(&row, "path")),
                dir.join(format!("{id}.flac")),
            )
            .unwrap();
            lines.push(format!("{id} {}", label.to_uppercase()));
        }
        for (speaker, lines) in chapters {
            let chapter = 1000 * (split + 1) + speaker;
            let dir = out
                .join(LIBRI_SPLITS[split])
                .join(speaker.to_string())
                .join(chapter.to_string());
            let text = lines.join("\n") + "\n";
            std::fs::write(dir.join(format!("{speaker}-{chapter}.trans.txt")), text).unwrap();
        }
    }
    let lexicon = out.join("lexicon.txt");
    std::fs::write(&lexicon, LEXICON).unwrap();
    lexicon
}

/// All three layouts under `out` (`speech_commands/`, `voxceleb1/` with `vox_speakers`
/// speakers, `LibriSpeech/`).
pub fn write_real_layouts(out: &Path, vox_speakers: Option<usize>) -> RealLayouts {
    let corpus = demo_corpus();
    let layouts = RealLayouts {
        speech_commands: out.join("speech_commands"),
        voxceleb1: out.join("voxceleb1"),
        librispeech: out.join("LibriSpeech"),
        lexicon: out.join("LibriSpeech").join("lexicon.txt"),
    };
    write_speech_commands(&corpus, &layouts.speech_commands);
    write_voxceleb1(&corpus, &layouts.voxceleb1, vox_speakers);
    write_librispeech(&corpus, &layouts.librispeech);
    layouts
}
