//! WordNet example sentences: parse, filter, deduplicate.
use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{CorpusError, io_err};

/// Default WordNet location (Debian `wordnet-base`).
pub const WORDNET_DIR: &str = "/usr/share/wordnet";

/// Extract the quoted examples from one `data.*` line (after the `|` gloss separator).
pub(crate) fn examples(line: &str) -> Vec<String> {
    if line.starts_with("  ") {
        return Vec::new(); // licence header
    }
    let Some((_, gloss)) = line.split_once('|') else {
        return Vec::new();
    };
    gloss
        .split('"')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_string())
        .collect()
}

/// Keep 5-20 words of `[A-Za-z ,.'?!;-]`, trimmed, without a trailing separator.
pub(crate) fn accept(s: &str) -> Option<String> {
    if !s
        .chars()
        .all(|c| c.is_ascii_alphabetic() || " ,.'?!;-".contains(c))
    {
        return None;
    }
    let s = s.trim().trim_end_matches([',', ';', '-']).trim();
    let words = s.split_whitespace().count();
    ((5..=20).contains(&words) && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .then(|| s.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// All filtered, deduplicated sentences, sorted (deterministic order).
pub(crate) fn load_sentences(dir: &Path) -> Result<Vec<String>, CorpusError> {
    let mut set = BTreeSet::new();
    for pos in ["noun", "verb", "adj", "adv"] {
        let path = dir.join(format!("data.{pos}"));
        if !path.exists() {
            return Err(CorpusError::WordnetMissing { path });
        }
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines() {
            set.extend(examples(line).iter().filter_map(|e| accept(e)));
        }
    }
    Ok(set.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_filters() {
        let line = "00001740 03 n 01 entity 0 | that which is perceived; \"the cat sat on the mat\"; \"too short\"; \"bad 2 digits in this one here\"";
        let ex = examples(line);
        assert_eq!(ex.len(), 3);
        assert_eq!(accept(&ex[0]).as_deref(), Some("the cat sat on the mat"));
        assert_eq!(accept(&ex[1]), None);
        assert_eq!(accept(&ex[2]), None);
        assert!(examples("  1 This software and database").is_empty());
    }
}
