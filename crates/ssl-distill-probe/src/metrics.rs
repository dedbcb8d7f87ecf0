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
