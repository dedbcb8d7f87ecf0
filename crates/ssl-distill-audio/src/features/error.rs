//! Errors of the Kaldi feature extractors ([`Fbank`](super::Fbank), [`Mfcc`](super::Mfcc),
//! [`compute_deltas`](super::compute_deltas)).

/// What can go wrong when building or running a feature extractor.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum FeatureError {
    /// A configuration value is out of its valid range.
    #[error("invalid feature config: `{field}` = {value} ({reason})")]
    InvalidConfig {
        /// Name of the config field (as in `FbankConfig` / `MfccConfig`).
        field: &'static str,
        /// The offending value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// The mel band edges are inconsistent with the sample rate.
    #[error(
        "invalid mel range: low_freq {low_freq} Hz, high_freq {high_freq} Hz (after applying a \
         non-positive high_freq as an offset from Nyquist) vs Nyquist {nyquist} Hz; \
         need 0 <= low_freq < high_freq <= Nyquist"
    )]
    InvalidMelRange {
        /// Lower edge of the first filter in Hz.
        low_freq: f64,
        /// Upper edge of the last filter in Hz.
        high_freq: f64,
        /// Half the sample rate in Hz.
        nyquist: f64,
    },
    /// More cepstra were requested than there are mel bins.
    #[error("num_ceps ({num_ceps}) must be between 1 and num_mel_bins ({num_mel_bins})")]
    TooManyCeps {
        /// Requested number of cepstral coefficients.
        num_ceps: usize,
        /// Number of mel bins the DCT is taken over.
        num_mel_bins: usize,
    },
    /// The waveform holds a NaN or an infinite sample.
    #[error("waveform sample {index} is not finite ({value})")]
    NonFiniteSample {
        /// Index of the first non-finite sample.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// The waveform is shorter than one analysis frame. torchaudio 2.11's `kaldi.fbank` /
    /// `kaldi.mfcc` refuse such input too (an `AssertionError`, with or without `snip_edges`).
    #[error("waveform of {samples} samples is shorter than one {window_size}-sample frame")]
    TooShort {
        /// Number of samples given.
        samples: usize,
        /// Samples per frame (`frame_length` at `sample_frequency`).
        window_size: usize,
    },
    /// A feature matrix's data length does not match `frames * bins`.
    #[error("feature matrix data has {got} values, expected {frames} x {bins} = {expected}")]
    ShapeMismatch {
        /// Number of frames (rows).
        frames: usize,
        /// Number of bins (columns).
        bins: usize,
        /// `frames * bins`.
        expected: usize,
        /// Length of the data actually given.
        got: usize,
    },
    /// The delta window is too short.
    #[error("delta win_length must be >= 3, got {win_length}")]
    InvalidDeltaWindow {
        /// The requested window length.
        win_length: usize,
    },
}
