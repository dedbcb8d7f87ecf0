//! The configuration a fairseq checkpoint pickles beside its weights, read without fairseq.
//!
//! Three layouts exist, each read into one plain tree ([`serde_json::Value`]) and then into the
//! fields the architecture needs ([`FairseqCfg`]):
//! - `cfg`: an omegaconf `DictConfig` (HuBERT, wav2vec 2.0 since 2021). Its pickled state
//!   (`DictConfig.__getstate__`) is `{"_metadata", "_parent", "_content"}`; `_content` maps
//!   keys to nested `DictConfig` / `ListConfig` or to value nodes (`AnyNode`, `StringNode`,
//!   `IntegerNode`, `BooleanNode`, `FloatNode`, `EnumNode`) whose state holds `_val`. Enum
//!   values (fairseq's `ChoiceEnum`) pickle as `Choices("default")`: their one argument is the
//!   value. Interpolations `${task.normalize}` are resolved against the root;
//!   the architecture is in `cfg.model`, the input in `cfg.task` (`normalize`, `sample_rate`);
//! - `cfg`: a plain dict of `WavLMConfig` fields (WavLM's official files), one flat section;
//! - `args`: an `argparse.Namespace` (fairseq before Hydra, 2020), one flat section with `arch`.
//!
//! Objects of every other class (a `fairseq.data.dictionary.Dictionary` in `task_state`,
//! meters in `extra_state`, optimizer state) are skipped: they are read as opaque objects and
//! never looked at. The field names follow fairseq's `HubertConfig` / `Wav2Vec2Config`
//! (`fairseq/models/hubert/hubert.py`, `fairseq/models/wav2vec/wav2vec2.py`) and unilm's
//! `WavLMConfig`; their HF equivalents are those of transformers' conversion scripts
//! (`convert_hubert_original_pytorch_checkpoint_to_pytorch.py` and its wav2vec 2.0 / WavLM
//! siblings).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value as Json};

use super::conv_layers::parse_conv_layers;
use super::pickle::{MAX_DEPTH, Value, read_pickle};
use crate::config::ModelKind;
use crate::error::LoadError;

/// Largest `data.pkl` read from a zip checkpoint (256 MiB; the tensors live outside it).
const MAX_PICKLE_BYTES: u64 = 256 << 20;

/// torch's legacy-format magic number 0x1950a86a20f9469cfc6c, as `LONG1` bytes.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// Where a checkpoint's configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CfgSource {
    /// No `cfg` or `args`: everything is inferred from the tensors.
    #[default]
    None,
    /// `cfg`, an omegaconf `DictConfig` (sections `model`, `task`).
    DictConfig,
    /// `cfg`, a plain dict (WavLM's flat `WavLMConfig` fields, or sections).
    Dict,
    /// `args`, an `argparse.Namespace` (flat).
    Namespace,
}

use super::conv_layers::ConvLayer;

/// What a fairseq checkpoint's configuration declares (fairseq field names; `None` = absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FairseqCfg {
    /// Where the fields came from.
    pub source: CfgSource,
    /// The model's name (`cfg.model._name`, `args.arch`), e.g. `hubert`, `wav2vec2`.
    pub name: Option<String>,
    /// The family the name (or WavLM's `relative_position_embedding`) declares.
    pub family: Option<ModelKind>,
    /// `encoder_layers`.
    pub encoder_layers: Option<usize>,
    /// `encoder_embed_dim`.
    pub encoder_embed_dim: Option<usize>,
    /// `encoder_ffn_embed_dim`.
    pub encoder_ffn_embed_dim: Option<usize>,
    /// `encoder_attention_heads` (HF `num_attention_heads`).
    pub encoder_attention_heads: Option<usize>,
    /// `layer_norm_first` (HF `do_stable_layer_norm`).
    pub layer_norm_first: Option<bool>,
    /// `extractor_mode`: `default` (group norm) or `layer_norm` (HF `feat_extract_norm`).
    pub extractor_mode: Option<String>,
    /// `conv_feature_layers`, evaluated (HF `conv_dim`, `conv_kernel`, `conv_stride`).
    pub conv_feature_layers: Option<Vec<ConvLayer>>,
    /// `conv_bias` (HF `conv_bias`).
    pub conv_bias: Option<bool>,
    /// `conv_pos` (HF `num_conv_pos_embeddings`).
    pub conv_pos: Option<usize>,
    /// `conv_pos_groups` (HF `num_conv_pos_embedding_groups`).
    pub conv_pos_groups: Option<usize>,
    /// `activation_fn` (only `gelu` is implemented).
    pub activation_fn: Option<String>,
    /// `task.normalize` (HF `do_normalize`).
    pub normalize: Option<bool>,
    /// `task.sample_rate` (HF `sampling_rate`).
    pub sample_rate: Option<u32>,
    /// WavLM `relative_position_embedding`.
    pub relative_position_embedding: Option<bool>,
    /// WavLM `num_buckets`.
    pub num_buckets: Option<usize>,
    /// WavLM `max_distance` (HF `max_bucket_distance`).
    pub max_distance: Option<usize>,
    /// WavLM `gru_rel_pos`.
    pub gru_rel_pos: Option<bool>,
}

