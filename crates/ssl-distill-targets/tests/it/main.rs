//! Integration tests of ssl-distill-targets.

mod calibration;
mod cka;
mod clustering;
mod strategies;
