//! `--device cpu|tch|tch-cuda[:N]|cuda[:N]|wgpu[:N]`: choosing a burn backend among those
//! compiled in, and a GPU of it.

use std::sync::OnceLock;

use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::ValueEnum;
use clap::builder::PossibleValue;

/// GPU indices accepted in `--device KIND:N` (`0..MAX_GPUS`).
const MAX_GPUS: usize = 16;

/// The backends (and GPUs) a user can ask for; each backend needs its cargo feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceArg {
    /// burn-flex on the CPU (feature `flex`, the default).
    Cpu,
    /// libtorch on the CPU (feature `tch`; see docs/backends.md).
    Tch,
    /// libtorch on CUDA GPU `N` (feature `tch` with a CUDA libtorch): `tch-cuda`, `tch-cuda:N`.
    TchCuda(usize),
    /// burn's CUDA backend on GPU `N` (feature `cuda`): `cuda`, `cuda:N`.
    Cuda(usize),
    /// wgpu: `wgpu` is whatever the machine offers (Vulkan, Metal, DX12, lavapipe), `wgpu:N`
    /// the `N`-th discrete GPU (feature `wgpu`).
    Wgpu(Option<usize>),
}

/// Every value `--device` accepts; the indexed forms are hidden from `--help`.
fn all_values() -> &'static [DeviceArg] {
    static ALL: OnceLock<Vec<DeviceArg>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = vec![
            DeviceArg::Cpu,
            DeviceArg::Tch,
            DeviceArg::TchCuda(0),
            DeviceArg::Cuda(0),
            DeviceArg::Wgpu(None),
        ];
        all.extend((1..MAX_GPUS).flat_map(|n| [DeviceArg::TchCuda(n), DeviceArg::Cuda(n)]));
        all.extend((0..MAX_GPUS).map(|n| DeviceArg::Wgpu(Some(n))));
        all
    })
}

impl ValueEnum for DeviceArg {
    fn value_variants<'a>() -> &'a [Self] {
        all_values()
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        // `cuda` and `tch-cuda` are GPU 0 (aliases `cuda:0`, `tch-cuda:0`); the other indexed
        // forms parse but are hidden from `--help`.
        let indexed = |kind: &str, n: usize| {
            let name: &'static str = Box::leak(format!("{kind}:{n}").into_boxed_str());
            PossibleValue::new(name).hide(true)
        };
        Some(match *self {
            Self::Cpu => PossibleValue::new("cpu").help("burn-flex on the CPU (default build)"),
            Self::Tch => PossibleValue::new("tch").help("libtorch on the CPU (feature `tch`)"),
            Self::TchCuda(0) => PossibleValue::new("tch-cuda")
                .alias("tch-cuda:0")
                .help("libtorch on CUDA GPU N: tch-cuda[:N] (feature `tch`)"),
            Self::TchCuda(n) => indexed("tch-cuda", n),
            Self::Cuda(0) => PossibleValue::new("cuda")
                .alias("cuda:0")
                .help("burn's CUDA backend on GPU N: cuda[:N] (feature `cuda`)"),
            Self::Cuda(n) => indexed("cuda", n),
            Self::Wgpu(None) => PossibleValue::new("wgpu")
                .help("wgpu on any adapter; wgpu:N the N-th discrete GPU (feature `wgpu`)"),
            Self::Wgpu(Some(n)) => indexed("wgpu", n),
        })
    }
}

impl DeviceArg {
    /// The device, or an error naming the cargo feature to rebuild with.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => cpu(),
            Self::Tch => tch(),
            Self::TchCuda(n) => tch_cuda(n),
            Self::Cuda(n) => cuda(n),
            Self::Wgpu(None) => wgpu_any(),
            Self::Wgpu(Some(n)) => wgpu(n),
        }
    }

    /// `n` devices of this backend for data-parallel training: GPUs `i..i + n` of `cuda:i`,
    /// `tch-cuda:i` or `wgpu:i` (`wgpu` alone counts discrete GPUs from 0). The CPU backends
    /// (`cpu`, `tch`) have one device, so `n > 1` is an error there; `n = 1` is
    /// [`device`](Self::device).
    pub fn devices(self, n: usize) -> Result<Vec<Device>> {
        match (self, n) {
            (_, 0) => bail!("--num-devices must be at least 1"),
            (_, 1) => Ok(vec![self.device()?]),
            (Self::Cuda(i), n) => (i..i + n).map(cuda).collect(),
            (Self::TchCuda(i), n) => (i..i + n).map(tch_cuda).collect(),
            (Self::Wgpu(i), n) => {
                let first = i.unwrap_or(0);
                (first..first + n).map(wgpu).collect()
            }
            (Self::Cpu | Self::Tch, n) => bail!(
                "--num-devices {n}: the {} backend has a single device; data parallelism needs \
                 several GPUs (--device cuda, tch-cuda or wgpu)",
                if self == Self::Cpu { "cpu" } else { "tch" }
            ),
        }
    }
}

