//! The outputs of `smtptls diff`: a table grouped by domain (worst first,
//! as the [`DiffRun`] orders them), the whole run as JSON
//! (`schema/diff.schema.json`), one domain's changes per line (NDJSON), or
//! a page ([`super::html::diff`]). The table is lines, not a grid: a
//! mark and a change hanging from it (`REGRESSION  id: message`), so it is
//! laid out by `wrap_words` like the finding lines of `check`, not by
//! comfy-table. Messages quote MX names, certificate issuers, policy patterns and
//! verdict reasons, which came from the network: each is neutralised for
//! its format ([`super::text`]).

use std::io::{self, Write};

use super::table::{Span, Tone, verdict_tone, wrap_words};
use super::text;
use crate::diff::{Change, ChangeId, DiffRun, Direction, DomainDiff, DomainStatus};

/// Output formats of `smtptls diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Changes grouped by domain, worst first (the default).
    Table,
    /// One JSON document (schema/diff.schema.json).
    Json,
    /// One JSON object per changed domain per line (the `domains` objects
    /// of the json format).
    Ndjson,
    /// One self-contained HTML page: counts, charts, the changed domains
    /// (sortable, filterable) and every change per domain.
    Html,
}

/// Writes the diff in `format`; `layout` is the table's colour and width.
pub fn write(
    format: DiffFormat,
    run: &DiffRun,
    layout: super::TableLayout,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        DiffFormat::Table => super::render(run, super::TextFormat::Table, layout, out),
        DiffFormat::Json => super::render(run, super::TextFormat::Json, layout, out),
        DiffFormat::Ndjson => super::render(run, super::TextFormat::Ndjson, layout, out),
        DiffFormat::Html => super::html::diff::write_page(run, out),
    }
}

impl super::Document for DiffRun {
    fn table(&self, layout: super::TableLayout, out: &mut dyn Write) -> io::Result<()> {
        table(self, layout, out)
    }

    /// One changed domain per line.
    fn ndjson(&self, out: &mut dyn Write) -> io::Result<()> {
        self.domains
            .iter()
            .try_for_each(|d| super::json::line(d, out))
    }
}

fn paint(color: bool, tone: Tone, s: &str) -> Span {
    Span {
        plain: s.to_string(),
        shown: if color {
            format!("\x1b[{}m{s}\x1b[0m", tone.sgr())
        } else {
            s.to_string()
        },
    }
}

/// The word before each change: what it means, in words (colour only
/// repeats it).
fn mark(c: &Change) -> (&'static str, Tone) {
    if c.regression {
        ("REGRESSION", Tone::Bad)
    } else if c.problem {
        ("PROBLEM", Tone::Bad)
    } else if c.id == ChangeId::DomainAdded {
        ("added", Tone::Info)
    } else if c.id == ChangeId::DomainRemoved {
        ("removed", Tone::Info)
    } else {
        match c.direction {
            Direction::Worse => ("worse", Tone::Warn),
            Direction::Better => ("better", Tone::Good),
            Direction::Neutral => ("changed", Tone::Info),
        }
    }
}

const MARK_WIDTH: usize = 10;

