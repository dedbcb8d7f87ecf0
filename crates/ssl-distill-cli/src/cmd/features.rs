//! `ssl-distill features`: hidden states of a teacher or a student on one audio file or a whole
//! corpus, through `ssl_distill_models::Extractor` (the checkpoint's preprocessing, batches of
//! unequal lengths; exact per utterance for every model, see its docs).
//!
//! Output of a corpus (`--data`), written under a temporary name and renamed into `OUT` at the
//! end (`OUT` must not exist or be empty):
//! - `OUT/shard-NNNNN.safetensors`: the tensors of consecutive utterances (manifest order), keys
//!   `<utt-id>/<key>`, a new shard once one holds `--shard-mb` of tensor data; or, with
//!   `--per-utterance`, `OUT/<utt-id>.safetensors` with plain `<key>`s;
//! - `OUT/index.jsonl`: one line per utterance written, in manifest order: `id`, audio `path`,
//!   `file` (relative to `OUT`), `frames`, `samples` (after resampling), `keys`;
//! - `OUT/features.json`: model, preprocessing, layers, pooling, weights, counts, and every
//!   skipped file with its error.
//!
//! Per utterance, `<key>` is `hidden_states.<i>` `[1, frames, hidden]` for each of `--layers`
//! plus `cnn_features` `[1, frames, conv_dim]`; with `--pool mean` only the hidden states,
//! `[1, hidden]` each (the mean over valid frames); with `--weighted-sum` only `weighted_sum`
//! (`Σ_l w_l · hidden_states.l`, frames or pooled). One file (`--audio`) holds the keys of one
//! utterance.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{ArgGroup, Args, ValueEnum};
use indicatif::ProgressBar;
use ssl_distill_audio::{
    AudioDataset, Cursor, DatasetConfig, LoadedBatch, Loader, LoaderConfig, Manifest, load_audio,
};
use ssl_distill_models::{
    Backbone, Extractor, Features, StateDict, StateTensor, write_safetensors,
};
use ssl_distill_probe::{Upstream, load_upstream};

use crate::cmd::probe::progress_bar;
use crate::device::DeviceArg;

/// Arguments of `ssl-distill features`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["audio", "data"])))]
pub struct FeaturesArgs {
    /// A teacher (HF directory or fairseq `.pt`) or a student directory (`OUT/student` of
    /// `distill`, pruned or not, or an `export`ed one).
    #[arg(long)]
    model: PathBuf,
    /// One audio file (WAV or FLAC, any rate; resampled to the model's rate).
    #[arg(long)]
    audio: Option<PathBuf>,
    /// A corpus: a fairseq TSV or JSONL manifest, or a folder of audio files.
    #[arg(long)]
    data: Option<PathBuf>,
    /// With `--audio`: the safetensors file (default `<audio stem>.features.safetensors` here).
    /// With `--data`: the output directory (required).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Hidden states to write: `all`, or indices like `0,4,12` (0 = transformer input).
    #[arg(long, default_value = "all")]
    layers: String,
    /// Pooling over the valid frames of each utterance.
    #[arg(long, value_enum, default_value_t = Pool::None)]
    pool: Pool,
    /// Layer weights (a probe's `probe-TASK.json`, whose `layer_weights` are softmaxed, or a
    /// JSON list of `L + 1` numbers): write their weighted sum of all hidden states instead.
    #[arg(long, value_name = "WEIGHTS.json")]
    weighted_sum: Option<PathBuf>,
    /// Utterances per forward pass (sorted by length; see `ssl_distill_models::Extractor`).
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// With `--data`: tensor data per shard, in MB.
    #[arg(long, default_value_t = 1024.0)]
    shard_mb: f64,
    /// With `--data`: one file per utterance (`OUT/<utt-id>.safetensors`) instead of shards.
    #[arg(long)]
    per_utterance: bool,
    /// With `--data`: leave unreadable or too short audio files out (each logged and listed in
    /// `OUT/features.json`) instead of stopping at the first one.
    #[arg(long)]
    skip_bad_audio: bool,
    /// Backend to run on (among those compiled in).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
}

/// Pooling over frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Pool {
    /// Every frame.
    None,
    /// The mean over valid frames.
    Mean,
}

/// What is written per utterance.
struct Output {
    pool: Pool,
    weights: Option<Vec<f32>>,
}

/// Parses `all` or `i,j,...` against `num_layers` (indices 0..=num_layers).
fn parse_layers(spec: &str, num_layers: usize) -> Result<Vec<usize>> {
    if spec.trim() == "all" {
        return Ok((0..=num_layers).collect());
    }
    let mut layers = Vec::new();
    for part in spec.split(',') {
        let i: usize = part.trim().parse().with_context(|| {
            format!("--layers: `{part}` is not a layer index (use `all` or e.g. `0,4,12`)")
        })?;
        if i > num_layers {
            bail!("--layers: {i} is out of range, the model has hidden states 0..={num_layers}");
        }
        layers.push(i);
    }
    layers.sort_unstable();
    layers.dedup();
    Ok(layers)
}

