//! [`SslConfig`]: the architecture of a HuBERT / WavLM / wav2vec 2.0 model, its presets, and the
//! HF `config.json` reader/writer.

use std::path::Path;

use burn::config::Config;
use serde::Deserialize;

use crate::error::ConfigError;
pub use crate::nn::feature_extractor::FeatExtractNorm;

/// Which model family a config describes (HF `model_type`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// HuBERT (`model_type: "hubert"`, HF `HubertModel`).
    Hubert,
    /// WavLM (`model_type: "wavlm"`, HF `WavLMModel`): adds the gated relative position bias.
    Wavlm,
    /// wav2vec 2.0 encoder (`model_type: "wav2vec2"`, HF `Wav2Vec2Model`, no quantizer).
    Wav2vec2,
}

impl ModelKind {
    /// The HF `model_type` string.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Hubert => "hubert",
            Self::Wavlm => "wavlm",
            Self::Wav2vec2 => "wav2vec2",
        }
    }

    /// The HF model class written to `architectures` on export.
    pub fn hf_architecture(self) -> &'static str {
        match self {
            Self::Hubert => "HubertModel",
            Self::Wavlm => "WavLMModel",
            Self::Wav2vec2 => "Wav2Vec2Model",
        }
    }
}

/// Architecture of a HuBERT / WavLM / wav2vec 2.0 model. Field names follow HF `config.json`.
#[derive(Config, Debug, PartialEq)]
pub struct SslConfig {
    /// Model family (HF `model_type`).
    pub kind: ModelKind,
    /// Transformer width (HF `hidden_size`, 768 for Base).
    pub hidden_size: usize,
    /// Number of transformer layers (HF `num_hidden_layers`, 12 for Base).
    pub num_hidden_layers: usize,
    /// Attention heads (HF `num_attention_heads`, 12 for Base).
    pub num_attention_heads: usize,
    /// FFN width (HF `intermediate_size`, 3072 for Base).
    pub intermediate_size: usize,
    /// Output channels of each conv layer (HF `conv_dim`, 7 x 512).
    pub conv_dim: Vec<usize>,
    /// Kernel of each conv layer (HF `conv_kernel`, 10,3,3,3,3,2,2).
    pub conv_kernel: Vec<usize>,
    /// Stride of each conv layer (HF `conv_stride`, 5,2,2,2,2,2,2).
    pub conv_stride: Vec<usize>,
    /// Conv-extractor normalisation (HF `feat_extract_norm`). Default: group.
    #[config(default = "FeatExtractNorm::Group")]
    pub feat_extract_norm: FeatExtractNorm,
    /// Bias on every conv of the extractor (HF `conv_bias`). Default: false.
    #[config(default = false)]
    pub conv_bias: bool,
    /// LayerNorm before the feature projection (HF `feat_proj_layer_norm`, HuBERT only; WavLM and
    /// wav2vec2 always have it). Default: true.
    #[config(default = true)]
    pub feat_proj_layer_norm: bool,
    /// Kernel of the positional conv (HF `num_conv_pos_embeddings`). Default: 128.
    #[config(default = 128)]
    pub num_conv_pos_embeddings: usize,
    /// Groups of the positional conv (HF `num_conv_pos_embedding_groups`). Default: 16.
    #[config(default = 16)]
    pub num_conv_pos_embedding_groups: usize,
    /// Pre-LN encoder (HF `do_stable_layer_norm`; true for Large models). Default: false.
    #[config(default = false)]
    pub do_stable_layer_norm: bool,
    /// Epsilon of the encoder and feature-projection LayerNorms (HF `layer_norm_eps`).
    /// Default: 1e-5.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
    /// WavLM relative-position buckets (HF `num_buckets`). Default: 320.
    #[config(default = 320)]
    pub num_buckets: usize,
    /// WavLM largest bucketed distance (HF `max_bucket_distance`). Default: 800.
    #[config(default = 800)]
    pub max_bucket_distance: usize,
    /// HF `mask_time_prob`; here it only decides, with `mask_feature_prob`, whether the
    /// `masked_spec_embed` parameter exists (masking itself is a training-time feature that the
    /// forward pass does not apply). Default: 0.05.
    #[config(default = 0.05)]
    pub mask_time_prob: f64,
    /// HF `mask_feature_prob` (see `mask_time_prob`). Default: 0.0.
    #[config(default = 0.0)]
    pub mask_feature_prob: f64,
}

