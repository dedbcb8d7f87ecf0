//! Seeded k-means (k-means++ initialisation, then Lloyd iterations) on plain `f32` rows.
//!
//! Used to build a [`CodewordHead`](crate::CodewordHead) from teacher features when the
//! checkpoint has no HuBERT pretraining head, and to label frames for HuBERT-style pretraining.
//! Deterministic for a given seed (a built-in SplitMix64 generator, independent of `rand`);
//! assignment runs over all cores with scoped threads.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::KMeansError;

/// Fitted centroids.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Centroids, row-major `[k, dim]`.
    pub centroids: Vec<f32>,
    /// Feature dimension.
    pub dim: usize,
    /// Number of centroids.
    pub k: usize,
    /// Sum of squared distances of the training rows to their centroid after the last iteration.
    pub inertia: f64,
    /// Lloyd iterations run (stops early when no assignment changes).
    pub iterations: usize,
}

/// SplitMix64: a tiny, well-mixed deterministic generator. The corpus crate has its own copy:
/// the two crates share no dependency (both sit on the lowest floor), and fifteen lines are not
/// worth a crate of their own.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Squared Euclidean distance, accumulated in 8 lanes so the compiler vectorises it.
fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let d = x[l] - y[l];
            lanes[l] += d * d;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Nearest centroid and its squared distance for every row, in parallel over row chunks.
fn nearest(data: &[f32], dim: usize, centroids: &[f32]) -> Vec<(usize, f32)> {
    let n = data.len() / dim;
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let chunk_rows = n.div_ceil(threads).max(256);
    let mut out = vec![(0usize, 0f32); n];
    std::thread::scope(|s| {
        for (rows, slots) in data
            .chunks(chunk_rows * dim)
            .zip(out.chunks_mut(chunk_rows))
        {
            s.spawn(move || {
                for (row, slot) in rows.chunks_exact(dim).zip(slots.iter_mut()) {
                    let mut best = (0usize, f32::INFINITY);
                    for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
                        let d = sq_dist(row, centroid);
                        if d < best.1 {
                            best = (c, d);
                        }
                    }
                    *slot = best;
                }
            });
        }
    });
    out
}

impl KMeans {
    /// Fits `k` centroids to the rows of `data` (row-major `[n, dim]`): k-means++ seeding with
    /// `seed`, then at most `iters` Lloyd iterations. An emptied cluster is re-seeded with the row
    /// farthest from its centroid.
    ///
    /// # Errors
    /// [`KMeansError::Shape`] if `dim` is 0 or does not divide `data.len()`;
    /// [`KMeansError::TooFewRows`] if there are fewer rows than `k` (or `k` is 0);
    /// [`KMeansError::NonFinite`] if a value is NaN or infinite.
    pub fn fit(
        data: &[f32],
        dim: usize,
        k: usize,
        iters: usize,
        seed: u64,
    ) -> Result<Self, KMeansError> {
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(KMeansError::Shape {
                len: data.len(),
                dim,
            });
        }
        let n = data.len() / dim;
        if k == 0 || n < k {
            return Err(KMeansError::TooFewRows { rows: n, k });
        }
        if let Some(index) = data.iter().position(|v| !v.is_finite()) {
            return Err(KMeansError::NonFinite { index });
        }
        let row = |i: usize| &data[i * dim..(i + 1) * dim];
        let mut rng = SplitMix64(seed);

        // k-means++: first centre uniform, then proportional to squared distance.
        let mut centroids = Vec::with_capacity(k * dim);
        let first = (rng.next_u64() % n as u64) as usize;
        centroids.extend_from_slice(row(first));
        let mut d2: Vec<f32> = (0..n).map(|i| sq_dist(row(i), row(first))).collect();
        for _ in 1..k {
            let total: f64 = d2.iter().map(|&d| f64::from(d)).sum();
            let pick = if total > 0.0 {
                let target = rng.next_f64() * total;
                let mut acc = 0.0;
                let mut chosen = n - 1;
                for (i, &d) in d2.iter().enumerate() {
                    acc += f64::from(d);
                    if acc > target {
                        chosen = i;
                        break;
                    }
                }
                chosen
            } else {
                (rng.next_u64() % n as u64) as usize
            };
            centroids.extend_from_slice(row(pick));
            for (i, d) in d2.iter_mut().enumerate() {
                *d = d.min(sq_dist(row(i), row(pick)));
            }
        }

