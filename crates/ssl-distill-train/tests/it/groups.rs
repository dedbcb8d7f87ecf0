use std::fs;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ssl_distill_train::*;

use crate::loop_tests::{cfg, data, opts};
use crate::toy::{Mlp, device, grad_values, weight_bytes, weight_values};

/// AdamW on one tensor in f64, as burn's `AdamW` + `AdaptiveMomentumW` (decoupled decay
/// `w (1 - lr wd)`, bias-corrected moments).
struct HandAdamW {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl HandAdamW {
    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    fn step(&mut self, w: &[f32], g: &[f32], lr: f64, wd: f64, c: &TrainConfig) -> Vec<f64> {
        let (b1, b2, eps) = (f64::from(c.beta1), f64::from(c.beta2), f64::from(c.eps));
        self.t += 1;
        (0..w.len())
            .map(|i| {
                let g = f64::from(g[i]);
                self.m[i] = b1 * self.m[i] + (1.0 - b1) * g;
                self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g;
                let mh = self.m[i] / (1.0 - b1.powi(self.t));
                let vh = self.v[i] / (1.0 - b2.powi(self.t));
                f64::from(w[i]) * (1.0 - lr * wd) - lr * mh / (vh.sqrt() + eps)
            })
            .collect()
    }
}

fn assert_close(got: &[Vec<f32>], want: &[Vec<f64>], tol: f64, what: &str) {
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                (f64::from(*a) - b).abs() <= tol,
                "{what}: tensor {t} element {i}: {a} vs {b}"
            );
        }
    }
}

fn group_cfg() -> TrainConfig {
    TrainConfig {
        max_steps: 2,
        lr: 1e-2,
        warmup_steps: Some(0),
        decay: DecayKind::Constant,
        clip_grad_norm: 0.0,
        grad_accum: 1,
        checkpoint_every: 0,
        keep_last_n: 0,
        log_every: 1,
        seed: 3,
        weight_decay: 0.1,
        param_groups: vec![
            ParamGroupConfig::paths("w1", ["l1.weight"], 2.0).with_weight_decay(0.0),
            ParamGroupConfig::contains("head", ["l2"], 0.5),
        ],
        ..Default::default()
    }
}

#[test]
fn group_lrs_and_weight_decay_match_two_hand_run_adamw_steps() {
    let _serial = crate::toy::serial();
    let c = group_cfg();
    let dev = device();
    let m0 = Mlp::new(&dev);
    let w0 = weight_values(&m0);
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let first = RunOptions {
        stop_after: Some(1),
        ..opts(one.path())
    };
    let after1 = train(&c, &first, m0.clone(), &mut data()).unwrap().model;
    let after2 = train(&c, &opts(two.path()), m0.clone(), &mut data()).unwrap();
    assert_eq!(after2.step, 2);

    // The loop's batches: the data source fed from the loop RNG.
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
    let mut src = data();
    let b1 = src.next_batch(&mut rng).unwrap();
    let b2 = src.next_batch(&mut rng).unwrap();

    // (lr, weight decay) per tensor: l1.weight in "w1", l1.bias in no group, l2.* in "head".
    let lw = [
        (2.0 * c.lr, 0.0),
        (c.lr, 0.1),
        (0.5 * c.lr, 0.1),
        (0.5 * c.lr, 0.1),
    ];
    let mut adam: Vec<HandAdamW> = w0.iter().map(|w| HandAdamW::new(w.len())).collect();
    let g1 = grad_values(&m0, &b1);
    let want1: Vec<Vec<f64>> = (0..4)
        .map(|t| adam[t].step(&w0[t], &g1[t], lw[t].0, f64::from(lw[t].1 as f32), &c))
        .collect();
    let w1 = weight_values(&after1);
    assert_close(&w1, &want1, 1e-6, "step 1");
    // The first AdamW step moves each weight by about lr (|m^/sqrt(v^)| ~ 1): check the ratio
    // is really there (2 lr on l1.weight against 0.5 lr on l2.weight).
    let moved = |t: usize| -> f64 {
        w1[t]
            .iter()
            .zip(&w0[t])
            .map(|(a, b)| f64::from((a - b).abs()))
            .fold(0.0, f64::max)
    };
    assert!(
        moved(0) > 1.5 * c.lr && moved(0) <= 2.0 * c.lr * 1.001,
        "{}",
        moved(0)
    );
    assert!(moved(2) <= 0.5 * c.lr * 1.1, "{}", moved(2));

    // Step 2 from the loop's own step-1 weights (so f32 rounding does not compound).
    let g2 = grad_values(&after1, &b2);
    let want2: Vec<Vec<f64>> = (0..4)
        .map(|t| adam[t].step(&w1[t], &g2[t], lw[t].0, f64::from(lw[t].1 as f32), &c))
        .collect();
    assert_close(&weight_values(&after2.model), &want2, 1e-6, "step 2");

    let rows = read_metrics(&two.path().join("metrics.jsonl")).unwrap();
    assert_eq!(rows[1].extra["lr_w1"].as_f64().unwrap(), 2.0 * c.lr);
    assert_eq!(rows[1].extra["lr_head"].as_f64().unwrap(), 0.5 * c.lr);
}

