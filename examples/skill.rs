//! SKILL (2024): the teacher's layers are grouped by agglomerative hierarchical clustering of
//! their linear CKA on calibration utterances; each group's mean is one target
//! (`recipes/skill.toml`). Prints the groups found.
//!
//! `cargo run --release --example skill -- --smoke`, or
//! `-- --teacher wavlm-base-plus/ --data train.tsv --out runs/skill`.

#[path = "support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let opts = support::Options::from_args()?;
    let work = tempfile::tempdir()?;
    let report = support::run_recipe("skill", &opts, work.path())?;
    println!("clustered groups: {}", report.targets["groups"]);
    Ok(())
}
