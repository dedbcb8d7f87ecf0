//! The four strategies on toy hidden states.

use burn::tensor::{Device, Tensor};
use ssl_distill_targets::{
    Autoregressive, Clustered, Fixed, LayerTargets, Linkage, MeanOfLastK, TargetError,
};

/// Hidden state `i` is filled with the value `i`.
fn states(n: usize, d: &Device) -> Vec<Tensor<3>> {
    (0..n)
        .map(|i| Tensor::<3>::full([2, 3, 4], i as f32, d))
        .collect()
}

fn value(t: &Tensor<3>) -> f32 {
    t.clone().mean().into_scalar()
}

#[test]
fn fixed_and_mean_of_last_k() {
    let d = Device::flex();
    let hs = states(13, &d);
    let f = Fixed::distilhubert();
    assert_eq!(f.deepest_layer(), 12);
    assert_eq!(
        f.targets(&hs).iter().map(value).collect::<Vec<_>>(),
        vec![4.0, 8.0, 12.0]
    );
    let m = MeanOfLastK::new(8, 12).unwrap();
    assert_eq!(m.groups(), vec![(5..=12).collect::<Vec<_>>()]);
    assert_eq!(value(&m.targets(&hs)[0]), 8.5);
    assert!(matches!(
        MeanOfLastK::new(13, 12),
        Err(TargetError::BadK { k: 13, .. })
    ));
    assert!(matches!(Fixed::new(vec![]), Err(TargetError::Empty)));
}

#[test]
fn autoregressive_order() {
    let d = Device::flex();
    let a = Autoregressive { num_layers: 4 };
    assert_eq!(
        a.targets(&states(5, &d))
            .iter()
            .map(value)
            .collect::<Vec<_>>(),
        vec![1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(a.num_targets(), 4);
}

#[test]
fn clustered_groups_similar_layers_and_round_trips() {
    let d = Device::flex();
    // Layers 1-2 share features, 3-4 share different features: two clusters.
    let base = Tensor::<2>::random([40, 5], burn::tensor::Distribution::Normal(0.0, 1.0), &d);
    let other = Tensor::<2>::random([40, 5], burn::tensor::Distribution::Normal(0.0, 1.0), &d);
    let noise = |s: f32| {
        Tensor::<2>::random(
            [40, 5],
            burn::tensor::Distribution::Normal(0.0, s as f64),
            &d,
        )
    };
    let feats = vec![
        base.clone() + noise(0.05),
        base * 2.0 + noise(0.05),
        other.clone() + noise(0.05),
        other - 1.0 + noise(0.05),
    ];
    let c = Clustered::calibrate(&feats, 1, 2, Linkage::Average, false).unwrap();
    assert_eq!(c.groups, vec![vec![1, 2], vec![3, 4]]);
    assert_eq!(c.deepest_layer(), 4);
    let hs = states(5, &d);
    assert_eq!(
        c.targets(&hs).iter().map(value).collect::<Vec<_>>(),
        vec![1.5, 3.5]
    );
    let dir = std::env::temp_dir().join(format!("targets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("targets.json");
    c.save(&path).unwrap();
    let back = Clustered::load(&path).unwrap();
    assert_eq!(
        (&back.groups, back.linkage, back.contiguous),
        (&c.groups, c.linkage, c.contiguous)
    );
    // JSON keeps the CKA values to the last digit or so (serde_json's default float parsing).
    for (a, b) in back
        .cka
        .unwrap()
        .iter()
        .flatten()
        .zip(c.cka.unwrap().iter().flatten())
    {
        assert!((a - b).abs() < 1e-12);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
