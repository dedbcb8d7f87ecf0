//! Integration tests of ssl-distill-targets.

mod cka;
mod clustering;
mod strategies;
