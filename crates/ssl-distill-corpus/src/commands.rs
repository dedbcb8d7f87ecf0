//! Spoken commands: the sentences of a small grammar over a 49-word vocabulary (Speech
//! Commands' 10 commands, the digits, and a few verbs, colours, objects and directions), for a
//! speech-recognition probe whose words recur across utterances. WordNet examples rarely repeat
//! their words, so a character ASR head trained on a few hundred of them cannot reach a usable
//! word error rate; here every test word is seen in training, while the sentences of the splits
//! stay disjoint.

const COLOURS: [&str; 5] = ["red", "green", "blue", "white", "yellow"];
const DEVICES: [&str; 4] = ["light", "lamp", "fan", "radio"];
const OBJECTS: [&str; 4] = ["box", "chair", "ball", "cup"];
const DIRECTIONS: [&str; 6] = ["up", "down", "left", "right", "forward", "back"];
const DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
const OPENABLE: [&str; 2] = ["door", "window"];

/// Every sentence of the grammar, sorted and without duplicates (2,296 sentences of 2 to 8
/// words):
/// - `[please] turn the COLOUR DEVICE on|off [now]`
/// - `move the COLOUR OBJECT DIRECTION [DIGIT steps]`
/// - `put the COLOUR OBJECT on the COLOUR OBJECT` (two different things)
/// - `go DIRECTION DIGIT steps|times`
/// - `set the DEVICE to DIGIT DIGIT`
/// - `open|close the COLOUR door|window [please]`
/// - `yes|no stop|go [now]`
pub(crate) fn command_sentences() -> Vec<String> {
    let mut out = Vec::new();
    let things: Vec<(&str, &str)> = COLOURS
        .iter()
        .flat_map(|&c| OBJECTS.iter().map(move |&o| (c, o)))
        .collect();
    for colour in COLOURS {
        for device in DEVICES {
            for state in ["on", "off"] {
                for please in ["", "please "] {
                    out.push(format!("{please}turn the {colour} {device} {state}"));
                    out.push(format!("{please}turn the {colour} {device} {state} now"));
                }
            }
        }
        for verb in ["open", "close"] {
            for thing in OPENABLE {
                out.push(format!("{verb} the {colour} {thing}"));
                out.push(format!("{verb} the {colour} {thing} please"));
            }
        }
    }
    for &(colour, object) in &things {
        for direction in DIRECTIONS {
            out.push(format!("move the {colour} {object} {direction}"));
            for digit in &DIGITS[1..] {
                out.push(format!(
                    "move the {colour} {object} {direction} {digit} steps"
                ));
            }
        }
        for &(c2, o2) in &things {
            if (c2, o2) != (colour, object) {
                out.push(format!("put the {colour} {object} on the {c2} {o2}"));
            }
        }
    }
    for direction in DIRECTIONS {
        for digit in &DIGITS[1..] {
            for unit in ["steps", "times"] {
                out.push(format!("go {direction} {digit} {unit}"));
            }
        }
    }
    for device in DEVICES {
        for tens in DIGITS {
            for ones in DIGITS {
                out.push(format!("set the {device} to {tens} {ones}"));
            }
        }
    }
    for answer in ["yes", "no"] {
        for verb in ["stop", "go"] {
            out.push(format!("{answer} {verb}"));
            out.push(format!("{answer} {verb} now"));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_has_many_sentences_over_few_words() {
        let sentences = command_sentences();
        assert_eq!(sentences.len(), 2296);
        let words: std::collections::BTreeSet<&str> =
            sentences.iter().flat_map(|s| s.split(' ')).collect();
        assert_eq!(words.len(), 49, "{words:?}");
        assert!(
            sentences
                .iter()
                .all(|s| (2..=8).contains(&s.split(' ').count()))
        );
    }
}
