//! Decoding WAV (hound) and FLAC (claxon) files to mono `f32`.
//!
//! The format is sniffed from the file's magic bytes, never from its extension. Integer PCM
//! is scaled to `[-1, 1)` the way torchaudio and soundfile do it (`int16 / 32768`, `int24 /
//! 2^23`, `int32 / 2^31`, 8-bit unsigned as `(u8 - 128) / 128`); several channels are averaged
//! to mono. Truncated files (fewer samples than the header or FLAC STREAMINFO declares),
//! NaN/inf samples, zero-length audio and absurd sample rates are errors, never silence.

use std::io::Cursor;
use std::path::Path;

use crate::error::AudioError;
use crate::rate::MAX_SAMPLE_RATE;
use crate::resample::resample;

/// Mono audio at its own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Mono samples, nominally in `[-1, 1]`.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Audio {
    /// Duration in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// The container formats [`decode_file`] understands, as sniffed from magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    /// RIFF/WAVE (PCM 8/16/24/32-bit, IEEE float 32-bit, WAVE_FORMAT_EXTENSIBLE).
    Wav,
    /// Native FLAC (`fLaC`).
    Flac,
}

/// Sniffs the format from the first bytes of a file.
///
/// Returns `Ok(format)` for WAV and FLAC, and `Err(description)` naming what the bytes look
/// like otherwise (`"OGG"`, `"MP3"`, `"text"`, `"unknown"`...).
pub fn sniff_format(bytes: &[u8]) -> Result<AudioFormat, &'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        return Ok(AudioFormat::Wav);
    }
    if starts(b"fLaC") {
        return Ok(AudioFormat::Flac);
    }
    let what = if starts(b"RIFX") || starts(b"RF64") || starts(b"BW64") {
        "big-endian or 64-bit WAV (RIFX/RF64)"
    } else if starts(b"RIFF") {
        "RIFF but not WAVE"
    } else if starts(b"OggS") {
        "OGG"
    } else if starts(b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        "MP3"
    } else if starts(b"FORM") {
        "AIFF"
    } else if starts(b"NIST_1A") {
        "NIST SPHERE"
    } else if starts(b".snd") {
        "Sun AU"
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        "Matroska/WebM"
    } else if bytes.get(4..8) == Some(b"ftyp") {
        "MP4/M4A"
    } else if std::str::from_utf8(&bytes[..bytes.len().min(512)])
        .is_ok_and(|s| s.chars().all(|c| !c.is_control() || c.is_whitespace()))
    {
        "text"
    } else {
        "unknown"
    };
    Err(what)
}

/// Decodes a WAV or FLAC file to mono `f32` at its own rate.
///
/// # Errors
/// [`AudioError::NotFound`], [`AudioError::Io`], [`AudioError::EmptyFile`],
/// [`AudioError::UnsupportedFormat`], [`AudioError::Corrupt`], [`AudioError::Truncated`],
/// [`AudioError::NoSamples`], [`AudioError::NonFinite`], [`AudioError::BadSampleRate`],
/// [`AudioError::BadChannels`]; each names the file.
pub fn decode_file(path: impl AsRef<Path>) -> Result<Audio, AudioError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| AudioError::io(path, e))?;
    decode_bytes(&bytes, path)
}

/// Decodes an in-memory WAV or FLAC file; `path` only names it in errors.
///
/// # Errors
/// As [`decode_file`], without the I/O variants.
pub fn decode_bytes(bytes: &[u8], path: &Path) -> Result<Audio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::EmptyFile { path: path.into() });
    }
    let audio = match sniff_format(bytes) {
        Ok(AudioFormat::Wav) => decode_wav(bytes, path)?,
        Ok(AudioFormat::Flac) => decode_flac(bytes, path)?,
        Err(detected) => {
            return Err(AudioError::UnsupportedFormat {
                path: path.into(),
                detected,
            });
        }
    };
    validate(&audio, path)?;
    Ok(audio)
}

/// Decodes `path` and resamples it to `target_rate` (a copy when the rates match).
///
/// # Errors
/// As [`decode_file`], plus [`AudioError::Resample`] for an invalid `target_rate`.
pub fn load_audio(path: impl AsRef<Path>, target_rate: u32) -> Result<Vec<f32>, AudioError> {
    let path = path.as_ref();
    let audio = decode_file(path)?;
    resample(&audio.samples, audio.sample_rate, target_rate).map_err(|source| {
        AudioError::Resample {
            path: path.into(),
            source,
        }
    })
}

fn validate(audio: &Audio, path: &Path) -> Result<(), AudioError> {
    if audio.samples.is_empty() {
        return Err(AudioError::NoSamples { path: path.into() });
    }
    let mut first = None;
    let mut count = 0usize;
    for (i, x) in audio.samples.iter().enumerate() {
        if !x.is_finite() {
            first.get_or_insert(i);
            count += 1;
        }
    }
    match first {
        Some(first_index) => Err(AudioError::NonFinite {
            path: path.into(),
            first_index,
            count,
        }),
        None => Ok(()),
    }
}

