//! The generator head inside a student: steps, widths, teacher forcing.

use burn::tensor::{Device, Distribution, Tensor};
use ssl_distill_models::SslInput;
use ssl_distill_students::{HeadConfig, StudentConfig};

use crate::util::{tiny_backbone, wave};

fn generator_student(teacher_forcing: bool) -> StudentConfig {
    StudentConfig::new(
        tiny_backbone(),
        HeadConfig::Generator {
            num_steps: 3,
            d_target: 24,
            num_heads: 4,
            d_ff: 64,
            teacher_forcing,
        },
    )
}

#[test]
fn generator_head_steps_and_teacher_forcing() {
    let device = Device::flex();
    let student = generator_student(true).init(&device).unwrap();
    assert!(student.generator.is_some() && student.prediction_heads.is_none());
    let w = wave(2, 4000, &device);
    let frames = ssl_distill_audio::num_frames(4000);
    let free = student.forward(SslInput::new(w.clone())).predictions;
    assert_eq!(free.len(), 3);
    assert!(free.iter().all(|y| y.dims() == [2, frames, 24]));
    let teacher: Vec<Tensor<3>> = (0..3)
        .map(|_| Tensor::random([2, frames, 24], Distribution::Normal(0.0, 1.0), &device))
        .collect();
    let forced = student
        .forward_with_teacher(SslInput::new(w.clone()), Some(&teacher))
        .predictions;
    assert_eq!(forced.len(), 3);
    assert!(forced.iter().all(|y| y.dims() == [2, frames, 24]));
    // Output 1 sees only the backbone; outputs 2 and 3 see teacher layers 1 and 2.
    assert_eq!(free[0].clone().into_data(), forced[0].clone().into_data());
    for k in 1..3 {
        assert_ne!(
            free[k].clone().into_data(),
            forced[k].clone().into_data(),
            "output {}",
            k + 1
        );
    }
    // Without `teacher_forcing`, teacher layers are ignored.
    let free_student = generator_student(false).init(&device).unwrap();
    let a = free_student.forward(SslInput::new(w.clone())).predictions;
    let b = free_student
        .forward_with_teacher(SslInput::new(w), Some(&teacher))
        .predictions;
    for (x, y) in a.into_iter().zip(b) {
        assert_eq!(x.into_data(), y.into_data());
    }
    // The generator counts as head, not backbone.
    let plain = StudentConfig::new(tiny_backbone(), crate::util::prediction(1))
        .init(&device)
        .unwrap();
    assert_eq!(student.backbone_params(), plain.backbone_params());
    assert!(student.head_params() > 0);
}
