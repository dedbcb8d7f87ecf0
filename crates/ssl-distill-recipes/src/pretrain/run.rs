//! [`pretrain`]: a pretraining recipe from audio to an HF model directory with its head.
//!
//! 1. open the training manifest (crops seeded by `(seed, epoch, index)`);
//! 2. the unit features (MFCC, or a frozen model's hidden state) and their k-means, fitted on
//!    the first `units.kmeans_utterances` utterances of epoch 0 and saved to
//!    `OUT/units.json` (reloaded on `--resume`, so labels never change within a run);
//! 3. a random HuBERT of `[model]` with its head, seeded by `train.seed`;
//! 4. the train crate's loop (AdamW, warm-up and decay, global-norm clipping, step
//!    checkpoints, bit-exact resume, `OUT/metrics.jsonl`);
//! 5. `OUT/model/`: `config.json`, `model.safetensors` (HF names, plus `final_proj.weight`,
//!    `final_proj.bias` and `label_embs_concat`, which `load_checkpoint_full` returns as the
//!    `HubertHead` and transformers ignores), `preprocessor_config.json` and `units.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Device;
use ssl_distill_audio::{AudioDataset, DatasetConfig};
use ssl_distill_models::{
    SslConfig, export_hf, hf_state_dict, load_checkpoint_full, write_atomic, write_safetensors,
};

use crate::error::RecipeError;
use crate::pretrain::recipe::PretrainRecipe;
use crate::pretrain::task::{HubertPretrainModel, PretrainStream};
use crate::pretrain::units::{UnitFeatures, UnitSource, Units};
use crate::run_setup::{
    RunConfig, create_out_dir, loader_config, logged_losses, open_training_data,
    refuse_existing_runs, required, run_options, write_json,
};

/// The units file in the run directory and in the exported model.
pub const UNITS_FILE: &str = "units.json";

