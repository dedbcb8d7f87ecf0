//! `feature_grad_mult`: forward values unchanged, the front-end's gradient scaled by `m`.

use burn::module::Param;
use burn::tensor::{Device, Tensor};
use ssl_distill_models::SslInput;
use ssl_distill_students::Student;

use crate::util::{max_diff, tiny_cnn_student, wave};

struct Run {
    cnn_grad: Option<Tensor<3>>,
    projection_grad: Tensor<2>,
    features: Tensor<3>,
    prediction: Tensor<3>,
}

fn run(student: &Student, m: f64, input: &Tensor<2>) -> Run {
    let student = student.clone().with_feature_grad_mult(m);
    let out = student.forward(SslInput::new(input.clone()));
    let loss = out
        .predictions
        .iter()
        .map(|p| p.clone().powi_scalar(2).mean())
        .reduce(|a, b| a + b)
        .unwrap();
    let grads = loss.backward();
    let grad3 = |p: &Param<Tensor<3>>| p.grad(&grads);
    Run {
        cnn_grad: grad3(
            &student.backbone.feature_extractor.conv_layers[0]
                .conv
                .weight,
        ),
        projection_grad: student
            .backbone
            .feature_projection
            .projection
            .weight
            .grad(&grads)
            .expect("projection gradient"),
        features: out.backbone.cnn_features.inner(),
        prediction: out.predictions[0].clone().inner(),
    }
}

#[test]
fn feature_grad_mult_scales_only_the_front_end_gradient() {
    let device = Device::flex().autodiff();
    let student = tiny_cnn_student().init(&device).unwrap();
    let input = wave(2, 4000, &device);
    let base = run(&student, 1.0, &input);
    let g1 = base.cnn_grad.clone().expect("CNN gradient at m = 1");
    let norm: f32 = g1.clone().abs().sum().into_scalar();
    assert!(norm > 0.0);
    // Powers of two scale every floating-point operation of the backward pass exactly.
    for m in [0.5, 0.25] {
        let r = run(&student, m, &input);
        assert_eq!(
            r.features.into_data(),
            base.features.clone().into_data(),
            "m = {m}"
        );
        assert_eq!(
            r.prediction.into_data(),
            base.prediction.clone().into_data(),
            "m = {m}"
        );
        assert_eq!(
            r.cnn_grad.expect("CNN gradient").into_data(),
            (g1.clone() * m).into_data(),
            "m = {m}"
        );
        assert_eq!(
            r.projection_grad.into_data(),
            base.projection_grad.clone().into_data(),
            "m = {m}"
        );
    }
    // DistilHuBERT's 0.1: the same up to rounding.
    let r = run(&student, 0.1, &input);
    assert_eq!(r.features.into_data(), base.features.clone().into_data());
    let scale: f32 = g1.clone().abs().max().into_scalar();
    let d = max_diff(r.cnn_grad.unwrap(), g1 * 0.1);
    assert!(d <= 1e-6 * scale, "m = 0.1: {d} (max |g| {scale})");
    // 0 detaches the front-end: no gradient reaches it, the rest is unchanged.
    let r = run(&student, 0.0, &input);
    assert!(r.cnn_grad.is_none(), "m = 0 must detach the CNN");
    assert_eq!(
        r.projection_grad.into_data(),
        base.projection_grad.into_data()
    );
    assert_eq!(r.prediction.into_data(), base.prediction.into_data());
}
