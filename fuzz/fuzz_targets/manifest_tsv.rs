//! The fairseq TSV manifest parser: any text gives a non-empty `Manifest` or an `AudioError`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ssl_distill_audio::Manifest;

fuzz_target!(|data: &[u8]| {
    // `read_tsv` rejects invalid UTF-8 before parsing (an error naming the line).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = Manifest::parse_tsv(text, Path::new("fuzz.tsv")) {
        assert!(!manifest.is_empty(), "a parsed manifest lists utterances");
        assert!(
            manifest.len() <= text.lines().count(),
            "one utterance per line at most"
        );
        assert!(manifest.utterances.iter().all(|u| u.num_samples.is_some()));
    }
});
