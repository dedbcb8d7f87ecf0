//! The teacher on the calibration utterances (the first ones of the training data, crops of
//! epoch 0): SKILL's layer clustering for the targets, and the k-means codewords of `disc`
//! when the teacher has no HuBERT head.

use std::path::Path;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ssl_distill_audio::{AudioDataset, Batch};
use ssl_distill_losses::{CodewordHead, KMeans};
use ssl_distill_models::{Checkpoint, SslModel};
use ssl_distill_targets::{CalibrationFeatures, Clustered, LayerTargets};

use crate::error::RecipeError;
use crate::recipe::{CodewordSource, Recipe};
use crate::run_setup::RunConfig;
use crate::targets_spec::TargetsSpec;

/// The layer targets: the recipe's strategy, clustered (SKILL) on the teacher's calibration
/// features, or reloaded from `OUT/targets.json` on resume.
pub(crate) fn build_targets(
    recipe: &Recipe,
    cfg: &RunConfig,
    dataset: &AudioDataset,
    teacher: &Checkpoint,
) -> Result<Arc<dyn LayerTargets>, RecipeError> {
    let path = cfg.recipe_path.as_path();
    let TargetsSpec::Clustered {
        k,
        linkage,
        contiguous,
        calibration_utterances,
    } = &recipe.targets
    else {
        let depth = teacher.config.num_hidden_layers;
        return Ok(Arc::from(recipe.targets.resolve(depth, path)?));
    };
    let saved = cfg.out.join("targets.json");
    let clustered = if cfg.resume && saved.exists() {
        Clustered::load(&saved)?
    } else {
        let plain = cfg.device.clone().inner();
        let mut features = CalibrationFeatures::new(false);
        for batch in calibration_batches(dataset, *calibration_utterances)? {
            let (wave, _) = batch.to_tensors(&plain);
            let out = teacher
                .model
                .forward(ssl_distill_models::SslInput::new(wave));
            features.add(&out.hidden_states, None)?;
        }
        let c = Clustered::from_calibration(&features, *k, *linkage, *contiguous, &plain)
            .map_err(|e| RecipeError::invalid(path, "targets.k", e.to_string()))?;
        c.save(&saved)?;
        c
    };
    tracing::info!(groups = ?clustered.groups, "clustered teacher layers (SKILL)");
    Ok(Arc::new(clustered))
}

/// The first `n` utterances (crops of epoch 0), one batch each (no padding).
fn calibration_batches(dataset: &AudioDataset, n: usize) -> Result<Vec<Batch>, RecipeError> {
    (0..n.min(dataset.len()))
        .map(|i| Ok(Batch::from_items(&[dataset.load(i, 0)?])))
        .collect()
}

/// The `disc` term's codewords (see the module docs).
pub(crate) fn build_codewords(
    recipe: &Recipe,
    path: &Path,
    dataset: &AudioDataset,
    teacher: &SslModel,
    targets: &dyn LayerTargets,
    head: Option<&ssl_distill_models::HubertHead>,
    train_device: &Device,
) -> Result<CodewordHead, RecipeError> {
    let depth = teacher.num_layers();
    let groups = targets.groups();
    let last_is_top = groups.last().is_some_and(|g| g.as_slice() == [depth]);
    let use_head = match recipe.disc.codewords {
        CodewordSource::Auto => head.is_some() && last_is_top,
        CodewordSource::TeacherHead => {
            if head.is_none() {
                return Err(RecipeError::invalid(
                    path,
                    "disc.codewords",
                    "is `teacher_head` but the teacher checkpoint has no final_proj / \
                     label_embs_concat",
                ));
            }
            if !last_is_top {
                return Err(RecipeError::invalid(
                    path,
                    "disc.codewords",
                    format!(
                        "is `teacher_head`, which scores the teacher's last layer ({depth}), but \
                         the last target is {:?}",
                        groups.last()
                    ),
                ));
            }
            true
        }
        CodewordSource::Kmeans => false,
    };
    if use_head {
        let h = head.expect("checked above");
        let tau = 0.1;
        tracing::info!(
            codewords = h.label_embs.shape[0],
            "disc: the teacher's HuBERT head (final_proj + label_embs_concat)"
        );
        return Ok(CodewordHead::from_hubert(
            (&h.final_proj_weight.shape, &h.final_proj_weight.data),
            &h.final_proj_bias.data,
            (&h.label_embs.shape, &h.label_embs.data),
            tau,
            train_device,
        )?);
    }
    let d = &recipe.disc;
    let plain = teacher
        .devices()
        .into_iter()
        .next()
        .unwrap_or_else(|| train_device.clone().inner());
    let mut rows = Vec::new();
    let mut dim = 0;
    for batch in calibration_batches(dataset, d.calibration_utterances)? {
        let (wave, _) = batch.to_tensors(&plain);
        let out = teacher.forward_until(
            ssl_distill_models::SslInput::new(wave),
            targets.deepest_layer(),
        );
        let last = targets
            .targets(&out.hidden_states)
            .pop()
            .expect("at least one target");
        let [_, t, c] = last.dims();
        dim = c;
        let values: Vec<f32> = last
            .reshape([t, c])
            .try_into_vec_as::<f32>()
            .expect("f32 data");
        rows.extend(values);
    }
    let kmeans = KMeans::fit(&rows, dim, d.kmeans_k, d.kmeans_iters, recipe.train.seed)?;
    tracing::info!(
        k = d.kmeans_k,
        frames = rows.len() / dim.max(1),
        "disc: k-means codewords on the last target's teacher features"
    );
    let centroids = kmeans.centroids_tensor(&plain);
    let data: TensorData = centroids.into_data();
    Ok(CodewordHead::from_centroids(
        Tensor::<2>::from_data(data, train_device),
        d.tau,
    ))
}
