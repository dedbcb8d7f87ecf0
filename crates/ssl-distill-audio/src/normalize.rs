//! Per-utterance waveform normalization, as HF's `Wav2Vec2FeatureExtractor(do_normalize=True)`.

/// Normalizes `wave` in place to zero mean and unit variance: `(x - mean) / sqrt(var + 1e-7)`.
///
/// This is `Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm` (population variance, the
/// 1e-7 inside the square root), which HuBERT Large and WavLM checkpoints expect when their
/// `preprocessor_config.json` says `do_normalize: true`. Statistics are accumulated in `f64`.
/// An empty slice is left as is.
pub fn normalize(wave: &mut [f32]) {
    if wave.is_empty() {
        return;
    }
    let n = wave.len() as f64;
    let mean = wave.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = wave
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    let scale = 1.0 / (var + 1e-7).sqrt();
    for x in wave.iter_mut() {
        *x = ((f64::from(*x) - mean) * scale) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_mean_unit_variance() {
        let mut w: Vec<f32> = (0..1000)
            .map(|i| (i as f32 * 0.01).sin() * 0.3 + 0.2)
            .collect();
        normalize(&mut w);
        let mean = w.iter().sum::<f32>() / 1000.0;
        let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 1000.0;
        assert!(mean.abs() < 1e-5, "{mean}");
        assert!((var - 1.0).abs() < 1e-4, "{var}");
    }

    #[test]
    fn hand_computed() {
        // mean 2, population variance 2/3 -> (x - 2) / sqrt(2/3 + 1e-7).
        let mut w = [1.0, 2.0, 3.0];
        normalize(&mut w);
        let s = (2.0f64 / 3.0 + 1e-7).sqrt();
        assert_eq!(w, [(-1.0 / s) as f32, 0.0, (1.0 / s) as f32]);
    }

    #[test]
    fn silence_stays_finite() {
        let mut w = [0.0f32; 16];
        normalize(&mut w);
        assert!(w.iter().all(|x| *x == 0.0));
    }
}
