//! Parameter utilities: global-norm gradient clipping and ParamId persistence.
//!
//! burn's `GradientClipping::Norm` clips each tensor by its own norm; torch's `clip_grad_norm_`
//! (which the papers use) scales all gradients by one factor computed from the global norm.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let sq = g.powi_scalar(2).sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + sq,
                None => sq,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Global L2 norm of all float-parameter gradients of `module` found in `grads`
/// (`sqrt(sum over tensors of sum(g^2))`, accumulated in f32 on the device). 0 when there are none.
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut v = SquaredNorm { grads, sum: None };
    module.visit(&mut v);
    v.sum
        .map(|s| f64::from(s.into_scalar::<f32>()).sqrt())
        .unwrap_or(0.0)
}

/// Clips `grads` in place to a global L2 norm of at most `max_norm`, like torch's
/// `clip_grad_norm_` (factor `max_norm / (norm + 1e-6)` applied when it is `< 1`).
/// Returns the norm before clipping. `max_norm <= 0` only measures.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let norm = global_grad_norm(module, grads);
    if max_norm > 0.0 && norm.is_finite() {
        let factor = max_norm / (norm + 1e-6);
        if factor < 1.0 {
            module.visit(&mut Scale { grads, factor });
        }
    }
    norm
}

/// Initializes every lazily-initialized float parameter of `module` now (burn's `XConfig::init`
/// defers the random draw to the first `Param::val`). Returns how many were uninitialized.
///
/// The loop calls this at start, right after seeding the devices, so the initial weights follow
/// from the seed and the device RNG stream of step 1 (dropout) does not depend on whether the
/// caller happened to touch the model before.
pub fn init_lazy_params<M: Module>(module: &M) -> usize {
    struct Touch(usize);
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            if !p.is_initialized() {
                self.0 += 1;
                let _ = p.val();
            }
        }
    }
    let mut t = Touch(0);
    module.visit(&mut t);
    t.0
}

/// Module paths (`"a.b.weight"`) to ParamIds of every parameter, in visit order.
pub fn param_ids_by_path<M: Module>(module: &M) -> BTreeMap<String, u64> {
    struct V(Vec<String>, BTreeMap<String, u64>);
    impl ModuleVisitor for V {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.1.insert(self.0.join("."), p.id.val());
        }
        fn visit_int<const D: usize>(&mut self, p: &Param<Tensor<D, burn::tensor::Int>>) {
            self.1.insert(self.0.join("."), p.id.val());
        }
        fn visit_bool<const D: usize>(&mut self, p: &Param<Tensor<D, burn::tensor::Bool>>) {
            self.1.insert(self.0.join("."), p.id.val());
        }
    }
    let mut v = V(Vec::new(), BTreeMap::new());
    module.visit(&mut v);
    v.1
}

/// Gives every parameter of `module` the ParamId recorded for its path (optimizer state is keyed
/// by ParamId, and safetensors does not store ids). Returns the paths that had no recorded id.
pub fn restore_param_ids<M: Module>(module: M, ids: &BTreeMap<String, u64>) -> (M, Vec<String>) {
    struct Mapper<'a> {
        path: Vec<String>,
        ids: &'a BTreeMap<String, u64>,
        missing: Vec<String>,
    }
    impl Mapper<'_> {
        fn set<T: burn::module::ParameterValue>(&mut self, mut p: Param<T>) -> Param<T> {
            let key = self.path.join(".");
            match self.ids.get(&key) {
                Some(id) => p.id = ParamId::from(*id),
                None => self.missing.push(key),
            }
            p
        }
    }
    impl ModuleMapper for Mapper<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            self.set(p)
        }
        fn map_int<const D: usize>(
            &mut self,
            p: Param<Tensor<D, burn::tensor::Int>>,
        ) -> Param<Tensor<D, burn::tensor::Int>> {
            self.set(p)
        }
        fn map_bool<const D: usize>(
            &mut self,
            p: Param<Tensor<D, burn::tensor::Bool>>,
        ) -> Param<Tensor<D, burn::tensor::Bool>> {
            self.set(p)
        }
    }
    let mut m = Mapper {
        path: Vec::new(),
        ids,
        missing: Vec::new(),
    };
    let module = module.map(&mut m);
    (module, m.missing)
}
