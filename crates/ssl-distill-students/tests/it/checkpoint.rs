//! `Student::save` / `Student::load`: round trips and the errors of bad directories.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use ssl_distill_models::{SslConfig, SslInput};
use ssl_distill_students::{
    HeadConfig, STUDENT_CONFIG_FILE, STUDENT_WEIGHTS_FILE, Student, StudentConfig, StudentError,
};

use crate::util::{tiny_backbone, tiny_cnn_student, tiny_fbank, wave};

fn write_config(dir: &Path, config: &StudentConfig) {
    std::fs::write(
        dir.join(STUDENT_CONFIG_FILE),
        serde_json::to_string(config).unwrap(),
    )
    .unwrap();
}

#[test]
fn save_then_load_gives_identical_predictions() {
    let device = Device::flex();
    let tmp = tempfile::tempdir().unwrap();
    let configs = [
        tiny_cnn_student().with_feature_grad_mult(0.1),
        StudentConfig::new(
            tiny_backbone(),
            HeadConfig::LayerToLayer {
                student_layers: vec![1, 2],
                d_target: 40,
            },
        )
        .with_front_end(tiny_fbank()),
        StudentConfig::new(
            tiny_backbone(),
            HeadConfig::Generator {
                num_steps: 3,
                d_target: 24,
                num_heads: 2,
                d_ff: 48,
                teacher_forcing: true,
            },
        ),
    ];
    let w = wave(2, 4000, &device);
    for (i, config) in configs.into_iter().enumerate() {
        let dir = tmp.path().join(format!("student-{i}"));
        let student = config.init(&device).unwrap();
        student.save(&dir).unwrap();
        // Saving again replaces the files in place.
        student.save(&dir).unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
        let loaded = Student::load(&dir, &device).unwrap();
        assert_eq!(loaded.config(), &config);
        assert_eq!(loaded.num_params(), student.num_params());
        let a = student.forward(SslInput::new(w.clone()));
        let b = loaded.forward(SslInput::new(w.clone()));
        assert_eq!(a.predictions.len(), b.predictions.len());
        for (x, y) in a.predictions.into_iter().zip(b.predictions) {
            assert_eq!(x.into_data(), y.into_data(), "{config:?}");
        }
    }
}

#[test]
fn loading_a_bad_directory_names_the_file_and_the_problem() {
    let device = Device::flex();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let msg = |e: &StudentError| e.to_string();

    // No directory, no student.json, no weights.
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(
        matches!(&err, StudentError::NotFound { path } if path == &dir),
        "{err}"
    );
    std::fs::create_dir(&dir).unwrap();
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(msg(&err).contains(STUDENT_CONFIG_FILE), "{err}");
    let config = tiny_cnn_student();
    write_config(&dir, &config);
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(
        matches!(&err, StudentError::NotFound { path } if path.ends_with(STUDENT_WEIGHTS_FILE)),
        "{err}"
    );

    // Bad JSON, and a valid JSON that is not an architecture.
    let student = config.init(&device).unwrap();
    student.save(&dir).unwrap();
    std::fs::write(dir.join(STUDENT_CONFIG_FILE), "{ not json").unwrap();
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(matches!(err, StudentError::Json { .. }), "{err}");
    assert!(msg(&err).contains(STUDENT_CONFIG_FILE), "{err}");
    std::fs::write(dir.join(STUDENT_CONFIG_FILE), r#"{"head": 3}"#).unwrap();
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(matches!(err, StudentError::Json { .. }), "{err}");
    let invalid = StudentConfig::new(
        tiny_backbone(),
        HeadConfig::Prediction {
            num_targets: 0,
            d_target: 48,
        },
    );
    write_config(&dir, &invalid);
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(
        matches!(&err, StudentError::ConfigFile { field, .. } if field == "head.num_targets"),
        "{err}"
    );
    assert!(msg(&err).contains(STUDENT_CONFIG_FILE), "{err}");

    // A head of another width: the shape error names the tensor and both shapes.
    let narrow = StudentConfig::new(
        tiny_backbone(),
        HeadConfig::Prediction {
            num_targets: 2,
            d_target: 40,
        },
    );
    write_config(&dir, &narrow);
    let err = Student::load(&dir, &device).unwrap_err();
    match &err {
        StudentError::Shape {
            path,
            key,
            expected,
            got,
        } => {
            assert!(path.ends_with(STUDENT_WEIGHTS_FILE));
            assert!(key.starts_with("prediction_heads.heads."), "{key}");
            assert_eq!(
                (expected.as_slice(), got.as_slice()),
                ([32, 40].as_slice(), [32, 48].as_slice())
            );
        }
        other => panic!("expected a shape error, got {other}"),
    }
    assert!(msg(&err).contains(STUDENT_WEIGHTS_FILE), "{err}");

    // One layer more: missing tensors; one fewer: unexpected ones.
    let deeper = StudentConfig {
        backbone: SslConfig {
            num_hidden_layers: 3,
            ..tiny_backbone()
        },
        ..config.clone()
    };
    write_config(&dir, &deeper);
    let err = Student::load(&dir, &device).unwrap_err();
    match &err {
        StudentError::MissingKeys { keys, .. } => {
            assert!(!keys.is_empty());
            assert!(
                keys.iter()
                    .all(|k| k.starts_with("backbone.encoder.layers.2.")),
                "{keys:?}"
            );
        }
        other => panic!("expected missing keys, got {other}"),
    }
    let shallower = StudentConfig {
        backbone: SslConfig {
            num_hidden_layers: 1,
            ..tiny_backbone()
        },
        ..config.clone()
    };
    write_config(&dir, &shallower);
    let err = Student::load(&dir, &device).unwrap_err();
    match &err {
        StudentError::UnexpectedKeys { keys, .. } => {
            assert!(
                keys.iter()
                    .all(|k| k.starts_with("backbone.encoder.layers.1.")),
                "{keys:?}"
            );
        }
        other => panic!("expected unexpected keys, got {other}"),
    }
    // An Fbank student cannot load a CNN student's weights.
    write_config(&dir, &config.clone().with_front_end(tiny_fbank()));
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(
        matches!(
            err,
            StudentError::MissingKeys { .. } | StudentError::UnexpectedKeys { .. }
        ),
        "{err}"
    );

    // A corrupt or truncated weights file.
    write_config(&dir, &config);
    let weights = dir.join(STUDENT_WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(matches!(err, StudentError::Weights { .. }), "{err}");
    assert!(msg(&err).contains(STUDENT_WEIGHTS_FILE), "{err}");
    std::fs::write(&weights, b"definitely not safetensors").unwrap();
    let err = Student::load(&dir, &device).unwrap_err();
    assert!(matches!(err, StudentError::Weights { .. }), "{err}");

    // And the original files load again.
    student.save(&dir).unwrap();
    let back = Student::load(&dir, &device).unwrap();
    assert_eq!(back.num_params(), student.num_params());
}
