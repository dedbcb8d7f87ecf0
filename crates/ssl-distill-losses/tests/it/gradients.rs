//! Autodiff gradients of every term against central finite differences.

use burn::tensor::{Device, Tensor, TensorData};
use ssl_distill_losses::{CodewordHead, LossKind, LossSpec, compute};

use crate::mask;

const PRED: [f32; 12] = [
    0.3, -0.2, 0.5, 0.1, 0.9, -0.4, -0.7, 0.2, 0.05, 0.6, -0.3, 0.8,
];
const TARGET: [f32; 12] = [
    0.1, 0.4, -0.5, 0.2, 0.3, 0.7, -0.1, -0.6, 0.9, 0.2, 0.4, -0.2,
];

fn head(device: &Device) -> CodewordHead {
    let codewords = vec![
        1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.5, -1.0, 0.2, 0.0,
    ];
    CodewordHead::from_centroids(
        Tensor::from_data(TensorData::new(codewords, [4, 3]), device),
        0.5,
    )
}

fn loss_value(kind: LossKind, pred: &[f32], device: &Device) -> f32 {
    let p = Tensor::<3>::from_data(TensorData::new(pred.to_vec(), [1, 4, 3]), device);
    let t = Tensor::<3>::from_data(TensorData::new(TARGET.to_vec(), [1, 4, 3]), device);
    let m = mask(&[false, false, false, true], [1, 4], device);
    let head = head(device);
    let out = compute(&[LossSpec::new(kind, 1.0)], p, t, Some(&m), Some(&head)).unwrap();
    out.total.try_into_vec_as::<f32>().unwrap()[0]
}

#[test]
fn gradients_match_finite_differences() {
    let device = Device::flex();
    let ad = Device::flex().autodiff();
    for kind in [
        LossKind::L1,
        LossKind::L2,
        LossKind::Cos,
        LossKind::LogsigCos,
        LossKind::Disc,
    ] {
        let p =
            Tensor::<3>::from_data(TensorData::new(PRED.to_vec(), [1, 4, 3]), &ad).require_grad();
        let t = Tensor::<3>::from_data(TensorData::new(TARGET.to_vec(), [1, 4, 3]), &ad);
        let m = mask(&[false, false, false, true], [1, 4], &ad);
        let head = head(&ad);
        let out = compute(
            &[LossSpec::new(kind, 1.0)],
            p.clone(),
            t,
            Some(&m),
            Some(&head),
        )
        .unwrap();
        let grads = out.total.backward();
        let g: Vec<f32> = p.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        let eps = 1e-2f32;
        for i in 0..PRED.len() {
            let mut plus = PRED;
            plus[i] += eps;
            let mut minus = PRED;
            minus[i] -= eps;
            let fd = (loss_value(kind, &plus, &device) - loss_value(kind, &minus, &device))
                / (2.0 * eps);
            // The padded frame (elements 9..12) must get no gradient at all.
            if i >= 9 {
                assert_eq!(g[i], 0.0, "{kind:?}: gradient on padded element {i}");
            }
            assert!(
                (g[i] - fd).abs() < 2e-3,
                "{kind:?} element {i}: autodiff {} vs finite difference {fd}",
                g[i]
            );
        }
    }
}
