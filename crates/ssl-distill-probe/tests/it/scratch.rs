use crate::util::{tiny_teacher, tone_corpus};
use burn::tensor::Device;
use ssl_distill_probe::{Pooling, Task, extract, load_upstream, read_task};

#[test]
fn scratch_centroids() {
    let dir = tempfile::tempdir().unwrap();
    tone_corpus(&dir.path().join("c"), [32, 12, 16], 7);
    tiny_teacher(&dir.path().join("t"), 11);
    let up = load_upstream(dir.path().join("t"), &Device::flex()).unwrap();
    let data = read_task(dir.path().join("c"), Task::Sid).unwrap();
    let (mut tr, st) = extract(&up, &data.train.utterances, Pooling::Mean, &mut |_, _| {}).unwrap();
    let (mut te, _) = extract(&up, &data.test.utterances, Pooling::Mean, &mut |_, _| {}).unwrap();
    for (x, lab) in tr.data.iter().zip(&data.train.labels).take(8) {
        eprintln!("lab {} frames? {:?}", lab[0], &x[0..6]);
    }
    for u in data.train.utterances.iter().take(4) {
        let a = ssl_distill_audio::load_audio(&u.path, 16000).unwrap();
        let zc = a
            .windows(2)
            .filter(|w| (w[0] >= 0.0) != (w[1] >= 0.0))
            .count() as f64
            / a.len() as f64
            * 8000.0;
        eprintln!(
            "{} {} zc-rate {zc:.0}",
            u.path.display(),
            u.speaker.as_deref().unwrap()
        );
    }
    for std in [false, true] {
        if std {
            tr.standardize(&st);
            te.standardize(&st);
        }
        for l in 0..3 {
            let d = 32;
            let mut cent = vec![vec![0f64; d]; 4];
            let mut cnt = [0f64; 4];
            for (x, lab) in tr.data.iter().zip(&data.train.labels) {
                for k in 0..d {
                    cent[lab[0]][k] += x[l * d + k] as f64;
                }
                cnt[lab[0]] += 1.0;
            }
            for c in 0..4 {
                for k in 0..d {
                    cent[c][k] /= cnt[c];
                }
            }
            let mut right = 0;
            for (x, lab) in te.data.iter().zip(&data.test.labels) {
                let best = (0..4)
                    .min_by(|&a, &b| {
                        let da: f64 = (0..d)
                            .map(|k| (x[l * d + k] as f64 - cent[a][k]).powi(2))
                            .sum();
                        let db: f64 = (0..d)
                            .map(|k| (x[l * d + k] as f64 - cent[b][k]).powi(2))
                            .sum();
                        da.total_cmp(&db)
                    })
                    .unwrap();
                if best == lab[0] {
                    right += 1;
                }
            }
            eprintln!("std {std} layer {l}: {right}/16");
        }
    }
}

#[test]
fn scratch_pure() {
    let dir = tempfile::tempdir().unwrap();
    tiny_teacher(&dir.path().join("t"), 11);
    let up = load_upstream(dir.path().join("t"), &Device::flex()).unwrap();
    let mut means = vec![];
    let mut rng = crate::util::Rng::new(1);
    for hz in [250.0, 250.0, 250.0, 4500.0, 4500.0, 4500.0] {
        let mut w = crate::util::resonance(hz, 8000, 0.3, &mut rng);
        ssl_distill_audio::normalize(&mut w);
        let h = up.hidden_states(&w);
        let m: Vec<Vec<f32>> = h
            .into_iter()
            .map(|x| x.mean_dim(1).into_data().try_into_vec().unwrap())
            .collect();
        means.push(m);
    }
    for l in 0..3 {
        for a in 0..6 {
            let row: Vec<String> = (0..6)
                .map(|b| {
                    let d: f32 = means[a][l]
                        .iter()
                        .zip(&means[b][l])
                        .map(|(x, y)| (x - y).powi(2))
                        .sum();
                    format!("{:.2}", d.sqrt())
                })
                .collect();
            eprintln!("layer {l} {a}: {}", row.join(" "));
        }
    }
}
