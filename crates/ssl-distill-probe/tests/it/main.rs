//! Integration tests of ssl-distill-probe: metrics, the weighted sum, upstream loading, task
//! data, probes end to end on a synthetic tone corpus, the real benchmarks' layouts (written
//! from the synthetic corpora at test time) and the probes on them, and the CKA analysis with
//! its plots.

mod analysis;
mod layouts;
mod metrics;
mod mini_teacher;
mod probes;
mod real_layouts;
mod real_probes;
mod upstreams;
mod util;
