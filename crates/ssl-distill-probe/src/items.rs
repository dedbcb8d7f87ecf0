//! Per-item outcomes on the test split, kept in the [`ProbeReport`](crate::ProbeReport) so that
//! two upstreams probed on the same utterances can be compared item by item (a paired test:
//! McNemar on the discordant items, a paired bootstrap over utterances).

use crate::data::LabelledSet;
use crate::metrics::{edit_distance, word_edits};
use crate::task::Task;
use serde::{Deserialize, Serialize};

/// How one test item came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemOutcome {
    /// SID / KS: whether the predicted class is the gold one.
    Classified {
        /// Prediction == label.
        correct: bool,
    },
    /// PR / ASR: the edit distance of the decoded phones (ASR: words) to the reference, and
    /// the reference's length (the corpus PER or WER is `Σ edit_distance / Σ reference_len`).
    Transcribed {
        /// Levenshtein distance hypothesis → reference.
        edit_distance: usize,
        /// Phones (ASR: words) in the reference.
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

/// The [`TestItem::id`]s of the items `kept` of `set`: the manifest's `id` field when present,
/// else the audio path as the manifest gives it, with `@start+len` (samples) for a cropped
/// item (Speech Commands' `_silence_` clips are several crops of one file).
pub(crate) fn item_ids(set: &LabelledSet, kept: &[usize]) -> Vec<String> {
    kept.iter()
        .map(|&i| {
            let u = &set.utterances[i];
            let id = u
                .extra
                .get("id")
                .and_then(|v| v.as_str())
                .map_or_else(|| u.path.display().to_string(), String::from);
            match set.crops.get(i).copied().flatten() {
                Some(crop) => format!("{id}@{}+{}", crop.start, crop.len),
                None => id,
            }
        })
        .collect()
}

/// The outcomes of `predictions` against `labels` (one per id): for a sequence task the edit
/// distance in the metric's unit (ASR, whose `word_break` is the space: words; PR: phones),
/// otherwise classes (`predictions[i][0]` vs `labels[i][0]`).
pub(crate) fn outcomes(
    ids: &[String],
    predictions: &[Vec<usize>],
    labels: &[Vec<usize>],
    task: Task,
    word_break: Option<usize>,
) -> Vec<TestItem> {
    ids.iter()
        .zip(predictions.iter().zip(labels))
        .map(|(id, (p, l))| TestItem {
            id: id.clone(),
            outcome: match (task.is_sequence(), word_break) {
                (false, _) => ItemOutcome::Classified {
                    correct: p.first() == l.first(),
                },
                (true, None) => ItemOutcome::Transcribed {
                    edit_distance: edit_distance(p, l),
                    reference_len: l.len(),
                },
                (true, Some(space)) => {
                    let (edit_distance, reference_len) = word_edits(p, l, space);
                    ItemOutcome::Transcribed {
                        edit_distance,
                        reference_len,
                    }
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
        let ids = ["x.wav".to_string(), "y.wav".to_string()];
        let pr = outcomes(
            &ids,
            &[vec![1, 2], vec![]],
            &[vec![1, 3, 4], vec![2]],
            Task::Pr,
            None,
        );
        // [1, 2] vs [1, 3, 4]: one substitution and one deletion; [] vs [2]: one deletion.
        assert_eq!(pr[0].outcome.errors_of(), (2, 3));
        assert_eq!(pr[1].outcome.errors_of(), (1, 1));
        assert_eq!(pr[1].id, "y.wav");
        assert_eq!(items_metric(Task::Pr, &pr), 3.0 / 4.0);
        // ASR with the space as token 1: "2 3" vs "2 4 5" is one substitution and one deletion
        // of 3 words; an empty hypothesis deletes the 1 word of "6".
        let asr = outcomes(
            &ids,
            &[vec![2, 1, 3], vec![]],
            &[vec![2, 1, 4, 1, 5], vec![6]],
            Task::Asr,
            Some(1),
        );
        assert_eq!(asr[0].outcome.errors_of(), (2, 3));
        assert_eq!(asr[1].outcome.errors_of(), (1, 1));
        assert_eq!(items_metric(Task::Asr, &asr), 3.0 / 4.0);
        let cls = outcomes(
            &ids,
            &[vec![3], vec![1]],
            &[vec![3], vec![2]],
            Task::Sid,
            None,
        );
        assert_eq!(cls[0].outcome, ItemOutcome::Classified { correct: true });
        assert_eq!(cls[1].outcome, ItemOutcome::Classified { correct: false });
        assert_eq!(items_metric(Task::Sid, &cls), 0.5);
    }

    #[test]
    fn ids_prefer_the_manifest_id_and_name_crops() {
        use ssl_distill_audio::Utterance;

        use crate::data::Crop;
        let mut with_id = Utterance {
            path: "a.wav".into(),
            ..Utterance::default()
        };
        with_id.extra.insert("id".into(), "utt-a".into());
        let noise = Utterance {
            path: "_background_noise_/white.wav".into(),
            ..Utterance::default()
        };
        let set = LabelledSet {
            utterances: vec![with_id, noise.clone(), noise],
            labels: vec![vec![0]; 3],
            crops: vec![
                None,
                Some(Crop {
                    start: 0,
                    len: 16000,
                }),
                Some(Crop {
                    start: 16000,
                    len: 16000,
                }),
            ],
            ..LabelledSet::default()
        };
        assert_eq!(
            item_ids(&set, &[0, 1, 2]),
            [
                "utt-a",
                "_background_noise_/white.wav@0+16000",
                "_background_noise_/white.wav@16000+16000"
            ]
        );
        assert_eq!(item_ids(&set, &[2]).len(), 1);
    }
}
