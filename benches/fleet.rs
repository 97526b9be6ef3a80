//! (in progress) Fleet benchmark.
fn main() {}