/// The HF-compatible subset of `config.json` we read. Unknown keys are ignored.
#[derive(Deserialize)]
struct HfConfig {
    model_type: Option<String>,
    hidden_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    intermediate_size: Option<usize>,
    conv_dim: Option<Vec<usize>>,
    conv_kernel: Option<Vec<usize>>,
    conv_stride: Option<Vec<usize>>,
    feat_extract_norm: Option<String>,
    conv_bias: Option<bool>,
    feat_proj_layer_norm: Option<bool>,
    num_conv_pos_embeddings: Option<usize>,
    num_conv_pos_embedding_groups: Option<usize>,
    do_stable_layer_norm: Option<bool>,
    layer_norm_eps: Option<f64>,
    num_buckets: Option<usize>,
    max_bucket_distance: Option<usize>,
    mask_time_prob: Option<f64>,
    mask_feature_prob: Option<f64>,
    hidden_act: Option<String>,
    feat_extract_activation: Option<String>,
    conv_pos_batch_norm: Option<bool>,
    add_adapter: Option<bool>,
}

fn required<T>(value: Option<T>, key: &'static str, path: &Path) -> Result<T, ConfigError> {
    value.ok_or_else(|| ConfigError::MissingKey {
        path: path.to_path_buf(),
        key,
    })
}

fn unsupported(path: &Path, key: &'static str, value: String) -> ConfigError {
    ConfigError::Unsupported {
        path: path.to_path_buf(),
        key,
        value,
    }
}

impl SslConfig {
    /// Reads an HF `config.json` (`model_type` hubert, wavlm or wav2vec2).
    ///
    /// The architecture sizes (`model_type`, `hidden_size`, `num_hidden_layers`,
    /// `num_attention_heads`, `intermediate_size`, `conv_dim`, `conv_kernel`, `conv_stride`) are
    /// required; the other fields take the HF defaults; unknown keys are ignored.
    pub fn from_hf_json(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_hf_json_str(&text, path)
    }

