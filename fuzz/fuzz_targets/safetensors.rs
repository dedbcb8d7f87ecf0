//! Safetensors checkpoints: any bytes give a `StateDict` or a `LoadError`, and a dict that
//! parses is applied to a tiny HuBERT (the `hubert_tiny` test fixture's architecture) with
//! every key, shape and dtype checked; never a panic or an allocation beyond the bytes.
#![no_main]

use std::path::Path;

use burn::tensor::Device;
use libfuzzer_sys::fuzz_target;
use ssl_distill_models::{
    SslConfig, SslModel, load_hf_state_dict_with, parse_safetensors, unused_allowlist,
};

const CONFIG: &str =
    include_str!("../../crates/ssl-distill-models/tests/fixtures/hubert_tiny/config.json");

thread_local! {
    static MODEL: (SslConfig, SslModel, Device) = {
        let device = Device::flex();
        let config = SslConfig::from_hf_json_str(CONFIG, Path::new("config.json"))
            .expect("the fixture config parses");
        let model = config.init(&device);
        (config, model, device)
    };
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("model.safetensors");
    let Ok(dict) = parse_safetensors(data, path) else {
        return;
    };
    for t in dict.values() {
        assert_eq!(
            t.shape.iter().product::<usize>(),
            t.data.len(),
            "shape matches data"
        );
    }
    MODEL.with(|(config, model, device)| {
        let mut model = model.clone();
        let allow = unused_allowlist(config.kind);
        if let Ok(report) = load_hf_state_dict_with(&mut model, dict, path, device, allow) {
            assert!(
                !report.loaded.is_empty(),
                "a successful load applied tensors"
            );
        }
    });
});
