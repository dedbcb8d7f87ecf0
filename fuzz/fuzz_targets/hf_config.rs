//! HF `config.json` parsing: any text gives a valid `SslConfig` or a `ConfigError`; the sizes
//! derived from an accepted config (frames, receptive field) are computed without panicking.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ssl_distill_models::SslConfig;

fuzz_target!(|data: &[u8]| {
    // `from_hf_json` reads the file as UTF-8 first (an I/O error otherwise).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = SslConfig::from_hf_json_str(text, Path::new("config.json")) {
        assert_eq!(config.validate(), Ok(()), "an accepted config is valid");
        let _ = config.receptive_field();
        let _ = config.num_frames(16_000);
        let _ = config.num_frames(usize::MAX);
        let _ = config.head_dim();
        let _ = config.to_hf_json();
    }
});
