//! Linear CKA (Kornblith et al. 2019, arXiv:1905.00414) between layer representations.
//!
//! For feature matrices `X [n, d1]`, `Y [n, d2]` over the same `n` frames, centred per column:
//! `CKA(X, Y) = ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F)`. It is 1 for identical representations and
//! invariant to isotropic scaling and orthogonal transforms.

use burn::tensor::Tensor;

/// Centres every column of `x` `[n, d]`.
fn centre(x: Tensor<2>) -> Tensor<2> {
    let mean = x.clone().mean_dim(0);
    x - mean
}

/// `‖aᵀ b‖²_F` for centred `a`, `b` with the same rows.
fn cross(a: &Tensor<2>, b: &Tensor<2>) -> f64 {
    let m = a.clone().transpose().matmul(b.clone());
    f64::from(m.powi_scalar(2).sum().into_scalar::<f32>())
}

/// Linear CKA between two representations of the same frames.
///
/// # Panics
/// If the row counts differ.
pub fn linear_cka(x: Tensor<2>, y: Tensor<2>) -> f64 {
    assert_eq!(
        x.dims()[0],
        y.dims()[0],
        "CKA needs the same frames (rows) on both sides"
    );
    let (x, y) = (centre(x), centre(y));
    let xy = cross(&y, &x);
    let xx = cross(&x, &x).sqrt();
    let yy = cross(&y, &y).sqrt();
    if xx == 0.0 || yy == 0.0 {
        return 0.0;
    }
    xy / (xx * yy)
}

/// The symmetric matrix of linear CKA between every pair of `layers` (each `[n, d_i]`, same
/// `n`), with ones on the diagonal.
pub fn cka_matrix(layers: &[Tensor<2>]) -> Vec<Vec<f64>> {
    let centred: Vec<Tensor<2>> = layers.iter().cloned().map(centre).collect();
    let norms: Vec<f64> = centred.iter().map(|x| cross(x, x).sqrt()).collect();
    let n = layers.len();
    let mut m = vec![vec![1.0; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let v = if norms[i] == 0.0 || norms[j] == 0.0 {
                0.0
            } else {
                cross(&centred[j], &centred[i]) / (norms[i] * norms[j])
            };
            m[i][j] = v;
            m[j][i] = v;
        }
    }
    m
}
