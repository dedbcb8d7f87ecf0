//! `ssl-distill inspect`: describe a checkpoint (architecture, input, parameters, loaded keys).

use std::path::PathBuf;

use anyhow::Result;
use burn::module::Module;
use clap::Args;
use ssl_distill_models::load_checkpoint;

/// Arguments of `ssl-distill inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// HF model directory (config.json + model.safetensors).
    #[arg(long)]
    model: PathBuf,
    /// List every loaded tensor name too.
    #[arg(long)]
    verbose: bool,
}

/// Runs `ssl-distill inspect`.
pub fn run_inspect(args: &InspectArgs) -> Result<()> {
    let device = burn::tensor::Device::default();
    let (config, model, report) = load_checkpoint(&args.model, &device)?;
    let pre = ssl_distill_models::Preprocessor::read(&args.model)?;
    println!("model:       {}", args.model.display());
    println!(
        "family:      {} ({})",
        config.kind.model_type(),
        config.kind.hf_architecture()
    );
    println!(
        "encoder:     {} layers x {} wide, {} heads, FFN {}, {}",
        config.num_hidden_layers,
        config.hidden_size,
        config.num_attention_heads,
        config.intermediate_size,
        if config.do_stable_layer_norm {
            "pre-LN"
        } else {
            "post-LN"
        }
    );
    println!(
        "conv:        {} layers, channels {:?}, kernels {:?}, strides {:?}, {:?} norm, bias {}",
        config.conv_dim.len(),
        config.conv_dim,
        config.conv_kernel,
        config.conv_stride,
        config.feat_extract_norm,
        config.conv_bias
    );
    println!(
        "pos conv:    kernel {}, groups {}",
        config.num_conv_pos_embeddings, config.num_conv_pos_embedding_groups
    );
    if config.kind == ssl_distill_models::ModelKind::Wavlm {
        println!(
            "rel. pos.:   {} buckets, max distance {}",
            config.num_buckets, config.max_bucket_distance
        );
    }
    println!(
        "input:       {} Hz, normalize {}, frames = floor((samples - {}) / {}) + 1",
        pre.sampling_rate,
        pre.do_normalize,
        config.receptive_field(),
        config.conv_stride.iter().product::<usize>()
    );
    println!(
        "parameters:  {} ({:.2} M)",
        model.num_params(),
        model.num_params() as f64 / 1e6
    );
    println!(
        "loaded:      {} tensors from {}",
        report.loaded.len(),
        report.source.display()
    );
    if let Some(prefix) = &report.stripped_prefix {
        println!("prefix:      stripped `{prefix}`");
    }
    println!(
        "ignored:     {}",
        if report.ignored.is_empty() {
            "none".into()
        } else {
            report.ignored.join(", ")
        }
    );
    if args.verbose {
        for key in &report.loaded {
            println!("  {key}");
        }
    }
    Ok(())
}
