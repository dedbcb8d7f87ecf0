//! The generator: utterances with alignments, keyword clips, manifests.
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use crate::config::{AudioFormat, CorpusConfig, TextSource};
use crate::error::{CorpusError, io_err};
use crate::espeak::{Engine, PITCH, RANGE, RATE, VOLUME};
use crate::keywords::{KS_LABELS, UNKNOWN_WORDS};
use crate::phones::{Folded, INVENTORY, SIL, SPN, fold};
use crate::resample::{SAMPLE_RATE, index_to_16k, to_16k};
use crate::rng::Rng;
use crate::summary::CorpusSummary;
use crate::voices::{Speaker, build_slim_data_dir, make_speakers};

/// The process-wide engine: libespeak-ng hangs when re-initialized after `espeak_Terminate`, so
/// it is initialized once, on a per-process slim data directory whose variant files are rewritten
/// by every run (espeak-ng reads a variant file when the voice is selected).
static ENGINE: Mutex<Option<Engine>> = Mutex::new(None);
const SPLITS: [&str; 3] = ["train", "valid", "test"];

#[derive(Serialize)]
struct UttRow<'a> {
    path: String,
    speaker: &'a str,
    text: &'a str,
    phones: String,
    align: Vec<(&'static str, usize, usize)>,
}

#[derive(Serialize)]
struct KsRow<'a> {
    path: String,
    speaker: &'a str,
    label: &'a str,
}

