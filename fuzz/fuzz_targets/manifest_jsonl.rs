//! The JSONL manifest parser: any text gives a non-empty `Manifest` or an `AudioError`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ssl_distill_audio::Manifest;

fuzz_target!(|data: &[u8]| {
    // `read_jsonl` rejects invalid UTF-8 before parsing (an error naming the line).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = Manifest::parse_jsonl(text, Path::new("corpus/fuzz.jsonl")) {
        assert!(!manifest.is_empty(), "a parsed manifest lists utterances");
        assert!(
            manifest.len() <= text.lines().count(),
            "one utterance per line at most"
        );
        assert!(
            manifest
                .utterances
                .iter()
                .all(|u| !u.path.as_os_str().is_empty()),
            "every utterance has a path"
        );
    }
});
