//! The real-layout readers on fixtures written from the bundled corpus (see `real_layouts`):
//! layout detection, splits, the class mapping, crops and frames, and bad-input errors.

use std::collections::HashSet;

use burn::tensor::Device;
use ssl_distill_probe::{
    CHARACTERS, DataOptions, Layout, Pooling, ProbeError, SPEECH_COMMANDS_CLASSES, Task,
    detect_layout, extract_set, load_upstream, read_task, read_task_with,
};

use crate::real_layouts::{
    demo_corpus, write_librispeech, write_speech_commands, write_voxceleb1, write_wav16,
};
use crate::util::{serial, tiny_teacher};

fn skip() -> DataOptions {
    DataOptions {
        skip_bad: true,
        ..DataOptions::default()
    }
}

/// The bundled corpus's KS clips: 10 per class in train, 3 in valid and test; the 16
/// `_silence_` clips become two 8 s noise recordings, cut into 6 / 1 / 1 crops each.
#[test]
fn speech_commands_splits_and_the_12_classes() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("sc");
    write_speech_commands(&demo_corpus(), &sc);
    assert_eq!(detect_layout(&sc), Some(Layout::SpeechCommands));
    let data = read_task(&sc, Task::Ks).unwrap();
    assert_eq!(data.layout, Layout::SpeechCommands);
    assert_eq!(
        data.classes,
        SPEECH_COMMANDS_CLASSES.map(String::from).to_vec()
    );
    assert_eq!(
        (data.train.len(), data.dev.len(), data.test.len()),
        (122, 35, 35)
    );
    let count = |set: &ssl_distill_probe::LabelledSet, class: usize| {
        set.labels.iter().filter(|l| l[0] == class).count()
    };
    for (set, per_word, silence) in [(&data.train, 10, 12), (&data.dev, 3, 2), (&data.test, 3, 2)] {
        for class in 0..10 {
            assert_eq!(count(set, class), per_word, "{}", data.classes[class]);
        }
        // `bed/` and `bird/` are both `_unknown_`.
        assert_eq!(count(set, 10), per_word);
        assert_eq!(count(set, 11), silence);
        for ((u, l), crop) in set.utterances.iter().zip(&set.labels).zip(&set.crops) {
            let folder = u.path.parent().unwrap().file_name().unwrap();
            match l[0] {
                11 => {
                    assert_eq!(folder, "_background_noise_");
                    let crop = crop.unwrap();
                    assert_eq!((crop.start % 16_000, crop.len), (0, 16_000));
                }
                10 => assert!(folder == "bed" || folder == "bird", "{folder:?}"),
                c => assert_eq!(folder, SPEECH_COMMANDS_CLASSES[c]),
            }
        }
    }
    // Silence crops: the first 6 seconds of each recording train, then one dev, one test.
    let starts = |set: &ssl_distill_probe::LabelledSet| -> Vec<usize> {
        set.crops
            .iter()
            .flatten()
            .map(|c| c.start / 16_000)
            .collect()
    };
    assert_eq!(starts(&data.dev), vec![6, 6]);
    assert_eq!(starts(&data.test), vec![7, 7]);
    // The lists' speaker hashes keep the splits speaker-disjoint.
    let speakers = |set: &ssl_distill_probe::LabelledSet| -> HashSet<String> {
        set.utterances
            .iter()
            .filter_map(|u| u.speaker.clone())
            .collect()
    };
    let train = speakers(&data.train);
    assert!(train.is_disjoint(&speakers(&data.dev)));
    assert!(train.is_disjoint(&speakers(&data.test)));
    assert_eq!(train.len(), 20);

    // Named explicitly: the same data; named wrongly: a one-line error naming the directory.
    let named = DataOptions {
        layout: Some(Layout::SpeechCommands),
        ..DataOptions::default()
    };
    assert_eq!(
        read_task_with(&sc, Task::Ks, &named).unwrap().train.len(),
        122
    );
    let err = read_task(&sc, Task::Sid).unwrap_err();
    assert!(matches!(err, ProbeError::WrongLayout { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("sc") && msg.contains("speech-commands") && msg.contains("VoxCeleb1"));
}

#[test]
fn speech_commands_bad_inputs_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("sc");
    write_speech_commands(&demo_corpus(), &sc);
    // A listed clip that does not exist: an error naming it, the list and the line; skipped
    // (counted) with skip_bad.
    let list = sc.join("testing_list.txt");
    let mut text = std::fs::read_to_string(&list).unwrap();
    text.push_str("yes/ffffffff_nohash_0.wav\n");
    std::fs::write(&list, &text).unwrap();
    let msg = read_task(&sc, Task::Ks).unwrap_err().to_string();
    assert!(
        msg.contains("ffffffff_nohash_0.wav")
            && msg.contains("testing_list.txt line 34")
            && !msg.contains('\n'),
        "{msg}"
    );
    let data = read_task_with(&sc, Task::Ks, &skip()).unwrap();
    assert_eq!((data.test.len(), data.test.skipped), (35, 1));
    std::fs::write(&list, "not a clip\n").unwrap();
    let msg = read_task(&sc, Task::Ks).unwrap_err().to_string();
    assert!(msg.contains("testing_list.txt: line 1"), "{msg}");

    std::fs::remove_file(&list).unwrap();
    let msg = read_task(&sc, Task::Ks).unwrap_err().to_string();
    assert!(msg.contains("testing_list.txt: missing"), "{msg}");
    std::fs::write(&list, "").unwrap();
    std::fs::remove_dir_all(sc.join("_background_noise_")).unwrap();
    let msg = read_task(&sc, Task::Ks).unwrap_err().to_string();
    assert!(msg.contains("_background_noise_: missing"), "{msg}");
}

