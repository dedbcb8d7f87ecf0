//! The keyword-spotting vocabulary (Speech Commands' 10 commands and its `_unknown_` words).

/// Keyword-spotting labels: the 10 commands, then `_unknown_` and `_silence_`.
pub const KS_LABELS: &[&str] = &[
    "yes",
    "no",
    "up",
    "down",
    "left",
    "right",
    "on",
    "off",
    "stop",
    "go",
    "_unknown_",
    "_silence_",
];

/// Words spoken for the `_unknown_` class.
pub const UNKNOWN_WORDS: &[&str] = &[
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine",
    "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero",
];
