//! Export of a student's backbone to an HF model directory (`HubertModel` / `WavLMModel`),
//! through `ssl_distill_models::export_hf`.
//!
//! HF's classes build every layer from one `num_attention_heads` and one `intermediate_size`
//! and require `hidden_size = num_attention_heads × head_dim`. A physically pruned student
//! ([`crate::Student::prune`]) therefore exports only when every layer kept all its heads and
//! all layers kept the same FFN width; pruned conv channels are fine (`conv_dim` is per layer
//! in HF). Any other pruned student stays in this project's format (`Student::save`).

use std::path::Path;

use ssl_distill_models::{SslConfig, export_hf};

use crate::error::StudentError;
use crate::front_end::FrontEndConfig;
use crate::student::Student;

impl Student {
    /// The HF config of this student's backbone.
    ///
    /// # Errors
    /// [`StudentError::NotHfExportable`] for an Fbank student (HF has no Fbank front-end),
    /// a student with pruning gates (prune it first), or a pruned student whose layers differ
    /// in FFN width or lost heads.
    pub fn hf_config(&self) -> Result<SslConfig, StudentError> {
        let config = self.config();
        let refuse = |reason: String| Err(StudentError::NotHfExportable { reason });
        if !matches!(config.front_end, FrontEndConfig::Cnn) {
            return refuse("an Fbank front-end has no HF equivalent".into());
        }
        if self.gates.is_some() {
            return refuse(
                "the student still has pruning gates: prune it physically first (Student::prune)"
                    .into(),
            );
        }
        let mut backbone = config.backbone.clone();
        if config.layer_shapes.is_empty() {
            return Ok(backbone);
        }
        let full = backbone.num_attention_heads;
        if let Some((l, s)) = config
            .layer_shapes
            .iter()
            .enumerate()
            .find(|(_, s)| s.heads != full)
        {
            return refuse(format!(
                "layer {l} keeps {} of {full} attention heads, and HF requires hidden_size = \
                 num_attention_heads x head_dim in every layer",
                s.heads
            ));
        }
        let ffn = config.layer_shapes[0].ffn;
        if let Some((l, s)) = config
            .layer_shapes
            .iter()
            .enumerate()
            .find(|(_, s)| s.ffn != ffn)
        {
            return refuse(format!(
                "layer {l} has FFN width {} but layer 0 has {ffn}, and HF has one \
                 intermediate_size for all layers",
                s.ffn
            ));
        }
        backbone.intermediate_size = ffn;
        Ok(backbone)
    }

    /// Writes the backbone as an HF directory at `dir` (see [`Student::hf_config`]).
    ///
    /// # Errors
    /// [`StudentError::NotHfExportable`] (see [`Student::hf_config`]), [`StudentError::Io`]
    /// when writing fails.
    pub fn export_hf(&self, dir: impl AsRef<Path>) -> Result<(), StudentError> {
        let dir = dir.as_ref();
        let config = self.hf_config()?;
        export_hf(&self.backbone, &config, dir).map_err(|e| match e {
            ssl_distill_models::ExportError::Io { path, source } => {
                StudentError::Io { path, source }
            }
            other => StudentError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::other(other.to_string()),
            },
        })
    }
}
