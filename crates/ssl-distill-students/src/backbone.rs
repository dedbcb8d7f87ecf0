//! A student as an extraction [`Backbone`] (front-end, feature projection, encoder; the
//! distillation heads do not run), and the input preprocessing of a student directory
//! ([`student_preprocessor`]), so `ssl_distill_models::Extractor` gives a student's features
//! exactly as it gives a teacher's.

use std::path::Path;

use ssl_distill_models::{Backbone, Preprocessor, SslInput, SslOutput};

use crate::checkpoint::STUDENT_CONFIG_FILE;
use crate::error::StudentError;
use crate::student::Student;

impl Backbone for Student {
    fn forward_until(&self, input: SslInput, k: usize) -> SslOutput {
        self.forward_backbone(input, k)
    }

    fn num_frames(&self, samples: usize) -> usize {
        Student::num_frames(self, samples)
    }

    fn num_hidden_states(&self) -> usize {
        self.backbone.num_layers() + 1
    }

    fn hidden_size(&self) -> usize {
        self.config().backbone.hidden_size
    }

    /// An Fbank front-end computes each row over its valid samples (tested); a CNN front-end is
    /// padding-invariant exactly when the backbone's is (no GroupNorm in the conv stack).
    fn padding_invariant(&self) -> bool {
        self.fbank.is_some() || Backbone::padding_invariant(&self.backbone)
    }
}

/// The input preprocessing of the student directory `dir`, first found of:
/// 1. `dir/preprocessor_config.json` (written by [`Student::export_dir`], or by hand);
/// 2. `recipe.data.normalize` in `dir/student.json` (what the student was trained on, as
///    `ssl-distill distill` records it);
/// 3. the teacher's `preprocessor_config.json` (`teacher.path` in `student.json`, the teacher
///    directory it was distilled from, when it still exists);
/// 4. the defaults (no normalisation, 16 kHz).
///
/// # Errors
/// [`StudentError::Preprocessor`] for a `preprocessor_config.json` that cannot be read or
/// parsed (naming the file); a `student.json` without these keys is not an error.
pub fn student_preprocessor(dir: &Path) -> Result<Preprocessor, StudentError> {
    if dir.join("preprocessor_config.json").exists() {
        return Ok(Preprocessor::read(dir)?);
    }
    let json: serde_json::Value = std::fs::read_to_string(dir.join(STUDENT_CONFIG_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if let Some(do_normalize) = json["recipe"]["data"]["normalize"].as_bool() {
        return Ok(Preprocessor {
            do_normalize,
            ..Preprocessor::default()
        });
    }
    if let Some(teacher) = json["teacher"]["path"].as_str() {
        let teacher = Path::new(teacher);
        if teacher.is_dir() && teacher.join("preprocessor_config.json").exists() {
            return Ok(Preprocessor::read(teacher)?);
        }
    }
    Ok(Preprocessor::default())
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution, Tensor};
    use ssl_distill_models::{Extractor, FeatExtractNorm, SslConfig};

    use super::*;
    use crate::front_end::{FbankFrontEndConfig, FrontEndConfig};
    use crate::student::{HeadConfig, StudentConfig};

    fn config(front_end: FrontEndConfig, norm: FeatExtractNorm) -> StudentConfig {
        StudentConfig::new(
            SslConfig {
                feat_extract_norm: norm,
                feat_proj_layer_norm: false,
                ..SslConfig::tiny()
            },
            HeadConfig::Prediction {
                num_targets: 1,
                d_target: 32,
            },
        )
        .with_front_end(front_end)
    }

    /// Through the extractor, a student's padded batch equals each utterance run alone through
    /// `Student::forward` (Fbank and layer-norm CNN front-ends pad; a group-norm CNN does not).
    #[test]
    fn students_extract_as_when_run_alone() {
        let device = Device::flex();
        for (front_end, norm, invariant) in [
            (
                FrontEndConfig::Fbank(FbankFrontEndConfig::new().with_channels(8)),
                FeatExtractNorm::Group,
                true,
            ),
            (FrontEndConfig::Cnn, FeatExtractNorm::Layer, true),
            (FrontEndConfig::Cnn, FeatExtractNorm::Group, false),
        ] {
            device.seed(4);
            let student = config(front_end, norm).init(&device).unwrap();
            assert_eq!(Backbone::padding_invariant(&student), invariant);
            let waves: Vec<Vec<f32>> = [6400usize, 4000, 8000]
                .iter()
                .map(|&n| {
                    Tensor::<1>::random([n], Distribution::Uniform(-0.3, 0.3), &device)
                        .try_into_vec_as::<f32>()
                        .unwrap()
                })
                .collect();
            let refs: Vec<&[f32]> = waves.iter().map(Vec::as_slice).collect();
            let got = Extractor::new(&student, Preprocessor::default())
                .extract(&refs, &device)
                .unwrap();
            for (w, f) in waves.iter().zip(&got) {
                let input = Tensor::<2>::from_data(
                    burn::tensor::TensorData::new(w.clone(), [1, w.len()]),
                    &device,
                );
                let want = student.forward(SslInput::new(input)).backbone.hidden_states;
                assert_eq!(f.hidden_states.len(), want.len());
                for (a, b) in f.hidden_states.iter().zip(want) {
                    let b = b.squeeze_dim::<2>(0);
                    let d: f32 = (a.clone() - b).abs().max().into_scalar();
                    assert!(d < 1e-4, "{norm:?}: {d}");
                }
            }
        }
    }

    #[test]
    fn preprocessing_comes_from_the_directory_then_the_recipe_then_the_teacher() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("student");
        std::fs::create_dir(&dir).unwrap();
        let teacher = tmp.path().join("teacher");
        std::fs::create_dir(&teacher).unwrap();
        std::fs::write(
            teacher.join("preprocessor_config.json"),
            r#"{"do_normalize": true, "sampling_rate": 16000}"#,
        )
        .unwrap();
        let write = |json: serde_json::Value| {
            std::fs::write(dir.join(STUDENT_CONFIG_FILE), json.to_string()).unwrap();
        };
        write(serde_json::json!({}));
        assert!(!student_preprocessor(&dir).unwrap().do_normalize);
        write(serde_json::json!({"teacher": {"path": teacher}}));
        assert!(student_preprocessor(&dir).unwrap().do_normalize);
        write(serde_json::json!({
            "teacher": {"path": teacher},
            "recipe": {"data": {"normalize": false}}
        }));
        assert!(!student_preprocessor(&dir).unwrap().do_normalize);
        std::fs::write(
            dir.join("preprocessor_config.json"),
            r#"{"do_normalize": true}"#,
        )
        .unwrap();
        assert!(student_preprocessor(&dir).unwrap().do_normalize);
        std::fs::write(dir.join("preprocessor_config.json"), "{ broken").unwrap();
        let err = student_preprocessor(&dir).unwrap_err().to_string();
        assert!(err.contains("preprocessor_config.json"), "{err}");
    }
}
