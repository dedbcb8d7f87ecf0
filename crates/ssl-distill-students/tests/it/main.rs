//! Integration tests of ssl-distill-students.

mod checkpoint;
mod front_end;
mod generator;
mod grad_mult;
mod hf_roundtrip;
mod prune;
mod students;
mod util;
