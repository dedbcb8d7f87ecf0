//! [`synthesize`]: the crate's entry point (the generator itself, `synth`, needs the `espeak`
//! feature).

use crate::config::CorpusConfig;
use crate::error::CorpusError;
use crate::summary::CorpusSummary;

/// Generate a corpus into `out_dir` (must not exist or be empty). Work happens in a sibling
/// temporary directory renamed into place at the end, so a killed run leaves no half corpus.
/// `progress(done, total)` is called after every clip.
///
/// Not thread-safe across processes' worth of state: calls are serialized by a process-wide lock
/// (libespeak-ng has global state).
pub fn synthesize(
    config: &CorpusConfig,
    out_dir: &std::path::Path,
    progress: impl FnMut(usize, usize),
) -> Result<CorpusSummary, CorpusError> {
    #[cfg(feature = "espeak")]
    {
        crate::synth::run(config, out_dir, progress)
    }
    #[cfg(not(feature = "espeak"))]
    {
        let _ = (config, out_dir, progress);
        Err(CorpusError::EspeakMissing)
    }
}
