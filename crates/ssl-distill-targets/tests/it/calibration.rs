//! Calibration accumulation: only valid frames count, layer 0 is skipped by default, and the
//! clustering from accumulated batches matches clustering the concatenated frames directly.

use burn::tensor::{Bool, Device, Distribution, Tensor, TensorData};
use ssl_distill_targets::{
    CalibrationFeatures, Clustered, LayerTargets, Linkage, TargetError, cka_matrix,
};

/// Hidden states `[1, frames, 3]` for 5 indices: 0 is noise, 1-2 follow `a`, 3-4 follow `b`.
fn batch(frames: usize, d: &Device) -> Vec<Tensor<3>> {
    let r = |s: f64| Tensor::<3>::random([1, frames, 3], Distribution::Normal(0.0, s), d);
    let (a, b) = (r(1.0), r(1.0));
    vec![
        r(1.0),
        a.clone() + r(0.05),
        a * -3.0 + r(0.05),
        b.clone() + r(0.05),
        b * 0.5 + r(0.05),
    ]
}

#[test]
fn padded_frames_are_skipped_and_batches_concatenate() {
    let d = Device::flex();
    let first = batch(30, &d);
    let mut second = batch(20, &d);
    // Pad the second batch with 5 frames of huge values.
    for h in &mut second {
        let pad = Tensor::<3>::full([1, 5, 3], 1e6, &d);
        *h = Tensor::cat(vec![h.clone(), pad], 1);
    }
    let mut mask = vec![false; 25];
    mask[20..].iter_mut().for_each(|m| *m = true);
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(mask, [1, 25]), &d);

    let mut cal = CalibrationFeatures::new(false);
    cal.add(&first, None).unwrap();
    cal.add(&second, Some(&mask)).unwrap();
    assert_eq!(
        (cal.frames(), cal.num_layers(), cal.first_layer()),
        (50, 4, 1)
    );

    // Same as concatenating the valid frames by hand.
    let direct: Vec<Tensor<2>> = (1..5)
        .map(|i| {
            let valid = second[i].clone().slice([0..1, 0..20, 0..3]);
            Tensor::cat(vec![first[i].clone(), valid], 1).reshape([50, 3])
        })
        .collect();
    let want = cka_matrix(&direct);
    let got = cka_matrix(&cal.to_tensors(&d));
    for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
        assert!((g - w).abs() < 1e-9, "{g} vs {w}");
    }

    let c = Clustered::from_calibration(&cal, 2, Linkage::Average, true, &d).unwrap();
    assert_eq!(c.groups, vec![vec![1, 2], vec![3, 4]]);
    let desc = c.describe();
    assert_eq!(desc["strategy"], "clustered");
    assert_eq!(desc["groups"], serde_json::json!([[1, 2], [3, 4]]));
    assert_eq!(desc["config"]["cka"].as_array().unwrap().len(), 4);
}

#[test]
fn layer_zero_on_request_and_mismatches_are_errors() {
    let d = Device::flex();
    let mut cal = CalibrationFeatures::new(true);
    cal.add(&batch(10, &d), None).unwrap();
    assert_eq!((cal.first_layer(), cal.num_layers()), (0, 5));
    let short = batch(10, &d)[..3].to_vec();
    assert!(matches!(
        cal.add(&short, None),
        Err(TargetError::Calibration {
            expected: 5,
            got: 3,
            ..
        })
    ));
    let empty = CalibrationFeatures::new(false);
    assert!(matches!(
        Clustered::from_calibration(&empty, 2, Linkage::Ward, false, &d),
        Err(TargetError::NoFrames)
    ));
}
