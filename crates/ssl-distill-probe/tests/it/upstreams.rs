//! Loading teachers and students, the weighted sum, task data and their errors.

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use ssl_distill_models::SslInput;
use ssl_distill_probe::{
    ProbeError, Task, UpstreamKind, WeightedSumConfig, load_upstream, read_task,
};
use ssl_distill_students::Student;

use crate::util::{serial, tiny_student, tiny_teacher, tone_corpus};

fn sine(n: usize) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.05).sin() * 0.3).collect()
}

#[test]
fn teacher_and_student_directories_are_detected() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let teacher = dir.path().join("teacher");
    tiny_teacher(&teacher, 1);
    let up = load_upstream(&teacher, &device).unwrap();
    assert_eq!(up.kind(), UpstreamKind::Teacher);
    assert_eq!((up.num_hidden_states(), up.hidden_size()), (3, 32));
    assert_eq!(up.num_frames(16_000), 49);
    let h = up.hidden_states(&sine(8000));
    assert_eq!(h.len(), 3);
    assert_eq!(h[2].dims(), [1, 24, 32]);

    let student_dir = dir.path().join("student");
    tiny_student(&student_dir, 2);
    let up = load_upstream(&student_dir, &device).unwrap();
    assert_eq!(up.kind(), UpstreamKind::Student);
    assert_eq!(up.num_hidden_states(), 3);
    // The upstream's states are the student's backbone states.
    let wave = sine(6400);
    let student = Student::load(&student_dir, &device).unwrap();
    let input = Tensor::<2>::from_data(TensorData::new(wave.clone(), [1, wave.len()]), &device);
    let want = student.forward(SslInput::new(input)).backbone.hidden_states;
    for (a, b) in up.hidden_states(&wave).into_iter().zip(want) {
        let diff: f32 = (a - b).abs().max().into_scalar();
        assert_eq!(diff, 0.0);
    }
}

#[test]
fn upstream_errors_name_the_path() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let missing = dir.path().join("nope");
    let err = load_upstream(&missing, &device).unwrap_err();
    assert!(matches!(err, ProbeError::NotFound { .. }));
    assert!(err.to_string().contains("nope"), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = load_upstream(&empty, &device).unwrap_err().to_string();
    assert!(
        err.contains("empty") && err.contains("not an upstream"),
        "{err}"
    );

    let broken = dir.path().join("broken");
    tiny_student(&broken, 3);
    std::fs::write(broken.join("student.json"), "{ not json").unwrap();
    let err = load_upstream(&broken, &device).unwrap_err().to_string();
    assert!(err.contains("student.json"), "{err}");

    let text = dir.path().join("model.txt");
    std::fs::write(&text, "x").unwrap();
    let err = load_upstream(&text, &device).unwrap_err().to_string();
    assert!(
        err.contains("model.txt") && err.contains("not an upstream"),
        "{err}"
    );
}

#[test]
fn weighted_sum_weights_are_a_softmax_and_get_gradients() {
    let _serial = serial();
    let device = Device::flex().autodiff();
    let mut ws = WeightedSumConfig::new(3).init(&device);
    let w = ws.weights_vec();
    assert!(w.iter().all(|&x| (x - 1.0 / 3.0).abs() < 1e-6), "{w:?}");
    // logits (0, ln 2, ln 3) -> weights (1/6, 2/6, 3/6).
    ws.logits = burn::module::Param::from_tensor(Tensor::from_data(
        TensorData::new(vec![0.0f32, 2f32.ln(), 3f32.ln()], [3]),
        &device,
    ));
    let w = ws.weights_vec();
    for (got, want) in w.iter().zip([1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0]) {
        assert!((got - want).abs() < 1e-6, "{w:?}");
    }
    let stacked = Tensor::<4>::random([3, 2, 4, 5], Distribution::Normal(0.0, 1.0), &device);
    let out = ws.forward(stacked.clone());
    let manual = stacked.clone().narrow(0, 0, 1).squeeze_dim::<3>(0) * (1.0 / 6.0)
        + stacked.clone().narrow(0, 1, 1).squeeze_dim::<3>(0) * (2.0 / 6.0)
        + stacked.clone().narrow(0, 2, 1).squeeze_dim::<3>(0) * (3.0 / 6.0);
    let diff: f32 = (out.clone() - manual).abs().max().into_scalar();
    assert!(diff < 1e-5, "{diff}");
    // A loss that prefers layer 2 gives the logits a gradient.
    let target = stacked.narrow(0, 2, 1).squeeze_dim::<3>(0).detach();
    let loss = (out - target).powi_scalar(2).mean();
    let grads = loss.backward();
    let g: Vec<f32> = ws
        .logits
        .grad(&grads)
        .expect("the logits get a gradient")
        .into_data()
        .try_into_vec()
        .unwrap();
    assert!(g.iter().any(|v| v.abs() > 1e-4), "{g:?}");
    // Softmax gradients sum to zero over the logits.
    assert!(g.iter().sum::<f32>().abs() < 1e-5, "{g:?}");
    // Moving against the gradient raises layer 2's weight.
    assert!(g[2] < 0.0, "{g:?}");
}

#[test]
fn task_data_from_a_corpus_directory() {
    let dir = tempfile::tempdir().unwrap();
    tone_corpus(dir.path(), [8, 4, 4], 0);
    let pr = read_task(dir.path(), Task::Pr).unwrap();
    assert_eq!(pr.classes, vec!["<blank>", "a", "b", "c"]);
    assert_eq!((pr.train.len(), pr.dev.len(), pr.test.len()), (8, 4, 4));
    assert!(
        pr.train
            .labels
            .iter()
            .all(|l| !l.is_empty() && !l.contains(&0))
    );
    let sid = read_task(dir.path(), Task::Sid).unwrap();
    assert_eq!(sid.classes, vec!["spk0", "spk1", "spk2", "spk3"]);
    assert_eq!(sid.train.labels[5], vec![1]);
    let ks = read_task(dir.path(), Task::Ks).unwrap();
    assert_eq!(ks.classes.len(), 4);

    // A dev speaker unseen in train is skipped, not an error.
    let mut lines = std::fs::read_to_string(dir.path().join("valid.jsonl")).unwrap();
    lines = lines.replacen("\"spk0\"", "\"spk9\"", 1);
    std::fs::write(dir.path().join("valid.jsonl"), lines).unwrap();
    let sid = read_task(dir.path(), Task::Sid).unwrap();
    assert_eq!((sid.dev.len(), sid.dev.skipped), (3, 1));

    // Errors name the file.
    std::fs::remove_file(dir.path().join("test.jsonl")).unwrap();
    let err = read_task(dir.path(), Task::Pr).unwrap_err().to_string();
    assert!(
        err.contains("test.jsonl") && err.contains("corpus synth"),
        "{err}"
    );
    std::fs::write(dir.path().join("test.jsonl"), "{\"path\": \"x.wav\"}\n").unwrap();
    let err = read_task(dir.path(), Task::Pr).unwrap_err().to_string();
    assert!(
        err.contains("test.jsonl") && err.contains("line 1") && err.contains("phones"),
        "{err}"
    );
    let err = read_task(dir.path().join("absent"), Task::Ks)
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent"), "{err}");
}
