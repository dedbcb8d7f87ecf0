//! The three manifest forms.

use ssl_distill_audio::Manifest;

use crate::decode::write_wav16;

#[test]
fn fairseq_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("train.tsv");
    std::fs::write(&tsv, "/data/ls\nspk1/a.flac\t16000\r\n\nspk2/b.wav\t8000\n").unwrap();
    let m = Manifest::open(&tsv).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(
        m.utterances[0].path,
        std::path::Path::new("/data/ls/spk1/a.flac")
    );
    assert_eq!(m.utterances[0].num_samples, Some(16000));
    assert_eq!(m.utterances[1].num_samples, Some(8000));
}

#[test]
fn jsonl_with_labels_and_extra_fields() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("sub/train.jsonl");
    std::fs::create_dir_all(jsonl.parent().unwrap()).unwrap();
    std::fs::write(
        &jsonl,
        concat!(
            "{\"path\": \"wav/1.wav\", \"speaker\": \"s7\", \"text\": \"hi there\", \"phones\": \"h aI D E r\", ",
            "\"align\": [[\"h\", 0, 320]]}\n",
            "{\"path\": \"/abs/2.wav\", \"speaker\": 12, \"phones\": [\"a\", \"b\"], \"num_samples\": 99}\n",
        ),
    )
    .unwrap();
    let m = Manifest::open(&jsonl).unwrap();
    let (a, b) = (&m.utterances[0], &m.utterances[1]);
    assert_eq!(a.path, dir.path().join("sub/wav/1.wav"));
    assert_eq!(a.speaker.as_deref(), Some("s7"));
    assert_eq!(a.text.as_deref(), Some("hi there"));
    assert_eq!(a.phones.as_deref(), Some("h aI D E r"));
    assert_eq!(a.extra["align"][0][2], 320);
    assert_eq!(b.path, std::path::Path::new("/abs/2.wav"));
    assert_eq!(b.speaker.as_deref(), Some("12"));
    assert_eq!(b.phones.as_deref(), Some("a b"));
    assert_eq!(b.num_samples, Some(99));
}

#[test]
fn librispeech_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dev-clean");
    for (spk, chap, id) in [
        ("84", "121123", "84-121123-0001"),
        ("84", "121123", "84-121123-0000"),
        ("174", "50561", "174-50561-0000"),
    ] {
        let d = root.join(spk).join(chap);
        std::fs::create_dir_all(&d).unwrap();
        write_wav16(&d.join(format!("{id}.wav")), &[0.0; 10], 16000);
        let trans = d.join(format!("{spk}-{chap}.trans.txt"));
        let mut text = std::fs::read_to_string(&trans).unwrap_or_default();
        text.push_str(&format!("{id} WORDS OF {id}\n"));
        std::fs::write(&trans, text).unwrap();
    }
    std::fs::write(root.join("README.TXT"), "not audio").unwrap();
    let m = Manifest::open(&root).unwrap();
    let ids: Vec<String> = m
        .utterances
        .iter()
        .map(|u| u.path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ids, ["174-50561-0000", "84-121123-0000", "84-121123-0001"]);
    assert_eq!(m.utterances[0].speaker.as_deref(), Some("174"));
    assert_eq!(m.utterances[2].speaker.as_deref(), Some("84"));
    assert_eq!(
        m.utterances[1].text.as_deref(),
        Some("WORDS OF 84-121123-0000")
    );
}
