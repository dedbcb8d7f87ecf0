//! Each term against a hand computation; padded frames change nothing.

use burn::tensor::Device;
use ssl_distill_losses::{
    CodewordHead, LossError, LossKind, LossSpec, compute, cosine_distance, discriminative, l1, l2,
    log_sigmoid_cosine,
};

use crate::{mask, scalar, t3};

/// pred frames (1, 0), (0, 2); target frames (1, 1), (3, 0).
fn pair(device: &Device) -> (burn::tensor::Tensor<3>, burn::tensor::Tensor<3>) {
    (
        t3(&[1.0, 0.0, 0.0, 2.0], [1, 2, 2], device),
        t3(&[1.0, 1.0, 3.0, 0.0], [1, 2, 2], device),
    )
}

/// The same two frames plus a padded third frame of huge values.
fn padded(
    device: &Device,
) -> (
    burn::tensor::Tensor<3>,
    burn::tensor::Tensor<3>,
    burn::tensor::Tensor<2, burn::tensor::Bool>,
) {
    (
        t3(&[1.0, 0.0, 0.0, 2.0, 1e6, -1e6], [1, 3, 2], device),
        t3(&[1.0, 1.0, 3.0, 0.0, 0.0, 5e5], [1, 3, 2], device),
        mask(&[false, false, true], [1, 3], device),
    )
}

