//! DistilHuBERT (Chang et al. 2022, arXiv:2110.01900): a 2-layer student initialised from the
//! teacher predicts teacher layers 4, 8 and 12 through prediction heads, with L1 +
//! −log σ(cos) per target (`recipes/distilhubert.toml`).
//!
//! `cargo run --release --example distilhubert -- --smoke` (tiny random teacher, a few steps),
//! or `-- --teacher hubert-base/ --data train.tsv --out runs/distilhubert`.

#[path = "support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let opts = support::Options::from_args()?;
    let work = tempfile::tempdir()?;
    support::run_recipe("distilhubert", &opts, work.path())?;
    Ok(())
}
