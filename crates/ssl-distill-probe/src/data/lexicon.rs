//! A pronunciation lexicon: one word and its phones a line (`WORD<TAB or spaces>PH1 PH2 ...`),
//! the form of the lexicons s3prl's PR task reads (`downstream/ctc/lexicon/
//! librispeech-lexicon-200k-g2p.txt`, `librispeech-lexicon-allothers-g2p.txt`: CMUdict
//! ARPAbet with stress digits, 71 phones). As s3prl, the first pronunciation of a word listed
//! twice is used. Words are matched case-insensitively.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::files::text_lines;
use crate::error::ProbeError;

/// Word → phones.
#[derive(Debug, Clone, PartialEq)]
pub struct Lexicon {
    path: PathBuf,
    words: HashMap<String, Vec<String>>,
}

impl Lexicon {
    /// Reads a lexicon file.
    ///
    /// # Errors
    /// [`ProbeError::MissingFile`], [`ProbeError::Unreadable`], [`ProbeError::BadLine`] (a word
    /// without phones).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ProbeError> {
        let path = path.as_ref();
        let mut words = HashMap::new();
        for (line, text) in text_lines(path, "the pronunciation lexicon given with --lexicon")? {
            let mut fields = text.split_whitespace();
            let word = fields.next().unwrap_or_default().to_uppercase();
            let phones: Vec<String> = fields.map(String::from).collect();
            if phones.is_empty() {
                return Err(ProbeError::BadLine {
                    path: path.into(),
                    line,
                    reason: format!("{word:?} has no phones (expected `WORD PH1 PH2 ...`)"),
                });
            }
            words.entry(word).or_insert(phones);
        }
        Ok(Self {
            path: path.into(),
            words,
        })
    }

    /// The phones of `word` (any case).
    pub fn phones(&self, word: &str) -> Option<&[String]> {
        self.words.get(&word.to_uppercase()).map(Vec::as_slice)
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether it has no word.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_pronunciation_wins_and_case_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lexicon.txt");
        std::fs::write(&path, "YES\tY EH1 S\n\nno N OW1\nYES Y AE1 S\n").unwrap();
        let lex = Lexicon::read(&path).unwrap();
        assert_eq!(lex.len(), 2);
        assert_eq!(lex.phones("yes").unwrap(), ["Y", "EH1", "S"]);
        assert_eq!(lex.phones("NO").unwrap(), ["N", "OW1"]);
        assert!(lex.phones("maybe").is_none());
        std::fs::write(&path, "YES Y EH1 S\nGO\n").unwrap();
        let err = Lexicon::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("lexicon.txt: line 2") && err.contains("GO"),
            "{err}"
        );
        let err = Lexicon::read(dir.path().join("nope.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nope.txt") && err.contains("--lexicon"),
            "{err}"
        );
    }
}