fn close(got: f32, want: f32) {
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

#[test]
fn regression_terms_by_hand() {
    let d = Device::flex();
    // |0| + |1| + |3| + |2| = 6 over 4 values; squares 14 over 4.
    let (p, t) = pair(&d);
    close(scalar(l1(p.clone(), t.clone(), None)), 1.5);
    close(scalar(l2(p.clone(), t.clone(), None)), 3.5);
    // cos = 1/sqrt(2) and 0.
    let c0 = std::f32::consts::FRAC_1_SQRT_2;
    close(
        scalar(cosine_distance(p.clone(), t.clone(), None)),
        ((1.0 - c0) + 1.0) / 2.0,
    );
    let nls = |x: f32| (1.0 + (-x).exp()).ln();
    close(
        scalar(log_sigmoid_cosine(p, t, None)),
        (nls(c0) + nls(0.0)) / 2.0,
    );
}

#[test]
fn padded_frames_do_not_count() {
    let d = Device::flex();
    let (p, t, m) = padded(&d);
    close(scalar(l1(p.clone(), t.clone(), Some(&m))), 1.5);
    close(scalar(l2(p.clone(), t.clone(), Some(&m))), 3.5);
    let c0 = std::f32::consts::FRAC_1_SQRT_2;
    close(
        scalar(cosine_distance(p.clone(), t.clone(), Some(&m))),
        ((1.0 - c0) + 1.0) / 2.0,
    );
    let head = CodewordHead::from_centroids(burn::tensor::Tensor::eye(2, &d), 1.0);
    let (pp, tt) = pair(&d);
    let unpadded = scalar(discriminative(pp, tt, &head, None));
    close(scalar(discriminative(p, t, &head, Some(&m))), unpadded);
}

#[test]
fn discriminative_by_hand() {
    let d = Device::flex();
    // Codewords e1 = (1, 0), e2 = (0, 1), τ = 1. Teacher (1, 0): cos (1, 0); student (0, 1):
    // cos (0, 1). p = softmax(1, 0) = (σ(1), σ(-1)), q = its reverse.
    // KL(p‖q) = (p1 - p2) · ln(p1 / p2) = (σ(1) - σ(-1)) · 1.
    let head = CodewordHead::from_centroids(burn::tensor::Tensor::eye(2, &d), 1.0);
    let teacher = t3(&[1.0, 0.0], [1, 1, 2], &d);
    let student = t3(&[0.0, 1.0], [1, 1, 2], &d);
    let s = |x: f32| 1.0 / (1.0 + (-x).exp());
    close(
        scalar(discriminative(
            student.clone(),
            teacher.clone(),
            &head,
            None,
        )),
        s(1.0) - s(-1.0),
    );
    // KL of a distribution with itself is 0.
    close(
        scalar(discriminative(teacher.clone(), teacher, &head, None)),
        0.0,
    );
}

#[test]
fn hubert_head_projection_and_temperature() {
    let d = Device::flex();
    // final_proj = 2 x identity (PyTorch layout [proj, hidden]) plus bias (0, 1); codewords
    // (1, 0), (0, 1); τ = 0.5. Teacher h = (1, -0.5) -> W h + b = (2, 0) -> cos (1, 0);
    // student h = (0, 1) -> (0, 3) -> cos (0, 1). Logits / τ: (2, 0) vs (0, 2).
    let head = CodewordHead::from_hubert(
        (&[2, 2], &[2.0, 0.0, 0.0, 2.0]),
        &[0.0, 1.0],
        (&[2, 2], &[1.0, 0.0, 0.0, 1.0]),
        0.5,
        &d,
    )
    .unwrap();
    assert!(matches!(
        CodewordHead::from_hubert(
            (&[2, 2], &[1.0; 3]),
            &[0.0; 2],
            (&[2, 2], &[1.0; 4]),
            0.1,
            &d
        ),
        Err(LossError::HeadData {
            tensor: "final_proj.weight",
            values: 3,
            ..
        })
    ));
    let s = |x: f32| 1.0 / (1.0 + (-x).exp());
    let want = (s(2.0) - s(-2.0)) * 2.0;
    let got = scalar(discriminative(
        t3(&[0.0, 1.0], [1, 1, 2], &d),
        t3(&[1.0, -0.5], [1, 1, 2], &d),
        &head,
        None,
    ));
    close(got, want);
}

#[test]
fn weighted_composition_and_errors() {
    let d = Device::flex();
    let (p, t) = pair(&d);
    let specs = [
        LossSpec::new(LossKind::L1, 2.0),
        LossSpec::new(LossKind::L2, 0.5),
    ];
    let out = compute(&specs, p.clone(), t.clone(), None, None).unwrap();
    close(scalar(out.total), 2.0 * 1.5 + 0.5 * 3.5);
    assert_eq!(
        out.terms.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["l1", "l2"]
    );
    let disc = [LossSpec::new(LossKind::Disc, 1.0)];
    assert_eq!(
        compute(&disc, p.clone(), t.clone(), None, None).unwrap_err(),
        LossError::MissingHead
    );
    assert_eq!(
        compute(&[], p.clone(), t.clone(), None, None).unwrap_err(),
        LossError::NoTerms
    );
    let bad = [LossSpec::new(LossKind::L1, f32::NAN)];
    assert!(matches!(
        compute(&bad, p, t, None, None),
        Err(LossError::BadWeight { kind: "l1", .. })
    ));
}

#[test]
fn specs_parse_from_toml_like_json() {
    let spec: LossSpec = serde_json::from_str(r#"{"kind": "logsig_cos"}"#).unwrap();
    assert_eq!(spec, LossSpec::new(LossKind::LogsigCos, 1.0));
    assert!(serde_json::from_str::<LossSpec>(r#"{"kind": "l1", "wieght": 2}"#).is_err());
    assert!(serde_json::from_str::<LossSpec>(r#"{"kind": "huber"}"#).is_err());
}

#[test]
fn tau_overrides_the_head_and_kmeans_builds_a_head() {
    use ssl_distill_losses::{KMeans, LossOutput};
    let d = Device::flex();
    // k-means on the four target/prediction frames with k = 2.
    let rows = [1.0f32, 0.0, 0.0, 2.0, 1.0, 1.0, 3.0, 0.0];
    let km = KMeans::fit(&rows, 2, 2, 20, 5).unwrap();
    assert_eq!(km.assign(&rows).unwrap().len(), 4);
    let head = CodewordHead::from_kmeans(&km, 0.1, &d);
    assert_eq!(head.codewords.dims(), [2, 2]);

    let (p, t) = pair(&d);
    let run = |spec: LossSpec, head: &CodewordHead| -> LossOutput {
        compute(&[spec], p.clone(), t.clone(), None, Some(head)).unwrap()
    };
    // A spec tau of 0.5 equals a head built with tau 0.5.
    let mut head_half = head.clone();
    head_half.tau = 0.5;
    let a = scalar(run(LossSpec::new(LossKind::Disc, 1.0).with_tau(0.5), &head).total);
    let b = scalar(run(LossSpec::new(LossKind::Disc, 1.0), &head_half).total);
    let c = scalar(run(LossSpec::new(LossKind::Disc, 1.0), &head).total);
    close(a, b);
    assert!((a - c).abs() > 1e-4, "tau had no effect: {a} vs {c}");
    assert_eq!(
        compute(
            &[LossSpec::new(LossKind::Disc, 1.0).with_tau(0.0)],
            p,
            t,
            None,
            Some(&head)
        )
        .unwrap_err(),
        LossError::BadTau {
            kind: "disc",
            tau: 0.0
        }
    );
    let spec: LossSpec =
        serde_json::from_str(r#"{"kind": "disc", "weight": 0.5, "tau": 0.1}"#).unwrap();
    assert_eq!(spec, LossSpec::new(LossKind::Disc, 0.5).with_tau(0.1));
}

#[test]
fn hubert_head_from_tensors_uses_pytorch_layout() {
    use burn::tensor::{Tensor, TensorData};
    let d = Device::flex();
    // final_proj.weight (PyTorch [proj, hidden]) = [[1, 2], [0, 1]], bias 0, h = (1, 1):
    // W h = (3, 1); codewords (1, 0), (0, 1) -> cos = (3, 1) / √10; τ = 1.
    let w = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 0.0, 1.0], [2, 2]), &d);
    let b = Tensor::<1>::zeros([2], &d);
    let e = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0], [2, 2]), &d);
    let head = CodewordHead::from_tensors(w.clone(), b, e.clone(), 1.0).unwrap();
    let lp: Vec<f32> = head
        .log_posteriors(t3(&[1.0, 1.0], [1, 1, 2], &d))
        .try_into_vec_as::<f32>()
        .unwrap();
    let (c1, c2) = (3.0 / 10f32.sqrt(), 1.0 / 10f32.sqrt());
    let lse = (c1.exp() + c2.exp()).ln();
    close(lp[0], c1 - lse);
    close(lp[1], c2 - lse);
    assert_eq!(
        CodewordHead::from_tensors(w, Tensor::<1>::zeros([3], &d), e, 0.1).unwrap_err(),
        LossError::HeadShape {
            proj: 2,
            bias: 3,
            codeword_dim: 2
        }
    );
}
