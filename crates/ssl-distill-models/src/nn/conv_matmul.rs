//! 1-D convolution and per-channel GroupNorm on time-major `[batch, time, channels]` tensors,
//! written as one matrix product (and plain reductions), so that forward and backward are GEMMs
//! over the whole batch. Used by the conv feature extractor and the students' Fbank
//! subsampler.
//!
//! The conv feature extractor of wav2vec 2.0 (Baevski et al. 2020, arXiv:2006.11477, §2) has
//! kernels (10, 3, 3, 3, 3, 2, 2) and strides (5, 2, 2, 2, 2, 2, 2): every kernel is at most a
//! few strides long. Output frame `t` reads input frames `[s t, s t + k)`, so the `k` kernel taps
//! split into blocks of `s` consecutive frames; a full block `j` is the input slice
//! `[j s, j s + T s)` reshaped to `[batch, T, s × channels]` (a view, no im2col loop), and a
//! partial last block keeps the first (or last) of each block's taps. The blocks concatenated give the
//! `[batch × T, k × channels]` patch matrix, multiplied by the weight laid out as
//! `[k × channels, out]`. The result equals `burn::nn::conv::Conv1d` (PyTorch's `Conv1d`) on
//! the channel-first layout (pinned by this module's tests, forward and gradients); a network
//! kept time-major also skips the layout swaps around every conv and norm.

use burn::nn::conv::Conv1d;
use burn::nn::{GroupNorm, PaddingConfig1d};
use burn::tensor::{Tensor, s};

/// An unpadded, undilated, ungrouped 1-D convolution on a time-major input (pad by
/// concatenating zero frames, as [`conv1d_module_time_major`] does).
///
/// `weight` is PyTorch's `[out, channels, kernel]`, `bias` `[out]`.
///
/// # Shapes
/// - `x`: `[batch, samples, channels]` -> `[batch, frames, out]` with
///   `frames = (samples − kernel) / stride + 1`
///
/// # Panics
/// If the channels differ from the weight's, `samples < kernel` or `stride == 0`.
pub fn conv1d_time_major(
    x: Tensor<3>,
    weight: Tensor<3>,
    bias: Option<Tensor<1>>,
    stride: usize,
) -> Tensor<3> {
    let [batch, len, channels] = x.dims();
    let [out, channels_w, kernel] = weight.dims();
    assert_eq!(channels, channels_w, "conv input channels vs weight");
    assert!(stride > 0, "conv stride must be positive");
    assert!(
        len >= kernel,
        "conv input of {len} frames is shorter than its kernel {kernel}"
    );
    let frames = (len - kernel) / stride + 1;
    let mut blocks = Vec::with_capacity(kernel.div_ceil(stride));
    let mut tap = 0;
    while tap < kernel {
        let taps = stride.min(kernel - tap);
        blocks.push(tap_block(&x, tap, taps, frames, stride));
        tap += taps;
    }
    let patches = if blocks.len() == 1 {
        blocks.remove(0)
    } else {
        Tensor::cat(blocks, 2)
    };
    // [out, channels, kernel] -> [kernel, channels, out] -> rows in the patches' (tap, channel)
    // order.
    let w = weight.permute([2, 1, 0]).reshape([kernel * channels, out]);
    let y = patches
        .reshape([batch * frames, kernel * channels])
        .matmul(w);
    let y = match bias {
        Some(b) => y + b.unsqueeze::<2>(),
        None => y,
    };
    y.reshape([batch, frames, out])
}

