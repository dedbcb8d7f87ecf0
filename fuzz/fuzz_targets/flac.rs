//! The FLAC decoder (claxon behind `decode_bytes`): any bytes give an `Audio` or an
//! `AudioError`, never a panic, a hang or an allocation beyond what the bytes could hold.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ssl_distill_audio::{AudioFormat, MAX_SAMPLE_RATE, decode_bytes, sniff_format};

fuzz_target!(|data: &[u8]| {
    // Keep the `fLaC` magic so mutations explore claxon, not the sniffer.
    if sniff_format(data) != Ok(AudioFormat::Flac) {
        return;
    }
    if let Ok(audio) = decode_bytes(data, Path::new("fuzz.flac")) {
        assert!(!audio.samples.is_empty(), "decoded audio is never empty");
        assert!(
            audio.samples.iter().all(|x| x.is_finite()),
            "samples are finite"
        );
        assert!((1..=MAX_SAMPLE_RATE).contains(&audio.sample_rate));
    }
});
