//! The toy teacher and corpus of `ssl_distill_recipes::toy`, and small-budget recipes.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ssl_distill_recipes::{Recipe, RunConfig};
use ssl_distill_train::ProgressMode;

/// The workspace's `recipes/` directory.
pub fn recipes_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../recipes")).to_path_buf()
}

/// Writes the toy 12-layer teacher (seed 7), with or without a HuBERT head.
pub fn write_teacher(dir: &Path, head: bool) {
    ssl_distill_recipes::toy::write_tiny_teacher(dir, 12, 7, head, &Device::flex()).unwrap();
}

/// `n` toy WAVs of `seconds` each and their TSV manifest.
pub fn write_audio(dir: &Path, n: usize, seconds: f32) -> PathBuf {
    ssl_distill_recipes::toy::write_tone_corpus(dir, n, seconds, 11).unwrap()
}

/// Loads `recipes/NAME.toml` and points it at `teacher` and `data` with a small CPU budget:
/// `steps` steps of batch 4 x 1 s, lr 2e-3 (the recipes' 2e-4 is for 200k steps), log every
/// step, checkpoint every `steps / 2`.
pub fn small_recipe(name: &str, teacher: &Path, data: &Path, steps: u64) -> Recipe {
    let mut recipe = Recipe::from_file(&recipes_dir().join(format!("{name}.toml"))).unwrap();
    recipe.teacher.path = Some(teacher.to_path_buf());
    recipe.data.train = Some(data.to_path_buf());
    recipe.data.batch_size = 4;
    recipe.data.crop_seconds = Some(1.0);
    recipe.train.max_steps = steps;
    recipe.train.lr = 2e-3;
    recipe.train.log_every = 1;
    recipe.train.checkpoint_every = (steps / 2).max(1);
    recipe.disc.calibration_utterances = 8;
    recipe.disc.kmeans_k = 16;
    if let ssl_distill_recipes::TargetsSpec::Clustered {
        calibration_utterances,
        ..
    } = &mut recipe.targets
    {
        *calibration_utterances = 8;
    }
    recipe
}

/// Run settings for `out` on the CPU, without a progress display.
pub fn run_config(name: &str, out: &Path) -> RunConfig {
    RunConfig {
        recipe_path: recipes_dir().join(format!("{name}.toml")),
        out: out.to_path_buf(),
        resume: false,
        device: Device::flex(),
        progress: ProgressMode::Off,
        stop_after: None,
        data_parallel: Vec::new(),
    }
}

/// Mean loss of the first and last `k` rows of a metrics file.
pub fn first_last_mean(metrics: &Path, k: usize) -> (f64, f64) {
    let rows = ssl_distill_train::read_metrics(metrics).unwrap();
    assert!(rows.len() >= 2 * k, "{} rows", rows.len());
    let mean = |r: &[ssl_distill_train::MetricsRow]| {
        r.iter().map(|r| r.loss).sum::<f64>() / r.len() as f64
    };
    (mean(&rows[..k]), mean(&rows[rows.len() - k..]))
}

/// Serialises the tests of this binary. burn's device RNG is process-wide (`Device::seed`), and
/// a run seeds it and draws from it (student init, dropout); two runs in parallel threads would
/// interleave their draws and lose the bit-exact determinism the resume tests check.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
