//! Metrics: edit distance, phone and word error rates, CTC greedy decoding, accuracy.

/// Levenshtein distance between two sequences (substitutions, insertions and deletions all
/// cost 1).
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(x != y);
            row[j + 1] = sub.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

/// Phone error rate over a corpus: the sum of edit distances divided by the total reference
/// length (as SUPERB and sclite compute it, not a mean of per-utterance rates). 0 when every
/// reference is empty and every hypothesis too; a hypothesis of anything against empty
/// references is an error rate of `errors / 1` (so it never divides by zero).
pub fn phone_error_rate<'a, I>(pairs: I) -> f64
where
    I: IntoIterator<Item = (&'a [usize], &'a [usize])>,
{
    let (mut errors, mut total) = (0usize, 0usize);
    for (hyp, reference) in pairs {
        errors += edit_distance(hyp, reference);
        total += reference.len();
    }
    errors as f64 / total.max(1) as f64
}

/// Word error rate over a corpus of `(hypothesis, reference)` texts: words are what whitespace
/// separates; the sum of word-level edit distances divided by the total number of reference
/// words (as sclite and s3prl's `downstream/ctc/metric.py` compute it, not a mean of
/// per-utterance rates). Empty references count as [`phone_error_rate`]'s do.
pub fn word_error_rate<'a, I>(pairs: I) -> f64
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let (mut errors, mut total) = (0usize, 0usize);
    for (hyp, reference) in pairs {
        let h: Vec<&str> = hyp.split_whitespace().collect();
        let r: Vec<&str> = reference.split_whitespace().collect();
        errors += edit_distance(&h, &r);
        total += r.len();
    }
    errors as f64 / total.max(1) as f64
}

/// [`word_error_rate`] of token sequences whose words are the runs between `separator` tokens
/// (ASR's character indices, split at the space): the same number as on the decoded texts.
pub(crate) fn token_word_error_rate<'a, I>(pairs: I, separator: usize) -> f64
where
    I: IntoIterator<Item = (&'a [usize], &'a [usize])>,
{
    let (mut errors, mut total) = (0usize, 0usize);
    for (hyp, reference) in pairs {
        let (e, n) = word_edits(hyp, reference, separator);
        errors += e;
        total += n;
    }
    errors as f64 / total.max(1) as f64
}

/// The words of a token sequence: the non-empty runs between `separator` tokens.
pub(crate) fn words(tokens: &[usize], separator: usize) -> Vec<&[usize]> {
    tokens
        .split(|&t| t == separator)
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word-level edit distance of `hyp` to `reference` and the reference's word count.
pub(crate) fn word_edits(hyp: &[usize], reference: &[usize], separator: usize) -> (usize, usize) {
    let r = words(reference, separator);
    (edit_distance(&words(hyp, separator), &r), r.len())
}

/// The word error rate on `test` of the better of two trivial predictors: the empty hypothesis
/// (1.0) and the most frequent word of `train` said once per utterance (the first in token
/// order on a tie); words are the runs between `separator` tokens.
pub(crate) fn trivial_word_error_rate(
    train: &[Vec<usize>],
    test: &[Vec<usize>],
    separator: usize,
) -> f64 {
    let mut counts: std::collections::BTreeMap<&[usize], usize> = Default::default();
    for tokens in train {
        for word in words(tokens, separator) {
            *counts.entry(word).or_default() += 1;
        }
    }
    let best = counts
        .iter()
        .max_by_key(|(w, n)| (**n, std::cmp::Reverse(*w)))
        .map(|(w, _)| w.to_vec());
    let once = best.map_or(1.0, |w| {
        token_word_error_rate(test.iter().map(|r| (w.as_slice(), r.as_slice())), separator)
    });
    once.min(1.0)
}

/// CTC greedy (best-path) decoding of per-frame argmax classes: merge repeats, drop `blank`.
pub fn ctc_greedy_decode(best: &[usize], blank: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut last = None;
    for &c in best {
        if Some(c) != last && c != blank {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// Fraction of `predicted[i] == gold[i]` (0 for empty input).
///
/// # Panics
/// If the lengths differ.
pub fn accuracy(predicted: &[usize], gold: &[usize]) -> f64 {
    assert_eq!(predicted.len(), gold.len(), "one prediction per item");
    let right = predicted.iter().zip(gold).filter(|(p, g)| p == g).count();
    right as f64 / predicted.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_wer_equals_wer_of_the_texts() {
        // Tokens: 0 = space, 1.. = letters a, b, c.
        let text = |t: &[usize]| -> String {
            t.iter()
                .map(|&i| {
                    if i == 0 {
                        ' '
                    } else {
                        (b'a' + i as u8 - 1) as char
                    }
                })
                .collect()
        };
        let pairs: [(&[usize], &[usize]); 3] = [
            (&[1, 2, 0, 3], &[1, 2, 0, 3, 0, 1]),
            (&[0, 0, 3, 3, 0], &[3, 0, 2]),
            (&[], &[1, 0, 1]),
        ];
        let texts: Vec<(String, String)> = pairs.iter().map(|(h, r)| (text(h), text(r))).collect();
        let want = word_error_rate(texts.iter().map(|(h, r)| (h.as_str(), r.as_str())));
        // 1 deletion + 1 substitution + 1 deletion + 2 deletions over 3 + 2 + 2 words.
        assert!((want - 5.0 / 7.0).abs() < 1e-12, "{want}");
        assert_eq!(token_word_error_rate(pairs, 0), want);
    }

    #[test]
    fn the_trivial_word_predictor_says_the_most_frequent_word() {
        // Words: [1] three times, [2] twice.
        let train = vec![vec![1, 0, 2], vec![1, 0, 1, 0, 2]];
        // [1] once against 2 + 1 words, one of which it matches: 1 + 1 errors over 3.
        let test = vec![vec![1, 0, 3], vec![2]];
        let got = trivial_word_error_rate(&train, &test, 0);
        assert!((got - 2.0 / 3.0).abs() < 1e-12, "{got}");
        // Never worse than the empty hypothesis.
        assert_eq!(trivial_word_error_rate(&train, &[vec![3]], 0), 1.0);
    }
}
