//! `ssl-distill analyze`: linear CKA between a model's hidden states (and a teacher's), SKILL's
//! layer clustering, a heatmap and a dendrogram (see ssl-distill-probe).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use ssl_distill_audio::Manifest;
use ssl_distill_probe::{AnalysisConfig, analyze, load_upstream};
use ssl_distill_targets::Linkage;

use crate::device::DeviceArg;

/// Linkage of the agglomerative clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkageArg {
    /// Mean pairwise distance (UPGMA).
    Average,
    /// Largest pairwise distance.
    Complete,
    /// Smallest pairwise distance.
    Single,
    /// Ward's minimum variance.
    Ward,
}

impl From<LinkageArg> for Linkage {
    fn from(l: LinkageArg) -> Self {
        match l {
            LinkageArg::Average => Self::Average,
            LinkageArg::Complete => Self::Complete,
            LinkageArg::Single => Self::Single,
            LinkageArg::Ward => Self::Ward,
        }
    }
}

/// Arguments of `ssl-distill analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The model: a teacher (HF directory or fairseq `.pt`) or a student directory.
    #[arg(long)]
    model: PathBuf,
    /// Audio: a TSV/JSONL manifest, a folder of audio files, or a corpus directory from
    /// `ssl-distill corpus synth` (its `train.jsonl` is used).
    #[arg(long)]
    data: PathBuf,
    /// Output directory: `cka.json`, `cka-heatmap.png`, `cka-dendrogram.png` (and
    /// `cka-teacher.png` with `--teacher`).
    #[arg(long)]
    out: PathBuf,
    /// Also compute CKA between the model's and this teacher's hidden states.
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Utterances (the first ones of the manifest), each run alone.
    #[arg(long, default_value_t = 16)]
    utterances: usize,
    /// Groups of layers to cluster into (SKILL's k).
    #[arg(long, default_value_t = 4)]
    clusters: usize,
    /// Linkage of the clustering.
    #[arg(long, value_enum, default_value = "average")]
    linkage: LinkageArg,
    /// Backend.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

/// The manifest behind `--data`: a corpus directory's `train.jsonl` when there is one, else
/// the path itself (manifest file or folder).
pub fn data_manifest(path: &Path) -> Result<Manifest> {
    let corpus_train = path.join("train.jsonl");
    let source = if path.is_dir() && corpus_train.is_file() {
        corpus_train
    } else {
        path.to_path_buf()
    };
    Ok(Manifest::open(&source)?)
}

/// Runs `ssl-distill analyze`.
pub fn run_analyze(args: &AnalyzeArgs) -> Result<()> {
    let device = args.device.device()?;
    let model = load_upstream(&args.model, &device)?;
    let teacher = match &args.teacher {
        Some(t) => Some(load_upstream(t, &device)?),
        None => None,
    };
    let manifest = data_manifest(&args.data)?;
    let config = AnalysisConfig {
        utterances: args.utterances,
        clusters: args.clusters,
        linkage: args.linkage.into(),
    };
    tracing::info!(
        "CKA of {} on {} utterances of {}",
        args.model.display(),
        args.utterances.min(manifest.len()),
        args.data.display()
    );
    let report = analyze(&model, teacher.as_ref(), &manifest, &config)?;
    let written = report
        .write(&args.out)
        .with_context(|| format!("writing into {}", args.out.display()))?;
    let groups: Vec<String> = report
        .groups
        .iter()
        .map(|g| {
            let layers: Vec<String> = g.iter().map(ToString::to_string).collect();
            format!("[{}]", layers.join(","))
        })
        .collect();
    println!(
        "{}: {} frames, layer groups ({:?} linkage) {}; wrote {}",
        args.model.display(),
        report.frames,
        config.linkage,
        groups.join(" "),
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
