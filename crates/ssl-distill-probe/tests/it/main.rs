//! Integration tests of ssl-distill-probe: metrics, the weighted sum, upstream loading, task
//! data, probes end to end on a synthetic tone corpus, and the CKA analysis with its plots.

mod analysis;
mod metrics;
mod mini_teacher;
mod probes;
mod upstreams;
mod util;
