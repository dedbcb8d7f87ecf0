//! Deep versus wide (Ashihara et al. 2022, arXiv:2207.06867): at the same parameter budget, a
//! deep-narrow student (12 × 384, layer-to-layer targets, "12-L Half") against a shallow-wide
//! one (3 × 768, prediction heads, "3-L One"). Runs both recipes and prints their sizes and
//! losses (`recipes/deep-narrow-12l-half.toml`, `recipes/shallow-wide-3l-one.toml`).
//!
//! `cargo run --release --example deep_vs_wide -- --smoke`, or
//! `-- --teacher hubert-base/ --data train.tsv --out runs/deep-vs-wide`.

#[path = "support/mod.rs"]
mod support;

fn main() -> anyhow::Result<()> {
    let opts = support::Options::from_args()?;
    let work = tempfile::tempdir()?;
    let deep = support::run_recipe("deep-narrow-12l-half", &opts, work.path())?;
    let wide = support::run_recipe("shallow-wide-3l-one", &opts, work.path())?;
    println!(
        "deep-narrow {:.3} M vs shallow-wide {:.3} M parameters (without heads)",
        deep.backbone_params as f64 / 1e6,
        wide.backbone_params as f64 / 1e6
    );
    Ok(())
}
