//! Kaldi-compatible acoustic features: log-mel filter banks ([`Fbank`]), MFCCs ([`Mfcc`]) and
//! deltas ([`compute_deltas`]).
//!
//! The numbers match torchaudio 2.11's `torchaudio.compliance.kaldi.fbank` / `.mfcc` (which
//! follow Kaldi's `compute-fbank-feats` / `compute-mfcc-feats`, Povey et al., "The Kaldi Speech
//! Recognition Toolkit", ASRU 2011) on `waveform * 32768`: our inputs are floats in `[-1, 1]`
//! and [`FbankConfig::input_scale`] brings them to the int16 range Kaldi expects. Parity
//! fixtures are written by `tools/reference/fbank.py` and checked in `tests/it/kaldi.rs`.
//!
//! Per frame: (dither) → remove DC → raw log energy → pre-emphasis → window → zero-pad to a
//! power of two → `|rfft|²` → triangular mel filters → `ln(max(x, f32::EPSILON))`.
//! Not implemented: VTLN warping.
//!
//! Speed: frames are prepared one by one, read in place from the waveform and written straight
//! into the packed FFT input in one fused pass (`prepare.rs`), then go through the FFT, the
//! power spectrum, the mel filters and the log eight at a time (`power.rs`): one rustfft call
//! on eight packed frames, a hand-written real-FFT split fused with `|X|²`, and mel dot
//! products with one SIMD lane per frame. `docs/performance.md` has the measurements.
//!
//! The crate is compiled for the x86-64 baseline (SSE2, four floats per instruction). The
//! frame preparation, the mel filters and the log carry a second copy compiled for AVX2 + FMA
//! (the `multiversion` crate picks one at run time; no `unsafe` here), eight floats per
//! instruction. Rust never fuses a multiply and an add on its own, so both copies give the same
//! bits. The real-FFT split has no such copy: it is bound by its gather across frames, and the
//! AVX2 copy measured no faster.
//!
//! Everything here is plain Rust on `&[f32]`: no tensors.

mod deltas;
mod error;
mod fastmath;
mod fbank;
mod frame;
mod matrix;
mod mel;
mod mfcc;
mod power;
mod prepare;
mod window;

pub use deltas::{append_deltas, compute_deltas};
pub use error::FeatureError;
pub use fbank::{Fbank, FbankConfig};
pub use matrix::FeatureMatrix;
pub use mel::{MelBanks, inverse_mel_scale, mel_scale};
pub use mfcc::{Mfcc, MfccConfig, dct_matrix, lifter_coeffs};
pub use window::WindowType;
