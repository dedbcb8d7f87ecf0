//! Per-item outcomes on the test split, kept in the [`ProbeReport`](crate::ProbeReport) so that
//! two upstreams probed on the same utterances can be compared item by item (a paired test:
//! McNemar on the discordant items, a paired bootstrap over utterances).

use serde::{Deserialize, Serialize};
use ssl_distill_audio::Utterance;

use crate::metrics::edit_distance;
use crate::task::Task;

/// How one test item came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemOutcome {
    /// SID / KS: whether the predicted class is the gold one.
    Classified {
        /// Prediction == label.
        correct: bool,
    },
    /// PR: the edit distance of the decoded phones to the reference, and the reference's
    /// length (the corpus PER is `Σ edit_distance / Σ reference_len`).
    Transcribed {
        /// Levenshtein distance hypothesis → reference.
        edit_distance: usize,
        /// Phones in the reference.
        reference_len: usize,
    },
}

impl ItemOutcome {
    /// Errors and the count they are out of: `(1 - correct, 1)` for a classification,
    /// `(edit_distance, reference_len)` for a transcription, so that both metrics are
    /// `Σ errors / Σ count` (accuracy is one minus it).
    pub fn errors_of(self) -> (usize, usize) {
        match self {
            Self::Classified { correct } => (usize::from(!correct), 1),
            Self::Transcribed {
                edit_distance,
                reference_len,
            } => (edit_distance, reference_len),
        }
    }
}

/// One test item: its id (the manifest's `id` field when present, else its audio path as the
/// manifest gives it) and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestItem {
    /// Identifies the utterance within its corpus.
    pub id: String,
    /// What the probe made of it.
    #[serde(flatten)]
    pub outcome: ItemOutcome,
}

/// The test metric of `task` from its items: PR the corpus PER `Σ edit_distance /
/// Σ reference_len`, SID / KS the fraction correct (0 without items), equal to what
/// [`phone_error_rate`](crate::phone_error_rate) and [`accuracy`](crate::accuracy) give.
pub fn items_metric(task: Task, items: &[TestItem]) -> f64 {
    let (errors, count) = items.iter().fold((0usize, 0usize), |(e, n), item| {
        let (ei, ni) = item.outcome.errors_of();
        (e + ei, n + ni)
    });
    if task.lower_is_better() {
        errors as f64 / count.max(1) as f64
    } else {
        (count - errors) as f64 / count.max(1) as f64
    }
}

/// The id of an utterance in [`TestItem::id`].
pub(crate) fn item_id(u: &Utterance) -> String {
    u.extra
        .get("id")
        .and_then(|v| v.as_str())
        .map_or_else(|| u.path.display().to_string(), String::from)
}

/// The outcomes of `predictions` against `labels` (one per utterance): PR transcriptions when
/// `transcribed`, otherwise classes (`predictions[i][0]` vs `labels[i][0]`).
pub(crate) fn outcomes(
    utterances: &[Utterance],
    predictions: &[Vec<usize>],
    labels: &[Vec<usize>],
    transcribed: bool,
) -> Vec<TestItem> {
    utterances
        .iter()
        .zip(predictions.iter().zip(labels))
        .map(|(u, (p, l))| TestItem {
            id: item_id(u),
            outcome: if transcribed {
                ItemOutcome::Transcribed {
                    edit_distance: edit_distance(p, l),
                    reference_len: l.len(),
                }
            } else {
                ItemOutcome::Classified {
                    correct: p.first() == l.first(),
                }
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialize_as_flags_or_counts_and_read_back() {
        let items = vec![
            TestItem {
                id: "a".into(),
                outcome: ItemOutcome::Classified { correct: true },
            },
            TestItem {
                id: "b".into(),
                outcome: ItemOutcome::Transcribed {
                    edit_distance: 2,
                    reference_len: 5,
                },
            },
        ];
        let json = serde_json::to_string(&items).unwrap();
        assert_eq!(
            json,
            r#"[{"id":"a","correct":true},{"id":"b","edit_distance":2,"reference_len":5}]"#
        );
        assert_eq!(serde_json::from_str::<Vec<TestItem>>(&json).unwrap(), items);
        assert_eq!(items[0].outcome.errors_of(), (0, 1));
        assert_eq!(items[1].outcome.errors_of(), (2, 5));
    }

    #[test]
    fn outcomes_score_each_item_like_the_corpus_metric() {
        let u = |p: &str| Utterance {
            path: p.into(),
            ..Utterance::default()
        };
        let utts = [u("x.wav"), u("y.wav")];
        let pr = outcomes(
            &utts,
            &[vec![1, 2], vec![]],
            &[vec![1, 3, 4], vec![2]],
            true,
        );
        // [1, 2] vs [1, 3, 4]: one substitution and one deletion; [] vs [2]: one deletion.
        assert_eq!(pr[0].outcome.errors_of(), (2, 3));
        assert_eq!(pr[1].outcome.errors_of(), (1, 1));
        assert_eq!(pr[1].id, "y.wav");
        assert_eq!(items_metric(Task::Pr, &pr), 3.0 / 4.0);
        let cls = outcomes(&utts, &[vec![3], vec![1]], &[vec![3], vec![2]], false);
        assert_eq!(cls[0].outcome, ItemOutcome::Classified { correct: true });
        assert_eq!(cls[1].outcome, ItemOutcome::Classified { correct: false });
        assert_eq!(items_metric(Task::Sid, &cls), 0.5);
    }
}