/// Reads `--weighted-sum`: a probe report's `layer_weights` or a bare list, `states` of them.
fn read_weights(path: &Path, states: usize) -> Result<Vec<f32>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--weighted-sum: cannot read {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--weighted-sum: {} is not JSON", path.display()))?;
    let list = json.get("layer_weights").unwrap_or(&json);
    let weights: Vec<f64> = list
        .as_array()
        .and_then(|a| a.iter().map(serde_json::Value::as_f64).collect())
        .ok_or_else(|| {
            anyhow!(
                "--weighted-sum: {} holds neither a probe report's `layer_weights` nor a list \
                 of numbers",
                path.display()
            )
        })?;
    if weights.len() != states {
        bail!(
            "--weighted-sum: {} has {} layer weights, the model has {states} hidden states",
            path.display(),
            weights.len()
        );
    }
    if weights.iter().any(|w| !w.is_finite()) {
        bail!("--weighted-sum: {} has a non-finite weight", path.display());
    }
    Ok(weights.into_iter().map(|w| w as f32).collect())
}

/// The tensors of one utterance under their keys (without the `<utt-id>/` prefix).
fn utterance_tensors(
    f: &Features,
    layers: &[usize],
    output: &Output,
) -> Vec<(String, StateTensor)> {
    let frames = |t: burn::tensor::Tensor<2>| StateTensor::from_tensor(t.unsqueeze_dim::<3>(0));
    let pooled = |t: burn::tensor::Tensor<1>| StateTensor::from_tensor(t.unsqueeze_dim::<2>(0));
    if let Some(weights) = &output.weights {
        let sum = f.weighted_sum(weights);
        let t = match output.pool {
            Pool::None => frames(sum),
            Pool::Mean => pooled(sum.mean_dim(0).squeeze_dim::<1>(0)),
        };
        return vec![("weighted_sum".into(), t)];
    }
    let mut out: Vec<(String, StateTensor)> = match output.pool {
        Pool::None => f
            .hidden_states
            .iter()
            .cloned()
            .map(frames)
            .collect::<Vec<_>>(),
        Pool::Mean => f.mean().into_iter().map(pooled).collect(),
    }
    .into_iter()
    .zip(layers)
    .map(|(t, l)| (format!("hidden_states.{l}"), t))
    .collect();
    if output.pool == Pool::None {
        out.push(("cnn_features".into(), frames(f.cnn_features.clone())));
    }
    out
}

/// Runs `ssl-distill features`.
pub fn run_features(args: &FeaturesArgs) -> Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if !(args.shard_mb.is_finite() && args.shard_mb > 0.0) {
        bail!("--shard-mb must be a positive number of megabytes");
    }
    let device = args.device.device()?;
    let upstream = load_upstream(&args.model, &device)?;
    let states = Backbone::num_hidden_states(&upstream);
    let layers = parse_layers(&args.layers, states - 1)?;
    let weights = match &args.weighted_sum {
        Some(path) if args.layers.trim() != "all" => bail!(
            "--weighted-sum {} weighs every hidden state; leave --layers at `all`",
            path.display()
        ),
        Some(path) => Some(read_weights(path, states)?),
        None => None,
    };
    let output = Output {
        pool: args.pool,
        weights,
    };
    match (&args.audio, &args.data) {
        (Some(audio), _) => one_file(args, &upstream, &layers, &output, audio),
        (None, Some(data)) => corpus(args, &upstream, &layers, &output, data),
        (None, None) => bail!("give --audio FILE or --data MANIFEST"),
    }
}

/// `--audio`: one safetensors file.
fn one_file(
    args: &FeaturesArgs,
    upstream: &Upstream,
    layers: &[usize],
    output: &Output,
    audio: &Path,
) -> Result<()> {
    let rate = upstream.preprocessor().sampling_rate;
    let wave = load_audio(audio, rate)?;
    if upstream.num_frames(wave.len()) == 0 {
        bail!(
            "{}: {} samples at {rate} Hz is shorter than the model's receptive field (no frame)",
            audio.display(),
            wave.len(),
        );
    }
    let extractor = upstream.extractor().with_layers(layers)?;
    let features = extractor
        .extract(&[&wave], upstream.device())?
        .into_iter()
        .next()
        .context("one utterance in, one out")?;
    let tensors: StateDict = utterance_tensors(&features, layers, output)
        .into_iter()
        .collect();
    let out_path = args.out.clone().unwrap_or_else(|| {
        let stem = audio
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        PathBuf::from(format!("{stem}.features.safetensors"))
    });
    write_safetensors(&tensors, &out_path)?;
    tracing::info!(
        "wrote {} ({} frames) to {}",
        tensors.keys().cloned().collect::<Vec<_>>().join(", "),
        features.frames,
        out_path.display()
    );
    Ok(())
}

