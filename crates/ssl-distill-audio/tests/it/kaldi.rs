//! Parity with `torchaudio.compliance.kaldi.fbank` / `.mfcc` (torchaudio 2.11) on every fixture
//! written by `tools/reference/fbank.py`, whole matrices at a time.
//!
//! Every tensor of every file is compared (an unknown key fails the test). Tolerances (max abs difference): 5e-3 on log-Fbank (values up to ~25), 1e-2 on MFCC (values
//! up to ~100). torchaudio computes in float32, whose rounding alone is ~1e-3 against float64.

use std::path::{Path, PathBuf};

use safetensors::SafeTensors;
use ssl_distill_audio::{Fbank, FbankConfig, FeatureError, FeatureMatrix, Mfcc, MfccConfig};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kaldi");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "fixtures missing in {}", dir.display());
    files
}

fn tensor(st: &SafeTensors<'_>, key: &str) -> (Vec<usize>, Vec<f32>) {
    let view = st.tensor(key).unwrap();
    let data = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (view.shape().to_vec(), data)
}

/// The largest absolute difference and where it is (frame, bin).
fn max_diff(got: &FeatureMatrix, want: &(Vec<usize>, Vec<f32>), what: &str) -> (f32, usize, usize) {
    assert_eq!(vec![got.frames, got.bins], want.0, "{what}: shape");
    let (i, d) = got
        .data
        .iter()
        .zip(&want.1)
        .map(|(a, b)| (a - b).abs())
        .enumerate()
        .fold(
            (0, 0.0f32),
            |best, (i, d)| if d > best.1 { (i, d) } else { best },
        );
    (d, i / got.bins, i % got.bins)
}

fn fbank_config(sr: f32, bins: usize, energy: bool) -> FbankConfig {
    FbankConfig {
        sample_frequency: f64::from(sr),
        use_energy: energy,
        snip_edges: true,
        ..FbankConfig::default().with_num_mel_bins(bins)
    }
}

fn mfcc_config(sr: f32, bins: usize, ceps: usize, energy: bool) -> MfccConfig {
    let d = MfccConfig::default();
    MfccConfig {
        fbank: FbankConfig {
            sample_frequency: f64::from(sr),
            num_mel_bins: bins,
            use_energy: energy,
            ..d.fbank.clone()
        },
        num_ceps: ceps,
        ..d
    }
}

#[test]
fn fbank_and_mfcc_match_torchaudio_on_every_fixture() {
    let mut checked = 0;
    let mut short_checked = false;
    let (mut worst_fbank, mut worst_mfcc) = (0.0f32, 0.0f32);
    for path in fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (_, wave) = tensor(&st, "wave");
        let sr = tensor(&st, "sample_rate").1[0];
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let keys: Vec<String> = st.names().into_iter().map(str::to_string).collect();
        if !keys.iter().any(|k| k.starts_with("fbank")) {
            // torchaudio refuses a signal shorter than one frame (AssertionError), snipped or
            // not; so do we, with a typed error.
            for snip_edges in [true, false] {
                let cfg = FbankConfig {
                    snip_edges,
                    ..fbank_config(sr, 80, false)
                };
                let err = Fbank::new(cfg.clone()).unwrap().compute(&wave).unwrap_err();
                let want = FeatureError::TooShort {
                    samples: wave.len(),
                    window_size: 400,
                };
                assert_eq!(err, want, "{name}");
                let mfcc = MfccConfig {
                    fbank: cfg,
                    ..mfcc_config(sr, 23, 13, false)
                };
                assert_eq!(Mfcc::new(mfcc).unwrap().compute(&wave).unwrap_err(), want);
            }
            short_checked = true;
            continue;
        }
        for key in keys.iter().filter(|k| *k != "wave" && *k != "sample_rate") {
            let want = tensor(&st, key);
            let (got, tol) = match key.as_ref() {
                "fbank80" => (
                    Fbank::new(fbank_config(sr, 80, false))
                        .unwrap()
                        .compute(&wave),
                    5e-3,
                ),
                "fbank40" => (
                    Fbank::new(fbank_config(sr, 40, false))
                        .unwrap()
                        .compute(&wave),
                    5e-3,
                ),
                "fbank80_energy" => (
                    Fbank::new(fbank_config(sr, 80, true))
                        .unwrap()
                        .compute(&wave),
                    5e-3,
                ),
                "mfcc" => (
                    Mfcc::new(mfcc_config(sr, 23, 13, false))
                        .unwrap()
                        .compute(&wave),
                    1e-2,
                ),
                "mfcc_energy" => (
                    Mfcc::new(mfcc_config(sr, 23, 13, true))
                        .unwrap()
                        .compute(&wave),
                    1e-2,
                ),
                "mfcc40" => (
                    Mfcc::new(mfcc_config(sr, 40, 20, false))
                        .unwrap()
                        .compute(&wave),
                    1e-2,
                ),
                "fbank80_nosnip" => (
                    Fbank::new(FbankConfig {
                        snip_edges: false,
                        ..fbank_config(sr, 80, false)
                    })
                    .unwrap()
                    .compute(&wave),
                    5e-3,
                ),
                "mfcc_nosnip" => (
                    {
                        let mut cfg = mfcc_config(sr, 23, 13, false);
                        cfg.fbank.snip_edges = false;
                        Mfcc::new(cfg).unwrap().compute(&wave)
                    },
                    1e-2,
                ),
                other => panic!("{name}: unexpected fixture key {other}"),
            };
            let got = got.unwrap();
            let (diff, t, b) = max_diff(&got, &want, &format!("{name}/{key}"));
            println!("{name}/{key}: max abs diff {diff:.2e} (frame {t}, bin {b})");
            assert!(
                diff <= tol,
                "{name}/{key}: max abs diff {diff} > {tol} at frame {t}, bin {b}: ours {}, torchaudio {}",
                got.data[t * got.bins + b],
                want.1[t * got.bins + b]
            );
            if key.starts_with("fbank") {
                worst_fbank = worst_fbank.max(diff);
            } else {
                worst_mfcc = worst_mfcc.max(diff);
            }
            checked += 1;
        }
    }
    // 7 fixtures with 8 matrices each, and the one shorter than a frame.
    assert_eq!(checked, 56, "matrices checked");
    assert!(short_checked, "the shorter-than-a-frame fixture is missing");
    println!(
        "{checked} matrices; worst fbank diff {worst_fbank:e}, worst mfcc diff {worst_mfcc:e}"
    );
}
