//! The module graph flows one way: each top-level module of `src/` sits in
//! a layer, and may import (`crate::…`) only from its own layer or below,
//! with no cycle between modules. Inside a folder, the files import each
//! other (`super::x`, `crate::folder::x`) without a cycle either. Test code
//! (`#[cfg(test)]` modules, `inspector/testkit.rs`) obeys the same rules:
//! a test that must reach up moves up. This test reads the sources, so a
//! new import that climbs a layer or closes a cycle fails here before any
//! reviewer sees it. `docs/architecture.md` draws the same layers.
//!
//! What it cannot see: a path through a re-export (`super::Type` that the
//! folder's `mod.rs` re-exports from a sibling) and glob imports
//! (`use super::*` from a sibling).

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
    // The lab stands for the rest of the Internet: peers that know
    // nothing of the tool (see `self_contained`), used by the demo.
    ("the lab (peers on loopback)", &["lab"]),
    ("wiring", &["audit", "demo", "exporter"]),
    ("command line", &["cli", "exit", "fuzzing"]),
];

/// Modules that import no other module of the crate: the lab's peers
/// must behave like real servers, not consult the code they test.
const SELF_CONTAINED: &[&str] = &["lab"];

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

/// The code of a file without comments, string and char literals, so
/// that a message naming a path is not an edge and a `'{'` does not
/// unbalance the braces. Test code is kept: `#[cfg(test)]` modules and
/// test-only files (`inspector/testkit.rs`) obey the same layers.
fn code_of(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && (at(i + 1, "\"") || at(i + 1, "#"))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#, …
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            j += 1;
            while j < chars.len() && !at(j, &close) {
                j += 1;
            }
            i = j + close.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || chars.get(i + 1) == Some(&'\\'))
        {
            // A char literal ('x', '\n', '\u{1F600}'); a lifetime has no
            // closing quote right after one character.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
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
fn the_lab_imports_nothing_of_the_tool() {
    let graph = graph();
    for module in SELF_CONTAINED {
        let imports = graph.get(*module).cloned().unwrap_or_default();
        assert!(
            imports.is_empty(),
            "{module} must stay self-contained, but imports {imports:?}"
        );
    }
}

/// The first cycle of `graph` (a path that ends where it starts), if any:
/// depth-first search, a back edge is a cycle. Edges to nodes that are not
/// keys of `graph` are ignored.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
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
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_module_graph_has_no_cycle() {
    if let Some(cycle) = find_cycle(&graph()) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

/// A file's module path: `src/prober/scan/suites.rs` is
/// `[prober, scan, suites]`, `src/prober/scan/mod.rs` `[prober, scan]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let Ok(rel) = file.strip_prefix(src) else {
        return Vec::new();
    };
    let mut path: Vec<String> = rel
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .map(|c| c.trim_end_matches(".rs").to_string())
        .collect();
    if path.last().is_some_and(|l| l == "mod") {
        path.pop();
    }
    path
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A path or use-tree starting at `i` (`a::b`, `a::{b, c::{d, e}}`), each
/// path as its segments, and where it ends.
fn use_tree(c: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let skip_ws = |i: &mut usize| {
        while c.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
    };
    let mut prefix: Vec<String> = Vec::new();
    loop {
        skip_ws(&mut i);
        if c.get(i) == Some(&'{') {
            i += 1;
            let mut out = Vec::new();
            loop {
                skip_ws(&mut i);
                match c.get(i) {
                    None => return (out, i),
                    Some('}') => return (out, i + 1),
                    _ => {}
                }
                let (paths, end) = use_tree(c, i);
                out.extend(paths.into_iter().map(|p| [prefix.clone(), p].concat()));
                // Past `as name` and up to the next item.
                i = end;
                let mut depth = 0;
                while let Some(&ch) = c.get(i) {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            i += 1;
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
        }
        let start = i;
        while c.get(i).is_some_and(|&ch| is_ident(ch) || ch == '*') {
            i += 1;
        }
        if i == start {
            return (vec![prefix], i);
        }
        prefix.push(c[start..i].iter().collect());
        let mut j = i;
        skip_ws(&mut j);
        if c.get(j) == Some(&':') && c.get(j + 1) == Some(&':') {
            i = j + 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// Every module path the code of the file `here` names with `crate::` or
/// `super::`, use-trees expanded, as a path from the crate root. `super`
/// counts the inline modules it sits in (`super::x` in `mod tests { … }`
/// is the file's own `x`).
fn paths_named(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let c: Vec<char> = code.chars().collect();
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, ch)| c.get(i + k) == Some(&ch))
    };
    let mut found = Vec::new();
    let mut depth = 0usize;
    // Inline modules the scan is in: name and the depth of their body.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < c.len() {
        let boundary = i == 0 || !is_ident(c[i - 1]) && c[i - 1] != ':';
        match c[i] {
            '{' => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((name, depth));
                }
                i += 1;
                continue;
            }
            '}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            ';' => pending_mod = None,
            _ => {}
        }
        if boundary && at(i, "mod") && c.get(i + 3).is_some_and(|ch| ch.is_whitespace()) {
            let mut j = i + 3;
            while c.get(j).is_some_and(|ch| ch.is_whitespace()) {
                j += 1;
            }
            let start = j;
            while c.get(j).is_some_and(|&ch| is_ident(ch)) {
                j += 1;
            }
            pending_mod = Some(c[start..j].iter().collect());
            i = j;
            continue;
        }
        if boundary && (at(i, "crate::") || at(i, "super::")) {
            let (paths, end) = use_tree(&c, i);
            let base: Vec<String> = here
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            for p in paths {
                let absolute = if p.first().is_some_and(|s| s == "crate") {
                    Some(p[1..].to_vec())
                } else {
                    let ups = p.iter().take_while(|s| *s == "super").count();
                    (ups <= base.len()).then(|| [&base[..base.len() - ups], &p[ups..]].concat())
                };
                found.extend(absolute);
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    found
}

/// The modules of a folder of `src` (its `.rs` files and subfolders), by
/// name.
fn children(src: &Path, folder: &[String]) -> BTreeSet<String> {
    let dir = folder.iter().fold(src.to_path_buf(), |d, c| d.join(c));
    std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?.to_string();
            if path.is_dir() {
                Some(name)
            } else {
                let stem = name.strip_suffix(".rs")?;
                (stem != "mod").then(|| stem.to_string())
            }
        })
        .collect()
}

/// Edges between sibling modules of one folder that `code` (of the file
/// at `here`) makes: a path that leaves `here` for another child of a
/// folder both sit in. The top level is the module graph's business, and
/// a module naming its own children or ancestors is no sibling edge.
fn sibling_edges(
    src: &Path,
    here: &[String],
    code: &str,
    out: &mut BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>>,
) {
    for target in paths_named(code, here) {
        let common = here.iter().zip(&target).take_while(|(a, b)| a == b).count();
        if common == 0 || common >= here.len() || common >= target.len() {
            continue;
        }
        let folder = here[..common].to_vec();
        let (from, to) = (&here[common], &target[common]);
        // An item of the folder's own module (`super::Settings`) is no
        // sibling.
        if !children(src, &folder).contains(to) {
            continue;
        }
        let graph = out.entry(folder).or_default();
        graph.entry(to.clone()).or_default();
        graph.entry(from.clone()).or_default().insert(to.clone());
    }
}

/// Per folder of `src` (as a module path), its sibling modules → those
/// they import.
fn sibling_graphs() -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graphs = BTreeMap::new();
    for file in files {
        let here = module_path(&src, &file);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        sibling_edges(&src, &here, &code_of(&text), &mut graphs);
    }
    graphs
}