fn table(run: &DiffRun, layout: super::TableLayout, out: &mut dyn Write) -> io::Result<()> {
    let color = layout.color;
    let width = layout.width;
    let s = &run.summary;
    let side = |label: &str, info: &crate::diff::SideInfo| {
        let mut line = format!(
            "{label} {} ({}, {} domains",
            text::terminal(&info.file),
            info.format.as_str(),
            info.domains
        );
        if let Some(at) = &info.generated_at {
            line.push_str(&format!(", generated {}", text::terminal(at)));
        }
        if info.duplicates > 0 {
            line.push_str(&format!(
                ", {} repeated rows: the later row of each domain used",
                info.duplicates
            ));
        }
        line.push(')');
        line
    };
    writeln!(out, "{}", side("old:", &run.old))?;
    writeln!(out, "{}", side("new:", &run.new))?;
    writeln!(out)?;
    for d in &run.domains {
        domain(d, color, width, out)?;
        writeln!(out)?;
    }
    let headline = if run.domains.is_empty() {
        format!("no changes: {} domains compared", s.compared)
    } else {
        format!(
            "{} regressions · {} problems · {} changed · {} added · {} removed · {} unchanged ({} worse, {} better)",
            s.regressions,
            s.problems,
            s.changed,
            s.added,
            s.removed,
            s.unchanged,
            s.worse,
            s.better
        )
    };
    for line in wrap_words(&headline, &Span::plain(""), "  ", width) {
        writeln!(out, "{line}")?;
    }
    let rule: Vec<&str> = run.fail_on.iter().map(|id| id.as_str()).collect();
    for line in wrap_words(
        &format!("regressions by --fail-on: {}", rule.join(", ")),
        &Span::plain(""),
        "  ",
        width,
    ) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn verdict_words(d: &DomainDiff) -> String {
    match (d.status, d.old_verdict, d.new_verdict) {
        (DomainStatus::Added, _, Some(n)) => format!("added, {}", n.as_str()),
        (DomainStatus::Removed, Some(o), _) => format!("removed, was {}", o.as_str()),
        (_, Some(o), Some(n)) if o == n => o.as_str().to_string(),
        (_, Some(o), Some(n)) => format!("{} → {}", o.as_str(), n.as_str()),
        _ => String::new(),
    }
}

fn domain(d: &DomainDiff, color: bool, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let name = text::terminal(&d.domain);
    let verdict = verdict_words(d);
    let tone = d
        .new_verdict
        .or(d.old_verdict)
        .map_or(Tone::Info, verdict_tone);
    let head = paint(color, tone, &verdict);
    let bold = |s: &str| {
        if color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    writeln!(out, "{}  {}", bold(&name), head.shown)?;
    for c in &d.changes {
        let (word, tone) = mark(c);
        let padded = format!("  {word:<MARK_WIDTH$} ");
        let first = Span {
            plain: padded.clone(),
            shown: paint(color, tone, &padded).shown,
        };
        let cont = " ".repeat(MARK_WIDTH + 3);
        let message = format!("{}: {}", c.id.as_str(), text::terminal(&c.message));
        for line in wrap_words(&message, &first, &cont, width) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::fixture::hostile_run;
    use crate::reporter::TableLayout;

    fn render(run: &DiffRun, format: DiffFormat, color: bool, width: usize) -> String {
        let mut out = Vec::new();
        let layout = TableLayout {
            color,
            width,
            verbose: false,
        };
        write(format, run, layout, &mut out).expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    /// The table at 80 columns: grouped by domain, the regression first
    /// with its word, peer text shown escaped (never obeyed).
    #[test]
    fn table_at_80_columns() {
        let text = render(&hostile_run(), DiffFormat::Table, false, 80);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{0}'));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn colour_repeats_the_words_only() {
        let plain = render(&hostile_run(), DiffFormat::Table, false, 80);
        let coloured = render(&hostile_run(), DiffFormat::Table, true, 80);
        assert_ne!(plain, coloured);
        let stripped = coloured
            .replace("\u{1b}[1m", "")
            .replace("\u{1b}[0m", "")
            .replace("\u{1b}[31m", "")
            .replace("\u{1b}[32m", "")
            .replace("\u{1b}[33m", "")
            .replace("\u{1b}[36m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn no_changes_says_so() {
        let mut run = hostile_run();
        run.domains.clear();
        let text = render(&run, DiffFormat::Table, false, 80);
        assert!(
            text.contains("\nno changes: 2 domains compared\n"),
            "{text}"
        );
    }

    #[test]
    fn json_and_ndjson_escape_controls_and_read_back() {
        let run = hostile_run();
        let json = render(&run, DiffFormat::Json, false, 80);
        assert!(
            !json
                .chars()
                .any(|c| c != '\n' && crate::reporter::text::is_unsafe(c))
        );
        let back: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(back, serde_json::to_value(&run).expect("value"));
        let ndjson = render(&run, DiffFormat::Ndjson, false, 80);
        let lines: Vec<serde_json::Value> = ndjson
            .lines()
            .map(|l| serde_json::from_str(l).expect("line"))
            .collect();
        assert_eq!(serde_json::Value::Array(lines), back["domains"]);
    }
}
