//! Unit tests of [`Fbank`] (parity with torchaudio is in `tests/it/kaldi.rs`).

use super::*;

fn tone(len: usize, freq: f32) -> Vec<f32> {
    (0..len)
        .map(|i| 0.3 * (2.0 * std::f32::consts::PI * freq * i as f32 / 16000.0).sin())
        .collect()
}

fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random::<f32>() - 0.5).collect()
}

#[test]
fn shapes_and_short_signals() {
    let fb = Fbank::new(FbankConfig::default()).unwrap();
    assert_eq!(
        (fb.window_size(), fb.window_shift(), fb.fft_size()),
        (400, 160, 512)
    );
    assert_eq!(fb.compute(&tone(16000, 440.0)).unwrap().shape(), [98, 80]);
    let too_short = |samples| FeatureError::TooShort {
        samples,
        window_size: 400,
    };
    assert_eq!(fb.compute(&tone(399, 440.0)).unwrap_err(), too_short(399));
    assert_eq!(fb.compute(&[]).unwrap_err(), too_short(0));
    assert_eq!(fb.compute(&tone(400, 440.0)).unwrap().shape(), [1, 80]);

    let cfg = FbankConfig {
        snip_edges: false,
        use_energy: true,
        ..FbankConfig::default()
    };
    let fb = Fbank::new(cfg).unwrap();
    // (n + 80) / 160 frames, reflected at both ends
    assert_eq!(fb.compute(&tone(400, 440.0)).unwrap().shape(), [3, 81]);
    assert_eq!(fb.compute(&tone(559, 440.0)).unwrap().shape(), [3, 81]);
    assert_eq!(fb.compute(&tone(1000, 440.0)).unwrap().shape(), [6, 81]);
    assert_eq!(fb.compute(&tone(399, 440.0)).unwrap_err(), too_short(399));

    let cfg = FbankConfig {
        min_duration: 0.5,
        ..FbankConfig::default()
    };
    let fb = Fbank::new(cfg).unwrap();
    assert_eq!(fb.compute(&tone(7999, 440.0)).unwrap().frames, 0);
    assert_eq!(fb.compute(&tone(8000, 440.0)).unwrap().frames, 48);
}

#[test]
fn non_finite_input_is_an_error() {
    let fb = Fbank::new(FbankConfig::default()).unwrap();
    let mut w = tone(1000, 300.0);
    w[417] = f32::NAN;
    assert!(matches!(
        fb.compute(&w),
        Err(FeatureError::NonFiniteSample { index: 417, .. })
    ));
    w[417] = 0.0;
    w[3] = f32::NEG_INFINITY;
    assert!(matches!(
        fb.compute(&w),
        Err(FeatureError::NonFiniteSample { index: 3, .. })
    ));
}

#[test]
fn silence_hits_the_log_floor() {
    let cfg = FbankConfig {
        use_energy: true,
        ..FbankConfig::default()
    };
    let fb = Fbank::new(cfg).unwrap();
    let feats = fb.compute(&vec![0.0; 1600]).unwrap();
    let floor = f32::EPSILON.ln();
    assert!((floor + 15.942_385).abs() < 1e-5);
    for row in feats.rows() {
        // energy column: ln(max(0, eps)) floored at ln(energy_floor = 1) = 0
        assert_eq!(row[0], 0.0);
        assert!(row[1..].iter().all(|&v| v == floor), "{row:?}");
    }
}

#[test]
fn input_scale_is_a_plain_multiplication() {
    let w = noise(4000, 1);
    let ours = Fbank::new(FbankConfig::default())
        .unwrap()
        .compute(&w)
        .unwrap();
    let scaled: Vec<f32> = w.iter().map(|v| v * 32768.0).collect();
    let cfg = FbankConfig {
        input_scale: 1.0,
        ..FbankConfig::default()
    };
    let raw = Fbank::new(cfg).unwrap().compute(&scaled).unwrap();
    assert_eq!(ours, raw);
    // scaling by 2 adds 2 ln 2 to every log-mel value
    let cfg = FbankConfig {
        input_scale: 65536.0,
        ..FbankConfig::default()
    };
    let twice = Fbank::new(cfg).unwrap().compute(&w).unwrap();
    for (a, b) in twice.data.iter().zip(&ours.data) {
        assert!((a - b - 2.0 * std::f32::consts::LN_2).abs() < 1e-4);
    }
}

