//! [`Preprocessor`]: what an HF model directory's `preprocessor_config.json` (HF
//! `Wav2Vec2FeatureExtractor`), or a fairseq checkpoint's `task` configuration, says about the
//! input: per-utterance normalisation and the sample rate.

use std::path::Path;

use crate::error::ConfigError;

/// Input preprocessing of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preprocessor {
    /// Zero-mean unit-variance normalisation of each utterance (HF `do_normalize`).
    /// Default false (HuBERT Base and WavLM Base+ ship `false`; Large models `true`).
    pub do_normalize: bool,
    /// Expected sample rate (HF `sampling_rate`). Default 16000.
    pub sampling_rate: u32,
}

impl Default for Preprocessor {
    fn default() -> Self {
        Self {
            do_normalize: false,
            sampling_rate: ssl_distill_audio::SAMPLE_RATE,
        }
    }
}

impl Preprocessor {
    /// The HF `preprocessor_config.json` (`Wav2Vec2FeatureExtractor`) of this preprocessing,
    /// with `return_attention_mask` as given.
    pub fn hf_json(&self, return_attention_mask: bool) -> serde_json::Value {
        serde_json::json!({
            "feature_extractor_type": "Wav2Vec2FeatureExtractor",
            "feature_size": 1,
            "sampling_rate": self.sampling_rate,
            "padding_value": 0.0,
            "padding_side": "right",
            "do_normalize": self.do_normalize,
            "return_attention_mask": return_attention_mask,
        })
    }

    /// Reads `model_dir/preprocessor_config.json`; the defaults when the file is absent
    /// ([`Preprocessor::read`] also takes a fairseq file).
    ///
    /// # Errors
    /// As [`Preprocessor::read`], for the JSON file.
    pub(crate) fn read_hf_dir(model_dir: &Path) -> Result<Self, ConfigError> {
        let path = model_dir.join("preprocessor_config.json");
        let mut pre = Self::default();
        if !path.exists() {
            return Ok(pre);
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ConfigError::Json {
                path: path.clone(),
                source,
            })?;
        pre.do_normalize = json
            .get("do_normalize")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        if let Some(rate) = json.get("sampling_rate") {
            pre.sampling_rate = rate
                .as_u64()
                .and_then(|r| u32::try_from(r).ok())
                .filter(|&r| r > 0)
                .ok_or_else(|| ConfigError::Unsupported {
                    path: path.clone(),
                    key: "sampling_rate",
                    value: rate.to_string(),
                })?;
        }
        Ok(pre)
    }
}
