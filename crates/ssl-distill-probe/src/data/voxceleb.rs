//! [`Layout::VoxCeleb1`]: VoxCeleb1 (Nagrani et al. 2017, "VoxCeleb: a large-scale speaker
//! identification dataset", arXiv:1706.08612) for closed-set speaker identification, as
//! SUPERB's SID task uses it (s3prl `downstream/voxceleb1/dataset.py` with its
//! `veri_test_class.txt`, the same format as the dataset's `iden_split.txt`):
//!
//! ```text
//! DIR/
//!   iden_split.txt             3 id10003/na8-QEFmj44/00003.wav   (1 train, 2 dev, 3 test)
//!   wav/<id>/<video>/<n>.wav
//! ```
//!
//! The class of an utterance is its speaker id (the first path component); classes are the
//! train speakers, sorted. A dev/test speaker absent from train is an error (an identification
//! split never has one) unless [`DataOptions::skip_bad`].

use std::collections::HashSet;
use std::path::Path;

use ssl_distill_audio::Utterance;

use super::files::{bad_entry, text_lines};
use super::labelled::{Classes, RawItem, RawLabel, RawSplit, TaskData, build};
use crate::error::ProbeError;
use crate::layout::{DataOptions, Layout};
use crate::task::Task;

/// One parsed line: split (0, 1, 2), relative path, speaker.
fn parse(path: &Path, line: usize, text: &str) -> Result<(usize, String, String), ProbeError> {
    let bad = |reason: String| ProbeError::BadLine {
        path: path.into(),
        line,
        reason,
    };
    let mut fields = text.split_whitespace();
    let (Some(split), Some(rel), None) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad(format!(
            "{text:?} is not `<1|2|3> <id>/<video>/<n>.wav`"
        )));
    };
    let split = match split {
        "1" => 0,
        "2" => 1,
        "3" => 2,
        other => {
            return Err(bad(format!(
                "split {other:?} is not 1 (train), 2 (dev) or 3 (test)"
            )));
        }
    };
    let parts: Vec<&str> = rel.split('/').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad(format!("{rel:?} is not <id>/<video>/<n>.wav")));
    }
    Ok((split, rel.to_string(), parts[0].to_string()))
}

/// Reads SID from a VoxCeleb1 directory.
pub(super) fn read(dir: &Path, options: &DataOptions) -> Result<TaskData, ProbeError> {
    let split_path = dir.join("iden_split.txt");
    let lines = text_lines(&split_path, "VoxCeleb1's identification split file")?;
    let wav = dir.join("wav");
    if !wav.is_dir() {
        return Err(ProbeError::MissingFile {
            path: wav,
            what: "VoxCeleb1's audio directory, wav/<id>/<video>/<n>.wav",
        });
    }
    let mut splits: [RawSplit; 3] = Default::default();
    for s in &mut splits {
        s.source = split_path.clone();
    }
    let mut entries = Vec::with_capacity(lines.len());
    for (line, text) in &lines {
        entries.push((*line, parse(&split_path, *line, text)?));
    }
    let train_speakers: HashSet<&str> = entries
        .iter()
        .filter(|(_, (split, _, _))| *split == 0)
        .map(|(_, (_, _, speaker))| speaker.as_str())
        .collect();
    for (line, (split, rel, speaker)) in &entries {
        let path = wav.join(rel);
        let skipped = &mut splits[*split].skipped;
        if !path.is_file() {
            let error = ProbeError::MissingAudio {
                path,
                listed_in: split_path.clone(),
                line: *line,
            };
            bad_entry(options, skipped, error)?;
            continue;
        }
        if !train_speakers.contains(speaker.as_str()) {
            let error = ProbeError::UnknownSpeaker {
                path: split_path.clone(),
                line: *line,
                speaker: speaker.clone(),
            };
            bad_entry(options, skipped, error)?;
            continue;
        }
        splits[*split].items.push(RawItem {
            utterance: Utterance {
                path,
                speaker: Some(speaker.clone()),
                ..Utterance::default()
            },
            label: RawLabel::Class(speaker.clone()),
            crop: None,
        });
    }
    build(
        Task::Sid,
        dir.into(),
        Layout::VoxCeleb1,
        splits,
        Classes::FromTrain,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_lines_parse() {
        let p = Path::new("iden_split.txt");
        assert_eq!(
            parse(p, 1, "3 id10003/na8-QEFmj44/00003.wav").unwrap(),
            (2, "id10003/na8-QEFmj44/00003.wav".into(), "id10003".into())
        );
        let err = parse(p, 7, "4 id1/v/1.wav").unwrap_err().to_string();
        assert!(
            err.starts_with("iden_split.txt: line 7: split \"4\""),
            "{err}"
        );
        let err = parse(p, 2, "1 id1/1.wav").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(parse(p, 3, "1").is_err());
    }
}
