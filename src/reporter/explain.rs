//! The output of `smtptls explain`: the registry of finding ids
//! (`vocabulary::explain`) as text for a terminal, wrapped to its width
//! like the table's prose, and as the Markdown table that
//! `docs/grading.md` carries between `<!-- explain:begin -->` and
//! `<!-- explain:end -->` (a test keeps the two equal).
//!
//! Every word here is the tool's own: nothing from the network.

use std::io::{self, Write};

use super::table::{Span, wrap_words};
use crate::vocabulary::{Advice, FindingId, explain};

/// One id: its meaning, why it matters and its usual fix (or why there is
/// none), each paragraph wrapped to `width`.
pub fn write_one(id: FindingId, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let e = explain(id);
    let mut lines = wrap_words(e.meaning, &Span::plain(format!("{id}: ")), "    ", width);
    lines.push(String::new());
    lines.extend(wrap_words(
        e.why,
        &Span::plain("Why it matters: "),
        "    ",
        width,
    ));
    lines.push(String::new());
    let (label, text) = match e.advice {
        Advice::Fix(text) => ("Usual fix: ", text),
        Advice::None { because } => ("No usual fix: ", because),
    };
    lines.extend(wrap_words(text, &Span::plain(label), "    ", width));
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Every id with its meaning, ids in one column, meanings wrapped beside
/// them.
pub fn write_list(width: usize, out: &mut dyn Write) -> io::Result<()> {
    let column = FindingId::ALL
        .iter()
        .map(|id| id.as_str().len())
        .max()
        .unwrap_or(0)
        + 2;
    let indent = " ".repeat(column);
    for &id in FindingId::ALL {
        let first = Span::plain(format!("{:column$}", id.as_str()));
        for line in wrap_words(explain(id).meaning, &first, &indent, width) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The registry as a Markdown table: id, meaning, usual fix.
pub fn markdown_table() -> String {
    let mut t = String::from("| id | meaning | usual fix |\n|---|---|---|\n");
    for &id in FindingId::ALL {
        let e = explain(id);
        let fix = match e.advice {
            Advice::Fix(text) => text.to_string(),
            Advice::None { because } => format!("none: {because}"),
        };
        t.push_str(&format!("| `{id}` | {} | {fix} |\n", e.meaning));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- explain:begin -->";
    const END: &str = "<!-- explain:end -->";

    /// `docs/grading.md` carries the registry's table between the markers,
    /// exactly as `markdown_table` renders it. `UPDATE_DOCS=1` rewrites
    /// the section (and the test then passes); review the diff.
    #[test]
    fn grading_md_carries_the_registry() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/grading.md");
        let doc = std::fs::read_to_string(&path).expect("docs/grading.md");
        let (Some(begin), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/grading.md has no {BEGIN} … {END} section");
        };
        let body = &doc[begin + BEGIN.len()..end];
        let want = format!("\n{}", markdown_table());
        if body == want {
            return;
        }
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{want}{}", &doc[..begin], &doc[end..]);
            std::fs::write(&path, updated).expect("write docs/grading.md");
            return;
        }
        panic!(
            "docs/grading.md's finding table differs from the registry (vocabulary/explain.rs): run with UPDATE_DOCS=1 and review the diff"
        );
    }

    #[test]
    fn one_id_is_wrapped_to_the_width() {
        let mut out = Vec::new();
        write_one(FindingId::TlsCipherOrder, 40, &mut out).expect("write");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(
            text.starts_with("tls.cipher-order: the server does not"),
            "{text}"
        );
        assert!(
            text.contains("\nUsual fix: let the server choose"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        let mut out = Vec::new();
        write_one(FindingId::MxNull, 100, &mut out).expect("write");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.contains("\nNo usual fix: it is what"), "{text}");
    }

    #[test]
    fn the_list_names_every_id_once() {
        let mut out = Vec::new();
        write_list(60, &mut out).expect("write");
        let text = String::from_utf8(out).expect("UTF-8");
        let starts: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        let ids: Vec<&str> = FindingId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(starts, ids);
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
    }
}
