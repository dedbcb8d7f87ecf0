use ssl_distill_train::{DecayKind, TrainConfig, TrainError};

#[test]
fn defaults_validate_and_toml_roundtrip() {
    let c = TrainConfig::default();
    c.validate().unwrap();
    let text = toml::to_string(&c).unwrap();
    assert_eq!(TrainConfig::from_toml_str(&text, None).unwrap(), c);
}

#[test]
fn unknown_field_is_named() {
    let e = TrainConfig::from_toml_str("max_steps = 5\nlearning_rate = 1.0\n", None).unwrap_err();
    match e {
        TrainError::ConfigParse { field, .. } => {
            assert_eq!(field.as_deref(), Some("learning_rate"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_values_are_named() {
    for (text, want) in [
        ("lr = 0.0", "lr"),
        ("lr = -1.0", "lr"),
        ("max_steps = 0", "max_steps"),
        ("grad_accum = 0", "grad_accum"),
        ("beta2 = 1.0", "beta2"),
        ("warmup_fraction = 1.5", "warmup_fraction"),
        ("max_steps = 10\nwarmup_steps = 11", "warmup_steps"),
    ] {
        match TrainConfig::from_toml_str(text, None).unwrap_err() {
            TrainError::InvalidConfig { field, .. } => assert_eq!(field, want, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    // Wrong type: the message names the field.
    let e = TrainConfig::from_toml_str("lr = \"fast\"", None).unwrap_err();
    assert!(matches!(e, TrainError::ConfigParse { .. }));
    assert!(e.to_string().contains("lr"), "{e}");
}

#[test]
fn schedule_endpoints() {
    let mut c = TrainConfig {
        max_steps: 100,
        lr: 1e-3,
        warmup_steps: Some(10),
        ..Default::default()
    };
    assert!((c.lr_at(1) - 1e-4).abs() < 1e-15);
    assert!((c.lr_at(10) - 1e-3).abs() < 1e-15);
    assert!((c.lr_at(55) - 0.5e-3).abs() < 1e-15);
    assert_eq!(c.lr_at(100), 0.0);
    c.decay = DecayKind::Cosine;
    c.final_lr_ratio = 0.1;
    assert!((c.lr_at(10) - 1e-3).abs() < 1e-15);
    assert!((c.lr_at(55) - 0.55e-3).abs() < 1e-12);
    assert!((c.lr_at(100) - 1e-4).abs() < 1e-15);
    c.decay = DecayKind::Constant;
    assert_eq!(c.lr_at(77), 1e-3);
    let f = TrainConfig {
        max_steps: 200,
        warmup_fraction: 0.05,
        ..Default::default()
    };
    assert_eq!(f.warmup(), 10);
}