/// Folded segments `(class, start, end)` in 16 kHz samples covering `[0, len)`.
pub(crate) fn align(events: &[(String, usize)], len: usize) -> Vec<(&'static str, usize, usize)> {
    let mut starts: Vec<(&'static str, usize)> = vec![(SIL, 0)];
    for (name, s22) in events {
        if let Folded::Class(c) = fold(name) {
            let s = index_to_16k(*s22)
                .min(len)
                .max(starts.last().map_or(0, |l| l.1));
            starts.push((c, s));
        }
    }
    let mut segs: Vec<(&'static str, usize, usize)> = Vec::new();
    for (i, &(c, s)) in starts.iter().enumerate() {
        let e = starts.get(i + 1).map_or(len, |n| n.1);
        if e <= s {
            continue;
        }
        match segs.last_mut() {
            Some(last) if last.0 == SIL && c == SIL => last.2 = e,
            _ => segs.push((c, s, e)),
        }
    }
    segs
}

fn to_i16(x: &[f32], clipped: &mut usize) -> Vec<i16> {
    x.iter()
        .map(|&v| {
            let r = v.round();
            if !(-32767.0..=32767.0).contains(&r) {
                *clipped += 1;
            }
            r.clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

fn write_clip(path: &Path, samples: &[i16], format: AudioFormat) -> Result<(), CorpusError> {
    match format {
        AudioFormat::Wav => write_wav(path, samples),
        AudioFormat::Flac => write_flac(path, samples),
    }
}

fn write_wav(path: &Path, samples: &[i16]) -> Result<(), CorpusError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wav = |source| CorpusError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(wav)?;
    for &s in samples {
        w.write_sample(s).map_err(wav)?;
    }
    w.finalize().map_err(wav)
}

/// A block size near 4096 whose last, shorter block is empty or at least 16 samples long:
/// flacenc 0.5 writes the last block's size into STREAMINFO's minimum block size (the spec
/// excludes the last block there), and claxon rightly rejects a minimum under 16.
/// (A clip under 16 samples cannot satisfy it and gets 4096; corpus clips are ≥ 1 s.)
fn flac_block_size(len: usize) -> usize {
    (4096..4096 + 32)
        .find(|bs| len.is_multiple_of(*bs) || len % bs >= 16)
        .unwrap_or(4096)
}

/// 16-bit mono FLAC through flacenc (default encoder settings, blocks of about 4096 samples).
fn write_flac(path: &Path, samples: &[i16]) -> Result<(), CorpusError> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let fail = |message: String| CorpusError::Flac {
        path: path.to_path_buf(),
        message,
    };
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| fail(e.to_string()))?;
    let wide: Vec<i32> = samples.iter().map(|&s| i32::from(s)).collect();
    let source = flacenc::source::MemSource::from_samples(&wide, 1, 16, SAMPLE_RATE as usize);
    let stream =
        flacenc::encode_with_fixed_block_size(&config, source, flac_block_size(wide.len()))
            .map_err(|e| fail(e.to_string()))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).map_err(|e| fail(e.to_string()))?;
    std::fs::write(path, sink.as_slice()).map_err(io_err(path))
}

struct Manifest {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
}

impl Manifest {
    fn create(path: PathBuf) -> Result<Self, CorpusError> {
        let f = std::fs::File::create(&path).map_err(io_err(&path))?;
        Ok(Self {
            path,
            file: std::io::BufWriter::new(f),
        })
    }
    fn row(&mut self, row: &impl Serialize) -> Result<(), CorpusError> {
        serde_json::to_writer(&mut self.file, row).map_err(|source| CorpusError::Json {
            path: self.path.clone(),
            source,
        })?;
        writeln!(self.file).map_err(io_err(&self.path))
    }
    fn finish(mut self) -> Result<(), CorpusError> {
        self.file.flush().map_err(io_err(&self.path))
    }
}

fn mkdir(p: &Path) -> Result<(), CorpusError> {
    std::fs::create_dir_all(p).map_err(io_err(p))
}

fn set_prosody(
    eng: &mut Engine,
    spk: &Speaker,
    rng: &mut Rng,
    volume: i32,
) -> Result<(), CorpusError> {
    // Select the plain dialect first so the variant file is always re-read (espeak-ng skips
    // reloading a voice whose name equals the current one).
    eng.set_voice(&format!("gmw/{}", spk.dialect))?;
    eng.set_voice(&spk.voice_name())?;
    eng.set_param(
        RATE,
        (spk.rate * rng.uniform(0.92, 1.08))
            .round()
            .clamp(80.0, 450.0) as i32,
    )?;
    eng.set_param(
        PITCH,
        (spk.pitch + rng.uniform(-6.0, 6.0))
            .round()
            .clamp(0.0, 99.0) as i32,
    )?;
    eng.set_param(RANGE, rng.uniform(35.0, 65.0).round() as i32)?;
    eng.set_param(VOLUME, volume)
}

/// Run the whole generation (see [`crate::synthesize`]).
pub(crate) fn run(
    cfg: &CorpusConfig,
    out_dir: &Path,
    mut progress: impl FnMut(usize, usize),
) -> Result<CorpusSummary, CorpusError> {
    cfg.validate()?;
    if out_dir.exists()
        && std::fs::read_dir(out_dir)
            .map_err(io_err(out_dir))?
            .next()
            .is_some()
    {
        return Err(CorpusError::OutputExists {
            path: out_dir.to_path_buf(),
        });
    }
    let name = out_dir
        .file_name()
        .map_or_else(|| "corpus".into(), |n| n.to_string_lossy().into_owned());
    let parent = out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    mkdir(parent)?;
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    let result = generate(cfg, &tmp, &mut progress);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        return result;
    }
    if out_dir.exists() {
        std::fs::remove_dir(out_dir).map_err(io_err(out_dir))?;
    }
    std::fs::rename(&tmp, out_dir).map_err(io_err(out_dir))?;
    result
}

/// Running counts of a generation.
#[derive(Debug, Default)]
struct Tally {
    done: usize,
    total: usize,
    clipped: usize,
    unknown: usize,
    utt_samples: usize,
    ks_samples: usize,
}

/// A generation in progress: its configuration, output directory, speakers and counts.
struct Generation<'a> {
    cfg: &'a CorpusConfig,
    root: &'a Path,
    speakers: &'a [Speaker],
    tally: Tally,
}

