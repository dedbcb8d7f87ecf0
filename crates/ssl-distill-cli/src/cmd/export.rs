//! `ssl-distill export`: a trained student as an HF model directory (`config.json` +
//! `model.safetensors`, loadable by `transformers.AutoModel`), or, for a student HF cannot hold
//! (Fbank front-end, unevenly pruned layers) or on request, in this project's student format
//! (`Student::export_dir`: `student.json` + `model.safetensors` + `preprocessor_config.json`),
//! which `features`, `probe`, `analyze` and `ssl_distill_probe::load_upstream` load.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use ssl_distill_students::{Student, StudentError, student_preprocessor};

use crate::device::DeviceArg;

/// Formats `ssl-distill export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// An HF `HubertModel` / `WavLMModel` directory; a student HF cannot hold is written in
    /// this project's format instead, with the reason printed.
    Hf,
    /// This project's student directory (`student.json`, `model.safetensors`,
    /// `preprocessor_config.json`).
    Student,
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
    /// Output directory (must not exist or be empty; written under a temporary name and
    /// renamed into place).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `ssl-distill export`.
pub fn run_export(args: &ExportArgs) -> Result<()> {
    let device = DeviceArg::Cpu.device()?;
    let student = Student::load(&args.checkpoint, &device)
        .with_context(|| format!("loading the student {}", args.checkpoint.display()))?;
    let written = match args.format {
        ExportFormat::Hf => match student.export_hf(&args.out) {
            Ok(()) => "an HF model",
            Err(StudentError::NotHfExportable { reason }) => {
                tracing::warn!(
                    "{}: cannot be exported to HF: {reason}; writing this project's student \
                     format instead (features, probe and analyze load it)",
                    args.checkpoint.display()
                );
                export_student(&student, args)?
            }
            Err(e) => return Err(e).context(format!("writing {}", args.out.display())),
        },
        ExportFormat::Student => export_student(&student, args)?,
    };
    tracing::info!(
        "exported {} ({:.2} M backbone parameters) to {} as {written}",
        args.checkpoint.display(),
        student.backbone_params() as f64 / 1e6,
        args.out.display()
    );
    Ok(())
}

/// `Student::export_dir` with the preprocessing the student was trained with.
fn export_student(student: &Student, args: &ExportArgs) -> Result<&'static str> {
    let preprocessor = student_preprocessor(&args.checkpoint)?;
    student
        .export_dir(&args.out, &preprocessor)
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok("a student directory")
}
