//! Test helpers: tiny random upstreams on disk and a synthetic labelled tone corpus.

use std::path::Path;

use burn::tensor::Device;
use ssl_distill_models::{FeatExtractNorm, SslConfig, export_hf};
use ssl_distill_students::{HeadConfig, StudentConfig};

/// Writes a tiny random HuBERT (2 x 32, 16-channel conv) as an HF directory at `dir`, with a
/// layer-norm conv extractor (as Large models): a random group-norm extractor normalises each
/// channel over time, which erases the channel energies that tell tones apart.
pub fn tiny_teacher(dir: &Path, seed: u64) {
    let device = Device::flex();
    device.seed(seed);
    let config = SslConfig {
        feat_extract_norm: FeatExtractNorm::Layer,
        conv_bias: true,
        ..SslConfig::tiny()
    };
    let model = config.init(&device);
    export_hf(&model, &config, dir).unwrap();
}

/// Writes a tiny random student (the tiny backbone, one prediction head) at `dir`.
pub fn tiny_student(dir: &Path, seed: u64) -> StudentConfig {
    let device = Device::flex();
    device.seed(seed);
    let config = StudentConfig::new(
        SslConfig {
            feat_proj_layer_norm: false,
            ..SslConfig::tiny()
        },
        HeadConfig::Prediction {
            num_targets: 1,
            d_target: 32,
        },
    );
    config.init(&device).unwrap().save(dir).unwrap();
    config
}

/// A small deterministic generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Writes 16 kHz 16-bit mono samples.
pub fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// White noise through a two-pole resonator at `freq` Hz (pole radius 0.96, a bandwidth of
/// about 200 Hz), scaled to `rms`: a "formant". Random strided conv stacks alias pure tones
/// erratically (a 900 Hz and a 905 Hz tone give features as far apart as 140 Hz and 900 Hz),
/// while band energies of noise map smoothly to features.
pub fn resonance(freq: f64, n: usize, rms: f64, rng: &mut Rng) -> Vec<f32> {
    let r = 0.96;
    let (a1, a2) = (
        2.0 * r * (std::f64::consts::TAU * freq / 16_000.0).cos(),
        -r * r,
    );
    let (mut y1, mut y2) = (0.0, 0.0);
    let mut out: Vec<f64> = (0..n)
        .map(|_| {
            let y = (rng.f64() - 0.5) + a1 * y1 + a2 * y2;
            (y2, y1) = (y1, y);
            y
        })
        .collect();
    let now = (out.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64).sqrt();
    for v in &mut out {
        *v *= rms / now.max(1e-12);
    }
    out.into_iter().map(|v| v as f32).collect()
}

/// Resonance of each synthetic "speaker" (and KS class).
pub const SPEAKER_HZ: [f64; 4] = [250.0, 800.0, 2000.0, 4500.0];
/// Resonance of each synthetic "phone".
pub const PHONE_HZ: [(&str, f64); 3] = [("a", 500.0), ("b", 1400.0), ("c", 3200.0)];

/// Writes a corpus directory laid out as `corpus synth` writes it: `{train,valid,test}.jsonl`
/// (`per_split` utterances: a "speaker" is one resonance over the whole utterance, the
/// "phones" are 2-4 segments of other resonances laid over it, and the text is the phones as
/// one-letter words) and `ks/{train,valid,test}.jsonl`
/// (0.5 s clips of the speakers' resonances, labelled `k0`..`k3`). Speakers cycle, so every
/// split is balanced.
pub fn tone_corpus(dir: &Path, per_split: [usize; 3], seed: u64) {
    let mut rng = Rng::new(seed);
    for (split, &count) in ["train", "valid", "test"].iter().zip(&per_split) {
        let mut rows = String::new();
        let mut ks = String::new();
        for i in 0..count {
            let spk = i % SPEAKER_HZ.len();
            let segments = 2 + rng.below(3);
            let mut wave = Vec::new();
            let mut phones = Vec::new();
            for _ in 0..segments {
                let (name, hz) = PHONE_HZ[rng.below(PHONE_HZ.len())];
                let n = (rng.uniform(0.12, 0.2) * 16_000.0) as usize;
                wave.extend(resonance(hz, n, 0.1, &mut rng));
                phones.push(name);
            }
            // One continuous voice under the phones (no clicks at segment boundaries).
            let carrier = resonance(SPEAKER_HZ[spk], wave.len(), rng.uniform(0.2, 0.3), &mut rng);
            for (w, c) in wave.iter_mut().zip(carrier) {
                *w += c;
            }
            let rel = format!("wav/{split}/{i:04}.wav");
            write_wav(&dir.join(&rel), &wave);
            rows.push_str(
                &serde_json::json!({
                    "path": rel,
                    "speaker": format!("spk{spk}"),
                    "text": phones.join(" "),
                    "phones": phones.join(" "),
                })
                .to_string(),
            );
            rows.push('\n');
            let clip = resonance(SPEAKER_HZ[spk], 8_000, rng.uniform(0.1, 0.3), &mut rng);
            let rel = format!("{split}/{i:04}.wav");
            write_wav(&dir.join("ks").join(&rel), &clip);
            ks.push_str(
                &serde_json::json!({"path": rel, "speaker": "x", "label": format!("k{spk}")})
                    .to_string(),
            );
            ks.push('\n');
        }
        std::fs::write(dir.join(format!("{split}.jsonl")), rows).unwrap();
        std::fs::write(dir.join("ks").join(format!("{split}.jsonl")), ks).unwrap();
    }
}

/// Serialises the tests that seed or draw from burn's device RNG. It is process-wide
/// (`Device::seed`): `tiny_teacher`, `tiny_student` and `run_probe` seed it and then draw (model
/// and head initialisation), so two such tests in parallel threads would interleave their draws
/// and a seeded probe would not see the initialisation its seed names.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