    /// Parses the text of an HF `config.json`; `path` is only used in error messages.
    pub fn from_hf_json_str(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let hf: HfConfig = serde_json::from_str(text).map_err(|source| ConfigError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let model_type = required(hf.model_type, "model_type", path)?;
        let kind = match model_type.as_str() {
            "hubert" => ModelKind::Hubert,
            "wavlm" => ModelKind::Wavlm,
            "wav2vec2" => ModelKind::Wav2vec2,
            _ => return Err(unsupported(path, "model_type", model_type)),
        };
        let feat_extract_norm = match hf.feat_extract_norm.as_deref().unwrap_or("group") {
            "group" => FeatExtractNorm::Group,
            "layer" => FeatExtractNorm::Layer,
            other => return Err(unsupported(path, "feat_extract_norm", other.to_string())),
        };
        for (key, act) in [
            ("hidden_act", &hf.hidden_act),
            ("feat_extract_activation", &hf.feat_extract_activation),
        ] {
            if let Some(act) = act
                && act != "gelu"
            {
                return Err(unsupported(path, key, act.clone()));
            }
        }
        if hf.conv_pos_batch_norm == Some(true) {
            return Err(unsupported(path, "conv_pos_batch_norm", "true".into()));
        }
        if hf.add_adapter == Some(true) {
            return Err(unsupported(path, "add_adapter", "true".into()));
        }
        let config = Self {
            kind,
            hidden_size: required(hf.hidden_size, "hidden_size", path)?,
            num_hidden_layers: required(hf.num_hidden_layers, "num_hidden_layers", path)?,
            num_attention_heads: required(hf.num_attention_heads, "num_attention_heads", path)?,
            intermediate_size: required(hf.intermediate_size, "intermediate_size", path)?,
            conv_dim: required(hf.conv_dim, "conv_dim", path)?,
            conv_kernel: required(hf.conv_kernel, "conv_kernel", path)?,
            conv_stride: required(hf.conv_stride, "conv_stride", path)?,
            feat_extract_norm,
            conv_bias: hf.conv_bias.unwrap_or(false),
            // WavLM and wav2vec2 have no flag: their feature projection always has the LN.
            feat_proj_layer_norm: kind != ModelKind::Hubert
                || hf.feat_proj_layer_norm.unwrap_or(true),
            num_conv_pos_embeddings: hf.num_conv_pos_embeddings.unwrap_or(128),
            num_conv_pos_embedding_groups: hf.num_conv_pos_embedding_groups.unwrap_or(16),
            do_stable_layer_norm: hf.do_stable_layer_norm.unwrap_or(false),
            layer_norm_eps: hf.layer_norm_eps.unwrap_or(1e-5),
            num_buckets: hf.num_buckets.unwrap_or(320),
            max_bucket_distance: hf.max_bucket_distance.unwrap_or(800),
            mask_time_prob: hf.mask_time_prob.unwrap_or(0.05),
            mask_feature_prob: hf.mask_feature_prob.unwrap_or(0.0),
        };
        if config.hidden_size == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                reason: "hidden_size must be positive".into(),
            });
        }
        config.validate().map_err(|reason| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(config)
    }

    /// Checks the sizes fit together (heads divide the width, conv lists have one length...).
    pub fn validate(&self) -> Result<(), String> {
        let n = self.conv_dim.len();
        if n == 0 || self.conv_kernel.len() != n || self.conv_stride.len() != n {
            return Err(format!(
                "conv_dim, conv_kernel and conv_stride must be non-empty and of equal length \
                 (got {}, {}, {})",
                n,
                self.conv_kernel.len(),
                self.conv_stride.len()
            ));
        }
        if self.conv_dim.contains(&0)
            || self.conv_kernel.contains(&0)
            || self.conv_stride.contains(&0)
        {
            return Err("conv_dim, conv_kernel and conv_stride must be positive".into());
        }
        if self.checked_receptive_field().is_none() {
            return Err(format!(
                "the receptive field of conv_kernel {:?} with conv_stride {:?} overflows",
                self.conv_kernel, self.conv_stride
            ));
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        let groups = self.num_conv_pos_embedding_groups;
        if groups == 0 || !self.hidden_size.is_multiple_of(groups) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_conv_pos_embedding_groups {groups}",
                self.hidden_size
            ));
        }
        if self.num_conv_pos_embeddings == 0 {
            return Err("num_conv_pos_embeddings must be positive".into());
        }
        if self.kind == ModelKind::Wavlm && (self.num_buckets < 4 || self.max_bucket_distance < 2) {
            return Err("num_buckets must be >= 4 and max_bucket_distance >= 2".into());
        }
        Ok(())
    }

    /// The HF `config.json` for this architecture (dropouts and layerdrop set to 0, so a model
    /// exported for inference behaves the same in `train()` mode except for spec-augment).
    pub fn to_hf_json(&self) -> serde_json::Value {
        let norm = match self.feat_extract_norm {
            FeatExtractNorm::Group => "group",
            FeatExtractNorm::Layer => "layer",
        };
        let mut json = serde_json::json!({
            "model_type": self.kind.model_type(),
            "architectures": [self.kind.hf_architecture()],
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": "gelu",
            "conv_dim": self.conv_dim,
            "conv_kernel": self.conv_kernel,
            "conv_stride": self.conv_stride,
            "feat_extract_norm": norm,
            "feat_extract_activation": "gelu",
            "conv_bias": self.conv_bias,
            "num_conv_pos_embeddings": self.num_conv_pos_embeddings,
            "num_conv_pos_embedding_groups": self.num_conv_pos_embedding_groups,
            "do_stable_layer_norm": self.do_stable_layer_norm,
            "layer_norm_eps": self.layer_norm_eps,
            "mask_time_prob": self.mask_time_prob,
            "mask_feature_prob": self.mask_feature_prob,
            "layerdrop": 0.0,
            "hidden_dropout": 0.0,
            "attention_dropout": 0.0,
            "activation_dropout": 0.0,
            "feat_proj_dropout": 0.0,
            "final_dropout": 0.0,
        });
        let obj = json.as_object_mut().expect("a JSON object literal");
        match self.kind {
            ModelKind::Hubert => {
                obj.insert(
                    "feat_proj_layer_norm".into(),
                    self.feat_proj_layer_norm.into(),
                );
            }
            ModelKind::Wavlm => {
                obj.insert("num_buckets".into(), self.num_buckets.into());
                obj.insert(
                    "max_bucket_distance".into(),
                    self.max_bucket_distance.into(),
                );
            }
            ModelKind::Wav2vec2 => {}
        }
        json
    }

    /// Whether the model owns the `masked_spec_embed` parameter (as HF does when masking is on).
    pub fn has_masked_spec_embed(&self) -> bool {
        self.mask_time_prob > 0.0 || self.mask_feature_prob > 0.0
    }

    /// Number of frames the conv extractor produces from `samples` samples (0 if too short).
    /// For the standard extractor this is `floor((samples - 400) / 320) + 1`.
    pub fn num_frames(&self, samples: usize) -> usize {
        ssl_distill_audio::conv_output_frames(samples, &self.conv_kernel, &self.conv_stride)
    }

    /// Samples covered by the first output frame (400 for the standard extractor).
    ///
    /// # Panics
    /// If the kernels and strides are so large that it overflows `usize`, which
    /// [`SslConfig::validate`] rejects.
    pub fn receptive_field(&self) -> usize {
        self.checked_receptive_field()
            .expect("receptive field overflows usize: the config was not validated")
    }

    /// The receptive field; `None` when it, or the product of all strides (the stack's hop),
    /// overflows `usize`.
    fn checked_receptive_field(&self) -> Option<usize> {
        let mut field = 1usize;
        let mut jump = 1usize;
        for (&k, &s) in self.conv_kernel.iter().zip(&self.conv_stride) {
            field = field.checked_add(k.checked_sub(1)?.checked_mul(jump)?)?;
            jump = jump.checked_mul(s)?;
        }
        Some(field)
    }

    fn base(kind: ModelKind) -> Self {
        Self::new(
            kind,
            768,
            12,
            12,
            3072,
            vec![512; 7],
            vec![10, 3, 3, 3, 3, 2, 2],
            vec![5, 2, 2, 2, 2, 2, 2],
        )
    }

    fn large(kind: ModelKind) -> Self {
        Self {
            hidden_size: 1024,
            num_hidden_layers: 24,
            num_attention_heads: 16,
            intermediate_size: 4096,
            feat_extract_norm: FeatExtractNorm::Layer,
            conv_bias: true,
            do_stable_layer_norm: true,
            ..Self::base(kind)
        }
    }

    /// facebook/hubert-base-ls960: 12 x 768, group norm, post-LN (94.4 M parameters).
    pub fn hubert_base() -> Self {
        Self::base(ModelKind::Hubert)
    }

    /// facebook/hubert-large-ll60k: 24 x 1024, layer-norm extractor with conv bias, pre-LN.
    pub fn hubert_large() -> Self {
        Self::large(ModelKind::Hubert)
    }

    /// microsoft/wavlm-base: the HuBERT Base backbone plus gated relative position bias.
    pub fn wavlm_base() -> Self {
        Self::base(ModelKind::Wavlm)
    }

    /// microsoft/wavlm-base-plus: same architecture as WavLM Base.
    pub fn wavlm_base_plus() -> Self {
        Self::wavlm_base()
    }

    /// microsoft/wavlm-large: 24 x 1024, layer-norm extractor with conv bias, pre-LN.
    pub fn wavlm_large() -> Self {
        Self::large(ModelKind::Wavlm)
    }

    /// facebook/wav2vec2-base: 12 x 768, group norm, post-LN.
    pub fn wav2vec2_base() -> Self {
        Self {
            mask_time_prob: 0.05,
            ..Self::base(ModelKind::Wav2vec2)
        }
    }

    /// A tiny HuBERT for tests: 2 x 32, 4 heads, FFN 64, the standard 7-layer conv stack with 16
    /// channels (so 16000 samples give 49 frames), pos conv 16 with 4 groups.
    pub fn tiny() -> Self {
        Self {
            num_conv_pos_embeddings: 16,
            num_conv_pos_embedding_groups: 4,
            mask_time_prob: 0.0,
            ..Self::new(
                ModelKind::Hubert,
                32,
                2,
                4,
                64,
                vec![16; 7],
                vec![10, 3, 3, 3, 3, 2, 2],
                vec![5, 2, 2, 2, 2, 2, 2],
            )
        }
    }

    /// Width of one attention head (`hidden_size / num_attention_heads`).
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_hf_rule() {
        let c = SslConfig::hubert_base();
        for (l, t) in [
            (400, 1),
            (719, 1),
            (720, 2),
            (16000, 49),
            (16080, 50),
            (160000, 499),
        ] {
            assert_eq!(c.num_frames(l), t, "L={l}");
        }
        assert_eq!(c.num_frames(399), 0);
        assert_eq!(c.receptive_field(), 400);
        for l in (400..40000).step_by(37) {
            assert_eq!(c.num_frames(l), (l - 400) / 320 + 1);
        }
    }

    #[test]
    fn json_roundtrip_keeps_presets() {
        for c in [
            SslConfig::hubert_base(),
            SslConfig::hubert_large(),
            SslConfig::wavlm_base_plus(),
            SslConfig::wavlm_large(),
            SslConfig::wav2vec2_base(),
            SslConfig::tiny(),
        ] {
            let text = c.to_hf_json().to_string();
            let back = SslConfig::from_hf_json_str(&text, Path::new("x.json")).unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn missing_key_names_key_and_file() {
        let mut json = SslConfig::tiny().to_hf_json();
        json.as_object_mut().unwrap().remove("intermediate_size");
        let err = SslConfig::from_hf_json_str(&json.to_string(), Path::new("dir/config.json"))
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingKey {
                key: "intermediate_size",
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("intermediate_size") && msg.contains("dir/config.json"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_model_type_is_rejected() {
        let mut json = SslConfig::tiny().to_hf_json();
        json["model_type"] = "bert".into();
        let err = SslConfig::from_hf_json_str(&json.to_string(), Path::new("c.json")).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Unsupported {
                key: "model_type",
                ..
            }
        ));
    }
}