        // Lloyd.
        let mut assignment: Vec<usize> = vec![usize::MAX; n];
        let mut iterations = 0;
        let mut inertia = 0.0;
        for _ in 0..iters {
            let near = nearest(data, dim, &centroids);
            inertia = near.iter().map(|&(_, d)| f64::from(d)).sum();
            let changed = near.iter().zip(&assignment).any(|(&(c, _), &old)| c != old);
            if !changed {
                break;
            }
            iterations += 1;
            assignment = near.iter().map(|&(c, _)| c).collect();
            let mut sums = vec![0f64; k * dim];
            let mut counts = vec![0usize; k];
            for (i, &c) in assignment.iter().enumerate() {
                counts[c] += 1;
                for (s, &v) in sums[c * dim..(c + 1) * dim].iter_mut().zip(row(i)) {
                    *s += f64::from(v);
                }
            }
            let mut far: Vec<(usize, f32)> =
                near.iter().enumerate().map(|(i, &(_, d))| (i, d)).collect();
            far.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut far = far.into_iter();
            for c in 0..k {
                let dst = &mut centroids[c * dim..(c + 1) * dim];
                if counts[c] > 0 {
                    for (d, s) in dst.iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                        *d = (*s / counts[c] as f64) as f32;
                    }
                } else if let Some((i, _)) = far.next() {
                    dst.copy_from_slice(row(i));
                }
            }
        }
        if iterations == iters {
            inertia = nearest(data, dim, &centroids)
                .iter()
                .map(|&(_, d)| f64::from(d))
                .sum();
        }
        Ok(Self {
            centroids,
            dim,
            k,
            inertia,
            iterations,
        })
    }

    /// The nearest centroid of every row of `data` (row-major `[n, dim]`).
    ///
    /// # Errors
    /// [`KMeansError::Shape`] if `data.len()` is not a multiple of the fitted `dim`.
    pub fn assign(&self, data: &[f32]) -> Result<Vec<usize>, KMeansError> {
        if !data.len().is_multiple_of(self.dim) {
            return Err(KMeansError::Shape {
                len: data.len(),
                dim: self.dim,
            });
        }
        Ok(nearest(data, self.dim, &self.centroids)
            .into_iter()
            .map(|(c, _)| c)
            .collect())
    }

    /// The centroids as a `[k, dim]` tensor.
    pub fn centroids_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.centroids.clone(), [self.k, self.dim]),
            device,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well-separated blobs in 2-D.
    fn blobs() -> Vec<f32> {
        let mut rng = SplitMix64(7);
        let centres = [(0.0f32, 0.0f32), (10.0, 0.0), (0.0, 10.0)];
        let mut data = Vec::new();
        for i in 0..90 {
            let (cx, cy) = centres[i % 3];
            data.push(cx + rng.next_f64() as f32 - 0.5);
            data.push(cy + rng.next_f64() as f32 - 0.5);
        }
        data
    }

    #[test]
    fn separates_blobs() {
        let data = blobs();
        let km = KMeans::fit(&data, 2, 3, 50, 1).unwrap();
        let a = km.assign(&data).unwrap();
        for i in 0..90 {
            assert_eq!(a[i], a[i % 3], "row {i} not with its blob");
        }
        assert_ne!(a[0], a[1]);
        assert_ne!(a[1], a[2]);
        assert_ne!(a[0], a[2]);
        // Centroids are the blob means: within 0.2 of the true centres.
        for c in km.centroids.chunks_exact(2) {
            let near = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)]
                .iter()
                .any(|&(x, y): &(f32, f32)| (c[0] - x).abs() < 0.2 && (c[1] - y).abs() < 0.2);
            assert!(near, "centroid {c:?}");
        }
        assert!(km.inertia < 90.0 * 0.5, "inertia {}", km.inertia);
    }

    #[test]
    fn deterministic_for_a_seed() {
        let data = blobs();
        let a = KMeans::fit(&data, 2, 5, 20, 42).unwrap();
        let b = KMeans::fit(&data, 2, 5, 20, 42).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn hand_computed_one_dimension() {
        // Rows 0, 1, 10, 11 with k = 2: centroids 0.5 and 10.5, inertia 4 · 0.25 = 1.
        let km = KMeans::fit(&[0.0, 1.0, 10.0, 11.0], 1, 2, 10, 3).unwrap();
        let mut c = km.centroids.clone();
        c.sort_by(f32::total_cmp);
        assert_eq!(c, vec![0.5, 10.5]);
        assert!((km.inertia - 1.0).abs() < 1e-9);
        let a = km.assign(&[0.2, 10.9]).unwrap();
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            KMeans::fit(&[1.0, 2.0, 3.0], 2, 1, 5, 0),
            Err(KMeansError::Shape { len: 3, dim: 2 })
        ));
        assert!(matches!(
            KMeans::fit(&[1.0, 2.0], 1, 3, 5, 0),
            Err(KMeansError::TooFewRows { rows: 2, k: 3 })
        ));
        assert!(matches!(
            KMeans::fit(&[1.0, f32::NAN], 1, 1, 5, 0),
            Err(KMeansError::NonFinite { index: 1 })
        ));
    }
}
