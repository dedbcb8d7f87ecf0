//! Sample rates: the one the models of this workspace take, and the largest one accepted.

/// The sample rate of HuBERT, wav2vec 2.0, WavLM and their students (16 kHz): what datasets
/// resample to by default and what a preprocessor declares unless its checkpoint says otherwise.
pub const SAMPLE_RATE: u32 = 16_000;

/// The largest sample rate accepted (768 kHz): from a file header, by [`resample`](crate::resample)
/// and as a dataset's rate.
pub const MAX_SAMPLE_RATE: u32 = 768_000;
