//! transformers loads our HF exports of students: a HuBERT-shaped (DistilHuBERT-style) student
//! and a pruned student with uniform layers, each exported, then loaded by
//! `transformers.AutoModel.from_pretrained` in Python and run on the same waveform; every hidden
//! state must match our student's backbone within 1e-4 (`tools/reference/roundtrip.py`).
//!
//! Needs Python with torch + transformers + safetensors, named by `SSL_DISTILL_PYTHON`; run by
//! `tools/hf/roundtrip.sh` (which makes that environment), and so by `.ci/run`.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use ssl_distill_models::{SslInput, StateDict, StateTensor, write_safetensors};
use ssl_distill_students::{PruneConfig, Student, StudentConfig};

use crate::prune::{gated_student, set};
use crate::util::{prediction, tiny_backbone, wave};

/// The Python interpreter with transformers; a missing variable is a failure, not a skip.
fn python() -> PathBuf {
    std::env::var_os("SSL_DISTILL_PYTHON")
        .map(PathBuf::from)
        .expect("SSL_DISTILL_PYTHON must name a Python with torch + transformers (tools/hf/roundtrip.sh)")
}

/// Exports `student` into `dir/hf`, writes `dir/io.safetensors` (the waveform and our hidden
/// states), and runs the Python round trip on them.
fn round_trip(name: &str, student: &Student, dir: &Path, device: &Device) {
    let hf = dir.join("hf");
    student.export_hf(&hf).unwrap();
    let x: Tensor<2> = wave(1, 8000, device);
    let out = student.forward(SslInput::new(x.clone()));
    let mut io = StateDict::new();
    io.insert("wave".into(), StateTensor::from_tensor(x));
    for (i, h) in out.backbone.hidden_states.iter().enumerate() {
        io.insert(
            format!("hidden_states.{i}"),
            StateTensor::from_tensor(h.clone()),
        );
    }
    let io_path = dir.join("io.safetensors");
    write_safetensors(&io, &io_path).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/reference/roundtrip.py");
    let res = std::process::Command::new(python())
        .arg(&script)
        .arg(&hf)
        .arg(&io_path)
        .output()
        .unwrap();
    println!("{name}: {}", String::from_utf8_lossy(&res.stdout).trim());
    assert!(
        res.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
}

#[test]
#[ignore = "needs SSL_DISTILL_PYTHON (torch + transformers); run by tools/hf/roundtrip.sh"]
fn transformers_loads_exported_students() {
    let device = Device::flex();
    let tmp = tempfile::tempdir().unwrap();

    // A DistilHuBERT-shaped student: HuBERT backbone without the projection LayerNorm, 2 layers,
    // prediction heads (not exported: HF holds the backbone).
    device.seed(7);
    let student = StudentConfig::new(tiny_backbone(), prediction(2))
        .init(&device)
        .unwrap();
    let dir = tmp.path().join("distilhubert");
    std::fs::create_dir(&dir).unwrap();
    round_trip("hubert-shaped student", &student, &dir, &device);

    // A pruned student with uniform layers: conv channels and 3 of 4 FFN units kept per layer.
    let mut gated = gated_student(false, PruneConfig::new().with_heads(false), 3);
    let gates = gated.gates.as_mut().unwrap();
    for g in &mut gates.ffn {
        let keep = (0..g.n)
            .map(|i| if i % 4 == 0 { -10.0 } else { 8.0 })
            .collect();
        set(g, keep, &device);
    }
    let pruned = gated.prune().unwrap();
    let dir = tmp.path().join("pruned");
    std::fs::create_dir(&dir).unwrap();
    round_trip("pruned uniform student", &pruned, &dir, &device);
}