/// Taps `[tap, tap + taps)` of every output frame as `[batch, frames, taps × channels]`
/// (`taps ≤ stride`): frame `f` reads input frames `tap + f·stride + i`, `i < taps`.
///
/// A block of `stride` consecutive frames per output frame is a contiguous slice reshaped; a
/// partial block (`taps < stride`) is the first or last `taps` frames of such a block. Only
/// plain ranges are sliced, never a stepped slice: burn-tch 0.22's backward of a stepped
/// slice fails ("view size is not compatible with input tensor's size and stride").
fn tap_block(x: &Tensor<3>, tap: usize, taps: usize, frames: usize, stride: usize) -> Tensor<3> {
    let [batch, len, channels] = x.dims();
    let block = |start: usize, x: Tensor<3>| {
        x.slice(s![.., start..start + frames * stride, ..])
            .reshape([batch, frames, stride * channels])
    };
    if tap + frames * stride <= len {
        // Stride blocks starting at `tap`; a partial block keeps each block's first taps.
        let b = block(tap, x.clone());
        if taps == stride {
            b
        } else {
            b.slice(s![.., .., ..taps * channels])
        }
    } else if tap + taps >= stride {
        // The blocks would run past the end: shift them left so they end with the taps.
        let skip = stride - taps;
        block(tap - skip, x.clone()).slice(s![.., .., skip * channels..])
    } else {
        // A kernel shorter than its stride near the end: zero frames fill the unused tail.
        let device = x.device();
        let pad = tap + frames * stride - len;
        let padded = Tensor::cat(
            vec![x.clone(), Tensor::zeros([batch, pad, channels], &device)],
            1,
        );
        block(tap, padded).slice(s![.., .., ..taps * channels])
    }
}

/// [`conv1d_time_major`] with the parameters of a burn [`Conv1d`] (PyTorch layout); explicit
/// padding is applied as zero frames concatenated on either side.
///
/// # Panics
/// If the conv has dilation, groups or `Same` padding (not needed here), or as
/// [`conv1d_time_major`].
pub fn conv1d_module_time_major(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    assert!(
        conv.dilation == 1 && conv.groups == 1,
        "time-major conv supports neither dilation nor groups"
    );
    let x = match conv.padding {
        PaddingConfig1d::Valid | PaddingConfig1d::Explicit(0, 0) => x,
        PaddingConfig1d::Explicit(left, right) => {
            let [batch, _, channels] = x.dims();
            let device = x.device();
            let zeros = |n: usize| Tensor::<3>::zeros([batch, n, channels], &device);
            Tensor::cat(vec![zeros(left), x, zeros(right)], 1)
        }
        PaddingConfig1d::Same => panic!("time-major conv does not support `Same` padding"),
    };
    conv1d_time_major(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        conv.stride,
    )
}

