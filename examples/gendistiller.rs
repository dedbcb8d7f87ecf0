//! GenDistiller (Gao et al. 2024, arXiv:2310.13418): a shared generator block produces the
//! teacher's layers 1..L one after another, each from its own previous output
//! (`recipes/gendistiller.toml`).
//!
//! `cargo run --release --example gendistiller -- --smoke`, or
//! `-- --teacher wavlm-base-plus/ --data train.tsv --out runs/gendistiller`.

#[path = "support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let opts = support::Options::from_args()?;
    let work = tempfile::tempdir()?;
    support::run_recipe("gendistiller", &opts, work.path())?;
    Ok(())
}
