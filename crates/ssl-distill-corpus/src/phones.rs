//! The fixed phone inventory and the fold from espeak-ng English mnemonics.
//!
//! | class group | classes |
//! |---|---|
//! | silence | `sil` (pauses `_ _: _! _|`, leading audio) |
//! | stops/affricates | `p b t d k g tS dZ` |
//! | fricatives | `f v T D s z S Z h` |
//! | nasals/approximants | `m n N l r w j` |
//! | vowels | `@ 3 3: @L a a: A: A@ aI aU aI@ aU@ e e@ eI E I i i: i@ I@ o@ O: O@ OI oU u: U U@ V 0` |
//! | other | `spn` (any mnemonic outside the table; counted in the summary) |
//!
//! Fold (after stripping stress marks `' , % =`): `@2 @5 @- a#`→`@`, `I2 I#`→`I`,
//! `t# t2 t[`→`t`, `d#`→`d`, `r-`→`r`, `n-`→`n`, `l/ l/2 l#`→`l`, `w#`→`w`, `aI2 aI3`→`aI`,
//! `i@3`→`i@`, `O2 O O~`→`O:`, `A~`→`A:`, `aa`→`a`, `u`→`u:`, `x`→`k`, `?`→`t`, `VR`→`V`,
//! `IR`→`I`, `3:r`→`3:`, `oU#`→`oU`, `e#`→`e`, `A#`→`A:`, `02`→`0`, `eI#`→`eI`, `z#`→`z`,
//! `s#`→`s`. `;` (palatalisation modifier) is merged into the previous phone.

/// Silence class name.
pub const SIL: &str = "sil";
/// Class for mnemonics outside the table.
pub const SPN: &str = "spn";

/// The inventory, in class-index order (index 0 is `sil`).
pub const INVENTORY: &[&str] = &[
    SIL, "p", "b", "t", "d", "k", "g", "tS", "dZ", "f", "v", "T", "D", "s", "z", "S", "Z", "h",
    "m", "n", "N", "l", "r", "w", "j", "@", "3", "3:", "@L", "a", "a:", "A:", "A@", "aI", "aU",
    "aI@", "aU@", "e", "e@", "eI", "E", "I", "i", "i:", "i@", "I@", "o@", "O:", "O@", "OI", "oU",
    "u:", "U", "U@", "V", "0", SPN,
];

/// What one espeak-ng phoneme event becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Folded {
    /// A class of [`INVENTORY`].
    Class(&'static str),
    /// Merge into the previous segment (modifiers such as `;`).
    Merge,
}

/// Fold an espeak-ng mnemonic into the inventory.
pub(crate) fn fold(raw: &str) -> Folded {
    let s: String = raw
        .chars()
        .filter(|c| !matches!(c, '\'' | ',' | '%' | '='))
        .collect();
    if s.is_empty() || s == ";" {
        return Folded::Merge;
    }
    if s.starts_with('_') {
        return Folded::Class(SIL);
    }
    let mapped = match s.as_str() {
        "@2" | "@5" | "@-" | "a#" => "@",
        "I2" | "I#" | "IR" => "I",
        "t#" | "t2" | "t[" | "?" => "t",
        "d#" => "d",
        "r-" => "r",
        "n-" => "n",
        "l/" | "l/2" | "l#" => "l",
        "w#" => "w",
        "aI2" | "aI3" => "aI",
        "i@3" => "i@",
        "O2" | "O" | "O~" => "O:",
        "A~" | "A#" => "A:",
        "aa" => "a",
        "u" => "u:",
        "x" => "k",
        "VR" => "V",
        "3:r" => "3:",
        "oU#" => "oU",
        "e#" => "e",
        "02" => "0",
        "eI#" => "eI",
        "z#" => "z",
        "s#" => "s",
        other => other,
    };
    match INVENTORY.iter().find(|&&c| c == mapped) {
        Some(c) => Folded::Class(c),
        None => Folded::Class(SPN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds() {
        assert_eq!(fold("'a#"), Folded::Class("@"));
        assert_eq!(fold("_:"), Folded::Class(SIL));
        assert_eq!(fold(";"), Folded::Merge);
        assert_eq!(fold("tS"), Folded::Class("tS"));
        assert_eq!(fold("Q!x"), Folded::Class(SPN));
        let mut seen = std::collections::BTreeSet::new();
        assert!(
            INVENTORY.iter().all(|c| seen.insert(*c)),
            "inventory has duplicates"
        );
    }
}
