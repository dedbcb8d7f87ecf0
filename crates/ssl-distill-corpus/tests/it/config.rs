use ssl_distill_corpus::{CorpusConfig, CorpusError, INVENTORY, Preset, TextSource, make_speakers};

#[test]
fn presets_validate_and_scale() {
    let ci = CorpusConfig::preset(Preset::Ci);
    let small = CorpusConfig::preset(Preset::Small);
    let full = CorpusConfig::preset(Preset::Full);
    for c in [&ci, &small, &full] {
        c.validate().expect("preset valid");
    }
    assert!(ci.train_utts < small.train_utts && small.train_utts < full.train_utts);
    assert_eq!("small".parse::<Preset>().ok(), Some(Preset::Small));
    let asr = CorpusConfig::preset("asr".parse().unwrap());
    asr.validate().expect("preset valid");
    assert_eq!((asr.text, asr.join_prob), (TextSource::Commands, 0.0));
    assert_eq!(ci.text, TextSource::WordNet);
    assert!(matches!(
        "huge".parse::<Preset>(),
        Err(CorpusError::InvalidConfig { .. })
    ));
    let mut bad = ci.clone();
    bad.speakers = 400;
    assert!(matches!(
        bad.validate(),
        Err(CorpusError::InvalidConfig { .. })
    ));
    assert!((45..=60).contains(&INVENTORY.len()), "{}", INVENTORY.len());
}

#[test]
fn speakers_deterministic_and_distinct() {
    let a = make_speakers(40, 3);
    let b = make_speakers(40, 3);
    let c = make_speakers(40, 4);
    assert_eq!(
        a.iter().map(|s| &s.variant).collect::<Vec<_>>(),
        b.iter().map(|s| &s.variant).collect::<Vec<_>>()
    );
    assert_ne!(a[0].variant, c[0].variant);
    let distinct: std::collections::BTreeSet<_> = a.iter().map(|s| &s.variant).collect();
    assert_eq!(distinct.len(), 40);
    let dialects: std::collections::BTreeSet<_> = a.iter().map(|s| &s.dialect).collect();
    assert_eq!(dialects.len(), 8);
    assert!(a[0].voice_name().starts_with("gmw/en"));
}

#[cfg(not(feature = "espeak"))]
#[test]
fn without_feature_is_typed_error() {
    let dir = std::env::temp_dir().join("ssl-distill-corpus-nofeature");
    let r = ssl_distill_corpus::synthesize(&CorpusConfig::preset(Preset::Ci), &dir, |_, _| {});
    assert!(matches!(r, Err(CorpusError::EspeakMissing)));
}
