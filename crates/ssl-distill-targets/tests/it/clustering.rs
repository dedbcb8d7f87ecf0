//! Clustering a small matrix with known structure.

use ssl_distill_targets::{Linkage, cluster};

/// Layers 0-2 are close to each other, 3-4 are close, 5 is alone; 5 is nearer to 3-4 than to 0-2.
fn blocks() -> Vec<Vec<f64>> {
    let group = [0, 0, 0, 1, 1, 2];
    let centre = [0.0f64, 1.0, 1.6];
    (0..6)
        .map(|i| {
            (0..6)
                .map(|j| {
                    if i == j {
                        0.0
                    } else if group[i] == group[j] {
                        0.05 + 0.01 * (i + j) as f64 / 10.0
                    } else {
                        (centre[group[i]] - centre[group[j]]).abs()
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_linkage_finds_the_blocks() {
    for linkage in [
        Linkage::Average,
        Linkage::Complete,
        Linkage::Single,
        Linkage::Ward,
    ] {
        assert_eq!(
            cluster(&blocks(), 3, linkage, false),
            vec![vec![0, 1, 2], vec![3, 4], vec![5]],
            "{linkage:?}"
        );
        assert_eq!(
            cluster(&blocks(), 2, linkage, false),
            vec![vec![0, 1, 2], vec![3, 4, 5]],
            "{linkage:?}"
        );
        assert_eq!(cluster(&blocks(), 6, linkage, false).len(), 6);
        assert_eq!(
            cluster(&blocks(), 1, linkage, false),
            vec![(0..6).collect::<Vec<_>>()]
        );
    }
}

#[test]
fn contiguous_groups_are_runs() {
    // 0 and 3 are alike, but a contiguous grouping may not join them across 1-2.
    let mut d = vec![vec![1.0; 4]; 4];
    for (i, row) in d.iter_mut().enumerate() {
        row[i] = 0.0;
    }
    d[0][3] = 0.01;
    d[3][0] = 0.01;
    d[1][2] = 0.2;
    d[2][1] = 0.2;
    assert_eq!(
        cluster(&d, 3, Linkage::Average, false),
        vec![vec![0, 3], vec![1], vec![2]]
    );
    assert_eq!(
        cluster(&d, 3, Linkage::Average, true),
        vec![vec![0], vec![1, 2], vec![3]]
    );
    assert_eq!(
        cluster(&blocks(), 3, Linkage::Average, true),
        vec![vec![0, 1, 2], vec![3, 4], vec![5]]
    );
}
