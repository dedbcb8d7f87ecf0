//! [`Layout::SpeechCommands`]: Speech Commands v0.01 (Warden 2018, "Speech Commands: A Dataset
//! for Limited-Vocabulary Speech Recognition", arXiv:1804.03209) as SUPERB's KS task uses it
//! (s3prl `downstream/speech_commands/dataset.py`):
//!
//! ```text
//! DIR/
//!   validation_list.txt        right/a69b9b3e_nohash_0.wav   (one clip a line)
//!   testing_list.txt
//!   _background_noise_/*.wav   long noise recordings
//!   <word>/<speaker>_nohash_<n>.wav
//! ```
//!
//! 12 classes in s3prl's order: the 10 commands, `_unknown_` (every other word folder),
//! `_silence_` (1 s crops of the background noise). A clip in `validation_list.txt` is dev, in
//! `testing_list.txt` test, else train (the lists come from the dataset's speaker hash, so the
//! splits are speaker-disjoint, as s3prl's own hashing gives). The noise recordings are cut into
//! consecutive 1 s crops; of each file's `n` crops the last `max(1, n / 10)` are test, the
//! `max(1, n / 10)` before them dev, the rest train (all train below 3 crops): fixed crops
//! where s3prl draws a random 1 s window per epoch, so the test split has silence too without
//! sharing audio with train.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use ssl_distill_audio::{Utterance, decode_file, output_len};

use super::files::{bad_entry, file_name, sorted_entries, text_lines};
use super::labelled::{Classes, Crop, RawItem, RawLabel, RawSplit, TaskData, build};
use crate::error::ProbeError;
use crate::layout::{DataOptions, Layout};
use crate::task::Task;

/// SUPERB's 12 KS classes, in s3prl's order.
pub const SPEECH_COMMANDS_CLASSES: [&str; 12] = [
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", UNKNOWN, SILENCE,
];
/// The class of every non-command word.
pub const UNKNOWN: &str = "_unknown_";
/// The class of the background-noise crops.
pub const SILENCE: &str = "_silence_";

const NOISE_DIR: &str = "_background_noise_";
/// One second at 16 kHz.
const CLIP: usize = 16_000;

/// Which split each listed clip is in: `word/file.wav` → 1 (dev) or 2 (test), with the list
/// file and line that names it.
type Listed = HashMap<String, (usize, std::path::PathBuf, usize)>;

fn read_list(path: &Path, split: usize, listed: &mut Listed) -> Result<(), ProbeError> {
    for (line, entry) in text_lines(path, "a Speech Commands split list")? {
        let entry = entry.trim().replace('\\', "/");
        let ok = entry.ends_with(".wav") && entry.split('/').count() == 2;
        if !ok {
            return Err(ProbeError::BadLine {
                path: path.into(),
                line,
                reason: format!("{entry:?} is not <word>/<file>.wav"),
            });
        }
        listed.insert(entry, (split, path.into(), line));
    }
    Ok(())
}

/// `(train, dev, test)` crop counts of a noise file with `crops` whole seconds.
fn crop_split(crops: usize) -> (usize, usize, usize) {
    if crops < 3 {
        return (crops, 0, 0);
    }
    let k = (crops / 10).max(1);
    (crops - 2 * k, k, k)
}

/// Reads KS from a Speech Commands directory.
pub(super) fn read(dir: &Path, options: &DataOptions) -> Result<TaskData, ProbeError> {
    let mut listed = Listed::new();
    let valid_path = dir.join("validation_list.txt");
    let test_path = dir.join("testing_list.txt");
    read_list(&valid_path, 1, &mut listed)?;
    read_list(&test_path, 2, &mut listed)?;
    let noise_dir = dir.join(NOISE_DIR);
    if !noise_dir.is_dir() {
        return Err(ProbeError::MissingFile {
            path: noise_dir,
            what: "the noise recordings that SUPERB's _silence_ class is cut from",
        });
    }
    let mut splits: [RawSplit; 3] = Default::default();
    splits[0].source = dir.into();
    splits[1].source = valid_path;
    splits[2].source = test_path;
    let mut seen: HashSet<String> = HashSet::new();
    for word_dir in sorted_entries(dir)? {
        let word = file_name(&word_dir);
        if !word_dir.is_dir() || word == NOISE_DIR {
            continue;
        }
        let label = if SPEECH_COMMANDS_CLASSES[..10].contains(&word.as_str()) {
            word.clone()
        } else {
            UNKNOWN.to_string()
        };
        for clip in sorted_entries(&word_dir)? {
            if clip.extension().is_none_or(|e| e != "wav") {
                continue;
            }
            let file = file_name(&clip);
            let rel = format!("{word}/{file}");
            let split = listed.get(&rel).map_or(0, |(s, _, _)| *s);
            seen.insert(rel);
            let speaker = file.split("_nohash_").next().map(String::from);
            splits[split].items.push(RawItem {
                utterance: Utterance {
                    path: clip,
                    speaker,
                    ..Utterance::default()
                },
                label: RawLabel::Class(label.clone()),
                crop: None,
            });
        }
    }
    let mut missing: Vec<_> = listed
        .iter()
        .filter(|(rel, _)| !seen.contains(*rel))
        .map(|(rel, (split, list, line))| (list.clone(), *line, *split, dir.join(rel)))
        .collect();
    missing.sort();
    for (listed_in, line, split, path) in missing {
        let error = ProbeError::MissingAudio {
            path,
            listed_in,
            line,
        };
        bad_entry(options, &mut splits[split].skipped, error)?;
    }
    silence(&noise_dir, options, &mut splits)?;
    let classes = SPEECH_COMMANDS_CLASSES.map(String::from).to_vec();
    build(
        Task::Ks,
        dir.into(),
        Layout::SpeechCommands,
        splits,
        Classes::Fixed(classes),
    )
}

/// Adds the `_silence_` crops of every noise recording to the splits.
fn silence(
    noise_dir: &Path,
    options: &DataOptions,
    splits: &mut [RawSplit; 3],
) -> Result<(), ProbeError> {
    for path in sorted_entries(noise_dir)? {
        if path.extension().is_none_or(|e| e != "wav") {
            continue;
        }
        let audio = match decode_file(&path) {
            Ok(a) => a,
            Err(e) => {
                bad_entry(options, &mut splits[0].skipped, e.into())?;
                continue;
            }
        };
        let samples = output_len(audio.samples.len(), audio.sample_rate, 16_000);
        let (train, dev, _) = crop_split(samples / CLIP);
        for i in 0..samples / CLIP {
            let split = if i < train {
                0
            } else if i < train + dev {
                1
            } else {
                2
            };
            splits[split].items.push(RawItem {
                utterance: Utterance {
                    path: path.clone(),
                    ..Utterance::default()
                },
                label: RawLabel::Class(SILENCE.into()),
                crop: Some(Crop {
                    start: i * CLIP,
                    len: CLIP,
                }),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_crops_split_by_position() {
        assert_eq!(crop_split(0), (0, 0, 0));
        assert_eq!(crop_split(2), (2, 0, 0));
        assert_eq!(crop_split(3), (1, 1, 1));
        assert_eq!(crop_split(8), (6, 1, 1));
        // The v0.01 noise recordings are about 60 s.
        assert_eq!(crop_split(61), (49, 6, 6));
    }
}
