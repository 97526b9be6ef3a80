//! What the benches share: their `BENCH_*` settings from the environment
//! and where the release binary is. Included by each bench
//! (`#[path = "support/mod.rs"] mod support;`), not a bench of its own.

#![allow(dead_code)] // each bench uses a part

use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A setting, unless unset or blank.
pub fn env_string(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

/// A number setting within `min..=max`, else `default` when unset; an
/// error naming the variable when it is not such a number.
pub fn env_num<T>(name: &str, default: T, min: T, max: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = env_string(name) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(format!(
            "{name}={raw:?}: expected a number from {min} to {max}"
        )),
    }
}

/// `BENCH_BIN`, else `target/release/smtptls` under `CARGO_TARGET_DIR` or
/// the package directory: the binary `scripts/bench` built.
pub fn binary_path() -> PathBuf {
    if let Some(bin) = env_string("BENCH_BIN") {
        return PathBuf::from(bin);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = match env_string("CARGO_TARGET_DIR") {
        Some(dir) => manifest.join(dir),
        None => manifest.join("target"),
    };
    target.join("release").join("smtptls")
}