/// A GroupNorm with one group per channel (each channel normalised over time, per item),
/// applied to a time-major input; equal to `GroupNorm(channels, channels)` on the channel-first
/// layout.
///
/// # Shapes
/// - `x`: `[batch, frames, channels]` -> same
///
/// # Panics
/// If the norm does not have one group per channel, or `channels` differs.
pub fn group_norm_per_channel_time_major(norm: &GroupNorm, x: Tensor<3>) -> Tensor<3> {
    let [_, _, channels] = x.dims();
    assert!(
        norm.num_groups == norm.num_channels && norm.num_channels == channels,
        "time-major GroupNorm needs one group per channel ({} groups, {} channels, input {channels})",
        norm.num_groups,
        norm.num_channels
    );
    let mean = x.clone().mean_dim(1);
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(1);
    let normalised = centred / var.add_scalar(norm.epsilon).sqrt();
    match (&norm.gamma, &norm.beta) {
        (Some(gamma), Some(beta)) => {
            normalised * gamma.val().reshape([1, 1, channels])
                + beta.val().reshape([1, 1, channels])
        }
        _ => normalised,
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::nn::GroupNormConfig;
    use burn::nn::conv::Conv1dConfig;
    use burn::tensor::{Device, Distribution};

    use super::*;

    /// Largest absolute difference relative to the reference's largest magnitude (at least 1).
    fn rel_diff<const D: usize>(got: Tensor<D>, want: Tensor<D>) -> f32 {
        let scale = want.clone().abs().max().into_scalar::<f32>().max(1.0);
        (got - want).abs().max().into_scalar::<f32>() / scale
    }

    fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    /// A time-major copy of a channel-first input, as its own parameter.
    fn time_major_copy(x: &Param<Tensor<3>>, device: &Device) -> Param<Tensor<3>> {
        Param::from_tensor(Tensor::from_data(
            x.val().swap_dims(1, 2).into_data(),
            device,
        ))
    }

    /// Forward and every gradient (input, weight, bias) against burn's `Conv1d` on the
    /// channel-first layout, for the extractor's kernel/stride pairs, a kernel not a multiple
    /// of the stride, odd and even lengths, with and without bias.
    #[test]
    fn conv_matches_burn_conv1d_forward_and_gradients() {
        let device = Device::flex().autodiff();
        device.seed(7);
        let cases = [
            // (channels_in, out, kernel, stride, samples, bias)
            (1, 8, 10, 5, 403, false),
            (6, 8, 3, 2, 41, false),
            (6, 8, 3, 2, 42, true),
            (6, 5, 2, 2, 17, false),
            (4, 3, 5, 2, 30, true),
            (3, 4, 3, 1, 12, false),
            (3, 4, 1, 1, 9, true),
            // A kernel shorter than its stride, padded (odd index) and at the end (even).
            (3, 4, 2, 3, 20, false),
            (3, 4, 2, 3, 20, true),
        ];
        for (i, (c_in, out, k, stride, len, bias)) in cases.into_iter().enumerate() {
            // Every other case also with the Fbank subsampler's explicit padding.
            let pad = if i % 2 == 1 { k / 2 } else { 0 };
            let conv = Conv1dConfig::new(c_in, out, k)
                .with_stride(stride)
                .with_bias(bias)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(&device);
            let x_ref = Param::from_tensor(random([2, c_in, len], &device));
            let x_tm = time_major_copy(&x_ref, &device);
            let probe = random([2, out, (len + 2 * pad - k) / stride + 1], &device);

            let want = conv.forward(x_ref.val());
            let got = conv1d_module_time_major(&conv, x_tm.val()).swap_dims(1, 2);
            let case =
                format!("c_in {c_in} out {out} k {k} s {stride} len {len} pad {pad} bias {bias}");
            assert!(
                rel_diff(got.clone().inner(), want.clone().inner()) <= 1e-5,
                "forward, {case}"
            );

            let g_want = (want * probe.clone()).sum().backward();
            let g_got = (got * probe).sum().backward();
            let dx_want = x_ref.grad(&g_want).unwrap();
            let dx_got = x_tm.grad(&g_got).unwrap().swap_dims(1, 2);
            assert!(rel_diff(dx_got, dx_want) <= 1e-5, "input gradient, {case}");
            let dw_want = conv.weight.grad(&g_want).unwrap();
            let dw_got = conv.weight.grad(&g_got).unwrap();
            assert!(rel_diff(dw_got, dw_want) <= 1e-5, "weight gradient, {case}");
            if let Some(b) = &conv.bias {
                let (want, got) = (b.grad(&g_want).unwrap(), b.grad(&g_got).unwrap());
                assert!(rel_diff(got, want) <= 1e-5, "bias gradient, {case}");
            }
        }
    }

    #[test]
    fn group_norm_matches_burn_group_norm_forward_and_gradients() {
        let device = Device::flex().autodiff();
        device.seed(11);
        let mut norm = GroupNormConfig::new(6, 6).init(&device);
        norm.gamma = Some(Param::from_tensor(random([6], &device)));
        norm.beta = Some(Param::from_tensor(random([6], &device)));
        let x_ref = Param::from_tensor(random([3, 6, 50], &device).mul_scalar(3.0).add_scalar(1.0));
        let x_tm = time_major_copy(&x_ref, &device);
        let probe = random([3, 6, 50], &device);

        let want = norm.forward(x_ref.val());
        let got = group_norm_per_channel_time_major(&norm, x_tm.val()).swap_dims(1, 2);
        assert!(rel_diff(got.clone().inner(), want.clone().inner()) <= 1e-5);

        let g_want = (want * probe.clone()).sum().backward();
        let g_got = (got * probe).sum().backward();
        let dx_got = x_tm.grad(&g_got).unwrap().swap_dims(1, 2);
        assert!(rel_diff(dx_got, x_ref.grad(&g_want).unwrap()) <= 1e-5);
        for p in [norm.gamma.as_ref().unwrap(), norm.beta.as_ref().unwrap()] {
            assert!(rel_diff(p.grad(&g_got).unwrap(), p.grad(&g_want).unwrap()) <= 1e-5);
        }
    }
}
