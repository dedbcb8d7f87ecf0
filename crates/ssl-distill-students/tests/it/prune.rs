//! Structured pruning: hard-concrete gates against a hand computation, the size model against
//! real parameter counts, physical pruning against the gated model, files and HF export.

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use ssl_distill_models::{SslInput, load_checkpoint};
use ssl_distill_students::prune::hard_concrete::HardConcreteConfig;
use ssl_distill_students::{PruneConfig, Student, StudentConfig, StudentError};

use crate::util::{max_diff, tiny_backbone, tiny_cnn_student, wave};

/// `log α` set to given values.
pub(crate) fn set(
    gate: &mut ssl_distill_students::prune::hard_concrete::HardConcrete,
    v: Vec<f32>,
    d: &Device,
) {
    let n = v.len();
    gate.log_alpha = Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), d));
}

/// A tiny pruned-ready student whose gates are spread widely, so that some units close.
pub(crate) fn gated_student(feat_proj_ln: bool, prune: PruneConfig, seed: u64) -> Student {
    let device = Device::flex();
    device.seed(seed);
    let mut backbone = tiny_backbone();
    backbone.feat_proj_layer_norm = feat_proj_ln;
    let mut student = StudentConfig::new(backbone, crate::util::prediction(2))
        .with_prune(Some(prune))
        .init(&device)
        .unwrap();
    let gates = student.gates.as_mut().unwrap();
    for g in gates
        .conv
        .iter_mut()
        .chain(&mut gates.heads)
        .chain(&mut gates.ffn)
    {
        let la = Tensor::<1>::random([g.n], Distribution::Normal(0.0, 3.0), &device);
        g.log_alpha = Param::from_tensor(la);
    }
    student
}

#[test]
fn expected_l0_and_deterministic_gates_match_a_hand_computation() {
    let device = Device::flex();
    let mut gate = HardConcreteConfig::new(3).init(&device);
    set(&mut gate, vec![0.0, 1.0, -2.0], &device);
    // β = 2/3, (l, r) = (-0.1, 1.1): shift -β ln(0.1 / 1.1) = 1.5985968;
    // σ(1.5985968) + σ(2.5985968) + σ(-0.4014032) = 0.8318222 + 0.9307712 + 0.4009753.
    let p: Vec<f32> = gate.prob_nonzero().into_data().try_into_vec().unwrap();
    for (got, want) in p.iter().zip([0.831_822_2, 0.930_771_2, 0.400_975_3]) {
        assert!((got - want).abs() < 1e-6, "{p:?}");
    }
    let l0: f32 = gate.l0_norm().into_scalar();
    assert!((l0 - 2.163_568_7).abs() < 1e-5, "{l0}");
    // round(3 - 2.1636) = 1 zero (the smallest log α), the others σ(0.8 log α / β).
    let det = gate.deterministic_values();
    assert_eq!(det[2], 0.0);
    assert!(
        (det[0] - 0.5).abs() < 1e-6 && (det[1] - 0.768_524_8).abs() < 1e-6,
        "{det:?}"
    );
    assert!(!gate.is_training());
    assert_eq!(gate.kept(), vec![(0, det[0]), (1, det[1])]);
}

#[test]
fn sampled_gates_are_stretched_clamped_and_differentiable() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let mut gate = HardConcreteConfig::new(2000).init(&device);
    set(
        &mut gate,
        (0..2000).map(|i| (i % 5) as f32 - 2.0).collect(),
        &device,
    );
    assert!(gate.is_training());
    let s = gate.mask();
    let v: Vec<f32> = s.clone().into_data().try_into_vec().unwrap();
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
    let zeros = v.iter().filter(|&&x| x == 0.0).count();
    let ones = v.iter().filter(|&&x| x == 1.0).count();
    assert!(zeros > 0 && ones > 0, "exact 0 and 1 occur: {zeros} {ones}");
    // The empirical rate of non-zero gates approaches P(gate ≠ 0).
    let expected: f32 = gate.l0_norm().into_scalar();
    let nonzero = (2000 - zeros) as f32;
    assert!(
        (nonzero - expected).abs() < 0.05 * 2000.0,
        "{nonzero} vs {expected}"
    );
    let grads = s.sum().backward();
    let g = gate.log_alpha.val().grad(&grads).unwrap();
    let gv: f32 = g.abs().sum().into_scalar();
    assert!(gv > 0.0);
}

