//! Speakers: random espeak-ng voice variants in a private slim copy of the data directory.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{CorpusError, io_err};
use crate::rng::Rng;

/// The 8 English dialect voice files espeak-ng ships (`lang/gmw/<name>`).
pub const DIALECTS: &[&str] = &[
    "en",
    "en-US",
    "en-US-nyc",
    "en-GB-x-rp",
    "en-GB-scotland",
    "en-GB-x-gbclan",
    "en-GB-x-gbcwmd",
    "en-029",
];

/// Maximum speakers per data directory (espeak-ng lists at most 349 voices).
pub const MAX_SPEAKERS: usize = 320;

/// One synthetic speaker.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Speaker {
    /// Speaker id, e.g. `spk0007`.
    pub id: String,
    /// Dialect voice file under `lang/gmw`.
    pub dialect: String,
    /// `male` or `female`.
    pub gender: String,
    /// Base speaking rate (words per minute).
    pub rate: f64,
    /// Base pitch parameter (0-100).
    pub pitch: f64,
    /// Contents of the variant file.
    #[serde(skip)]
    pub variant: String,
}

impl Speaker {
    /// The espeak-ng voice name (`gmw/<dialect>+<id>`).
    pub fn voice_name(&self) -> String {
        format!("gmw/{}+{}", self.dialect, self.id)
    }
}

/// Draw `n` speakers deterministically from `seed`.
pub fn make_speakers(n: usize, seed: u64) -> Vec<Speaker> {
    let mut rng = Rng::new(seed, 0x5EA4);
    (0..n)
        .map(|i| {
            let male = i % 2 == 0;
            let dialect = DIALECTS[(i / 2) % DIALECTS.len()].to_string();
            let id = format!("spk{i:04}");
            let (lo, hi) = if male { (0.88, 1.04) } else { (1.04, 1.20) };
            let scale = rng.uniform(lo, hi);
            let (p0, p1) = if male { (80.0, 125.0) } else { (150.0, 230.0) };
            let base = rng.uniform(p0, p1);
            let mut v = format!(
                "language variant\nname {id}\ngender {}\n\npitch {} {}\n",
                if male { "male" } else { "female" },
                base.round(),
                (base * rng.uniform(1.3, 1.7)).round()
            );
            for f in 0..9 {
                let fs = (scale * rng.uniform(0.97, 1.03) * 100.0).round();
                let h = rng.uniform(80.0, 115.0).round();
                let w = rng.uniform(85.0, 150.0).round();
                let _ = writeln!(v, "formant {f} {fs} {h} {w}");
            }
            let _ = writeln!(v, "flutter {}", rng.below(20));
            let _ = writeln!(v, "roughness {}", rng.below(4));
            if rng.f64() < 0.3 {
                let b: Vec<String> = (0..8).map(|_| rng.below(4).to_string()).collect();
                let _ = writeln!(v, "breath {}", b.join(" "));
            }
            let _ = writeln!(
                v,
                "consonants {} {}",
                80 + rng.below(50),
                80 + rng.below(50)
            );
            Speaker {
                id,
                dialect,
                gender: if male { "male" } else { "female" }.into(),
                rate: rng.uniform(140.0, 200.0),
                pitch: rng.uniform(35.0, 65.0),
                variant: v,
            }
        })
        .collect()
}

/// Locate the stock espeak-ng data directory.
pub fn stock_data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("ESPEAK_DATA_PATH") {
        return PathBuf::from(p).join("espeak-ng-data");
    }
    for p in [
        "/usr/lib/x86_64-linux-gnu/espeak-ng-data",
        "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
        "/usr/share/espeak-ng-data",
        "/usr/local/share/espeak-ng-data",
    ] {
        if Path::new(p).join("phontab").exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("/usr/lib/x86_64-linux-gnu/espeak-ng-data")
}

/// Build `<parent>/espeak-ng-data`: symlinks to the stock phoneme data and `en_dict`, the English
/// dialects only, and one variant file per speaker.
pub fn build_slim_data_dir(parent: &Path, speakers: &[Speaker]) -> Result<(), CorpusError> {
    let stock = stock_data_dir();
    if !stock.join("phontab").exists() {
        return Err(CorpusError::EspeakDataMissing { path: stock });
    }
    let data = parent.join("espeak-ng-data");
    let gmw = data.join("lang").join("gmw");
    let var = data.join("voices").join("!v");
    for d in [&gmw, &var] {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    for f in [
        "phontab",
        "phonindex",
        "phondata",
        "phondata-manifest",
        "intonations",
        "en_dict",
    ] {
        let src = stock.join(f);
        if src.exists() {
            let dst = data.join(f);
            if dst.symlink_metadata().is_ok() {
                continue;
            }
            std::os::unix::fs::symlink(&src, &dst).map_err(io_err(&dst))?;
        }
    }
    for d in DIALECTS {
        let src = stock.join("lang").join("gmw").join(d);
        let dst = gmw.join(d);
        std::fs::copy(&src, &dst).map_err(io_err(&src))?;
    }
    for s in speakers {
        let p = var.join(&s.id);
        std::fs::write(&p, &s.variant).map_err(io_err(&p))?;
    }
    Ok(())
}
