//! The module graph flows one way: each top-level module of `src/` sits in
//! a layer, and may import (`crate::…`) only from its own layer or below,
//! with no cycle between modules. This test reads the sources, so a new
//! import that climbs a layer fails here before any reviewer sees it.
//! `docs/architecture.md` draws the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A new top-level module must be placed here.
const LAYERS: &[(&str, &[&str])] = &[
    ("shared vocabulary", &["vocabulary", "domain", "options"]),
    (
        "network observation",
        &["crypto", "resolver", "prober", "fetch"],
    ),
    ("pure protocol rules", &["protection"]),
    ("assessment", &["inspector"]),
    ("report contract", &["report", "diff"]),
    (
        "outputs and inputs",
        &["reporter", "mta_config", "input", "tlsrpt_input"],
    ),
    ("wiring", &["audit"]),
    ("command line", &["cli", "exit", "fuzzing"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs
/// and main.rs, which may use everything).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The code of a file without comments, string literals and `#[cfg(test)]`
/// modules (unit tests may reach anywhere), crudely but sufficiently for
/// finding `crate::module` paths.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        // Drop string literals so a message naming a path is not an edge.
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every `crate::X` the code names, plus the `X` of `use crate::{X, …}`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
        rest = after;
    }
    found
}

/// module → the modules it imports, from the sources.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let edges = graph.entry(module.clone()).or_default();
        for target in imports(&code_of(&text)) {
            if target != module {
                edges.insert(target);
            }
        }
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = graph()
        .keys()
        .filter(|m| layer_of(m).is_none())
        .cloned()
        .collect();
    assert!(
        unplaced.is_empty(),
        "place these modules in a layer (tests/layers.rs, docs/architecture.md): {unplaced:?}"
    );
}

#[test]
fn no_import_climbs_a_layer() {
    let mut climbs = Vec::new();
    for (from, targets) in graph() {
        for to in targets {
            if let (Some(lf), Some(lt)) = (layer_of(&from), layer_of(&to))
                && lt > lf
            {
                climbs.push(format!(
                    "{from} ({}) imports {to} ({})",
                    LAYERS[lf].0, LAYERS[lt].0
                ));
            }
        }
    }
    assert!(
        climbs.is_empty(),
        "imports that point up a layer:\n  {}",
        climbs.join("\n  ")
    );
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    // Depth-first search; a back edge is a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if graph.contains_key(next)
                && let Some(cycle) = visit(next, graph, path, done)
            {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_parser_sees_imports() {
    // The test's own reader, on a sample: it must find every edge, or the
    // tests above could pass by seeing nothing.
    let code = code_of(
        "use crate::report::{A, B};\nuse crate::{inspector, vocabulary::X};\n// crate::audit\nlet s = \"crate::cli\";\nfn f() { crate::prober::probe(); }\n#[cfg(test)]\nmod tests { use crate::main; }\n",
    );
    let found = imports(&code);
    let expected: BTreeSet<String> = ["report", "inspector", "vocabulary", "prober"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, expected);
    assert!(
        graph()
            .get("audit")
            .is_some_and(|e| e.contains("inspector"))
    );
}