#[test]
fn voxceleb1_identification_split() {
    let dir = tempfile::tempdir().unwrap();
    let vox = dir.path().join("vox");
    write_voxceleb1(&demo_corpus(), &vox, Some(6));
    assert_eq!(detect_layout(&vox), Some(Layout::VoxCeleb1));
    let data = read_task(&vox, Task::Sid).unwrap();
    let ids: Vec<String> = (0..6).map(|i| format!("id1{i:04}")).collect();
    assert_eq!(data.classes, ids);
    // The corpus's first 6 speakers: 32 / 5 / 5 utterances.
    assert_eq!(
        (data.train.len(), data.dev.len(), data.test.len()),
        (32, 5, 5)
    );
    for set in [&data.train, &data.dev, &data.test] {
        for (u, l) in set.utterances.iter().zip(&set.labels) {
            let rel = u.path.strip_prefix(vox.join("wav")).unwrap();
            let id = rel.components().next().unwrap().as_os_str();
            assert_eq!(id.to_str().unwrap(), data.classes[l[0]]);
            assert_eq!(u.speaker.as_deref(), Some(data.classes[l[0]].as_str()));
        }
    }

    // A test speaker without training utterances; a missing file; a bad split number.
    let split = vox.join("iden_split.txt");
    let good = std::fs::read_to_string(&split).unwrap();
    let unknown = "3 id19999/tstVid9999x/00001.wav\n";
    write_wav16(&vox.join("wav/id19999/tstVid9999x/00001.wav"), &[0.0; 8000]);
    std::fs::write(&split, format!("{good}{unknown}")).unwrap();
    let msg = read_task(&vox, Task::Sid).unwrap_err().to_string();
    assert!(
        msg.contains("iden_split.txt: line 43") && msg.contains("id19999"),
        "{msg}"
    );
    let data = read_task_with(&vox, Task::Sid, &skip()).unwrap();
    assert_eq!((data.test.len(), data.test.skipped), (5, 1));
    std::fs::write(&split, format!("{good}2 id10001/devVid0001x/00099.wav\n")).unwrap();
    let msg = read_task(&vox, Task::Sid).unwrap_err().to_string();
    assert!(
        msg.contains("00099.wav: audio file not found") && msg.contains("line 43"),
        "{msg}"
    );
    std::fs::write(&split, format!("{good}4 id10001/devVid0001x/00001.wav\n")).unwrap();
    let msg = read_task(&vox, Task::Sid).unwrap_err().to_string();
    assert!(msg.contains("line 43: split \"4\""), "{msg}");
    std::fs::remove_file(&split).unwrap();
    let msg = read_task(&vox, Task::Sid).unwrap_err().to_string();
    assert!(msg.contains("iden_split.txt: missing"), "{msg}");
}