fn check_header(path: &Path, rate: u32, channels: u32) -> Result<(), AudioError> {
    if rate == 0 || rate > MAX_SAMPLE_RATE {
        return Err(AudioError::BadSampleRate {
            path: path.into(),
            rate,
            max: MAX_SAMPLE_RATE,
        });
    }
    if channels == 0 {
        return Err(AudioError::BadChannels {
            path: path.into(),
            channels,
        });
    }
    Ok(())
}

/// Averages interleaved frames of `channels` samples to mono.
fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    let scale = 1.0 / channels as f64;
    interleaved
        .chunks_exact(channels)
        .map(|frame| (frame.iter().map(|&x| f64::from(x)).sum::<f64>() * scale) as f32)
        .collect()
}

/// Reads a little-endian u32 at `at`, if present.
fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian u16 at `at`, if present.
fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    bytes
        .get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// The `fmt ` chunk fields read before hound sees the file.
struct RawFmt {
    /// `wFormatTag` (1 PCM, 3 IEEE float, 0xFFFE extensible...).
    tag: u16,
    channels: u16,
    rate: u32,
    bits: Option<u16>,
    /// The sub-format code of WAVE_FORMAT_EXTENSIBLE (first two bytes of its GUID).
    sub_format: Option<u16>,
}

/// Walks the RIFF chunks for `fmt ` fields hound validates late, not at all, or with a
/// misleading message: the sample rate (hound accepts 0), the channel count and the encoding.
/// Returns `None` when no `fmt ` chunk is found.
fn raw_wav_fmt(bytes: &[u8]) -> Option<RawFmt> {
    let mut pos = 12usize;
    while let Some(len) = le_u32(bytes, pos + 4) {
        if bytes.get(pos..pos + 4) == Some(b"fmt ") {
            return Some(RawFmt {
                tag: le_u16(bytes, pos + 8)?,
                channels: le_u16(bytes, pos + 10)?,
                rate: le_u32(bytes, pos + 12)?,
                bits: le_u16(bytes, pos + 22),
                sub_format: le_u16(bytes, pos + 32),
            });
        }
        pos = pos
            .checked_add(8)?
            .checked_add(len as usize + (len as usize & 1))?;
    }
    None
}

/// Rejects encodings other than integer PCM and 32-bit float by name, before hound reports
/// them as a malformed file (it checks bit depths first: "bits per sample is not 32").
fn check_encoding(path: &Path, fmt: &RawFmt) -> Result<(), AudioError> {
    let code = if fmt.tag == 0xFFFE {
        match fmt.sub_format {
            Some(code) => code,
            None => return Ok(()),
        }
    } else {
        fmt.tag
    };
    let detected = match code {
        1 => return Ok(()),
        3 if fmt.bits == Some(32) => return Ok(()),
        3 => "WAV float with a bit depth other than 32",
        0 => "WAV with format code 0 (unknown encoding)",
        2 => "WAV with Microsoft ADPCM encoding",
        6 => "WAV with A-law encoding",
        7 => "WAV with mu-law encoding",
        0x11 => "WAV with IMA ADPCM encoding",
        0x50 | 0x55 => "WAV with MPEG audio encoding",
        _ => "WAV with an encoding other than PCM or IEEE float",
    };
    Err(AudioError::UnsupportedFormat {
        path: path.into(),
        detected,
    })
}

fn decode_wav(bytes: &[u8], path: &Path) -> Result<Audio, AudioError> {
    const FORMAT: &str = "WAV";
    let corrupt = |reason: String| AudioError::Corrupt {
        path: path.into(),
        format: FORMAT,
        reason,
    };
    if let Some(fmt) = raw_wav_fmt(bytes) {
        check_header(path, fmt.rate, u32::from(fmt.channels))?;
        check_encoding(path, &fmt)?;
    }
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(|e| match e {
        hound::Error::Unsupported => AudioError::UnsupportedFormat {
            path: path.into(),
            detected: "WAV with an unsupported encoding (e.g. 64-bit float, A-law, ADPCM)",
        },
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            corrupt("header ends early".into())
        }
        other => corrupt(other.to_string()),
    })?;
    let spec = reader.spec();
    check_header(path, spec.sample_rate, u32::from(spec.channels))?;
    let channels = usize::from(spec.channels);
    let expected = u64::from(reader.duration());
    let truncated = |got_samples: usize| AudioError::Truncated {
        path: path.into(),
        format: FORMAT,
        expected,
        got: (got_samples / channels) as u64,
    };
    // The header's length sizes the buffer, bounded by what the bytes can hold (a sample takes
    // at least one byte), so a lying data-chunk size cannot make us allocate gigabytes.
    let mut interleaved = Vec::with_capacity((reader.len() as usize).min(bytes.len()));
    match spec.sample_format {
        hound::SampleFormat::Float => {
            if spec.bits_per_sample != 32 {
                return Err(AudioError::UnsupportedFormat {
                    path: path.into(),
                    detected: "WAV float with a bit depth other than 32",
                });
            }
            let mut reader = reader;
            for s in reader.samples::<f32>() {
                match s {
                    Ok(x) => interleaved.push(x),
                    Err(hound::Error::IoError(_)) => return Err(truncated(interleaved.len())),
                    Err(e) => return Err(corrupt(e.to_string())),
                }
            }
        }
        hound::SampleFormat::Int => {
            let bits = spec.bits_per_sample;
            if !(1..=32).contains(&bits) {
                return Err(corrupt(format!("invalid PCM bit depth {bits}")));
            }
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            let mut reader = reader;
            for s in reader.samples::<i32>() {
                match s {
                    Ok(x) => interleaved.push((f64::from(x) * scale) as f32),
                    Err(hound::Error::IoError(_)) => return Err(truncated(interleaved.len())),
                    Err(e) => return Err(corrupt(e.to_string())),
                }
            }
        }
    }
    if interleaved.len() as u64 != expected * channels as u64 {
        return Err(truncated(interleaved.len()));
    }
    Ok(Audio {
        samples: downmix(&interleaved, channels),
        sample_rate: spec.sample_rate,
    })
}

