//! The `ssl-distill` command-line tool.

fn main() {}
