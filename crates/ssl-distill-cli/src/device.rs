//! `--device cpu|cuda|wgpu|tch`: choosing a burn backend among those compiled in.

use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::ValueEnum;

/// The backends a user can ask for; each needs its cargo feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// burn-flex on the CPU (feature `flex`, the default).
    Cpu,
    /// CUDA GPU 0 (feature `cuda`).
    Cuda,
    /// wgpu: Vulkan, Metal or DX12, whatever the machine offers (feature `wgpu`).
    Wgpu,
    /// libtorch on the CPU (feature `tch`; see docs/backends.md).
    Tch,
}

impl DeviceArg {
    /// The device, or an error naming the cargo feature to rebuild with.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Cpu => cpu(),
            Self::Cuda => cuda(),
            Self::Wgpu => wgpu(),
            Self::Tch => tch(),
        }
    }
}

impl DeviceArg {
    /// `n` devices of this backend for data-parallel training: CUDA GPUs `0..n`, or wgpu's
    /// discrete GPUs `0..n`. The CPU backends (`cpu`, `tch`) have one device, so `n > 1` is an
    /// error there; `n = 1` is [`device`](Self::device).
    pub fn devices(self, n: usize) -> Result<Vec<Device>> {
        match (self, n) {
            (_, 0) => bail!("--num-devices must be at least 1"),
            (_, 1) => Ok(vec![self.device()?]),
            (Self::Cuda, n) => (0..n).map(cuda_at).collect(),
            (Self::Wgpu, n) => (0..n).map(wgpu_at).collect(),
            (Self::Cpu | Self::Tch, n) => bail!(
                "--num-devices {n}: the {} backend has a single device; data parallelism needs \
                 --device cuda or --device wgpu with several GPUs",
                if self == Self::Cpu { "cpu" } else { "tch" }
            ),
        }
    }
}

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

fn cuda() -> Result<Device> {
    cuda_at(0)
}
#[cfg(feature = "cuda")]
fn cuda_at(index: usize) -> Result<Device> {
    Ok(Device::cuda(index))
}
#[cfg(not(feature = "cuda"))]
fn cuda_at(_index: usize) -> Result<Device> {
    not_compiled("cuda", "cuda")
}

#[cfg(feature = "wgpu")]
fn wgpu() -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}
#[cfg(not(feature = "wgpu"))]
fn wgpu() -> Result<Device> {
    not_compiled("wgpu", "wgpu")
}
#[cfg(feature = "wgpu")]
fn wgpu_at(index: usize) -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index)))
}
#[cfg(not(feature = "wgpu"))]
fn wgpu_at(_index: usize) -> Result<Device> {
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
