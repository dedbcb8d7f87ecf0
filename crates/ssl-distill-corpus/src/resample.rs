//! Deterministic 22050 Hz → 16000 Hz polyphase windowed-sinc resampler (ratio 320/441).
//!
//! Not the audio crate's rubato resampler: this crate depends on no other crate of the
//! workspace (it sits on the lowest floor, beside espeak-ng), and this filter defines the
//! samples of every corpus generated so far (bit-identical for a seed, the bundled
//! `assets/demo-corpus` included); rubato's longer filter would change them all.

/// Sample rate of every written WAV file: the models' rate (`ssl_distill_audio::SAMPLE_RATE`),
/// repeated because this crate depends on no other crate of the workspace.
pub const SAMPLE_RATE: u32 = 16_000;

const UP: usize = 320;
const DOWN: usize = 441;
const HALF: isize = 24;

/// Filter table: `UP` phases × `2*HALF` taps.
fn table() -> Vec<f32> {
    // Cutoff a bit below the output Nyquist, in units of the input sample rate.
    let fc = 0.5 * (UP as f64 / DOWN as f64) * 0.94;
    let mut t = Vec::with_capacity(UP * 2 * HALF as usize);
    for phase in 0..UP {
        let frac = phase as f64 / UP as f64;
        let mut row: Vec<f64> = (-HALF + 1..=HALF)
            .map(|k| {
                let x = k as f64 - frac;
                let sinc = if x.abs() < 1e-12 {
                    2.0 * fc
                } else {
                    (std::f64::consts::TAU * fc * x).sin() / (std::f64::consts::PI * x)
                };
                let w = x / HALF as f64;
                let win = if w.abs() >= 1.0 {
                    0.0
                } else {
                    0.42 + 0.5 * (std::f64::consts::PI * w).cos()
                        + 0.08 * (std::f64::consts::TAU * w).cos()
                };
                sinc * win
            })
            .collect();
        let sum: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
        t.extend(row.iter().map(|&v| v as f32));
    }
    t
}

/// Resample 22050 Hz PCM to 16000 Hz (floats in the i16 scale).
pub(crate) fn to_16k(x: &[i16]) -> Vec<f32> {
    let tab = table();
    let n_out = x.len() * UP / DOWN;
    let taps = 2 * HALF as usize;
    (0..n_out)
        .map(|n| {
            let pos = n * DOWN;
            let i0 = (pos / UP) as isize;
            let phase = pos % UP;
            let row = &tab[phase * taps..(phase + 1) * taps];
            let mut acc = 0.0f32;
            for (j, k) in (-HALF + 1..=HALF).enumerate() {
                let i = i0 + k;
                if i >= 0 && (i as usize) < x.len() {
                    acc += row[j] * f32::from(x[i as usize]);
                }
            }
            acc
        })
        .collect()
}

/// Convert a 22050 Hz sample index to 16 kHz.
pub(crate) fn index_to_16k(i: usize) -> usize {
    (i * UP + DOWN / 2) / DOWN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_low_tone_and_length() {
        let x: Vec<i16> = (0..22050)
            .map(|i| (10000.0 * (std::f64::consts::TAU * 440.0 * i as f64 / 22050.0).sin()) as i16)
            .collect();
        let y = to_16k(&x);
        assert_eq!(y.len(), 16000);
        let rms = (y[1000..15000].iter().map(|v| v * v).sum::<f32>() / 14000.0).sqrt();
        assert!((rms - 10000.0 / 2f32.sqrt()).abs() < 70.0, "rms {rms}");
        assert_eq!(index_to_16k(22050), 16000);
    }
}
