//! Shared by the timing examples (`teacher_timing`, `distill_step_timing`): the backend named on
//! the command line and the median of a sample.

use anyhow::{Result, bail};
use burn::tensor::Device;

/// The device named on the command line (`flex` or `tch`), among the backends compiled in.
pub fn device(name: &str) -> Result<Device> {
    match name {
        #[cfg(feature = "flex")]
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "tch")]
        #[expect(deprecated, reason = "burn-tch is deprecated upstream; opt-in backend")]
        "tch" => Ok(Device::libtorch()),
        other => bail!("--device {other}: not compiled in (features: flex, tch)"),
    }
}

/// The median (upper median for an even count) of a non-empty sample.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
