//! `ssl-distill inspect`: describe a checkpoint (architecture, input, parameters, loaded keys),
//! and for a fairseq `.pt` where its configuration came from and which fields were inferred
//! from the tensors because the file does not say them.

use std::path::PathBuf;

use anyhow::Result;
use burn::module::Module;
use clap::Args;
use ssl_distill_models::{CfgSource, load_checkpoint_full, read_fairseq_cfg};

/// Arguments of `ssl-distill inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// HF model directory (config.json + model.safetensors) or fairseq `.pt` checkpoint.
    #[arg(long)]
    model: PathBuf,
    /// List every loaded tensor name too.
    #[arg(long)]
    verbose: bool,
}

/// Runs `ssl-distill inspect`.
pub fn run_inspect(args: &InspectArgs) -> Result<()> {
    let device = burn::tensor::Device::default();
    let ckpt = load_checkpoint_full(&args.model, &device)?;
    let (config, model, report, pre) =
        (&ckpt.config, &ckpt.model, &ckpt.report, &ckpt.preprocessor);
    // " (inferred)" after a value the file's configuration does not give.
    let mark = |field: &str| {
        if ckpt.inferred.contains(&field) {
            " (inferred)"
        } else {
            ""
        }
    };
    println!("model:       {}", args.model.display());
    if args.model.is_dir() {
        println!("config:      config.json");
    } else {
        let cfg = read_fairseq_cfg(&args.model)?;
        let source = match cfg.source {
            CfgSource::DictConfig => "fairseq `cfg` (omegaconf DictConfig)",
            CfgSource::Dict => "fairseq `cfg` (plain dict)",
            CfgSource::Namespace => "fairseq `args` (argparse Namespace)",
            CfgSource::None => "none in the file: the architecture is inferred from the tensors",
        };
        match &cfg.name {
            Some(name) => println!("config:      {source}, model `{name}`"),
            None => println!("config:      {source}"),
        }
        println!(
            "inferred:    {}",
            if ckpt.inferred.is_empty() {
                "nothing (the configuration gives every field)".to_string()
            } else {
                format!(
                    "{} (not in the file's configuration)",
                    ckpt.inferred.join(", ")
                )
            }
        );
    }
    println!(
        "family:      {} ({}){}",
        config.kind.model_type(),
        config.kind.hf_architecture(),
        mark("family")
    );
    println!(
        "encoder:     {} layers x {} wide, {} heads{}, FFN {}, {}{}",
        config.num_hidden_layers,
        config.hidden_size,
        config.num_attention_heads,
        mark("encoder_attention_heads"),
        config.intermediate_size,
        if config.do_stable_layer_norm {
            "pre-LN"
        } else {
            "post-LN"
        },
        mark("layer_norm_first")
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
        "input:       {} Hz, normalize {}{}, frames = floor((samples - {}) / {}) + 1",
        pre.sampling_rate,
        pre.do_normalize,
        mark("normalize"),
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
