//! Recipes end to end on a tiny random teacher and generated audio: every recipe in
//! `recipes/` lowers its loss, runs resume exactly, and bad recipes fail clearly.

mod common;
mod parallel;
mod pretrain;
mod prune;
mod recipes;
mod resume;
mod validation;
