//! CTC loss computed on the host with the forward-backward algorithm, attached to the graph
//! through its exact gradient.
//!
//! burn's CPU backend has no native CTC: its fallback builds the alpha recursion from tensor
//! ops, one step per frame, and autodiff records every one of them (thousands of tiny nodes per
//! batch), which made the PR probe spend most of its time there. The recursion itself is cheap
//! (`O(T × (2S + 1))` per utterance), so this module runs it in `f64` on the host, forward and
//! backward, and returns `value + (Σ log_probs · g) − stopgrad(Σ log_probs · g)`, whose value
//! is the loss and whose gradient with respect to `log_probs` is `g`, the CTC gradient
//! (minus the posterior occupancy of each class at each frame).

use burn::tensor::{Tensor, TensorData};

/// One utterance's CTC negative log-likelihood and its gradient with respect to the
/// log-probabilities (`[frames, classes]`, row-major; rows past `frames` untouched).
struct Utterance {
    nll: f64,
    grad: Vec<f64>,
}

fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// Forward-backward over `log_probs` (`frames × classes`, row-major) for `target` (no blank)
/// with blank `blank`. An impossible alignment gives an infinite loss and a zero gradient.
fn utterance(
    log_probs: &[f32],
    classes: usize,
    frames: usize,
    target: &[usize],
    blank: usize,
) -> Utterance {
    let lp = |t: usize, c: usize| f64::from(log_probs[t * classes + c]);
    // The extended label sequence: blank, l1, blank, l2, ..., blank.
    let s_len = 2 * target.len() + 1;
    let label = |s: usize| {
        if s.is_multiple_of(2) {
            blank
        } else {
            target[s / 2]
        }
    };
    // A skip from s - 2 to s is allowed onto a label that differs from the previous label.
    let can_skip = |s: usize| s >= 2 && s % 2 == 1 && label(s) != label(s - 2);
    let ninf = f64::NEG_INFINITY;
    let mut alpha = vec![ninf; frames * s_len];
    let mut beta = vec![ninf; frames * s_len];
    let mut grad = vec![0.0; frames * classes];
    if frames == 0 {
        return Utterance {
            nll: f64::INFINITY,
            grad,
        };
    }
    alpha[0] = lp(0, blank);
    if s_len > 1 {
        alpha[1] = lp(0, label(1));
    }
    for t in 1..frames {
        for s in 0..s_len {
            let prev = &alpha[(t - 1) * s_len..t * s_len];
            let mut a = prev[s];
            if s >= 1 {
                a = log_add(a, prev[s - 1]);
            }
            if can_skip(s) {
                a = log_add(a, prev[s - 2]);
            }
            alpha[t * s_len + s] = a + lp(t, label(s));
        }
    }
    let last = (frames - 1) * s_len;
    let mut log_p = alpha[last + s_len - 1];
    if s_len > 1 {
        log_p = log_add(log_p, alpha[last + s_len - 2]);
    }
    if log_p == ninf {
        return Utterance {
            nll: f64::INFINITY,
            grad,
        };
    }
    // beta[t][s]: log-probability of the frames after t given state s at t (emission at t
    // excluded), so alpha[t][s] + beta[t][s] is the log-probability of the paths through s at t.
    beta[last + s_len - 1] = 0.0;
    if s_len > 1 {
        beta[last + s_len - 2] = 0.0;
    }
    for t in (0..frames - 1).rev() {
        for s in 0..s_len {
            let next = (t + 1) * s_len;
            let mut b = beta[next + s] + lp(t + 1, label(s));
            if s + 1 < s_len {
                b = log_add(b, beta[next + s + 1] + lp(t + 1, label(s + 1)));
            }
            if s + 2 < s_len && can_skip(s + 2) {
                b = log_add(b, beta[next + s + 2] + lp(t + 1, label(s + 2)));
            }
            beta[t * s_len + s] = b;
        }
    }
    // d(-log p) / d log_probs[t][c] = -(posterior of class c at frame t).
    let mut occupancy = vec![ninf; classes];
    for t in 0..frames {
        occupancy.fill(ninf);
        for s in 0..s_len {
            let c = label(s);
            occupancy[c] = log_add(occupancy[c], alpha[t * s_len + s] + beta[t * s_len + s]);
        }
        for (c, &o) in occupancy.iter().enumerate() {
            grad[t * classes + c] = -(o - log_p).exp();
        }
    }
    Utterance { nll: -log_p, grad }
}