#[cfg_attr(
    all(feature = "flex", feature = "cuda", feature = "wgpu", feature = "tch"),
    expect(dead_code, reason = "every backend is compiled in: nothing to refuse")
)]
fn not_compiled(name: &str, feature: &str) -> Result<Device> {
    bail!(
        "--device {name}: this binary was built without the `{feature}` backend; rebuild with \
         `cargo build --release -p ssl-distill-cli --features {feature}` (see docs/backends.md)"
    )
}

#[cfg(feature = "flex")]
fn cpu() -> Result<Device> {
    Ok(Device::flex())
}
#[cfg(not(feature = "flex"))]
fn cpu() -> Result<Device> {
    not_compiled("cpu", "flex")
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Device> {
    Ok(Device::cuda(index))
}
#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Device> {
    not_compiled("cuda", "cuda")
}

#[cfg(feature = "wgpu")]
fn wgpu_any() -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}
#[cfg(not(feature = "wgpu"))]
fn wgpu_any() -> Result<Device> {
    not_compiled("wgpu", "wgpu")
}
#[cfg(feature = "wgpu")]
fn wgpu(index: usize) -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index)))
}
#[cfg(not(feature = "wgpu"))]
fn wgpu(_index: usize) -> Result<Device> {
    not_compiled("wgpu", "wgpu")
}

#[cfg(feature = "tch")]
#[expect(
    deprecated,
    reason = "burn-tch is deprecated upstream but requested as an opt-in backend"
)]
fn tch() -> Result<Device> {
    Ok(Device::libtorch())
}
#[cfg(not(feature = "tch"))]
fn tch() -> Result<Device> {
    not_compiled("tch", "tch")
}

/// libtorch's CUDA device `index`; libtorch itself reports a missing CUDA runtime or GPU when
/// the first tensor is made, so this checks what it can before: that the library has CUDA and
/// that the GPU exists.
#[cfg(feature = "tch")]
#[expect(
    deprecated,
    reason = "burn-tch is deprecated upstream but requested as an opt-in backend"
)]
fn tch_cuda(index: usize) -> Result<Device> {
    let available = Device::enumerate(burn::tensor::DeviceType::LibTorch)
        .into_vec()
        .len();
    if index >= available {
        bail!(
            "--device tch-cuda:{index}: libtorch sees {available} CUDA device(s) (a CPU-only torch \
             wheel sees none; install a CUDA build of torch 2.9, see docs/backends.md)"
        );
    }
    Ok(Device::libtorch_cuda(index))
}
#[cfg(not(feature = "tch"))]
fn tch_cuda(_index: usize) -> Result<Device> {
    not_compiled("tch-cuda", "tch")
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::DeviceArg;

    #[test]
    fn device_names_parse() {
        let parse = |s: &str| DeviceArg::from_str(s, false);
        assert_eq!(parse("cpu"), Ok(DeviceArg::Cpu));
        assert_eq!(parse("tch"), Ok(DeviceArg::Tch));
        assert_eq!(parse("tch-cuda"), Ok(DeviceArg::TchCuda(0)));
        assert_eq!(parse("tch-cuda:3"), Ok(DeviceArg::TchCuda(3)));
        assert_eq!(parse("cuda"), Ok(DeviceArg::Cuda(0)));
        assert_eq!(parse("cuda:1"), Ok(DeviceArg::Cuda(1)));
        assert_eq!(parse("wgpu"), Ok(DeviceArg::Wgpu(None)));
        assert_eq!(parse("wgpu:2"), Ok(DeviceArg::Wgpu(Some(2))));
        assert!(parse("tch-cuda:16").is_err());
        assert!(parse("gpu").is_err());
    }

    #[test]
    fn cpu_backends_have_one_device() {
        let err = DeviceArg::Cpu.devices(2).unwrap_err().to_string();
        assert!(err.contains("single device"), "{err}");
        let err = DeviceArg::Tch.devices(2).unwrap_err().to_string();
        assert!(err.contains("single device"), "{err}");
        assert!(DeviceArg::Cpu.devices(0).is_err());
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn tch_cuda_without_the_feature_names_it() {
        let err = DeviceArg::TchCuda(1).devices(2).unwrap_err().to_string();
        assert!(err.contains("--features tch"), "{err}");
    }
}