fn decode_flac(bytes: &[u8], path: &Path) -> Result<Audio, AudioError> {
    const FORMAT: &str = "FLAC";
    let corrupt = |reason: String| AudioError::Corrupt {
        path: path.into(),
        format: FORMAT,
        reason,
    };
    let mut reader = claxon::FlacReader::new(Cursor::new(bytes)).map_err(|e| match e {
        claxon::Error::Unsupported(what) => AudioError::UnsupportedFormat {
            path: path.into(),
            detected: if what.contains("bits") {
                "FLAC with an unsupported bit depth"
            } else {
                "FLAC with an unsupported feature"
            },
        },
        claxon::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            corrupt("header ends early".into())
        }
        other => corrupt(other.to_string()),
    })?;
    let info = reader.streaminfo();
    check_header(path, info.sample_rate, info.channels)?;
    if !(4..=32).contains(&info.bits_per_sample) {
        return Err(corrupt(format!(
            "invalid bit depth {}",
            info.bits_per_sample
        )));
    }
    let channels = info.channels as usize;
    let scale = 1.0 / (1u64 << (info.bits_per_sample - 1)) as f64;
    // The declared length sizes the buffer, bounded by what the bytes could hold (a FLAC frame
    // cannot beat ~1 bit per sample), so a lying header cannot make us allocate gigabytes.
    let bound = bytes
        .len()
        .saturating_mul(8)
        .saturating_mul(channels.max(1));
    let declared = info
        .samples
        .map_or(0, |n| n as usize)
        .saturating_mul(channels);
    let mut interleaved: Vec<f32> = Vec::with_capacity(declared.min(bound));
    let mut ended_early = false;
    for sample in reader.samples() {
        match sample {
            Ok(v) => interleaved.push((f64::from(v) * scale) as f32),
            Err(claxon::Error::IoError(io)) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                ended_early = true;
                break;
            }
            Err(e) => return Err(corrupt(e.to_string())),
        }
    }
    let got = (interleaved.len() / channels) as u64;
    match info.samples {
        Some(expected) if expected != got => {
            return Err(if got < expected {
                AudioError::Truncated {
                    path: path.into(),
                    format: FORMAT,
                    expected,
                    got,
                }
            } else {
                corrupt(format!(
                    "STREAMINFO declares {expected} samples, decoded {got}"
                ))
            });
        }
        None if ended_early => return Err(corrupt("stream ends inside a frame".into())),
        _ => {}
    }
    Ok(Audio {
        samples: downmix(&interleaved, channels),
        sample_rate: info.sample_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff_format(b"RIFF\0\0\0\0WAVEfmt "), Ok(AudioFormat::Wav));
        assert_eq!(sniff_format(b"fLaC\0\0\0\x22"), Ok(AudioFormat::Flac));
        assert_eq!(sniff_format(b"OggS\0\x02"), Err("OGG"));
        assert_eq!(sniff_format(b"ID3\x04\0"), Err("MP3"));
        assert_eq!(sniff_format(&[0xFF, 0xFB, 0x90, 0x00]), Err("MP3"));
        assert_eq!(sniff_format(b"hello world\n"), Err("text"));
        assert_eq!(sniff_format(&[0x00, 0x01, 0x02, 0x9F]), Err("unknown"));
    }

    #[test]
    fn downmix_averages_frames() {
        assert_eq!(
            downmix(&[1.0, 0.0, 0.5, 0.5, -1.0, 1.0], 2),
            vec![0.5, 0.5, 0.0]
        );
        assert_eq!(downmix(&[0.25, -0.25], 1), vec![0.25, -0.25]);
    }

    #[test]
    fn validate_rejects_nan_and_empty() {
        let p = Path::new("x.wav");
        let nan = Audio {
            samples: vec![0.0, f32::NAN, f32::INFINITY],
            sample_rate: 16000,
        };
        match validate(&nan, p) {
            Err(AudioError::NonFinite {
                first_index: 1,
                count: 2,
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        let empty = Audio {
            samples: vec![],
            sample_rate: 16000,
        };
        assert!(matches!(
            validate(&empty, p),
            Err(AudioError::NoSamples { .. })
        ));
    }
}