/// CTC loss of `log_probs` (`[batch, frames, classes]`, log-softmax outputs) against
/// `targets`, each utterance's loss divided by its target length and the batch averaged
/// (PyTorch's `reduction="mean"`); infinite losses (a target longer than its frames allow) are
/// zeroed (`zero_infinity`). Frames past `lengths[b]` get no gradient.
///
/// # Panics
/// If `lengths` or `targets` do not have one entry per batch item, or a length exceeds the
/// frames of `log_probs`.
pub fn ctc_loss_mean(
    log_probs: Tensor<3>,
    lengths: &[usize],
    targets: &[Vec<usize>],
    blank: usize,
) -> Tensor<1> {
    let [batch, frames, classes] = log_probs.dims();
    assert_eq!(lengths.len(), batch, "one length per batch item");
    assert_eq!(targets.len(), batch, "one target per batch item");
    let device = log_probs.device();
    let host: Vec<f32> = log_probs
        .clone()
        .detach()
        .try_into_vec_as::<f32>()
        .expect("f32 log-probabilities");
    let mut grad = vec![0.0f32; batch * frames * classes];
    let mut total = 0.0;
    for b in 0..batch {
        assert!(
            lengths[b] <= frames,
            "length {} > {frames} frames",
            lengths[b]
        );
        let start = b * frames * classes;
        let u = utterance(
            &host[start..start + lengths[b] * classes],
            classes,
            lengths[b],
            &targets[b],
            blank,
        );
        if !u.nll.is_finite() {
            continue;
        }
        let scale = 1.0 / (targets[b].len().max(1) * batch) as f64;
        total += u.nll * scale;
        for (g, &v) in grad[start..].iter_mut().zip(&u.grad) {
            *g = (v * scale) as f32;
        }
    }
    let grad = Tensor::<3>::from_data(TensorData::new(grad, [batch, frames, classes]), &device);
    let surrogate = (log_probs * grad).sum();
    let value = Tensor::<1>::from_data(TensorData::new(vec![total as f32], [1]), &device);
    surrogate.clone() - surrogate.detach() + value
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::loss::{CTCLossConfig, Reduction};
    use burn::tensor::activation::log_softmax;
    use burn::tensor::{Device, Distribution, Int};

    /// Loss and gradient against burn's own CTC (its tensor-op fallback, differentiated by
    /// autodiff) on random log-probabilities with repeated labels, different lengths and an
    /// impossible target.
    #[test]
    fn matches_burns_ctc_loss_and_gradient() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let (b, t, c) = (4, 12, 6);
        let lengths = [12usize, 9, 7, 2];
        let targets: Vec<Vec<usize>> = vec![vec![1, 2, 2, 3], vec![5, 5, 5], vec![4], vec![1, 1]];
        let logits =
            Tensor::<3>::random([b, t, c], Distribution::Normal(0.0, 2.0), &device).require_grad();
        let ours = ctc_loss_mean(log_softmax(logits.clone(), 2), &lengths, &targets, 0);
        let our_grad = logits.grad(&ours.backward()).unwrap();

        let logits2 = Tensor::<3>::from_data(logits.to_data(), &device).require_grad();
        let max_target = 4;
        let mut flat = vec![0i64; b * max_target];
        for (row, tg) in targets.iter().enumerate() {
            for (j, &v) in tg.iter().enumerate() {
                flat[row * max_target + j] = v as i64;
            }
        }
        let int1 = |v: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(v, [b]), &device);
        let theirs = CTCLossConfig::new()
            .with_zero_infinity(true)
            .init()
            .forward_with_reduction(
                log_softmax(logits2.clone(), 2).swap_dims(0, 1),
                Tensor::<2, Int>::from_data(TensorData::new(flat, [b, max_target]), &device),
                int1(lengths.iter().map(|&n| n as i64).collect()),
                int1(targets.iter().map(|t| t.len() as i64).collect()),
                Reduction::Mean,
            );
        let their_grad = logits2.grad(&theirs.backward()).unwrap();

        let (lo, lt): (f32, f32) = (ours.into_scalar(), theirs.into_scalar());
        assert!(
            (lo - lt).abs() < 1e-4 * lt.abs().max(1.0),
            "loss {lo} vs {lt}"
        );
        let (go, gt) = (
            our_grad.try_into_vec_as::<f32>().unwrap(),
            their_grad.try_into_vec_as::<f32>().unwrap(),
        );
        let worst = go
            .iter()
            .zip(&gt)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "largest gradient difference {worst}");
        // The impossible target (2 frames for [1, 1], which needs 3) contributes nothing.
        assert!(go[3 * t * c..].iter().all(|&g| g == 0.0));
    }

    /// A hand-checkable case: 2 frames, one label; p(path) summed over {a-, -a, aa}.
    #[test]
    fn two_frames_one_label_by_hand() {
        let device = Device::flex();
        // Frame probabilities: blank 0.6 / a 0.4, then blank 0.3 / a 0.7.
        let probs = [[0.6f32, 0.4], [0.3, 0.7]];
        let lp: Vec<f32> = probs.iter().flatten().map(|p| p.ln()).collect();
        let log_probs = Tensor::<3>::from_data(TensorData::new(lp, [1, 2, 2]), &device);
        let p = 0.4 * 0.3 + 0.6 * 0.7 + 0.4 * 0.7;
        let loss: f32 = ctc_loss_mean(log_probs, &[2], &[vec![1]], 0).into_scalar();
        assert!(
            (f64::from(loss) + f64::ln(p)).abs() < 1e-6,
            "{loss} vs {}",
            -f64::ln(p)
        );
    }
}
