//! Wang et al. 2023: an Fbank front-end (80-bin Kaldi Fbank + conv subsampler to 20 ms frames)
//! first regressed onto the teacher CNN's output, then distillation with L1 + cosine + the
//! discriminative loss KL(p_teacher ‖ p_student) over HuBERT codeword posteriors, scored with
//! the teacher's own head (`recipes/wang-disc-fbank.toml`).
//!
//! `cargo run --release --example wang_disc_fbank -- --smoke` (the toy teacher carries a HuBERT
//! head), or `-- --teacher hubert.pt --data train.tsv --out runs/wang`.

#[path = "support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let opts = support::Options::from_args()?;
    let work = tempfile::tempdir()?;
    support::run_recipe("wang-disc-fbank", &opts, work.path())?;
    Ok(())
}
