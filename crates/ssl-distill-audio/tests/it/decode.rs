//! Decoding every WAV flavour and FLAC; shared writers for the other test modules.

use std::path::{Path, PathBuf};

use flacenc::component::BitRepr;
use flacenc::error::Verify;
use ssl_distill_audio::{decode_file, load_audio};

/// Writes a 16-bit PCM WAV of `samples` (in [-1, 1]) at `rate`, mono.
pub fn write_wav16(path: &Path, samples: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// FLAC bytes of interleaved integer `samples`.
pub fn flac_bytes(samples: &[i32], channels: usize, bits: usize, rate: usize) -> Vec<u8> {
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| e)
        .unwrap();
    let source = flacenc::source::MemSource::from_samples(samples, channels, bits, rate);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, 1024).unwrap();
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).unwrap();
    sink.as_slice().to_vec()
}

/// A test tone as i16 values.
pub fn tone_i16(len: usize) -> Vec<i16> {
    (0..len)
        .map(|i| ((i as f32 * 0.05).sin() * 12000.0) as i16)
        .collect()
}

fn tmp(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn pcm_depths_and_float_decode_to_the_same_signal() {
    let dir = tempfile::tempdir().unwrap();
    let reference: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
    for (bits, format) in [
        (8, hound::SampleFormat::Int),
        (16, hound::SampleFormat::Int),
        (24, hound::SampleFormat::Int),
        (32, hound::SampleFormat::Int),
        (32, hound::SampleFormat::Float),
    ] {
        let path = tmp(&dir, &format!("x{bits}{format:?}.wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: bits,
            sample_format: format,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let full = (1i64 << (bits - 1)) as f64;
        for &s in &reference {
            match (format, bits) {
                (hound::SampleFormat::Float, _) => w.write_sample(s).unwrap(),
                (_, 8) => w.write_sample((f64::from(s) * full).round() as i8).unwrap(),
                (_, 16) => w
                    .write_sample((f64::from(s) * full).round() as i16)
                    .unwrap(),
                _ => w
                    .write_sample((f64::from(s) * full).round() as i32)
                    .unwrap(),
            }
        }
        w.finalize().unwrap();
        let audio = decode_file(&path).unwrap();
        assert_eq!(audio.sample_rate, 16000);
        assert_eq!(audio.samples.len(), 1000);
        let tol = if bits == 8 { 1.0 / 128.0 } else { 1e-4 };
        let err = audio
            .samples
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err <= tol, "{bits}-bit {format:?}: max error {err}");
    }
}

#[test]
fn int16_scale_is_torchaudios() {
    let dir = tempfile::tempdir().unwrap();
    let path = tmp(&dir, "scale.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for v in [i16::MIN, -1, 0, 1, i16::MAX] {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let a = decode_file(&path).unwrap();
    assert_eq!(
        a.samples,
        vec![-1.0, -1.0 / 32768.0, 0.0, 1.0 / 32768.0, 32767.0 / 32768.0]
    );
}

#[test]
fn channels_are_averaged_including_extensible_headers() {
    let dir = tempfile::tempdir().unwrap();
    for channels in [2u16, 3, 6] {
        let path = tmp(&dir, &format!("multi{channels}.wav"));
        let spec = hound::WavSpec {
            channels,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        // hound writes WAVE_FORMAT_EXTENSIBLE for more than 2 channels.
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for t in 0..100i16 {
            for c in 0..channels as i16 {
                w.write_sample(t * 10 + c * 100).unwrap();
            }
        }
        w.finalize().unwrap();
        let a = decode_file(&path).unwrap();
        assert_eq!(a.samples.len(), 100);
        let mean_offset: f32 =
            (0..channels).map(|c| f32::from(c) * 100.0).sum::<f32>() / f32::from(channels);
        for (t, v) in a.samples.iter().enumerate() {
            let want = (t as f32 * 10.0 + mean_offset) / 32768.0;
            assert!(
                (v - want).abs() < 1e-6,
                "{channels} ch, t={t}: {v} vs {want}"
            );
        }
    }
}

#[test]
fn flac_equals_wav_of_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = tone_i16(5000);
    let wav = tmp(&dir, "tone.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    pcm.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
    let flac = tmp(&dir, "tone.flac");
    let samples: Vec<i32> = pcm.iter().map(|&s| i32::from(s)).collect();
    std::fs::write(&flac, flac_bytes(&samples, 1, 16, 22050)).unwrap();

    let (a, b) = (decode_file(&wav).unwrap(), decode_file(&flac).unwrap());
    assert_eq!(a, b);
    // and resampling goes through the same path
    assert_eq!(
        load_audio(&wav, 16000).unwrap(),
        load_audio(&flac, 16000).unwrap()
    );
    assert_eq!(
        load_audio(&flac, 16000).unwrap().len(),
        5000 * 16000 / 22050 + 1
    );
}

#[test]
fn stereo_24bit_flac_is_averaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = tmp(&dir, "stereo24.flac");
    let mut inter = Vec::new();
    for t in 0..3000i32 {
        inter.push(t * 100);
        inter.push(-t * 50);
    }
    std::fs::write(&path, flac_bytes(&inter, 2, 24, 48000)).unwrap();
    let a = decode_file(&path).unwrap();
    assert_eq!((a.sample_rate, a.samples.len()), (48000, 3000));
    for (t, v) in a.samples.iter().enumerate() {
        let want = (t as f64 * 25.0 / 8_388_608.0) as f32;
        assert!((v - want).abs() < 1e-7, "t={t}");
    }
}
