//! Every bad input gives its typed error, and the message names the file.

use std::path::Path;

use ssl_distill_audio::{AudioDataset, AudioError, DatasetConfig, Manifest, decode_file};

use crate::decode::{flac_bytes, tone_i16, write_wav16};

fn names_file(err: &AudioError, path: &Path) {
    let name = path.file_name().unwrap().to_string_lossy();
    let msg = err.to_string();
    assert!(
        msg.contains(name.as_ref()),
        "message {msg:?} does not name {name}"
    );
    assert_eq!(err.path(), Some(path), "{msg}");
}

fn wav16_bytes(samples: &[i16], rate: u32) -> Vec<u8> {
    let mut cursor = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
    samples.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
    cursor.into_inner()
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.wav");
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, AudioError::NotFound { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn zero_byte_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    std::fs::write(&path, b"").unwrap();
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, AudioError::EmptyFile { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn unsupported_formats() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("clip.ogg", b"OggS\0\x02\0\0\0\0\0\0\0\0".to_vec()),
        ("clip.mp3", b"ID3\x04\0\0\0\0\0\0".to_vec()),
        ("notes.wav", b"this is a text file, not audio\n".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = decode_file(&path).unwrap_err();
        assert!(
            matches!(err, AudioError::UnsupportedFormat { .. }),
            "{name}: {err}"
        );
        names_file(&err, &path);
    }
}

#[test]
fn header_only_wav_has_no_samples() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("header-only.wav");
    std::fs::write(&path, wav16_bytes(&[], 16000)).unwrap();
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, AudioError::NoSamples { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn truncated_wav() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.wav");
    let bytes = wav16_bytes(&tone_i16(1000), 16000);
    std::fs::write(&path, &bytes[..bytes.len() - 501]).unwrap();
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, AudioError::Truncated { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn garbage_after_riff_header_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.wav");
    std::fs::write(&path, b"RIFF\x24\0\0\0WAVEjunk\x04\0\0\0abcdxxxx").unwrap();
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, AudioError::Corrupt { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn zero_sample_rate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero-hz.wav");
    let mut bytes = wav16_bytes(&tone_i16(100), 16000);
    bytes[24..28].copy_from_slice(&0u32.to_le_bytes()); // fmt chunk: sample rate
    std::fs::write(&path, &bytes).unwrap();
    let err = decode_file(&path).unwrap_err();
    assert!(
        matches!(err, AudioError::BadSampleRate { rate: 0, .. }),
        "{err}"
    );
    names_file(&err, &path);
}

#[test]
fn nan_and_inf_samples() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bad) in [("nan.wav", f32::NAN), ("inf.wav", f32::INFINITY)] {
        let path = dir.path().join(name);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..100 {
            w.write_sample(if i >= 40 { bad } else { 0.1 }).unwrap();
        }
        w.finalize().unwrap();
        let err = decode_file(&path).unwrap_err();
        assert!(
            matches!(
                err,
                AudioError::NonFinite {
                    first_index: 40,
                    count: 60,
                    ..
                }
            ),
            "{name}: {err}"
        );
        names_file(&err, &path);
    }
}

#[test]
fn truncated_flac() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.flac");
    let samples: Vec<i32> = tone_i16(20000).into_iter().map(i32::from).collect();
    let bytes = flac_bytes(&samples, 1, 16, 16000);
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = decode_file(&path).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::Truncated { .. } | AudioError::Corrupt { .. }
        ),
        "{err}"
    );
    names_file(&err, &path);
}

#[test]
fn flac_header_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stub.flac");
    std::fs::write(&path, b"fLaC\0\0\0\x22").unwrap();
    let err = decode_file(&path).unwrap_err();
    assert!(matches!(err, AudioError::Corrupt { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn declared_length_disagrees_with_file() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("a.wav");
    write_wav16(&wav, &[0.1; 1600], 16000);
    let tsv = dir.path().join("train.tsv");
    std::fs::write(&tsv, format!("{}\na.wav\t1700\n", dir.path().display())).unwrap();
    let ds = AudioDataset::new(Manifest::open(&tsv).unwrap(), DatasetConfig::default()).unwrap();
    let err = ds.load(0, 0).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::LengthMismatch {
                declared: 1700,
                got: 1600,
                ..
            }
        ),
        "{err}"
    );
    names_file(&err, &wav);
}

#[test]
fn manifest_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, usize); 6] = [
        ("bad-count.tsv", "/root\na.wav\t12\nb.wav\ttwelve\n", 3),
        ("too-many-fields.tsv", "/root\na.wav\t12\t9\n", 2),
        ("bad-json.jsonl", "{\"path\": \"a.wav\"}\n{\"path\": \n", 2),
        ("no-path.jsonl", "{\"speaker\": \"s1\"}\n", 1),
        ("not-object.jsonl", "\n\n[1, 2]\n", 3),
        (
            "bad-phones.jsonl",
            "{\"path\": \"a.wav\", \"phones\": 3}\n",
            1,
        ),
    ];
    for (name, text, line) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = Manifest::open(&path).unwrap_err();
        match &err {
            AudioError::ManifestLine { line: l, .. } => assert_eq!(*l, line, "{name}: {err}"),
            other => panic!("{name}: expected ManifestLine, got {other}"),
        }
        assert!(
            err.to_string().contains(&format!("{name}:{line}:")),
            "{err}"
        );
        names_file(&err, &path);
    }
}

#[test]
fn tsv_without_root_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noroot.tsv");
    std::fs::write(&path, "a.wav\t100\nb.wav\t200\n").unwrap();
    let err = Manifest::open(&path).unwrap_err();
    assert!(matches!(err, AudioError::MissingTsvRoot { .. }), "{err}");
    names_file(&err, &path);
}

#[test]
fn empty_manifests_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("empty.tsv");
    std::fs::write(&tsv, "/root\n\n").unwrap();
    let err = Manifest::open(&tsv).unwrap_err();
    assert!(matches!(err, AudioError::EmptyManifest { .. }), "{err}");
    names_file(&err, &tsv);
    let folder = dir.path().join("nothing-here");
    std::fs::create_dir(&folder).unwrap();
    let err = Manifest::open(&folder).unwrap_err();
    assert!(matches!(err, AudioError::EmptyManifest { .. }), "{err}");
    let other = dir.path().join("list.csv");
    std::fs::write(&other, "a,b").unwrap();
    let err = Manifest::open(&other).unwrap_err();
    assert!(matches!(err, AudioError::UnknownManifest { .. }), "{err}");
    names_file(&err, &other);
}

#[test]
fn a_manifest_pointing_at_a_missing_file_fails_on_load_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("m.jsonl");
    std::fs::write(&jsonl, "{\"path\": \"gone.wav\"}\n").unwrap();
    let ds = AudioDataset::new(Manifest::open(&jsonl).unwrap(), DatasetConfig::default()).unwrap();
    let err = ds.load(0, 0).unwrap_err();
    assert!(matches!(err, AudioError::NotFound { .. }), "{err}");
    names_file(&err, &dir.path().join("gone.wav"));
}