/// Reads the configuration of the fairseq checkpoint at `path` (zip or legacy torch format).
///
/// # Errors
/// [`LoadError::Pytorch`] when the file's pickle cannot be read, [`LoadError::FairseqConfig`]
/// when a field has a value of the wrong type or an unsupported value.
pub fn read_cfg(path: &Path) -> Result<FairseqCfg, LoadError> {
    let root = read_root(path)?;
    parse_cfg(&root).map_err(|(field, reason)| LoadError::FairseqConfig {
        path: path.into(),
        field,
        reason,
    })
}

/// The configuration in a top-level pickle's bytes; `source` names it in errors.
pub fn cfg_from_pickle(bytes: &[u8], source: &Path) -> Result<FairseqCfg, LoadError> {
    let root = read_pickle(&mut &bytes[..]).map_err(|e| LoadError::Pytorch {
        path: source.into(),
        message: e.to_string(),
    })?;
    parse_cfg(&root).map_err(|(field, reason)| LoadError::FairseqConfig {
        path: source.into(),
        field,
        reason,
    })
}

/// The checkpoint's top-level pickled object.
fn read_root(path: &Path) -> Result<Value, LoadError> {
    let fail = |message: String| LoadError::Pytorch {
        path: path.into(),
        message,
    };
    let io = |source| LoadError::Io {
        path: path.into(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut head = [0u8; 4];
    let n = file.read(&mut head).map_err(io)?;
    drop(file);
    let file = File::open(path).map_err(io)?;
    if n == 4 && (head == *b"PK\x03\x04" || head == *b"PK\x05\x06") {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(e.to_string()))?;
        // `<archive name>/data.pkl`: the top-level pickle (tensors are the other entries).
        let name = zip
            .file_names()
            .flatten()
            .find(|n| n.ends_with("data.pkl") && n.matches('/').count() <= 1)
            .map(|n| n.to_string())
            .ok_or_else(|| fail("a zip without data.pkl".into()))?;
        let entry = zip.by_name(&name).map_err(|e| fail(e.to_string()))?;
        if entry.size() > MAX_PICKLE_BYTES {
            return Err(fail(format!(
                "{name} is {} bytes, more than the {MAX_PICKLE_BYTES} accepted",
                entry.size()
            )));
        }
        let mut entry = entry.take(MAX_PICKLE_BYTES);
        return read_pickle(&mut entry).map_err(|e| fail(format!("{name}: {e}")));
    }
    // Legacy format: pickles of the magic number, the protocol version and sys info, then the
    // object; a plain `pickle.dump` file is the object alone.
    let mut reader = BufReader::new(file);
    let first = read_pickle(&mut reader).map_err(|e| fail(e.to_string()))?;
    if first != Value::BigInt(LEGACY_MAGIC.to_vec()) {
        return Ok(first);
    }
    for _ in 0..2 {
        read_pickle(&mut reader).map_err(|e| fail(format!("legacy header: {e}")))?;
    }
    read_pickle(&mut reader).map_err(|e| fail(e.to_string()))
}

/// A field error: the dotted field name and what is wrong.
type FieldError = (String, String);

/// The declared fields of a checkpoint's top-level object.
fn parse_cfg(root: &Value) -> Result<FairseqCfg, FieldError> {
    let (source, tree, prefix) = match (root.get("cfg"), root.get("args")) {
        (Some(cfg @ Value::Object(o)), _) if o.class == "omegaconf.dictconfig.DictConfig" => {
            (CfgSource::DictConfig, plain(cfg), "cfg")
        }
        (Some(cfg @ Value::Dict(_)), _) => (CfgSource::Dict, plain(cfg), "cfg"),
        (_, Some(args @ Value::Object(_))) => (CfgSource::Namespace, plain(args), "args"),
        _ => return Ok(FairseqCfg::default()),
    };
    let root_tree = tree.clone();
    let Json::Object(top) = tree else {
        return Err((prefix.into(), "is not a mapping".into()));
    };
    // Sectioned (`cfg.model`, `cfg.task`) or flat (WavLM's dict, `args`).
    let sectioned = match top.get("model") {
        Some(Json::Object(m)) => Some(m.clone()),
        _ => None,
    };
    let (model, task, model_prefix, task_prefix) = match sectioned {
        Some(model) => {
            let task = match top.get("task") {
                Some(Json::Object(t)) => t.clone(),
                _ => Map::new(),
            };
            (
                model,
                task,
                format!("{prefix}.model"),
                format!("{prefix}.task"),
            )
        }
        None => (top.clone(), top, prefix.to_string(), prefix.to_string()),
    };
    let m = Section {
        map: &model,
        root: &root_tree,
        prefix: &model_prefix,
    };
    let t = Section {
        map: &task,
        root: &root_tree,
        prefix: &task_prefix,
    };
    let name = m.string("_name")?.or(m.string("arch")?);
    let relative_position_embedding = m.bool("relative_position_embedding")?;
    let family = match name.as_deref() {
        Some(n) if n.starts_with("hubert") => Some(ModelKind::Hubert),
        Some(n) if n.starts_with("wav2vec2") => Some(ModelKind::Wav2vec2),
        Some(n) if n.starts_with("wavlm") => Some(ModelKind::Wavlm),
        Some(n) => {
            let field = if model.contains_key("_name") {
                "_name"
            } else {
                "arch"
            };
            return Err((
                m.name(field),
                format!("model `{n}` is not HuBERT, wav2vec 2.0 or WavLM"),
            ));
        }
        None if relative_position_embedding == Some(true) => Some(ModelKind::Wavlm),
        None => None,
    };
    let conv_feature_layers = match m.string("conv_feature_layers")? {
        Some(text) => Some(
            parse_conv_layers(&text).map_err(|reason| (m.name("conv_feature_layers"), reason))?,
        ),
        None => None,
    };
    Ok(FairseqCfg {
        source,
        name,
        family,
        encoder_layers: m.usize("encoder_layers")?,
        encoder_embed_dim: m.usize("encoder_embed_dim")?,
        encoder_ffn_embed_dim: m.usize("encoder_ffn_embed_dim")?,
        encoder_attention_heads: m.usize("encoder_attention_heads")?,
        layer_norm_first: m.bool("layer_norm_first")?,
        extractor_mode: m.string("extractor_mode")?,
        conv_feature_layers,
        conv_bias: m.bool("conv_bias")?,
        conv_pos: m.usize("conv_pos")?,
        conv_pos_groups: m.usize("conv_pos_groups")?,
        activation_fn: m.string("activation_fn")?,
        normalize: match t.bool("normalize")? {
            Some(n) => Some(n),
            None => m.bool("normalize")?,
        },
        sample_rate: t
            .usize("sample_rate")?
            .map(|r| u32::try_from(r).map_err(|_| (t.name("sample_rate"), "too large".into())))
            .transpose()?,
        relative_position_embedding,
        num_buckets: m.usize("num_buckets")?,
        max_distance: m.usize("max_distance")?,
        gru_rel_pos: m.bool("gru_rel_pos")?,
    })
}

/// One section of the configuration, with the root for interpolations.
struct Section<'a> {
    map: &'a Map<String, Json>,
    root: &'a Json,
    prefix: &'a str,
}