#[test]
fn size_model_counts_exactly_and_expectation_has_gradients() {
    let student = gated_student(false, PruneConfig::new(), 1);
    let size = student.size_model();
    assert_eq!(size.full(), student.backbone_params());
    // Gates wide open: the expectation is close to the full count.
    let device = Device::flex().autodiff();
    let open = {
        let mut s = gated_student(false, PruneConfig::new(), 1);
        let gates = s.gates.as_mut().unwrap();
        for g in gates
            .conv
            .iter_mut()
            .chain(&mut gates.heads)
            .chain(&mut gates.ffn)
        {
            set(g, vec![20.0; g.n], &Device::flex());
        }
        s.to_device(&device).train()
    };
    let e = open.expected_params().unwrap();
    let ev: f32 = e.clone().into_scalar();
    assert!(
        (ev - open.backbone_params() as f32).abs() < 1e-3 * open.backbone_params() as f32,
        "{ev} vs {}",
        open.backbone_params()
    );
    let grads = (e / 1000.0).backward();
    let g = open.gates.as_ref().unwrap().ffn[0]
        .log_alpha
        .val()
        .grad(&grads);
    assert!(g.is_some());
    // Conv channels couple adjacent layers: removing a channel of layer 1 removes its kernel
    // rows in layer 1 and its input column in layer 2.
    let conv: Vec<usize> = (0..7).map(|i| if i == 1 { 15 } else { 16 }).collect();
    let heads = vec![4, 4];
    let ffn = vec![64, 64];
    let full = size.params(&[16; 7], &heads, &ffn);
    assert_eq!(full - size.params(&conv, &heads, &ffn), 16 * 3 + 16 * 3);
}

#[test]
fn physical_pruning_keeps_outputs_and_counts() {
    for (ln, seed) in [(false, 3), (true, 4)] {
        let gated = gated_student(ln, PruneConfig::new(), seed);
        let device = Device::flex();
        let size = gated.size_model();
        device.seed(9);
        let x = wave(2, 8000, &device);
        let before = gated.forward(SslInput::new(x.clone()));
        let pruned = gated.prune().unwrap();
        assert!(pruned.gates.is_none());
        let after = pruned.forward(SslInput::new(x));
        let config = pruned.config();
        assert!(!config.layer_shapes.is_empty(), "{config:?}");
        let heads: Vec<usize> = (0..2).map(|l| config.layer_shape(l).heads).collect();
        let ffn: Vec<usize> = (0..2).map(|l| config.layer_shape(l).ffn).collect();
        assert!(heads.iter().any(|&h| h < 4) && ffn.iter().any(|&f| f < 64));
        assert!(config.backbone.conv_dim.iter().any(|&c| c < 16));
        if ln {
            assert_eq!(
                config.backbone.conv_dim[6], 16,
                "last conv layer not gated under an LN"
            );
        }
        assert_eq!(
            pruned.backbone_params(),
            size.params(&config.backbone.conv_dim, &heads, &ffn)
        );
        for (a, b) in before
            .backbone
            .hidden_states
            .iter()
            .zip(&after.backbone.hidden_states)
        {
            let d = max_diff(a.clone(), b.clone());
            assert!(d <= 1e-5, "hidden state differs by {d}");
        }
        for (a, b) in before.predictions.iter().zip(&after.predictions) {
            let d = max_diff(a.clone(), b.clone());
            assert!(d <= 1e-5, "prediction differs by {d}");
        }
    }
}

#[test]
fn pruned_student_round_trips_through_its_files() {
    let pruned = gated_student(false, PruneConfig::new(), 3).prune().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    pruned.save(tmp.path()).unwrap();
    let json = std::fs::read_to_string(tmp.path().join("student.json")).unwrap();
    assert!(json.contains("layer_shapes"), "{json}");
    let device = Device::flex();
    let back = Student::load(tmp.path(), &device).unwrap();
    assert_eq!(back.config(), pruned.config());
    let x = wave(1, 6000, &device);
    let a = pruned.forward(SslInput::new(x.clone()));
    let b = back.forward(SslInput::new(x));
    assert_eq!(
        max_diff(
            a.backbone.hidden_states[2].clone(),
            b.backbone.hidden_states[2].clone()
        ),
        0.0
    );
    // A gated student round-trips too (its gates are in the weights file).
    let gated = gated_student(false, PruneConfig::new(), 6);
    let dir = tmp.path().join("gated");
    gated.save(&dir).unwrap();
    let back = Student::load(&dir, &device).unwrap();
    assert_eq!(back.gate_params(), gated.gate_params());
}