/// Utterance ids: a JSONL `id` field when present, else the audio path relative to the
/// deepest directory holding every file of the manifest, without its extension.
fn utterance_ids(manifest: &Manifest) -> Result<Vec<String>> {
    let dirs: Vec<Vec<Component<'_>>> = manifest
        .utterances
        .iter()
        .map(|u| {
            u.path
                .parent()
                .map(|p| p.components().collect())
                .unwrap_or_default()
        })
        .collect();
    let mut common = dirs.first().cloned().unwrap_or_default();
    for d in dirs.iter().skip(1) {
        let same = common.iter().zip(d).take_while(|(a, b)| a == b).count();
        common.truncate(same);
    }
    let base: PathBuf = common.iter().collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut ids = Vec::with_capacity(manifest.len());
    for (i, u) in manifest.utterances.iter().enumerate() {
        let id = match u.extra.get("id") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => bail!(
                "{}: utterance {} has `id` {other}, expected a non-empty string",
                manifest.source.display(),
                i + 1
            ),
            None => {
                let rel = u
                    .path
                    .strip_prefix(&base)
                    .unwrap_or(&u.path)
                    .with_extension("");
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                parts.join("/")
            }
        };
        if let Some(first) = seen.insert(id.clone(), i) {
            bail!(
                "{}: utterances {} and {} both have the id `{id}`; give each a unique JSONL `id`",
                manifest.source.display(),
                first + 1,
                i + 1
            );
        }
        ids.push(id);
    }
    Ok(ids)
}

/// `--data`: every utterance of a manifest.
fn corpus(
    args: &FeaturesArgs,
    upstream: &Upstream,
    layers: &[usize],
    output: &Output,
    data: &Path,
) -> Result<()> {
    let out = args
        .out
        .as_deref()
        .context("--data needs --out DIR (the directory of shards and index.jsonl)")?;
    let manifest = Manifest::open(data)?;
    let ids = utterance_ids(&manifest)?;
    if args.per_utterance {
        check_file_names(&manifest, &ids)?;
    }
    let total = manifest.len();
    let paths: Vec<PathBuf> = manifest.utterances.iter().map(|u| u.path.clone()).collect();
    let pre = upstream.preprocessor();
    let dataset = AudioDataset::new(
        manifest,
        DatasetConfig {
            sample_rate: pre.sampling_rate,
            ..DatasetConfig::default()
        },
    )?;
    let loader = Loader::new(
        Arc::new(dataset),
        LoaderConfig {
            batch_size: args.batch_size * 4,
            shuffle: false,
            prefetch: 2,
            skip_bad_audio: args.skip_bad_audio,
            max_epochs: Some(1),
            ..LoaderConfig::default()
        },
        Cursor::default(),
    )?;
    let run = CorpusRun {
        args,
        upstream,
        layers,
        output,
        extractor: upstream
            .extractor()
            .with_layers(layers)?
            .with_batch_size(args.batch_size),
        paths,
        ids,
    };
    let mut writer = crate::cmd::features_out::Writer::create(
        out,
        args.per_utterance,
        (args.shard_mb * 1e6) as usize,
    )?;
    let bar = progress_bar();
    bar.set_length(total as u64);
    bar.set_message("features");
    let result = (|| -> Result<()> {
        for loaded in loader {
            run.batch(loaded?, &mut writer, &bar)?;
        }
        Ok(())
    })();
    bar.finish_and_clear();
    if let Err(e) = result {
        writer.abandon();
        return Err(e);
    }
    let pool = match output.pool {
        Pool::None => "none",
        Pool::Mean => "mean",
    };
    let summary = serde_json::json!({
        "model": upstream.path(),
        "kind": upstream.kind(),
        "data": data,
        "preprocessor": {
            "do_normalize": pre.do_normalize,
            "sampling_rate": pre.sampling_rate,
        },
        "layers": layers,
        "pool": pool,
        "weighted_sum": args.weighted_sum,
        "weights": output.weights,
    });
    let (written, skipped) = writer.finish(summary)?;
    tracing::info!(
        "wrote the features of {written} utterances to {} ({skipped} skipped)",
        out.display()
    );
    Ok(())
}

/// `--per-utterance` names a file after each id: each must be a relative file name.
fn check_file_names(manifest: &Manifest, ids: &[String]) -> Result<()> {
    let bad = ids.iter().find(|id| {
        Path::new(id)
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    });
    if let Some(id) = bad {
        bail!(
            "{}: the id `{id}` is not a relative file name, --per-utterance cannot name a file \
             after it",
            manifest.source.display()
        );
    }
    Ok(())
}

