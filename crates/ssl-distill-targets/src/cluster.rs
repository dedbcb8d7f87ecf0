//! Agglomerative hierarchical clustering of layers from a similarity matrix (SKILL's layer
//! grouping), with kodama's linkages or our contiguous-groups variant.
//!
//! Distance = 1 − similarity (CKA). SKILL does not publish its linkage; average, complete,
//! single and Ward are offered (Ward assumes Euclidean distances, which 1 − CKA is not; it is
//! offered for comparison). The contiguous variant merges only neighbouring groups of layers
//! (average linkage), so every group is a run of consecutive layers.

use serde::{Deserialize, Serialize};

/// How the distance between two groups is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Linkage {
    /// Mean pairwise distance (UPGMA).
    Average,
    /// Largest pairwise distance.
    Complete,
    /// Smallest pairwise distance.
    Single,
    /// Ward's minimum variance.
    Ward,
}

/// Groups of item indices, each sorted, ordered by their first item.
pub type Groups = Vec<Vec<usize>>;

/// Clusters `n` items with distance matrix `dist` (`n × n`, symmetric) into `k` groups.
///
/// # Panics
/// If `k` is 0 or above `n`, or `dist` is not `n × n`.
pub fn cluster(dist: &[Vec<f64>], k: usize, linkage: Linkage, contiguous: bool) -> Groups {
    let n = dist.len();
    assert!(k >= 1 && k <= n, "cannot make {k} groups of {n} items");
    assert!(
        dist.iter().all(|row| row.len() == n),
        "distance matrix must be square"
    );
    let mut groups = if contiguous {
        contiguous_groups(dist, k)
    } else {
        kodama_groups(dist, k, linkage)
    };
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.sort_by_key(|g| g[0]);
    groups
}

/// One merge of the agglomerative clustering (kodama's step; SciPy's linkage row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merge {
    /// First cluster merged: `i < n` is item `i`, `n + s` the cluster made at step `s`.
    pub a: usize,
    /// Second cluster merged.
    pub b: usize,
    /// Their distance under the linkage.
    pub dissimilarity: f64,
    /// Items in the merged cluster.
    pub size: usize,
}

/// The full merge tree (`n − 1` merges) of the `n` items of distance matrix `dist` under
/// `linkage`, kodama's order; empty below two items.
///
/// # Panics
/// If `dist` is not `n × n`.
pub fn merge_tree(dist: &[Vec<f64>], linkage: Linkage) -> Vec<Merge> {
    let n = dist.len();
    if n < 2 {
        return Vec::new();
    }
    let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
    for (i, row) in dist.iter().enumerate() {
        condensed.extend_from_slice(&row[i + 1..]);
    }
    let method = match linkage {
        Linkage::Average => kodama::Method::Average,
        Linkage::Complete => kodama::Method::Complete,
        Linkage::Single => kodama::Method::Single,
        Linkage::Ward => kodama::Method::Ward,
    };
    kodama::linkage(&mut condensed, n, method)
        .steps()
        .iter()
        .map(|s| Merge {
            a: s.cluster1,
            b: s.cluster2,
            dissimilarity: s.dissimilarity,
            size: s.size,
        })
        .collect()
}

fn kodama_groups(dist: &[Vec<f64>], k: usize, linkage: Linkage) -> Groups {
    let n = dist.len();
    // Cluster `n + s` is made at step `s`; replay the first n - k merges.
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut alive: Vec<bool> = vec![true; n];
    for step in merge_tree(dist, linkage).iter().take(n - k) {
        let mut merged = std::mem::take(&mut members[step.a]);
        merged.append(&mut std::mem::take(&mut members[step.b]));
        alive[step.a] = false;
        alive[step.b] = false;
        members.push(merged);
        alive.push(true);
    }
    members
        .into_iter()
        .zip(alive)
        .filter(|(m, a)| *a && !m.is_empty())
        .map(|(m, _)| m)
        .collect()
}

fn contiguous_groups(dist: &[Vec<f64>], k: usize) -> Groups {
    let mut groups: Groups = (0..dist.len()).map(|i| vec![i]).collect();
    let avg = |a: &[usize], b: &[usize]| {
        let total: f64 = a
            .iter()
            .flat_map(|&i| b.iter().map(move |&j| dist[i][j]))
            .sum();
        total / (a.len() * b.len()) as f64
    };
    while groups.len() > k {
        let best = (0..groups.len() - 1)
            .min_by(|&x, &y| {
                avg(&groups[x], &groups[x + 1]).total_cmp(&avg(&groups[y], &groups[y + 1]))
            })
            .expect("at least two groups");
        let next = groups.remove(best + 1);
        groups[best].extend(next);
    }
    groups
}