/// Inside a folder the files import each other with `super::x` and
/// `crate::folder::x`; those imports must not go round either (a cycle
/// there means neither file can be understood, tested or moved alone).
#[test]
fn the_files_of_a_folder_import_each_other_without_cycle() {
    let cycles: Vec<String> = sibling_graphs()
        .iter()
        .filter_map(|(folder, graph)| {
            find_cycle(graph).map(|c| format!("src/{}/: {}", folder.join("/"), c.join(" -> ")))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "cycles between the files of a folder:\n  {}",
        cycles.join("\n  ")
    );
}

#[test]
fn the_parser_sees_imports() {
    // The test's own reader, on a sample: it must find every edge, test
    // modules included, or the tests above could pass by seeing nothing.
    let code = code_of(
        "use crate::report::{A, B};\nuse crate::{inspector, vocabulary::X};\n// crate::audit\nlet s = \"crate::cli\";\nlet r = r#\"crate::exit \"quoted\"\"#;\nlet c = '{';\nfn f() { crate::prober::probe(); }\n#[cfg(test)]\nmod tests { use crate::resolver::Dnssec; }\n",
    );
    let found = imports(&code);
    let expected: BTreeSet<String> = ["report", "inspector", "vocabulary", "prober", "resolver"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, expected);
    let graph = graph();
    assert!(graph.get("audit").is_some_and(|e| e.contains("inspector")));
    // An edge only the unit tests of reporter/mod.rs make (its fixture's
    // run settings name `options::DnssecMode`).
    assert!(
        graph.get("reporter").is_some_and(|e| e.contains("options")),
        "test code is not read"
    );
}

#[test]
fn the_sibling_reader_resolves_super_and_inline_modules() {
    let here: Vec<String> = ["inspector", "verdict"].map(String::from).to_vec();
    let code = code_of(
        "use super::assessment::X;\nuse crate::inspector::{configuration::{A, B as C}, delivery};\nfn f(s: &super::Settings) {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    fn g() { let c = '}'; }\n    use super::super::mx::inspect_mx;\n}\nuse super::scan;\n",
    );
    let paths: BTreeSet<String> = paths_named(&code, &here)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    let expected: BTreeSet<String> = [
        "inspector::assessment::X",
        "inspector::configuration::A",
        "inspector::configuration::B",
        "inspector::delivery",
        "inspector::Settings",
        "inspector::verdict::*",
        "inspector::mx::inspect_mx",
        "inspector::scan",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(paths, expected);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graphs = BTreeMap::new();
    sibling_edges(&src, &here, &code, &mut graphs);
    let edges = &graphs[&vec!["inspector".to_string()]]["verdict"];
    // `Settings` is an item of inspector/mod.rs and `verdict::*` the file
    // itself: neither is a sibling.
    let expected: BTreeSet<String> = ["assessment", "configuration", "delivery", "mx", "scan"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(edges, &expected);
    // On the sources: a main-code edge and a test-only one.
    let real = sibling_graphs();
    let inspector = &real[&vec!["inspector".to_string()]];
    assert!(inspector["verdict"].contains("assessment"));
    assert!(inspector["address_grade_tests"].contains("mx"));
}