impl Section<'_> {
    fn name(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }

    /// The value of `key`, interpolations resolved; `None` when absent, null or `???`.
    fn get(&self, key: &str) -> Result<Option<Json>, FieldError> {
        let mut value = match self.map.get(key) {
            None | Some(Json::Null) => return Ok(None),
            Some(v) => v.clone(),
        };
        for _ in 0..8 {
            let Some(target) = value
                .as_str()
                .and_then(|s| s.strip_prefix("${"))
                .and_then(|s| s.strip_suffix('}'))
            else {
                break;
            };
            let mut node = self.root;
            for part in target.split('.') {
                node = node.get(part).ok_or_else(|| {
                    (
                        self.name(key),
                        format!("interpolation `${{{target}}}` names nothing"),
                    )
                })?;
            }
            value = node.clone();
        }
        Ok(match value {
            Json::Null => None,
            Json::String(s) if s == "???" => None,
            v => Some(v),
        })
    }

    fn usize(&self, key: &str) -> Result<Option<usize>, FieldError> {
        self.get(key)?
            .map(|v| {
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| (self.name(key), format!("{v} is not a count")))
            })
            .transpose()
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, FieldError> {
        self.get(key)?
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| (self.name(key), format!("{v} is not a boolean")))
            })
            .transpose()
    }

    fn string(&self, key: &str) -> Result<Option<String>, FieldError> {
        self.get(key)?
            .map(|v| match v {
                Json::String(s) => Ok(s),
                v => Err((self.name(key), format!("{v} is not a string"))),
            })
            .transpose()
    }
}

