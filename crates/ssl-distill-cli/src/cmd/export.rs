//! `ssl-distill export`: a trained student's backbone as an HF model directory
//! (`config.json` + `model.safetensors`, loadable by `transformers.AutoModel`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ssl_distill_students::{Student, StudentError};

use crate::device::DeviceArg;

/// Formats `ssl-distill export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// An HF `HubertModel` / `WavLMModel` directory.
    Hf,
}

/// Arguments of `ssl-distill export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The student directory (`OUT/student` of `ssl-distill distill`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "hf")]
    format: ExportFormat,
    /// Output directory (created; files in it are replaced atomically).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `ssl-distill export`.
pub fn run_export(args: &ExportArgs) -> Result<()> {
    let device = DeviceArg::Cpu.device()?;
    let student = Student::load(&args.checkpoint, &device)
        .with_context(|| format!("loading the student {}", args.checkpoint.display()))?;
    match args.format {
        ExportFormat::Hf => match student.export_hf(&args.out) {
            Ok(()) => {}
            Err(StudentError::NotHfExportable { reason }) => bail!(
                "{}: cannot be exported to HF: {reason}; it stays usable in this project's \
                 format (probe, analyze, features, --teacher)",
                args.checkpoint.display()
            ),
            Err(e) => return Err(e).context(format!("writing {}", args.out.display())),
        },
    }
    tracing::info!(
        "exported {} ({:.2} M parameters) to {} as an HF model",
        args.checkpoint.display(),
        student.backbone_params() as f64 / 1e6,
        args.out.display()
    );
    Ok(())
}
