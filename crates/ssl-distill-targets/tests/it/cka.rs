//! Linear CKA against numpy (`tools/reference/cka.py`) and its invariances.

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use ssl_distill_targets::{cka_matrix, linear_cka};

const X: [f32; 18] = [
    1.0, 2.0, 0.5, 0.0, 1.0, -1.0, 3.0, -1.0, 2.0, 2.0, 0.0, 1.0, -1.0, 1.5, 0.0, 0.5, 0.5, 0.5,
];
const Y: [f32; 12] = [
    0.3, 1.0, 1.2, -0.4, -0.7, 2.2, 0.0, 0.9, 1.1, 1.0, -0.5, 0.1,
];

fn m(values: &[f32], rows: usize, cols: usize, d: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [rows, cols]), d)
}

#[test]
fn equals_numpy_reference() {
    let d = Device::flex();
    let v = linear_cka(m(&X, 6, 3, &d), m(&Y, 6, 2, &d));
    assert!((v - 0.736_545_457_5).abs() < 1e-5, "{v}");
}

#[test]
fn identity_scaling_and_rotation_invariance() {
    let d = Device::flex();
    let x = Tensor::<2>::random([50, 4], Distribution::Normal(0.0, 1.0), &d);
    assert!((linear_cka(x.clone(), x.clone()) - 1.0).abs() < 1e-5);
    assert!((linear_cka(x.clone(), x.clone() * 3.5 + 2.0) - 1.0).abs() < 1e-5);
    // A rotation in the plane of the first two features.
    let (c, s) = (0.6f32, 0.8f32);
    let r = m(
        &[
            c, -s, 0.0, 0.0, s, c, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ],
        4,
        4,
        &d,
    );
    let y = Tensor::<2>::random([50, 3], Distribution::Normal(0.0, 1.0), &d);
    let a = linear_cka(x.clone(), y.clone());
    let b = linear_cka(x.matmul(r), y);
    assert!((a - b).abs() < 1e-5, "{a} vs {b}");
}

#[test]
fn matrix_is_symmetric_with_unit_diagonal() {
    let d = Device::flex();
    let layers = vec![m(&X, 6, 3, &d), m(&Y, 6, 2, &d), m(&X, 6, 3, &d) * -2.0];
    let c = cka_matrix(&layers);
    for (i, row) in c.iter().enumerate() {
        assert_eq!(row[i], 1.0);
        for (j, v) in row.iter().enumerate() {
            assert_eq!(*v, c[j][i]);
        }
    }
    assert!((c[0][1] - 0.736_545_457_5).abs() < 1e-5);
    assert!((c[0][2] - 1.0).abs() < 1e-5);
}