/// What a pass over a corpus uses for each batch.
struct CorpusRun<'a> {
    args: &'a FeaturesArgs,
    upstream: &'a Upstream,
    layers: &'a [usize],
    output: &'a Output,
    extractor: Extractor<'a, Upstream>,
    /// Audio file of each utterance.
    paths: Vec<PathBuf>,
    /// Id of each utterance.
    ids: Vec<String>,
}

impl CorpusRun<'_> {
    /// Extracts the features of a loaded batch and hands them to `writer`; unreadable files,
    /// and clips shorter than the receptive field, are recorded as skipped (an error for a
    /// short clip without `--skip-bad-audio`).
    fn batch(
        &self,
        loaded: LoadedBatch,
        writer: &mut crate::cmd::features_out::Writer,
        bar: &ProgressBar,
    ) -> Result<()> {
        let (upstream, paths) = (self.upstream, &self.paths);
        for e in loaded.skipped {
            tracing::warn!("skipped: {e}");
            writer.skip(None, e.to_string());
            bar.inc(1);
        }
        let batch = &loaded.batch;
        let mut rows = Vec::new();
        for r in 0..batch.batch_size {
            let (index, samples) = (batch.indices[r], batch.row(r));
            if upstream.num_frames(samples.len()) > 0 {
                rows.push((index, samples));
                continue;
            }
            let message = format!(
                "{}: {} samples at {} Hz is shorter than the model's receptive field",
                paths[index].display(),
                samples.len(),
                upstream.preprocessor().sampling_rate
            );
            if !self.args.skip_bad_audio {
                bail!("{message} (--skip-bad-audio leaves it out)");
            }
            tracing::warn!("skipped: {message}");
            writer.skip(Some(&paths[index]), message);
            bar.inc(1);
        }
        let waves: Vec<&[f32]> = rows.iter().map(|(_, s)| *s).collect();
        let features = self.extractor.extract(&waves, upstream.device())?;
        for ((index, samples), f) in rows.iter().zip(&features) {
            let tensors = utterance_tensors(f, self.layers, self.output);
            writer.add(
                &self.ids[*index],
                &paths[*index],
                f.frames,
                samples.len(),
                tensors,
            )?;
            bar.inc(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_lists() {
        assert_eq!(parse_layers("all", 2).unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_layers("2, 0,2", 12).unwrap(), vec![0, 2]);
        assert!(
            parse_layers("13", 12)
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
        assert!(parse_layers("x", 12).is_err());
    }

    #[test]
    fn ids_are_relative_paths_or_jsonl_ids_and_unique() {
        let utt = |path: &str, id: Option<&str>| {
            let mut u = ssl_distill_audio::Utterance {
                path: path.into(),
                ..Default::default()
            };
            if let Some(id) = id {
                u.extra.insert("id".into(), id.into());
            }
            u
        };
        let manifest = |utterances| Manifest {
            source: "m.jsonl".into(),
            utterances,
        };
        let m = manifest(vec![
            utt("/c/wav/a/1.flac", None),
            utt("/c/wav/b/2.wav", None),
            utt("/c/wav/b/3.wav", Some("x")),
        ]);
        assert_eq!(utterance_ids(&m).unwrap(), ["a/1", "b/2", "x"]);
        let m = manifest(vec![utt("/c/one.wav", None)]);
        assert_eq!(utterance_ids(&m).unwrap(), ["one"]);
        let m = manifest(vec![utt("/c/a.wav", None), utt("/c/b.flac", Some("a"))]);
        let err = utterance_ids(&m).unwrap_err().to_string();
        assert!(err.contains("m.jsonl") && err.contains("`a`"), "{err}");
    }

    #[test]
    fn weights_from_a_report_or_a_list() {
        let tmp = tempfile::tempdir().unwrap();
        let report = tmp.path().join("probe-sid.json");
        std::fs::write(
            &report,
            r#"{"task": "sid", "layer_weights": [0.25, 0.5, 0.25]}"#,
        )
        .unwrap();
        assert_eq!(read_weights(&report, 3).unwrap(), [0.25, 0.5, 0.25]);
        let list = tmp.path().join("w.json");
        std::fs::write(&list, "[1, 0]").unwrap();
        assert_eq!(read_weights(&list, 2).unwrap(), [1.0, 0.0]);
        let err = read_weights(&list, 3).unwrap_err().to_string();
        assert!(
            err.contains("w.json") && err.contains("3 hidden states"),
            "{err}"
        );
        std::fs::write(&list, r#"{"x": 1}"#).unwrap();
        assert!(read_weights(&list, 2).is_err());
    }
}
