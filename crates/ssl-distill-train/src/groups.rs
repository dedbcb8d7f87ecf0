//! Parameter groups with their own learning-rate multiplier (and optionally weight decay).
//!
//! Recipes need them: DPHuBERT / CoFi-style structured pruning trains its hard-concrete gate
//! logits with their own learning rate and its Lagrangian multipliers by gradient *ascent*
//! (a negative learning rate, no weight decay); fine-tuning may lower the lr of the CNN.
//!
//! A group is selected by module path (the dotted path `checkpoints/step-N/param_ids.json` lists,
//! e.g. `backbone.feature_extractor.conv_layers.0.conv.weight`), so it is the same in every
//! process and survives resume. Rust callers holding [`ParamId`]s (e.g. from
//! `list_param_ids(&model.gates)`) turn them into exact paths with
//! [`ParamGroupConfig::from_ids`].
//!
//! Built on burn's own machinery: each group becomes a `burn::module::ParamGroup`; the loop passes
//! a `ModuleLearningRate` (`lr_at(step)` for the rest, `lr_at(step) * lr_scale` for each group) to
//! `ModuleOptimizer::step`, and [`crate::adamw_from_config`] adds an AdamW with the group's weight
//! decay via `ModuleOptimizer::with_group`. burn stores each parameter's module path in the
//! optimizer record, so `load_record` routes every state back to its group on resume.

use std::collections::BTreeMap;

use burn::module::{Module, ParamGroup, ParamId};
use burn::optim::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::params::param_ids_by_path;

/// One parameter group: which parameters (exactly one selector), and how their learning rate
/// relates to the schedule.
///
/// TOML (inside a [`crate::TrainConfig`]):
/// ```toml
/// [[param_groups]]
/// name = "cnn"
/// contains = ["feature_extractor"]  # path contains every string (AND)
/// lr_scale = 0.1
///
/// [[param_groups]]
/// name = "lambdas"
/// paths = ["lambda1", "lambda2"]    # exact paths; or regex = "^encoder\\.layers\\.[0-3]\\."
/// lr_scale = -1.0                   # gradient ascent (Lagrangian multipliers)
/// weight_decay = 0.0
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamGroupConfig {
    /// Name, used in errors and as the metrics key `lr_<name>`. Non-empty, unique.
    pub name: String,
    /// Select parameters whose path contains every one of these strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
    /// Select parameters whose path matches this regex (burn's `ParamGroup::from_regex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Select parameters with exactly these paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// The group's lr is `lr_at(step) * lr_scale` (warm-up and decay apply). `0` freezes the
    /// group (AdamW's decoupled decay is `lr * weight_decay`, so it stops too); a negative value
    /// ascends the gradient. Default 1.
    #[serde(default = "one")]
    pub lr_scale: f64,
    /// AdamW weight decay for this group instead of `TrainConfig::weight_decay` (applied by
    /// [`crate::adamw_from_config`]; a caller-built optimizer sets its own). Default: inherit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f32>,
}

fn one() -> f64 {
    1.0
}

impl ParamGroupConfig {
    fn empty(name: impl Into<String>, lr_scale: f64) -> Self {
        Self {
            name: name.into(),
            contains: Vec::new(),
            regex: None,
            paths: Vec::new(),
            lr_scale,
            weight_decay: None,
        }
    }

    /// Parameters whose module path contains every string of `parts`.
    pub fn contains<S: Into<String>>(
        name: impl Into<String>,
        parts: impl IntoIterator<Item = S>,
        lr_scale: f64,
    ) -> Self {
        Self {
            contains: parts.into_iter().map(Into::into).collect(),
            ..Self::empty(name, lr_scale)
        }
    }

    /// Parameters whose module path matches `pattern`.
    pub fn regex(name: impl Into<String>, pattern: impl Into<String>, lr_scale: f64) -> Self {
        Self {
            regex: Some(pattern.into()),
            ..Self::empty(name, lr_scale)
        }
    }

    /// Parameters with exactly these module paths.
    pub fn paths<S: Into<String>>(
        name: impl Into<String>,
        paths: impl IntoIterator<Item = S>,
        lr_scale: f64,
    ) -> Self {
        Self {
            paths: paths.into_iter().map(Into::into).collect(),
            ..Self::empty(name, lr_scale)
        }
    }

    /// The parameters of `model` with these ids, as exact paths (ids are random per process and
    /// re-assigned on resume; paths are not). Ids not found in `model` are ignored, so the group
    /// then fails the "matches at least one parameter" check if none is found.
    pub fn from_ids<M: Module>(
        name: impl Into<String>,
        model: &M,
        ids: &[ParamId],
        lr_scale: f64,
    ) -> Self {
        let paths = param_ids_by_path(model)
            .into_iter()
            .filter(|(_, id)| ids.iter().any(|i| i.val() == *id))
            .map(|(p, _)| p);
        Self::paths(name, paths, lr_scale)
    }

    /// Sets the group's AdamW weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f32) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }

    /// burn's `ParamGroup` for this selector.
    pub fn param_group(&self) -> Result<ParamGroup, TrainError> {
        let n = usize::from(!self.contains.is_empty())
            + usize::from(self.regex.is_some())
            + usize::from(!self.paths.is_empty());
        if n != 1 {
            return Err(self.bad(
                "exactly one of `contains`, `regex`, `paths` (non-empty)",
                format!("{n} selectors"),
            ));
        }
        if let Some(re) = &self.regex {
            return ParamGroup::from_regex(re)
                .map_err(|e| self.bad("a valid regex", format!("{re:?}: {e:?}")));
        }
        if !self.contains.is_empty() {
            return Ok(ParamGroup::from_predicates(self.contains.clone()));
        }
        Ok(ParamGroup::from_paths(self.paths.clone()))
    }

    fn bad(&self, expected: &'static str, got: String) -> TrainError {
        TrainError::ParamGroup {
            group: self.name.clone(),
            expected,
            got,
        }
    }

    /// Checks the group on its own (no model): name, one valid selector, finite values, and no
    /// weight decay on a negative-lr group (decay `1 - lr * wd` would then grow the weights).
    pub fn validate(&self, default_weight_decay: f32) -> Result<(), TrainError> {
        if self.name.is_empty() {
            return Err(self.bad("a non-empty name", "\"\"".into()));
        }
        self.param_group()?;
        if !self.lr_scale.is_finite() {
            return Err(self.bad("a finite lr_scale", self.lr_scale.to_string()));
        }
        if let Some(wd) = self.weight_decay
            && !(wd.is_finite() && wd >= 0.0)
        {
            return Err(self.bad("weight_decay finite and >= 0", wd.to_string()));
        }
        let wd = self.weight_decay.unwrap_or(default_weight_decay);
        if self.lr_scale < 0.0 && wd != 0.0 {
            return Err(self.bad(
                "weight_decay = 0 for a negative lr_scale",
                format!("weight_decay {wd}"),
            ));
        }
        Ok(())
    }
}

/// Checks a list of groups without a model (see [`ParamGroupConfig::validate`]) and that names
/// are unique.
pub fn validate_groups(
    groups: &[ParamGroupConfig],
    default_weight_decay: f32,
) -> Result<(), TrainError> {
    for (i, g) in groups.iter().enumerate() {
        g.validate(default_weight_decay)?;
        if groups[..i].iter().any(|o| o.name == g.name) {
            return Err(g.bad("a unique name", "a repeated name".into()));
        }
    }
    Ok(())
}

/// Groups checked against a model: every group selects at least one parameter and no parameter
/// is in two groups. Built once per run; gives the per-step learning rates.
#[derive(Clone)]
pub struct ResolvedGroups {
    groups: Vec<(ParamGroupConfig, ParamGroup)>,
    /// Paths selected by each group, in group order.
    members: Vec<Vec<String>>,
}

impl std::fmt::Debug for ResolvedGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: BTreeMap<&str, &Vec<String>> = self
            .groups
            .iter()
            .map(|(c, _)| c.name.as_str())
            .zip(&self.members)
            .collect();
        f.debug_struct("ResolvedGroups")
            .field("members", &names)
            .finish()
    }
}

impl ResolvedGroups {
    /// Matches `groups` against the parameters of `model`.
    pub fn resolve<M: Module>(
        groups: &[ParamGroupConfig],
        model: &M,
        default_weight_decay: f32,
    ) -> Result<Self, TrainError> {
        validate_groups(groups, default_weight_decay)?;
        let params = param_ids_by_path(model);
        let mut owner: BTreeMap<String, String> = BTreeMap::new();
        let mut resolved = Vec::with_capacity(groups.len());
        let mut members = Vec::with_capacity(groups.len());
        for g in groups {
            let pg = g.param_group()?;
            let hits: Vec<String> = params
                .iter()
                .filter(|(path, id)| pg.matches(&ParamId::from(**id), Some(path.as_str())))
                .map(|(path, _)| path.clone())
                .collect();
            if hits.is_empty() {
                return Err(g.bad(
                    "a selector matching at least one parameter",
                    format!("0 of {} parameters", params.len()),
                ));
            }
            for path in &hits {
                if let Some(other) = owner.insert(path.clone(), g.name.clone()) {
                    return Err(g.bad(
                        "no parameter shared with another group",
                        format!("`{path}` is also in group `{other}`"),
                    ));
                }
            }
            resolved.push((g.clone(), pg));
            members.push(hits);
        }
        Ok(Self {
            groups: resolved,
            members,
        })
    }

    /// No groups: every parameter follows the schedule.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Paths selected by the group called `name`.
    pub fn members(&self, name: &str) -> Option<&[String]> {
        self.groups
            .iter()
            .position(|(c, _)| c.name == name)
            .map(|i| self.members[i].as_slice())
    }

    /// burn's per-parameter learning rates for base lr `lr`: `lr` for parameters in no group,
    /// `lr * lr_scale` for each group's.
    pub fn module_lr(&self, lr: f64) -> ModuleLearningRate {
        let mut s = ModuleLrScheduler::new(lr);
        for (c, g) in &self.groups {
            s = s.with_group(g.clone(), lr * c.lr_scale);
        }
        s.step()
    }

    /// `(lr_<name>, lr * lr_scale)` for the metrics row.
    pub fn lrs(&self, lr: f64) -> impl Iterator<Item = (String, f64)> + '_ {
        self.groups
            .iter()
            .map(move |(c, _)| (format!("lr_{}", c.name), lr * c.lr_scale))
    }
}
