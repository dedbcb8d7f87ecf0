//! Export of a student's backbone: to an HF model directory (`HubertModel` / `WavLMModel`)
//! through `ssl_distill_models::export_hf`, or, for a student HF cannot hold, to this
//! project's own directory format ([`Student::export_dir`]).
//!
//! HF's classes build every layer from one `num_attention_heads` and one `intermediate_size`
//! and require `hidden_size = num_attention_heads × head_dim`, and have no Fbank front-end. A
//! physically pruned student ([`crate::Student::prune`]) therefore exports to HF only when every
//! layer kept all its heads and all layers kept the same FFN width; pruned conv channels are fine
//! (`conv_dim` is per layer in HF). Any other student exports with [`Student::export_dir`]:
//! `student.json` + `model.safetensors` ([`Student::save`]) + the `preprocessor_config.json` it
//! was trained with, which `ssl_distill_probe::load_upstream` (so `ssl-distill features`,
//! `probe`, `analyze`) and [`Student::load`] read.

use std::path::Path;

use ssl_distill_models::{Preprocessor, SslConfig, export_hf, write_dir_atomic};

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

    /// Writes the student in this project's format at `dir`, for students HF cannot hold (see
    /// [`Student::hf_config`]) or any other: [`Student::save`]'s `student.json` and
    /// `model.safetensors` (heads included), and a `preprocessor_config.json` saying
    /// `preprocessor` (HF `Wav2Vec2FeatureExtractor` fields), so the directory carries its input
    /// preprocessing with it (see [`crate::student_preprocessor`]). `dir` must not exist or be
    /// empty; it is written under a temporary name and renamed into place.
    ///
    /// ```
    /// use burn::tensor::Device;
    /// use ssl_distill_models::{Preprocessor, SslConfig};
    /// use ssl_distill_students::{
    ///     FbankFrontEndConfig, FrontEndConfig, HeadConfig, Student, StudentConfig,
    ///     StudentError, student_preprocessor,
    /// };
    ///
    /// let device = Device::flex();
    /// let backbone = SslConfig { feat_proj_layer_norm: false, ..SslConfig::tiny() };
    /// let head = HeadConfig::Prediction { num_targets: 1, d_target: 32 };
    /// let student = StudentConfig::new(backbone, head)
    ///     .with_front_end(FrontEndConfig::Fbank(FbankFrontEndConfig::new().with_channels(8)))
    ///     .init(&device)?;
    /// let tmp = tempfile::tempdir()?;
    /// // HF has no Fbank front-end ...
    /// let refused = student.export_hf(tmp.path().join("hf"));
    /// assert!(matches!(refused, Err(StudentError::NotHfExportable { .. })));
    /// // ... so it goes to this project's format, preprocessing included.
    /// let dir = tmp.path().join("student");
    /// let pre = Preprocessor { do_normalize: true, ..Preprocessor::default() };
    /// student.export_dir(&dir, &pre)?;
    /// let back = Student::load(&dir, &device)?;
    /// assert_eq!(back.config(), student.config());
    /// assert_eq!(student_preprocessor(&dir)?, pre);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`StudentError::Io`] (also when `dir` exists and is not empty), [`StudentError::Weights`].
    pub fn export_dir(
        &self,
        dir: impl AsRef<Path>,
        preprocessor: &Preprocessor,
    ) -> Result<(), StudentError> {
        let io = |path: &Path, source| StudentError::Io {
            path: path.into(),
            source,
        };
        write_dir_atomic(dir.as_ref(), io, |tmp| {
            self.save(tmp)?;
            let path = tmp.join("preprocessor_config.json");
            let json = serde_json::to_string_pretty(&preprocessor.hf_json(true))
                .expect("JSON values serialize");
            std::fs::write(&path, json).map_err(|e| io(&path, e))
        })
    }
}
