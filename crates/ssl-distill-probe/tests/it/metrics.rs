//! Edit distance, PER and CTC decoding against hand-computed cases.

use ssl_distill_probe::{accuracy, ctc_greedy_decode, edit_distance, phone_error_rate};

#[test]
fn edit_distance_hand_cases() {
    assert_eq!(edit_distance::<u8>(&[], &[]), 0);
    assert_eq!(edit_distance(&[1, 2, 3], &[]), 3);
    assert_eq!(edit_distance(&[], &[1, 2]), 2);
    assert_eq!(edit_distance(&[1, 2, 3], &[1, 2, 3]), 0);
    // kitten -> sitting: 2 substitutions + 1 insertion.
    assert_eq!(edit_distance(b"kitten", b"sitting"), 3);
    // flaw -> lawn: delete f, insert n.
    assert_eq!(edit_distance(b"flaw", b"lawn"), 2);
    // One substitution in the middle, one deletion at the end.
    assert_eq!(edit_distance(&[1, 9, 3, 4], &[1, 2, 3]), 2);
    assert_eq!(edit_distance(b"abc", b"cab"), 2);
}

#[test]
fn per_is_corpus_level() {
    // hyp/ref: (1 sub over 4) + (1 del over 2) + (1 ins over 1 ... empty-to-one) = 3 / 7.
    let pairs: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![1, 2, 9, 4], vec![1, 2, 3, 4]),
        (vec![5], vec![5, 6]),
        (vec![7, 8], vec![7]),
    ];
    let per = phone_error_rate(pairs.iter().map(|(h, r)| (h.as_slice(), r.as_slice())));
    assert!((per - 3.0 / 7.0).abs() < 1e-12, "{per}");
    // Not the mean of per-utterance rates (1/4, 1/2, 1) / 3 = 0.583.
    assert!((per - 0.583).abs() > 0.1);
    let empty: Vec<(&[usize], &[usize])> = vec![(&[], &[1, 2])];
    assert_eq!(phone_error_rate(empty), 1.0);
}

#[test]
fn greedy_ctc_merges_repeats_and_drops_blanks() {
    assert_eq!(
        ctc_greedy_decode(&[0, 1, 1, 0, 1, 2, 2, 0, 0], 0),
        vec![1, 1, 2]
    );
    assert_eq!(ctc_greedy_decode(&[0, 0, 0], 0), Vec::<usize>::new());
    assert_eq!(ctc_greedy_decode(&[3, 3, 3], 0), vec![3]);
    assert_eq!(accuracy(&[1, 2, 3, 4], &[1, 0, 3, 0]), 0.5);
}

#[test]
fn wer_is_word_level_and_corpus_level() {
    use ssl_distill_probe::word_error_rate;
    let pairs = [
        // 1 deletion over 4 words.
        ("THE CAT SAT", "THE CAT SAT DOWN"),
        // [A BIG DOG] vs [A DOG RAN]: BIG inserted, RAN deleted; 2 over 3 words.
        ("A BIG DOG", "A DOG RAN"),
    ];
    let wer = word_error_rate(pairs);
    assert!((wer - 3.0 / 7.0).abs() < 1e-12, "{wer}");
    // Whitespace does not matter; characters inside a word do.
    assert_eq!(word_error_rate([("  GO   UP ", "GO UP")]), 0.0);
    assert_eq!(word_error_rate([("GO UPP", "GO UP")]), 0.5);
    assert_eq!(word_error_rate([("", "YES NO")]), 1.0);
    // Insertions can take WER above 1.
    assert_eq!(word_error_rate([("A B C", "A")]), 2.0);
}
