//! The Fbank front-end: frames on the teacher's grid, padding, gradients, parameter counts.

use burn::tensor::{Device, Distribution, Tensor, s};
use ssl_distill_models::{SslConfig, SslInput};
use ssl_distill_students::{FbankFrontEndConfig, FrontEndConfig, StudentConfig};

use crate::util::{max_diff, padding_mask, tiny_cnn_student, tiny_fbank_student, wave};

/// Frame counts equal the wav2vec 2.0 CNN's, `floor((L − 400) / 320) + 1`, for every length
/// class: by formula for 400..40000 samples, and by running both front-ends at the edges.
#[test]
fn fbank_frames_line_up_with_the_teacher_cnn() {
    let device = Device::flex();
    let teacher = SslConfig::tiny().init(&device);
    let student = tiny_fbank_student().init(&device).unwrap();
    let fbank = student.fbank.as_ref().unwrap();
    // Every residue of L modulo 320 around the frame boundaries, plus a sweep.
    let mut lengths: Vec<usize> = (400..40000).step_by(37).collect();
    for base in [400, 720, 16000, 39680] {
        lengths.extend((base.max(401) - 1..base + 2).chain([base + 159, base + 160, base + 161]));
    }
    lengths.extend([399, 40000]);
    for &l in &lengths {
        let want = ssl_distill_audio::num_frames(l);
        assert_eq!(student.num_frames(l), want, "L = {l}");
        assert_eq!(fbank.num_frames(l), want, "L = {l}");
        assert_eq!(teacher.num_frames(l), want, "L = {l}");
        // Output frame t is centred on Fbank frame 2t: samples [320 t, 320 t + 400).
        if want > 0 {
            let fbank_frames = fbank.fbank().num_frames(l);
            assert!(2 * (want - 1) < fbank_frames, "L = {l}");
            assert_eq!(fbank.fbank().window_shift() * 2, 320);
            assert_eq!(fbank.fbank().window_size(), 400);
        }
    }
    for l in [
        400, 401, 559, 560, 719, 720, 1039, 1040, 16000, 16080, 40000,
    ] {
        let w = wave(1, l, &device);
        let s = student.forward(SslInput::new(w.clone()));
        let t = teacher.forward(SslInput::new(w));
        let frames = ssl_distill_audio::num_frames(l);
        assert_eq!(s.backbone.cnn_features.dims(), [1, frames, 16], "L = {l}");
        assert_eq!(t.cnn_features.dims(), [1, frames, 16], "L = {l}");
        assert_eq!(s.backbone.hidden_states[2].dims(), [1, frames, 32]);
    }
}

/// A padded batch gives the CNN student's frame mask, and each row's valid frames equal the
/// row run alone.
#[test]
fn fbank_padding_mask_matches_the_cnn_and_padding_does_not_leak() {
    let device = Device::flex();
    let fbank = tiny_fbank_student().init(&device).unwrap();
    let cnn = tiny_cnn_student().init(&device).unwrap();
    let lengths = [16000, 9001, 5000, 720];
    let samples = 16000;
    let w = wave(lengths.len(), samples, &device);
    let mask = padding_mask(&lengths, samples, &device);
    let input = SslInput::new(w.clone()).with_padding_mask(mask);
    let f = fbank.forward(input.clone());
    let c = cnn.forward(input);
    let f_mask = f.backbone.frame_mask.clone().unwrap().into_data();
    assert_eq!(f_mask, c.backbone.frame_mask.unwrap().into_data());
    let (want, frames) = ssl_distill_audio::frame_padding_mask(&lengths, samples);
    assert_eq!(f_mask.try_into_vec::<bool>().unwrap(), want);
    for (b, &n) in lengths.iter().enumerate() {
        let alone = fbank.forward(SslInput::new(w.clone().slice(s![b..b + 1, 0..n])));
        let valid = ssl_distill_audio::num_frames(n);
        assert!(valid <= frames);
        let padded = f
            .backbone
            .cnn_features
            .clone()
            .slice(s![b..b + 1, 0..valid]);
        let d = max_diff(padded, alone.backbone.cnn_features.clone());
        assert!(d < 1e-5, "row {b}: cnn_features differ by {d}");
        let padded = f.predictions[0].clone().slice(s![b..b + 1, 0..valid]);
        let d = max_diff(padded, alone.predictions[0].clone());
        assert!(d < 1e-4, "row {b}: predictions differ by {d}");
    }
}

