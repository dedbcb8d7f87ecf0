//! Inputs from fuzzing (`fuzz/`, see docs/fuzzing.md): each once made a parser panic; now it
//! is an error naming the file and the problem.

use std::path::Path;

use ssl_distill_models::{ConfigError, SslConfig};

/// `hf_config` target (with its dictionary, after 8.2 M runs): a conv stride whose receptive
/// field overflows `usize`; `receptive_field()` panicked with "attempt to multiply with
/// overflow". The fuzzer's input, verbatim.
#[test]
fn config_whose_receptive_field_overflows_is_invalid() {
    let json = r#"{"model_type": "wavlm", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "conv_dim": [16, 16, 16, 16, 16, 16, 16], "conv_kernel": [10, 3, 3, 3, 3, 4, 2], "conv_stride": [5111111111111111802, 2, 2, 2, 2, 2, 2], "feat_orm": "lu"}"#;
    let path = Path::new("fuzz/config.json");
    match SslConfig::from_hf_json_str(json, path) {
        Err(ConfigError::Invalid { path: p, reason }) => {
            assert_eq!(p, path);
            assert!(reason.contains("receptive field"), "{reason}");
        }
        other => panic!("expected ConfigError::Invalid, got {other:?}"),
    }
}
