//! fairseq checkpoint configuration: any bytes, read as a checkpoint's top-level pickle, give a
//! `FairseqCfg` or a `LoadError` naming the source, never a panic, a hang or a runaway
//! allocation (the pickle interpreter's depth and memo-copy limits).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ssl_distill_models::FairseqCfg;

fuzz_target!(|data: &[u8]| {
    let source = Path::new("archive/data.pkl");
    match FairseqCfg::from_pickle(data, source) {
        Ok(cfg) => {
            if let Some(layers) = &cfg.conv_feature_layers {
                assert!(!layers.is_empty() && layers.len() <= 64, "{layers:?}");
            }
        }
        Err(e) => assert!(e.to_string().contains("archive/data.pkl"), "{e}"),
    }
});