fn generate(
    cfg: &CorpusConfig,
    root: &Path,
    progress: &mut impl FnMut(usize, usize),
) -> Result<CorpusSummary, CorpusError> {
    let speakers = make_speakers(cfg.speakers, cfg.seed);
    let espeak_dir =
        std::env::temp_dir().join(format!("ssl-distill-corpus-espeak-{}", std::process::id()));
    let mut guard = ENGINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    mkdir(&espeak_dir)?;
    build_slim_data_dir(&espeak_dir, &speakers)?;
    if guard.is_none() {
        *guard = Some(Engine::new(&espeak_dir)?);
    }
    let Some(eng) = guard.as_mut() else {
        unreachable!("initialized above")
    };

    // Text: shuffle, carve out sentence-disjoint pools (test, valid, then the rest for train).
    let mut sents = match cfg.text {
        TextSource::WordNet => crate::text::load_sentences(&cfg.wordnet_dir)?,
        TextSource::Commands => crate::commands::command_sentences(),
    };
    let available = sents.len();
    Rng::new(cfg.seed, 0x7E47).shuffle(&mut sents);
    let need_test = cfg.test_utts * 2;
    let need_valid = cfg.valid_utts * 2;
    let need = need_test + need_valid + cfg.train_utts.min(1000);
    if available < need {
        return Err(CorpusError::NotEnoughText {
            expected: need,
            got: available,
        });
    }
    let pools: [&[String]; 3] = [
        &sents[need_test + need_valid..],
        &sents[need_test..need_test + need_valid],
        &sents[..need_test],
    ];
    let counts = [cfg.train_utts, cfg.valid_utts, cfg.test_utts];
    let ks_spk = ks_speaker_ranges(speakers.len());
    let ks_total: usize = cfg.ks_per_class.iter().sum::<usize>() * KS_LABELS.len();
    let mut run = Generation {
        cfg,
        root,
        speakers: &speakers,
        tally: Tally {
            total: counts.iter().sum::<usize>() + ks_total,
            ..Tally::default()
        },
    };
    for (si, split) in SPLITS.iter().enumerate() {
        run.utterances(eng, si, split, pools[si], counts[si], progress)?;
    }
    // Keyword spotting: speaker-disjoint splits, 1 s clips.
    for (si, split) in SPLITS.iter().enumerate() {
        run.keywords(eng, si, split, ks_spk[si], progress)?;
    }
    let tally = run.tally;
    let version = eng.version.clone();

    let ks_clips = cfg.ks_per_class.map(|n| n * KS_LABELS.len());
    let summary = CorpusSummary {
        config: cfg.clone(),
        espeak_version: version,
        utts: counts,
        ks_clips,
        utt_seconds: tally.utt_samples as f64 / f64::from(SAMPLE_RATE),
        ks_seconds: tally.ks_samples as f64 / f64::from(SAMPLE_RATE),
        sentences_available: available,
        unknown_phones: tally.unknown,
        clipped_samples: tally.clipped,
        inventory: INVENTORY.iter().map(|s| (*s).to_string()).collect(),
        speakers,
    };
    let p = root.join("corpus.json");
    let json = serde_json::to_vec_pretty(&summary).map_err(|source| CorpusError::Json {
        path: p.clone(),
        source,
    })?;
    std::fs::write(&p, json).map_err(io_err(&p))?;
    Ok(summary)
}

impl Generation<'_> {
    /// The `count` utterances of split `si` (`wav/SPLIT/`, `SPLIT.jsonl`), texts from `pool`.
    fn utterances(
        &mut self,
        eng: &mut Engine,
        si: usize,
        split: &str,
        pool: &[String],
        count: usize,
        progress: &mut impl FnMut(usize, usize),
    ) -> Result<(), CorpusError> {
        let dir = self.root.join("wav").join(split);
        mkdir(&dir)?;
        let mut man = Manifest::create(self.root.join(format!("{split}.jsonl")))?;
        let mut rng = Rng::new(self.cfg.seed, 0x1000 + si as u64);
        let mut next = 0usize;
        for i in 0..count {
            let spk = &self.speakers[rng.below(self.speakers.len())];
            let mut text = pool[next % pool.len()].clone();
            next += 1;
            if rng.f64() < self.cfg.join_prob {
                text = format!("{text}. {}", pool[next % pool.len()]);
                next += 1;
            }
            set_prosody(eng, spk, &mut rng, self.cfg.volume)?;
            let syn = eng.synth(&text)?;
            let audio = to_i16(&to_16k(&syn.samples), &mut self.tally.clipped);
            let segs = align(&syn.phonemes, audio.len());
            self.tally.unknown += segs.iter().filter(|s| s.0 == SPN).count();
            let rel = format!("wav/{split}/{i:06}.{}", self.cfg.format.extension());
            write_clip(&self.root.join(&rel), &audio, self.cfg.format)?;
            self.tally.utt_samples += audio.len();
            let phones: Vec<&str> = segs.iter().map(|s| s.0).filter(|&c| c != SIL).collect();
            man.row(&UttRow {
                path: rel,
                speaker: &spk.id,
                text: &text,
                phones: phones.join(" "),
                align: segs,
            })?;
            self.tally.done += 1;
            progress(self.tally.done, self.tally.total);
        }
        man.finish()
    }

    /// The keyword clips of split `si` (`ks/SPLIT/`, `ks/SPLIT.jsonl`), spoken by the speakers
    /// `speakers.0 .. speakers.1`.
    fn keywords(
        &mut self,
        eng: &mut Engine,
        si: usize,
        split: &str,
        speakers: (usize, usize),
        progress: &mut impl FnMut(usize, usize),
    ) -> Result<(), CorpusError> {
        let dir = self.root.join("ks").join(split);
        mkdir(&dir)?;
        let mut man = Manifest::create(self.root.join("ks").join(format!("{split}.jsonl")))?;
        let mut rng = Rng::new(self.cfg.seed, 0x2000 + si as u64);
        let (lo, hi) = speakers;
        let mut idx = 0usize;
        for label in KS_LABELS {
            for _ in 0..self.cfg.ks_per_class[si] {
                let spk = &self.speakers[lo + rng.below(hi - lo)];
                let clip = ks_clip(
                    eng,
                    spk,
                    label,
                    &mut rng,
                    self.cfg.volume,
                    &mut self.tally.clipped,
                )?;
                let rel = format!("{split}/{idx:06}.{}", self.cfg.format.extension());
                write_clip(&self.root.join("ks").join(&rel), &clip, self.cfg.format)?;
                self.tally.ks_samples += clip.len();
                man.row(&KsRow {
                    path: rel,
                    speaker: &spk.id,
                    label,
                })?;
                idx += 1;
                self.tally.done += 1;
                progress(self.tally.done, self.tally.total);
            }
        }
        man.finish()
    }
}