/// The parallel path (>= 256 frames) gives the same rows as the serial one on a prefix.
#[test]
fn parallel_equals_serial() {
    for snip_edges in [true, false] {
        let cfg = FbankConfig {
            snip_edges,
            use_energy: true,
            ..FbankConfig::default()
        };
        let fb = Fbank::new(cfg).unwrap();
        let w = noise(160 * 400, 7);
        let long = fb.compute(&w).unwrap();
        assert!(long.frames >= 2 * PAR_CHUNK);
        let prefix = fb.compute(&w[..160 * 100]).unwrap();
        // with reflection the last frames of the prefix see the reflected signal: skip them
        let n = prefix.frames - 3;
        assert_eq!(&long.data[..n * long.bins], &prefix.data[..n * long.bins]);
    }
}

/// Frames are computed [`LANES`] at a time: every row equals the same frame computed alone
/// (its own 400 samples), whatever its lane, block or rayon chunk, and a partial last block
/// changes nothing. Also with the magnitude spectrum and the energy column last.
#[test]
fn batched_frames_equal_frames_computed_one_by_one() {
    for (use_power, htk_compat) in [(true, false), (false, true)] {
        let cfg = FbankConfig {
            use_power,
            use_energy: true,
            htk_compat,
            ..FbankConfig::default()
        };
        let fb = Fbank::new(cfg).unwrap();
        // 2 * PAR_CHUNK + 3 frames: rayon chunks, full blocks and a 3-frame last block
        let frames = 2 * PAR_CHUNK + 3;
        let mut w = noise(400 + 160 * (frames - 1), 11);
        // loud and silent stretches, so lanes of very different levels share a block
        w[160 * 20..160 * 40].iter_mut().for_each(|v| *v *= 1e-4);
        w[160 * 60..160 * 70].fill(0.0);
        let all = fb.compute(&w).unwrap();
        assert_eq!(all.frames, frames);
        for t in [0, 1, 7, 8, 9, 21, 25, 38, 62, 127, 128, 135, frames - 1] {
            let one = fb.compute(&w[160 * t..160 * t + 400]).unwrap();
            assert_eq!(one.frames, 1);
            assert_eq!(all.row(t), one.row(0), "frame {t}");
        }
    }
}

#[test]
fn tone_peaks_in_the_right_mel_bin() {
    let fb = Fbank::new(FbankConfig::default()).unwrap();
    let centers = fb.mel_banks().center_freqs().to_vec();
    for freq in [300.0, 1000.0, 4000.0] {
        let feats = fb.compute(&tone(4000, freq as f32)).unwrap();
        let row = feats.row(5);
        let argmax = (0..80).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        let nearest = (0..80)
            .min_by(|&a, &b| {
                (centers[a] - freq)
                    .abs()
                    .total_cmp(&(centers[b] - freq).abs())
            })
            .unwrap();
        assert!(
            argmax.abs_diff(nearest) <= 1,
            "{freq} Hz: argmax {argmax}, nearest {nearest}"
        );
    }
}

#[test]
fn dither_is_seeded() {
    let w = tone(4000, 500.0);
    let with = |dither: f32, seed: u64| {
        let cfg = FbankConfig {
            dither,
            dither_seed: seed,
            ..FbankConfig::default()
        };
        Fbank::new(cfg).unwrap().compute(&w).unwrap()
    };
    assert_eq!(with(1.0, 3), with(1.0, 3));
    assert_ne!(with(1.0, 3), with(1.0, 4));
    assert_ne!(with(1.0, 3), with(0.0, 3));
    // dither of 1 int16 step barely moves a loud tone's peak bins
    let (a, b) = (with(1.0, 3), with(0.0, 3));
    let row = 10 * 80;
    let peak = (0..80)
        .max_by(|&i, &j| b.data[row + i].total_cmp(&b.data[row + j]))
        .unwrap();
    assert!((a.data[row + peak] - b.data[row + peak]).abs() < 1e-3);
    // and on silence it lifts everything far above the floor
    let cfg = FbankConfig {
        dither: 1.0,
        ..FbankConfig::default()
    };
    let s = Fbank::new(cfg).unwrap().compute(&vec![0.0; 4000]).unwrap();
    // (pre-emphasis leaves little of the noise in the lowest bins, so not every value is > 0)
    let floor = f32::EPSILON.ln();
    assert!(
        s.data.iter().all(|&v| v > floor + 4.0),
        "min {:?}",
        s.data.iter().copied().reduce(f32::min)
    );
    assert!(s.data.iter().sum::<f32>() / s.data.len() as f32 > 2.0);
}