/// What a pretraining run did.
#[derive(Debug, Clone)]
pub struct PretrainReport {
    /// Steps completed.
    pub steps: u64,
    /// Loss of the first logged step (from `metrics.jsonl`).
    pub first_loss: f64,
    /// Loss of the last step.
    pub last_loss: f64,
    /// The exported model (`None` when the run stopped early with `stop_after`).
    pub model_dir: Option<PathBuf>,
    /// Parameters of the model without the head.
    pub params: usize,
    /// The architecture.
    pub config: SslConfig,
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> RecipeError {
    RecipeError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Runs `recipe` (already validated and overridden) as `cfg` says (`cfg.recipe_path` names the
/// recipe in errors).
///
/// # Errors
/// Every [`RecipeError`]: missing or unreadable data, a unit model that cannot be loaded or is
/// too shallow, too few frames for k-means, a non-finite loss, checkpoint and export I/O.
pub fn pretrain(recipe: &PretrainRecipe, cfg: &RunConfig) -> Result<PretrainReport, RecipeError> {
    let data_path = required(
        &recipe.data.train,
        "training data",
        "data.train",
        "--data PATH",
    )?;
    let plain = cfg.device.clone().inner();
    let train_device = plain.clone().autodiff();
    if !cfg.resume {
        refuse_existing_runs(std::slice::from_ref(&cfg.out))?;
    }

    // 1. Data.
    let manifest = open_training_data(&data_path)?;
    let dataset = Arc::new(AudioDataset::new(
        manifest,
        DatasetConfig {
            max_seconds: recipe.data.crop_seconds,
            normalize: recipe.data.normalize,
            seed: recipe.train.seed,
            ..DatasetConfig::default()
        },
    )?);
    create_out_dir(&cfg.out)?;

    // 2. Units.
    let features = unit_features(recipe, cfg.recipe_path.as_path(), &plain)?;
    let units_path = cfg.out.join(UNITS_FILE);
    let units = if cfg.resume && units_path.exists() {
        let units = Units::load(&units_path, features, &recipe.units)?;
        tracing::info!(path = %units_path.display(), "units reloaded");
        units
    } else {
        let units = Units::fit(features, &recipe.units, &dataset, recipe.train.seed)?;
        units.save(&units_path, &recipe.units)?;
        units
    };

    // 3. Model.
    let config = recipe.model.config();
    let model = build_model(recipe, &config, cfg, &plain)?;
    let params = model.model.num_params();

    // 4. Train.
    let data = &recipe.data;
    let mut stream = PretrainStream::new(
        Arc::clone(&dataset),
        loader_config(data.batch_size, data.prefetch, data.skip_bad_audio),
        config.clone(),
        Arc::new(units),
        recipe.masking,
        train_device.clone(),
    );
    let opts = run_options(cfg, cfg.out.clone(), cfg.stop_after, &train_device);
    let outcome = ssl_distill_train::train(&recipe.train, &opts, model, &mut stream)?;
    let (first_loss, last_loss) = logged_losses(&cfg.out, outcome.last_loss);
    let stopped = cfg.stop_after.is_some_and(|s| s < recipe.train.max_steps);

    // 5. Export.
    let model_dir = if stopped {
        None
    } else {
        let dir = cfg.out.join("model");
        export_with_head(
            &outcome.model,
            &config,
            recipe.data.normalize,
            &units_path,
            &dir,
        )?;
        tracing::info!(dir = %dir.display(), "model saved");
        Some(dir)
    };
    Ok(PretrainReport {
        steps: outcome.step,
        first_loss,
        last_loss,
        model_dir,
        params,
        config,
    })
}

/// The features the units cluster: MFCC, or hidden state `units.layer` of the model
/// `units.model` (loaded on `plain`; its conv frames must be the standard 20 ms ones).
fn unit_features(
    recipe: &PretrainRecipe,
    path: &Path,
    plain: &Device,
) -> Result<UnitFeatures, RecipeError> {
    let u = &recipe.units;
    if u.source == UnitSource::Mfcc {
        return Ok(UnitFeatures::mfcc());
    }
    let model_path = u
        .model
        .as_ref()
        .expect("validated: source = model has a model");
    let ckpt = load_checkpoint_full(model_path, plain)?;
    if u.layer > ckpt.config.num_hidden_layers {
        return Err(RecipeError::invalid(
            path,
            "units.layer",
            format!(
                "is {} but {} has {} layers",
                u.layer,
                model_path.display(),
                ckpt.config.num_hidden_layers
            ),
        ));
    }
    let cfg_of = &ckpt.config;
    if cfg_of.conv_kernel != ssl_distill_audio::CONV_KERNELS
        || cfg_of.conv_stride != ssl_distill_audio::CONV_STRIDES
    {
        return Err(RecipeError::invalid(
            path,
            "units.model",
            format!(
                "{} has conv kernels {:?} / strides {:?}: its frames would not line up \
                 with the standard 20 ms frames of the model being trained",
                model_path.display(),
                cfg_of.conv_kernel,
                cfg_of.conv_stride
            ),
        ));
    }
    Ok(UnitFeatures::Model {
        model: Box::new(ckpt.model),
        layer: u.layer,
        hidden: ckpt.config.hidden_size,
        device: plain.clone(),
    })
}

/// A random HuBERT of `config` with its head (seeded by `train.seed`) on the training device,
/// described in `OUT/pretrain.json`.
fn build_model(
    recipe: &PretrainRecipe,
    config: &SslConfig,
    cfg: &RunConfig,
    plain: &Device,
) -> Result<HubertPretrainModel, RecipeError> {
    plain.seed(recipe.train.seed);
    let model = HubertPretrainModel::init(
        config,
        recipe.model.final_dim,
        recipe.units.k,
        recipe.objective,
        plain,
    )
    .to_device(&plain.clone().autodiff())
    .train();
    let params = model.model.num_params();
    let run_json = serde_json::json!({
        "recipe": recipe,
        "config": config.to_hf_json(),
        "params": params,
    });
    write_json(&cfg.out.join("pretrain.json"), &run_json)?;
    tracing::info!(
        params,
        head = model.num_params() - params,
        layers = config.num_hidden_layers,
        hidden = config.hidden_size,
        units = recipe.units.k,
        "model built"
    );
    Ok(model)
}

/// Writes `model` as an HF directory at `dir` with its head tensors in `model.safetensors`,
/// `do_normalize` in `preprocessor_config.json`, and a copy of `units`. Built under a
/// temporary name and renamed; an older `dir` is replaced.
///
/// # Errors
/// [`RecipeError::Write`] / [`RecipeError::Io`].
pub fn export_with_head(
    model: &HubertPretrainModel,
    config: &SslConfig,
    normalize: bool,
    units: &Path,
    dir: &Path,
) -> Result<(), RecipeError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = dir.parent().unwrap_or(Path::new("."));
    let tmp = parent.join(format!(".{name}.new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    export_hf(&model.model, config, &tmp).map_err(|e| write_err(&tmp, e))?;
    let mut dict = hf_state_dict(&model.model);
    for (key, tensor) in model.head_state() {
        dict.insert(key.into(), tensor);
    }
    let weights = tmp.join("model.safetensors");
    write_safetensors(&dict, &weights).map_err(|e| write_err(&weights, e))?;
    let pre = tmp.join("preprocessor_config.json");
    let text = std::fs::read_to_string(&pre).map_err(|source| RecipeError::Io {
        path: pre.clone(),
        source,
    })?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| write_err(&pre, e))?;
    json["do_normalize"] = serde_json::Value::Bool(normalize);
    write_atomic(
        &pre,
        serde_json::to_string_pretty(&json)
            .expect("JSON values serialise")
            .as_bytes(),
    )
    .map_err(|e| write_err(&pre, e))?;
    let copy = tmp.join(UNITS_FILE);
    std::fs::copy(units, &copy).map_err(|source| RecipeError::Io {
        path: copy.clone(),
        source,
    })?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| RecipeError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::rename(&tmp, dir).map_err(|source| RecipeError::Io {
        path: dir.to_path_buf(),
        source,
    })
}
