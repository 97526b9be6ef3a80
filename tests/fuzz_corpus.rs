//! The fuzz corpora, replayed on stable: every file of `fuzz/corpus/TARGET/`
//! and `fuzz/regressions/TARGET/` goes through the target's function, so an
//! input that once crashed a parser (or reached new code) keeps being
//! checked by `cargo test` without nightly or cargo-fuzz
//! (`docs/fuzzing.md`).

use std::path::{Path, PathBuf};

use smtptls::fuzzing::{TARGETS, run};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn every_target_has_a_fuzz_target_and_a_corpus() {
    let mut targets: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .collect();
    targets.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|t| t.to_string()).collect();
    known.sort();
    assert_eq!(targets, known, "fuzz/fuzz_targets/ and fuzzing::TARGETS");
    for target in TARGETS {
        let corpus = fuzz_dir().join("corpus").join(target);
        assert!(
            !files(&corpus).is_empty(),
            "{} is missing or empty: the replay would test nothing",
            corpus.display()
        );
    }
}

#[test]
fn corpora_and_regressions_replay_without_a_panic() {
    let mut replayed = 0;
    for target in TARGETS {
        for kind in ["corpus", "regressions"] {
            for file in files(&fuzz_dir().join(kind).join(target)) {
                let data =
                    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                // The file's name in the panic message says which input failed.
                let outcome = std::panic::catch_unwind(|| run(target, &data));
                match outcome {
                    Ok(true) => replayed += 1,
                    Ok(false) => panic!("unknown fuzz target {target}"),
                    Err(_) => panic!("{} failed its fuzz target", file.display()),
                }
            }
        }
    }
    assert!(replayed >= TARGETS.len(), "only {replayed} inputs replayed");
}