#[test]
fn energy_column_positions_and_subtract_mean() {
    let w = noise(8000, 2);
    let base = FbankConfig {
        num_mel_bins: 40,
        use_energy: true,
        ..FbankConfig::default()
    };
    let first = Fbank::new(base.clone()).unwrap().compute(&w).unwrap();
    let cfg = FbankConfig {
        htk_compat: true,
        ..base.clone()
    };
    let last = Fbank::new(cfg).unwrap().compute(&w).unwrap();
    assert_eq!(first.bins, 41);
    for t in 0..first.frames {
        assert_eq!(first.row(t)[0], last.row(t)[40]);
        assert_eq!(&first.row(t)[1..], &last.row(t)[..40]);
    }
    let cfg = FbankConfig {
        subtract_mean: true,
        ..base
    };
    let centered = Fbank::new(cfg).unwrap().compute(&w).unwrap();
    for b in 0..41 {
        let mean: f32 = (0..centered.frames)
            .map(|t| centered.row(t)[b])
            .sum::<f32>();
        assert!((mean / centered.frames as f32).abs() < 1e-4);
    }
}

#[test]
fn invalid_configs_are_errors() {
    let bad = |cfg: FbankConfig, field: &str| match Fbank::new(cfg) {
        Err(FeatureError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
        other => panic!("{field}: {other:?}"),
    };
    let d = FbankConfig::default;
    bad(
        FbankConfig {
            sample_frequency: 0.0,
            ..d()
        },
        "sample_frequency",
    );
    bad(
        FbankConfig {
            frame_length: 0.01,
            ..d()
        },
        "frame_length",
    );
    bad(
        FbankConfig {
            frame_shift: 0.0,
            ..d()
        },
        "frame_shift",
    );
    bad(
        FbankConfig {
            frame_shift: f64::NAN,
            ..d()
        },
        "frame_shift",
    );
    bad(
        FbankConfig {
            preemphasis_coefficient: 1.5,
            ..d()
        },
        "preemphasis_coefficient",
    );
    bad(
        FbankConfig {
            energy_floor: -1.0,
            ..d()
        },
        "energy_floor",
    );
    bad(
        FbankConfig {
            dither: -1.0,
            ..d()
        },
        "dither",
    );
    bad(
        FbankConfig {
            input_scale: 0.0,
            ..d()
        },
        "input_scale",
    );
    bad(
        FbankConfig {
            num_mel_bins: 2,
            ..d()
        },
        "num_mel_bins",
    );
    // 25.0625 ms -> 401 samples, odd FFT size without rounding
    bad(
        FbankConfig {
            frame_length: 25.0625,
            round_to_power_of_two: false,
            ..d()
        },
        "frame_length",
    );
    assert!(matches!(
        Fbank::new(FbankConfig {
            low_freq: 8000.0,
            ..d()
        }),
        Err(FeatureError::InvalidMelRange { .. })
    ));
}

#[test]
fn config_serde_fills_defaults() {
    let cfg: FbankConfig =
        serde_json::from_str(r#"{"num_mel_bins": 40, "window_type": "hamming"}"#).unwrap();
    assert_eq!(cfg.num_mel_bins, 40);
    assert_eq!(cfg.window_type, WindowType::Hamming);
    assert_eq!(cfg.input_scale, 32768.0);
    assert!(serde_json::from_str::<FbankConfig>(r#"{"vtln_warp": 0.9}"#).is_err());
}
