//! [`Layout::LibriSpeech`]: LibriSpeech (Panayotov et al. 2015, "Librispeech: an ASR corpus
//! based on public domain audio books") with SUPERB's splits, `train-clean-100` / `dev-clean` /
//! `test-clean` (s3prl `downstream/asr/config.yaml`):
//!
//! ```text
//! DIR/                         (or DIR/LibriSpeech/, as the archives unpack)
//!   train-clean-100/<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac
//!                                      /<speaker>-<chapter>.trans.txt   ("<id> TEXT" lines)
//!   dev-clean/...
//!   test-clean/...
//! ```
//!
//! ASR reads the transcripts as characters ([`crate::CHARACTERS`]); PR turns each transcript
//! into phones with a pronunciation [`Lexicon`] (s3prl's PR task, `downstream/ctc/corpus/
//! libriphone.py`, does the same with its LibriSpeech lexicons).

use std::path::{Path, PathBuf};

use ssl_distill_audio::Utterance;

use super::files::{bad_entry, file_name, sorted_entries, text_lines};
use super::labelled::{
    Classes, RawItem, RawLabel, RawSplit, TaskData, asr_classes, asr_tokens, build,
};
use super::lexicon::Lexicon;
use crate::error::ProbeError;
use crate::layout::{DataOptions, LIBRISPEECH_SPLITS, Layout};
use crate::task::Task;

/// The directory holding the split directories: `dir`, or `dir/LibriSpeech`.
fn root(dir: &Path) -> PathBuf {
    let nested = dir.join("LibriSpeech");
    if !LIBRISPEECH_SPLITS.iter().any(|s| dir.join(s).is_dir()) && nested.is_dir() {
        nested
    } else {
        dir.into()
    }
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, ProbeError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect())
}

/// Reads one chapter's utterances into `split`.
fn chapter(
    dir: &Path,
    speaker: &str,
    lexicon: Option<&Lexicon>,
    options: &DataOptions,
    split: &mut RawSplit,
) -> Result<(), ProbeError> {
    let trans = dir.join(format!("{speaker}-{}.trans.txt", file_name(dir)));
    for (line, text) in text_lines(&trans, "the chapter's transcript file")? {
        let Some((id, words)) = text.split_once(' ') else {
            return Err(ProbeError::BadLine {
                path: trans,
                line,
                reason: format!("{text:?} is not `<id> <TRANSCRIPT>`"),
            });
        };
        let path = dir.join(format!("{id}.flac"));
        if !path.is_file() {
            let error = ProbeError::MissingAudio {
                path,
                listed_in: trans.clone(),
                line,
            };
            bad_entry(options, &mut split.skipped, error)?;
            continue;
        }
        let label = match lexicon {
            None => RawLabel::Tokens(asr_tokens(words)),
            Some(lex) => {
                let mut phones = Vec::new();
                let mut missing = None;
                for word in words.split_whitespace() {
                    match lex.phones(word) {
                        Some(p) => phones.extend(p.iter().cloned()),
                        None => {
                            missing = Some(word.to_string());
                            break;
                        }
                    }
                }
                if let Some(word) = missing {
                    let error = ProbeError::NotInLexicon {
                        path: trans.clone(),
                        line,
                        word,
                        lexicon: lex.path().into(),
                    };
                    bad_entry(options, &mut split.skipped, error)?;
                    continue;
                }
                RawLabel::Tokens(phones)
            }
        };
        split.items.push(RawItem {
            utterance: Utterance {
                path,
                speaker: Some(speaker.into()),
                text: Some(words.trim().into()),
                ..Utterance::default()
            },
            label,
            crop: None,
        });
    }
    Ok(())
}

/// Reads ASR or PR from a LibriSpeech directory.
pub(super) fn read(dir: &Path, task: Task, options: &DataOptions) -> Result<TaskData, ProbeError> {
    let lexicon = match task {
        Task::Pr => {
            let path = options
                .lexicon
                .as_ref()
                .ok_or_else(|| ProbeError::LexiconRequired { path: dir.into() })?;
            Some(Lexicon::read(path)?)
        }
        _ => None,
    };
    let root = root(dir);
    let mut splits: [RawSplit; 3] = Default::default();
    for (name_of_split, split) in LIBRISPEECH_SPLITS.iter().zip(&mut splits) {
        let split_dir = root.join(name_of_split);
        if !split_dir.is_dir() {
            return Err(ProbeError::MissingFile {
                path: split_dir,
                what: "a LibriSpeech split; SUPERB trains on train-clean-100, selects on \
                       dev-clean and tests on test-clean",
            });
        }
        split.source = split_dir.clone();
        for speaker_dir in subdirs(&split_dir)? {
            let speaker = file_name(&speaker_dir);
            for chapter_dir in subdirs(&speaker_dir)? {
                chapter(&chapter_dir, &speaker, lexicon.as_ref(), options, split)?;
            }
        }
    }
    let classes = match task {
        Task::Pr => Classes::AllTokens,
        _ => Classes::Fixed(asr_classes()),
    };
    build(task, dir.into(), Layout::LibriSpeech, splits, classes)
}