/// A pickled configuration as a plain tree: omegaconf containers and nodes by their content,
/// a `Namespace` (or any object with a dict state) by its attributes, an enum member by its
/// value; other objects, classes and tensors are null.
fn plain(v: &Value) -> Json {
    plain_at(v, 0)
}

fn plain_at(v: &Value, depth: u16) -> Json {
    if depth > MAX_DEPTH {
        return Json::Null;
    }
    let d = depth + 1;
    match v {
        Value::None | Value::Global(_) | Value::Persistent | Value::Bytes(_) | Value::BigInt(_) => {
            Json::Null
        }
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::List(l) | Value::Tuple(l) => Json::Array(l.iter().map(|x| plain_at(x, d)).collect()),
        Value::Dict(items) => Json::Object(
            items
                .iter()
                .filter_map(|(k, v)| {
                    let key = match k {
                        Value::Str(s) => s.clone(),
                        Value::Int(i) => i.to_string(),
                        _ => return None,
                    };
                    Some((key, plain_at(v, d)))
                })
                .collect(),
        ),
        Value::Object(o) => {
            let state = o.state.as_ref();
            if o.class.starts_with("omegaconf.") {
                // Containers keep `_content`, value nodes `_val`.
                let inner = state.and_then(|s| s.get("_content").or_else(|| s.get("_val")));
                return inner.map_or(Json::Null, |x| plain_at(x, d));
            }
            match (state, o.args.as_slice()) {
                (Some(s @ Value::Dict(_)), _) => plain_at(s, d),
                // An enum member: `Choices("default")`.
                (None, [arg]) if !matches!(arg, Value::Object(_)) => plain_at(arg, d),
                _ => Json::Null,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn dict(items: Vec<(&str, Value)>) -> Value {
        Value::Dict(items.into_iter().map(|(k, v)| (s(k), v)).collect())
    }

    #[test]
    fn flat_dicts_and_interpolations() {
        let root = dict(vec![(
            "cfg",
            dict(vec![
                ("encoder_attention_heads", Value::Int(4)),
                ("relative_position_embedding", Value::Bool(true)),
                ("normalize", Value::Bool(true)),
                ("layer_norm_first", s("${normalize}")),
                ("conv_pos", s("???")),
            ]),
        )]);
        let c = parse_cfg(&root).unwrap();
        assert_eq!(c.source, CfgSource::Dict);
        assert_eq!(c.family, Some(ModelKind::Wavlm));
        assert_eq!(c.encoder_attention_heads, Some(4));
        assert_eq!((c.normalize, c.layer_norm_first), (Some(true), Some(true)));
        assert_eq!(c.conv_pos, None);
    }

    #[test]
    fn wrong_types_and_unknown_models_name_the_field() {
        let root = dict(vec![(
            "cfg",
            dict(vec![("encoder_attention_heads", s("four"))]),
        )]);
        let (field, reason) = parse_cfg(&root).unwrap_err();
        assert_eq!(field, "cfg.encoder_attention_heads");
        assert!(reason.contains("four"), "{reason}");
        let args = Value::Object(Box::new(super::super::pickle::Object {
            class: "argparse.Namespace".into(),
            state: Some(dict(vec![("arch", s("wav2vec"))])),
            ..Default::default()
        }));
        let (field, reason) = parse_cfg(&dict(vec![("args", args)])).unwrap_err();
        assert_eq!(field, "args.arch");
        assert!(reason.contains("wav2vec"), "{reason}");
    }
}