/// ASR characters and PR phones (through the lexicon) of the LibriSpeech fixture.
#[test]
fn librispeech_transcripts_and_lexicon_phones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let libri = root.join("LibriSpeech");
    let lexicon = write_librispeech(&demo_corpus(), &libri);
    // Found through the archive's top-level `LibriSpeech/` directory too.
    assert_eq!(detect_layout(&root), Some(Layout::LibriSpeech));
    let asr = read_task(&root, Task::Asr).unwrap();
    assert_eq!(
        (asr.train.len(), asr.dev.len(), asr.test.len()),
        (100, 30, 30)
    );
    assert_eq!(asr.classes[0], "<blank>");
    assert_eq!(asr.classes[1..].concat(), CHARACTERS);
    let text = |l: &[usize]| -> String { l.iter().map(|&i| asr.classes[i].as_str()).collect() };
    for (u, l) in asr.test.utterances.iter().zip(&asr.test.labels) {
        assert_eq!(&text(l), u.text.as_ref().unwrap());
        assert!(u.path.extension().unwrap() == "flac");
    }

    let err = read_task(&libri, Task::Pr).unwrap_err();
    assert!(matches!(err, ProbeError::LexiconRequired { .. }), "{err}");
    let with_lexicon = DataOptions {
        lexicon: Some(lexicon.clone()),
        ..DataOptions::default()
    };
    let pr = read_task_with(&libri, Task::Pr, &with_lexicon).unwrap();
    assert_eq!(pr.train.len(), 100);
    let phones = "AA1 AH1 AO1 AW1 AY1 D EH1 F G L N OW1 P R S T Y";
    let want: Vec<&str> = std::iter::once("<blank>")
        .chain(phones.split(' '))
        .collect();
    assert_eq!(pr.classes, want);
    for (u, l) in pr.train.utterances.iter().zip(&pr.train.labels) {
        let names: Vec<&str> = l.iter().map(|&i| pr.classes[i].as_str()).collect();
        let word = u.text.as_ref().unwrap();
        let line = crate::real_layouts::LEXICON
            .lines()
            .find(|line| line.split('\t').next() == Some(word.as_str()))
            .unwrap();
        assert_eq!(names.join(" "), line.split('\t').nth(1).unwrap(), "{word}");
    }

    // A transcript word the lexicon lacks: an error naming the transcript, line and lexicon.
    let trans = libri.join("test-clean/122/3122/122-3122.trans.txt");
    let lines = std::fs::read_to_string(&trans).unwrap();
    let (first, rest) = lines.split_once('\n').unwrap();
    let id = first.split(' ').next().unwrap();
    std::fs::write(&trans, format!("{id} GOOSE\n{rest}")).unwrap();
    let msg = read_task_with(&libri, Task::Pr, &with_lexicon)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("122-3122.trans.txt: line 1")
            && msg.contains("GOOSE")
            && msg.contains("lexicon.txt"),
        "{msg}"
    );
    let skipping = DataOptions {
        skip_bad: true,
        ..with_lexicon.clone()
    };
    let pr = read_task_with(&libri, Task::Pr, &skipping).unwrap();
    assert_eq!((pr.test.len(), pr.test.skipped), (29, 1));
    // ASR reads the word as characters.
    assert_eq!(read_task(&libri, Task::Asr).unwrap().test.len(), 30);

    std::fs::remove_dir_all(libri.join("dev-clean")).unwrap();
    let msg = read_task(&libri, Task::Asr).unwrap_err().to_string();
    assert!(msg.contains("dev-clean: missing"), "{msg}");
}

#[test]
fn unknown_layouts_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let msg = read_task(dir.path(), Task::Ks).unwrap_err().to_string();
    assert!(
        msg.contains("not a probe data directory") && !msg.contains('\n'),
        "{msg}"
    );
    assert!(msg.starts_with(&dir.path().display().to_string()), "{msg}");
    assert_eq!(detect_layout(dir.path()), None);
    assert!("sc".parse::<Layout>().is_err());
}

/// Every clip's frames are those of its audio (a `_silence_` crop gives the 49 frames of a 1 s
/// clip); every PR/ASR target fits the frames CTC has (labels and frames line up); and the
/// synthetic corpus's phone alignment spans exactly the samples the upstream sees.
#[test]
fn labels_line_up_with_the_upstream_frames() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let teacher = dir.path().join("teacher");
    tiny_teacher(&teacher, 1);
    let device = Device::flex();
    let up = load_upstream(&teacher, &device).unwrap();
    let sc = dir.path().join("sc");
    write_speech_commands(&demo_corpus(), &sc);
    let ks = read_task(&sc, Task::Ks).unwrap();
    let out = extract_set(&up, &ks.dev, Pooling::Mean, false, &mut |_, _| {}).unwrap();
    assert_eq!(out.kept, (0..ks.dev.len()).collect::<Vec<_>>());
    assert!(
        out.features
            .frames
            .iter()
            .all(|&f| f == up.num_frames(16_000))
    );
    assert_eq!(up.num_frames(16_000), 49);

    let libri = dir.path().join("libri");
    let lexicon = write_librispeech(&demo_corpus(), &libri);
    let options = DataOptions {
        lexicon: Some(lexicon),
        ..DataOptions::default()
    };
    for task in [Task::Pr, Task::Asr] {
        let data = read_task_with(&libri, task, &options).unwrap();
        let out = extract_set(&up, &data.test, Pooling::Mean, false, &mut |_, _| {}).unwrap();
        for (frames, label) in out.features.frames.iter().zip(&data.test.labels) {
            let repeats = label.windows(2).filter(|w| w[0] == w[1]).count();
            assert!(
                *frames >= label.len() + repeats,
                "{task}: {frames} frames, {label:?}"
            );
        }
    }

    let corpus = demo_corpus();
    let pr = read_task(&corpus, Task::Pr).unwrap();
    for u in pr.test.utterances.iter().take(5) {
        let samples = ssl_distill_audio::decode_file(&u.path)
            .unwrap()
            .samples
            .len();
        let align = u.extra["align"].as_array().unwrap();
        let end = align.last().unwrap()[2].as_u64().unwrap() as usize;
        assert_eq!(end, samples, "{}", u.path.display());
    }
    let out = extract_set(&up, &pr.test, Pooling::Mean, false, &mut |_, _| {}).unwrap();
    for (u, frames) in pr.test.utterances.iter().zip(&out.features.frames) {
        let samples = ssl_distill_audio::decode_file(&u.path)
            .unwrap()
            .samples
            .len();
        assert_eq!(*frames, up.num_frames(samples));
    }
}