#[test]
fn zero_lr_scale_freezes_a_group_and_others_move() {
    let _serial = crate::toy::serial();
    let d = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        max_steps: 6,
        weight_decay: 0.05,
        param_groups: vec![ParamGroupConfig::contains("head", ["l2"], 0.0)],
        ..cfg()
    };
    let m0 = Mlp::new(&device());
    let before = weight_bytes(&m0);
    let out = train(&c, &opts(d.path()), m0, &mut data()).unwrap();
    let after = weight_bytes(&out.model);
    assert_ne!(before[0], after[0]);
    assert_ne!(before[1], after[1]);
    assert_eq!(before[2], after[2]);
    assert_eq!(before[3], after[3]);
}

#[test]
fn resume_with_groups_is_bit_exact() {
    let _serial = crate::toy::serial();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = TrainConfig {
        weight_decay: 0.01,
        param_groups: vec![
            ParamGroupConfig::contains("first", ["l1"], 0.5).with_weight_decay(0.0),
            // Gradient ascent, as for Lagrangian multipliers (needs weight decay 0).
            ParamGroupConfig::paths("ascent", ["l2.bias"], -0.5).with_weight_decay(0.0),
        ],
        ..cfg()
    };
    let straight = train(&c, &opts(a.path()), Mlp::new(&device()), &mut data()).unwrap();
    let first = RunOptions {
        stop_after: Some(12),
        ..opts(b.path())
    };
    train(&c, &first, Mlp::new(&device()), &mut data()).unwrap();
    fs::remove_file(checkpoint_dir(b.path(), 12).join("meta.json")).unwrap();
    let again = RunOptions {
        resume: true,
        ..opts(b.path())
    };
    let resumed = train(&c, &again, Mlp::new(&device()), &mut data()).unwrap();
    assert_eq!(resumed.resumed_from, Some(10));
    assert_eq!(weight_bytes(&straight.model), weight_bytes(&resumed.model));
    // The optimizer record keeps each parameter's path, so burn routes the states back to
    // their group's AdamW; the meta.json config keeps the groups.
    let meta = read_meta(&checkpoint_dir(b.path(), 20)).unwrap();
    assert_eq!(meta.config["param_groups"][1]["name"], "ascent");
}

fn group_error(c: &TrainConfig) -> (String, String) {
    let d = tempfile::tempdir().unwrap();
    match train(c, &opts(d.path()), Mlp::new(&device()), &mut data()).unwrap_err() {
        TrainError::ParamGroup { group, got, .. } => (group, got),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_groups_are_named() {
    let _serial = crate::toy::serial();
    let with = |g: Vec<ParamGroupConfig>| TrainConfig {
        param_groups: g,
        ..cfg()
    };
    let (g, got) = group_error(&with(vec![ParamGroupConfig::contains(
        "cnn",
        ["encoder"],
        0.1,
    )]));
    assert_eq!(g, "cnn");
    assert!(got.contains("0 of 4"), "{got}");
    let (g, got) = group_error(&with(vec![
        ParamGroupConfig::contains("a", ["l1"], 0.1),
        ParamGroupConfig::paths("b", ["l1.bias"], 2.0),
    ]));
    assert_eq!(g, "b");
    assert!(got.contains("l1.bias") && got.contains("`a`"), "{got}");
    // Negative lr with an inherited weight decay.
    let mut c = with(vec![ParamGroupConfig::paths("lambda", ["l2.bias"], -1.0)]);
    c.weight_decay = 0.01;
    assert_eq!(group_error(&c).0, "lambda");
    // Two selectors; a bad regex; a repeated name.
    let mut two = ParamGroupConfig::contains("x", ["l1"], 1.0);
    two.regex = Some("l2".into());
    assert_eq!(group_error(&with(vec![two])).0, "x");
    assert_eq!(
        group_error(&with(vec![ParamGroupConfig::regex("re", "l1(", 1.0)])).0,
        "re"
    );
    let dup = ParamGroupConfig::contains("x", ["l1"], 1.0);
    assert_eq!(group_error(&with(vec![dup.clone(), dup])).0, "x");
}

#[test]
fn groups_parse_from_toml_and_match_by_id() {
    let _serial = crate::toy::serial();
    let text = r#"
        max_steps = 10
        [[param_groups]]
        name = "cnn"
        contains = ["l1"]
        lr_scale = 0.1
        [[param_groups]]
        name = "lambdas"
        regex = "^l2\\.bias$"
        lr_scale = -1.0
        weight_decay = 0.0
    "#;
    let c = TrainConfig::from_toml_str(text, None).unwrap();
    assert_eq!(
        c.param_groups,
        vec![
            ParamGroupConfig::contains("cnn", ["l1"], 0.1),
            ParamGroupConfig::regex("lambdas", "^l2\\.bias$", -1.0).with_weight_decay(0.0),
        ]
    );
    let back = TrainConfig::from_toml_str(&toml::to_string(&c).unwrap(), None).unwrap();
    assert_eq!(back, c);
    let e = TrainConfig::from_toml_str("[[param_groups]]\nname = \"a\"\nlr = 1.0\n", None);
    assert!(matches!(e, Err(TrainError::ConfigParse { .. })), "{e:?}");

    // Ids become exact paths.
    let m = Mlp::new(&device());
    let ids = burn::module::list_param_ids(&m);
    let g = ParamGroupConfig::from_ids("last", &m, &ids[2..], 0.5);
    assert_eq!(
        g.paths,
        vec!["l2.bias".to_string(), "l2.weight".to_string()]
    );
    let r = ResolvedGroups::resolve(&[g], &m, 0.0).unwrap();
    assert_eq!(r.members("last").unwrap().len(), 2);
}