#[test]
fn hf_export_needs_uniform_layers_with_every_head() {
    let device = Device::flex();
    // Heads pruned: HF cannot hold it.
    let pruned = gated_student(false, PruneConfig::new(), 3).prune().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let err = pruned.export_hf(tmp.path().join("hf")).unwrap_err();
    assert!(matches!(err, StudentError::NotHfExportable { .. }), "{err}");
    assert!(err.to_string().contains("heads"), "{err}");
    // Conv channels and the same number of FFN units per layer: exports and reloads.
    let mut student = gated_student(false, PruneConfig::new().with_heads(false), 3);
    let gates = student.gates.as_mut().unwrap();
    for g in &mut gates.ffn {
        set(
            g,
            (0..64)
                .map(|i| if i % 4 == 0 { -10.0 } else { 8.0 })
                .collect(),
            &device,
        );
    }
    let pruned = student.prune().unwrap();
    assert_eq!(pruned.config().layer_shape(1).ffn, 48);
    let dir = tmp.path().join("hf-ok");
    pruned.export_hf(&dir).unwrap();
    let (config, model, _) = load_checkpoint(&dir, &device).unwrap();
    assert_eq!(config.intermediate_size, 48);
    assert_eq!(config.conv_dim, pruned.config().backbone.conv_dim);
    let x = wave(1, 6000, &device);
    let a = pruned.forward(SslInput::new(x.clone()));
    let b = model.forward(SslInput::new(x));
    let d = max_diff(
        a.backbone.hidden_states[2].clone(),
        b.hidden_states[2].clone(),
    );
    assert!(d <= 1e-5, "{d}");
}

/// What HF cannot hold (heads pruned unevenly, an Fbank front-end) exports to this project's
/// format: the same student back, with its preprocessing; a non-empty directory is refused.
#[test]
fn own_format_export_holds_what_hf_cannot() {
    let device = Device::flex();
    let tmp = tempfile::tempdir().unwrap();
    let pruned = gated_student(false, PruneConfig::new(), 3).prune().unwrap();
    device.seed(8);
    let fbank = crate::util::tiny_fbank_student().init(&device).unwrap();
    let pre = ssl_distill_models::Preprocessor {
        do_normalize: true,
        ..Default::default()
    };
    for (name, student) in [("pruned", &pruned), ("fbank", &fbank)] {
        assert!(matches!(
            student.export_hf(tmp.path().join(format!("{name}-hf"))),
            Err(StudentError::NotHfExportable { .. })
        ));
        let dir = tmp.path().join(name);
        student.export_dir(&dir, &pre).unwrap();
        let back = Student::load(&dir, &device).unwrap();
        assert_eq!(back.config(), student.config());
        assert_eq!(
            ssl_distill_students::student_preprocessor(&dir).unwrap(),
            pre
        );
        let x = wave(1, 6000, &device);
        let a = student.forward(SslInput::new(x.clone()));
        let b = back.forward(SslInput::new(x));
        for (ha, hb) in a
            .backbone
            .hidden_states
            .into_iter()
            .zip(b.backbone.hidden_states)
        {
            assert_eq!(max_diff(ha, hb), 0.0, "{name}");
        }
        let err = student.export_dir(&dir, &pre).unwrap_err().to_string();
        assert!(err.contains("not empty") && err.contains(name), "{err}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary directories left behind");
}

#[test]
fn pruning_rejects_what_it_cannot_do_exactly() {
    let mut wavlm = tiny_cnn_student();
    wavlm.backbone.kind = ssl_distill_models::ModelKind::Wavlm;
    let err = wavlm
        .clone()
        .with_prune(Some(PruneConfig::new()))
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("prune.heads"), "{err}");
    wavlm
        .with_prune(Some(PruneConfig::new().with_heads(false)))
        .validate()
        .unwrap();
    let mut layer_norm = tiny_cnn_student();
    layer_norm.backbone.feat_extract_norm = ssl_distill_models::FeatExtractNorm::Layer;
    layer_norm.backbone.conv_bias = true;
    let err = layer_norm
        .with_prune(Some(PruneConfig::new()))
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("prune.conv"), "{err}");
    let device = Device::flex();
    let err = tiny_cnn_student()
        .init(&device)
        .unwrap()
        .prune()
        .unwrap_err();
    assert!(err.to_string().contains("no pruning gates"), "{err}");
}
