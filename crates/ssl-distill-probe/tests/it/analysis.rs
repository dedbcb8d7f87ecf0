//! CKA analysis: the matrix, the clustering, and valid PNGs of the expected size.

use std::path::Path;

use burn::tensor::{Device, Distribution, Tensor};
use ssl_distill_audio::Manifest;
use ssl_distill_probe::plot::{DENDROGRAM_SIZE, HEATMAP_SIZE};
use ssl_distill_probe::{AnalysisConfig, analyze, cross_cka, load_upstream};
use ssl_distill_targets::cka_matrix;

use crate::util::{serial, tiny_student, tiny_teacher, tone_corpus};

/// Decodes a PNG fully and returns its size.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    // Not a blank image: some pixels are far from white.
    let dark = buf.chunks(3).filter(|p| p.iter().all(|&c| c < 100)).count();
    assert!(dark > 500, "{}: only {dark} dark pixels", path.display());
    (info.width, info.height)
}

#[test]
fn cross_cka_agrees_with_the_targets_crate() {
    let _serial = serial();
    let device = Device::flex();
    let layers: Vec<Tensor<2>> = (0..3)
        .map(|i| Tensor::random([50, 4 + i], Distribution::Normal(0.0, 1.0), &device))
        .collect();
    let own = cka_matrix(&layers);
    let cross = cross_cka(&layers, &layers);
    for i in 0..3 {
        for j in 0..3 {
            assert!((own[i][j] - cross[i][j]).abs() < 1e-5, "{i} {j}");
        }
    }
}

#[test]
fn analysis_writes_json_heatmap_and_dendrogram() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    tone_corpus(&corpus, [6, 1, 1], 3);
    let teacher_dir = dir.path().join("teacher");
    tiny_teacher(&teacher_dir, 5);
    let student_dir = dir.path().join("student");
    tiny_student(&student_dir, 6);
    let device = Device::flex();
    let teacher = load_upstream(&teacher_dir, &device).unwrap();
    let student = load_upstream(&student_dir, &device).unwrap();
    let manifest = Manifest::open(corpus.join("train.jsonl")).unwrap();

    let config = AnalysisConfig {
        utterances: 4,
        clusters: 2,
        ..AnalysisConfig::default()
    };
    let report = analyze(&teacher, None, &manifest, &config).unwrap();
    assert_eq!(report.utterances, 4);
    assert_eq!(report.layers, vec![0, 1, 2]);
    assert_eq!(report.clustered_layers, vec![1, 2]);
    assert_eq!(report.groups, vec![vec![1], vec![2]]);
    assert_eq!(report.dendrogram.len(), 1);
    for (i, row) in report.cka.iter().enumerate() {
        assert!((row[i] - 1.0).abs() < 1e-9);
        for (j, &v) in row.iter().enumerate() {
            assert!((0.0..=1.0 + 1e-6).contains(&v), "{v}");
            assert!((v - report.cka[j][i]).abs() < 1e-12);
        }
    }
    let out = dir.path().join("out");
    let files = report.write(&out).unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(png_size(&out.join("cka-heatmap.png")), HEATMAP_SIZE);
    assert_eq!(png_size(&out.join("cka-dendrogram.png")), DENDROGRAM_SIZE);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("cka.json")).unwrap()).unwrap();
    assert_eq!(json["cka"].as_array().unwrap().len(), 3);
    assert_eq!(json["linkage"], "average");

    // Student vs teacher: a cross matrix and its heatmap.
    let config = AnalysisConfig {
        utterances: 3,
        clusters: 1,
        ..AnalysisConfig::default()
    };
    let report = analyze(&student, Some(&teacher), &manifest, &config).unwrap();
    let cross = report.cross_cka.as_ref().unwrap();
    assert_eq!((cross.len(), cross[0].len()), (3, 3));
    assert_eq!(report.groups, vec![vec![1, 2]]);
    let out = dir.path().join("out2");
    report.write(&out).unwrap();
    assert_eq!(png_size(&out.join("cka-teacher.png")), HEATMAP_SIZE);

    let bad = AnalysisConfig {
        clusters: 3,
        ..AnalysisConfig::default()
    };
    let err = analyze(&teacher, None, &manifest, &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("clusters"), "{err}");
}