/// The subsampler (and everything above it) gets gradients through the Fbank front-end; the
/// student has no waveform CNN parameters.
#[test]
fn fbank_student_gets_gradients_through_the_subsampler() {
    let device = Device::flex().autodiff();
    let student = tiny_fbank_student().init(&device).unwrap();
    assert!(student.backbone.feature_extractor.conv_layers.is_empty());
    let out = student.forward(SslInput::new(wave(2, 4000, &device)));
    let loss = out
        .predictions
        .iter()
        .map(|p| p.clone().powi_scalar(2).mean())
        .reduce(|a, b| a + b)
        .unwrap();
    let grads = loss.backward();
    let fbank = student.fbank.as_ref().unwrap();
    assert_eq!(fbank.conv_layers.len(), 2);
    for (i, conv) in fbank.conv_layers.iter().enumerate() {
        let g = conv.weight.grad(&grads).expect("subsampler gradient");
        let norm: f32 = g.powi_scalar(2).sum().into_scalar();
        assert!(norm > 0.0 && norm.is_finite(), "conv {i}: {norm}");
    }
    let g = student
        .backbone
        .feature_projection
        .projection
        .weight
        .grad(&grads);
    assert!(g.is_some());
}

/// The Fbank front-end's parameters replace the CNN's in `backbone_params`: for a DistilHuBERT
/// student, 23.49 M − 4.20 M (CNN) + 0.39 M (subsampler) = 19.68 M.
#[test]
fn fbank_student_counts_the_subsampler_instead_of_the_cnn() {
    let device = Device::flex();
    let cnn = StudentConfig::distilhubert().init(&device).unwrap();
    let fbank_cfg = StudentConfig::distilhubert()
        .with_front_end(FrontEndConfig::Fbank(FbankFrontEndConfig::new()));
    let fbank = fbank_cfg.init(&device).unwrap();
    let cnn_params = burn::module::Module::num_params(&cnn.backbone.feature_extractor);
    let subsampler = (80 * 512 * 3 + 512) + (512 * 512 + 512);
    assert_eq!(cnn_params, 4_200_448);
    assert_eq!(
        burn::module::Module::num_params(fbank.fbank.as_ref().unwrap()),
        subsampler
    );
    assert_eq!(
        fbank.backbone_params(),
        cnn.backbone_params() - cnn_params + subsampler
    );
    assert_eq!(fbank.head_params(), cnn.head_params());
    println!(
        "DistilHuBERT backbone: CNN {:.4} M, Fbank {:.4} M; heads {:.4} M",
        cnn.backbone_params() as f64 / 1e6,
        fbank.backbone_params() as f64 / 1e6,
        cnn.head_params() as f64 / 1e6
    );
}

/// The Fbank features are torchaudio's `kaldi.fbank(x * 32768)` (the audio crate's), per row
/// over its valid samples, normalised per utterance.
#[test]
fn fbank_features_are_the_audio_crates_per_valid_row() {
    let device = Device::flex();
    let student = tiny_fbank_student()
        .with_front_end(FrontEndConfig::Fbank(
            FbankFrontEndConfig::new()
                .with_channels(8)
                .with_utterance_cmvn(false),
        ))
        .init(&device)
        .unwrap();
    let fe = student.fbank.as_ref().unwrap();
    let w = Tensor::<2>::random([2, 3000], Distribution::Normal(0.0, 0.1), &device);
    let mask = padding_mask(&[3000, 1200], 3000, &device);
    let feats = fe.features(w.clone(), Some(&mask));
    let frames = fe.fbank().num_frames(3000);
    assert_eq!(feats.dims(), [2, frames, 80]);
    let host: Vec<f32> = w.into_data().try_into_vec().unwrap();
    for (b, n) in [(0, 3000), (1, 1200)] {
        let want = fe.fbank().compute(&host[b * 3000..b * 3000 + n]).unwrap();
        let got: Vec<f32> = feats
            .clone()
            .slice(s![b..b + 1, 0..want.frames])
            .into_data()
            .try_into_vec()
            .unwrap();
        assert_eq!(got, want.data, "row {b}");
    }
    // Beyond row 1's valid frames: zeros.
    let tail: f32 = feats
        .slice(s![1..2, fe.fbank().num_frames(1200)..frames])
        .abs()
        .sum()
        .into_scalar();
    assert_eq!(tail, 0.0);
}
