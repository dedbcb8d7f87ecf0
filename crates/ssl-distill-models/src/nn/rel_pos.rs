//! WavLM's bucketed relative positions (HF `WavLMAttention._relative_positions_bucket`).
//!
//! Paper: WavLM (Chen et al. 2022, arXiv:2110.13900), §2.2: the relative distance
//! `key - query` is bucketed like T5's: half of the buckets per sign, exact below
//! `num_buckets / 4`, logarithmic up to `max_distance`, capped.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// The bucket of relative distance `rel = key - query`.
///
/// With `num_buckets` 320 and `max_distance` 800: 0 → 0, 1 → 161, −1 → 1, 79 → 239,
/// 80 → 240, 100 → 247, −1000 → 159, ≥ 799 → 319 (values measured on transformers 5.23).
pub fn relative_position_bucket(rel: i64, num_buckets: usize, max_distance: usize) -> usize {
    let half = num_buckets / 2;
    let mut bucket = if rel > 0 { half } else { 0 };
    let dist = rel.unsigned_abs() as usize;
    let max_exact = half / 2;
    if dist < max_exact {
        bucket += dist;
    } else {
        // HF computes this in float32; f32 keeps its truncation at the same integers.
        let ratio = (dist as f32 / max_exact as f32).ln()
            / (max_distance as f32 / max_exact as f32).ln()
            * (half - max_exact) as f32;
        let large = (max_exact as f32 + ratio) as usize;
        bucket += large.min(half - 1);
    }
    bucket
}

/// The `[frames, frames]` matrix of buckets, row = query, column = key.
pub fn bucket_matrix(
    frames: usize,
    num_buckets: usize,
    max_distance: usize,
    device: &Device,
) -> Tensor<2, Int> {
    let mut data = Vec::with_capacity(frames * frames);
    for q in 0..frames {
        for k in 0..frames {
            let b = relative_position_bucket(k as i64 - q as i64, num_buckets, max_distance);
            data.push(b as i64);
        }
    }
    Tensor::from_data(TensorData::new(data, [frames, frames]), device)
}

#[cfg(test)]
mod tests {
    use super::relative_position_bucket as bucket;

    #[test]
    fn matches_measured_hf_buckets() {
        for (rel, want) in [
            (-1000, 159),
            (-500, 143),
            (-200, 111),
            (-100, 87),
            (-80, 80),
            (-79, 79),
            (-1, 1),
            (0, 0),
            (1, 161),
            (79, 239),
            (80, 240),
            (100, 247),
            (200, 271),
            (500, 303),
            (799, 319),
            (5000, 319),
        ] {
            assert_eq!(bucket(rel, 320, 800), want, "rel {rel}");
        }
    }
}