/// Speaker index ranges [lo, hi) for KS train / valid / test (80/10/10, each non-empty).
fn ks_speaker_ranges(n: usize) -> [(usize, usize); 3] {
    let n_test = (n / 10).max(1);
    let n_valid = (n / 10).max(1);
    let n_train = n - n_test - n_valid;
    [
        (0, n_train),
        (n_train, n_train + n_valid),
        (n_train + n_valid, n),
    ]
}

/// One 1 s keyword clip: the word (trimmed) at a random offset over low noise.
fn ks_clip(
    eng: &mut Engine,
    spk: &Speaker,
    label: &str,
    rng: &mut Rng,
    volume: i32,
    clipped: &mut usize,
) -> Result<Vec<i16>, CorpusError> {
    let n = SAMPLE_RATE as usize;
    let mut out = vec![0f32; n];
    let noise_rms = if label == "_silence_" {
        rng.uniform(3.0, 30.0)
    } else {
        rng.uniform(3.0, 80.0)
    };
    if label != "_silence_" {
        let word = if label == "_unknown_" {
            UNKNOWN_WORDS[rng.below(UNKNOWN_WORDS.len())]
        } else {
            label
        };
        set_prosody(eng, spk, rng, volume)?;
        let syn = eng.synth(word)?;
        let audio = to_16k(&syn.samples);
        let first = audio.iter().position(|v| v.abs() > 100.0).unwrap_or(0);
        let last = audio
            .iter()
            .rposition(|v| v.abs() > 100.0)
            .map_or(first, |i| i + 1);
        let word = &audio[first..last.max(first)];
        let word = &word[..word.len().min(n)];
        let off = rng.below(n - word.len() + 1);
        out[off..off + word.len()].copy_from_slice(word);
    }
    for v in &mut out {
        *v += (noise_rms * rng.normal()) as f32;
    }
    Ok(to_i16(&out, clipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flac_blocks_never_end_with_fewer_than_16_samples() {
        for len in (16..20_000).chain((20_000..2_000_000).step_by(7)) {
            let bs = flac_block_size(len);
            let last = len % bs;
            assert!(
                last == 0 || last >= 16,
                "len {len}: block {bs}, last {last}"
            );
        }
    }

    #[test]
    fn align_covers_and_merges() {
        let ev = vec![
            ("_".to_string(), 100),
            ("h".into(), 441),
            (";".into(), 500),
            ("@2".into(), 882),
        ];
        let a = align(&ev, 1000);
        assert_eq!(a, vec![(SIL, 0, 320), ("h", 320, 640), ("@", 640, 1000)]);
        assert_eq!(ks_speaker_ranges(24), [(0, 20), (20, 22), (22, 24)]);
    }
}
