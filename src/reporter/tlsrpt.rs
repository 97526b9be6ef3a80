//! `smtptls tlsrpt --format table|json|ndjson`: the TLS-RPT summary
//! ([`TlsRptRun`]) written out. JSON is the whole run
//! (`schema/tlsrpt.schema.json`); NDJSON one object per input, policy
//! domain, conflict and the totals, each tagged with `type`; the table is
//! for people, in the house style of every subcommand ([`super::style`]:
//! borderless, laid out to the terminal's width, names never wrapped,
//! colour only when asked), with every string from a report made inert
//! first (report text is written by strangers).

use std::io::{self, Write};

use serde::Serialize;

use super::TableLayout;
use super::style::{Layout, Table, Tone};
use super::table::{Span, wrap_words};
use super::text::terminal as inert;
use crate::report::tlsrpt::{
    CauseStatus, Conflict, DomainSummary, FailureGroup, InputReport, Sessions, TlsRptRun, Totals,
};

/// Output formats of `smtptls tlsrpt --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsRptFormat {
    /// Human-readable tables (the default).
    Table,
    /// One JSON document (schema/tlsrpt.schema.json).
    Json,
    /// One JSON object per line: each input, each policy domain, each
    /// conflict, then the totals; `type` says which.
    Ndjson,
}

/// One NDJSON line.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Line<'a> {
    Input(&'a InputReport),
    Domain(&'a DomainSummary),
    Conflict(&'a Conflict),
    Totals(&'a Totals),
}

/// Writes `run` in `format`; `layout` is the table's width and colour
/// (the other formats ignore it).
pub fn write(
    format: TlsRptFormat,
    run: &TlsRptRun,
    layout: TableLayout,
    out: &mut dyn Write,
) -> io::Result<()> {
    let text = match format {
        TlsRptFormat::Table => super::TextFormat::Table,
        TlsRptFormat::Json => super::TextFormat::Json,
        TlsRptFormat::Ndjson => super::TextFormat::Ndjson,
    };
    super::render(run, text, layout, out)
}

impl super::Document for TlsRptRun {
    fn table(&self, layout: TableLayout, out: &mut dyn Write) -> io::Result<()> {
        let layout = Layout {
            width: layout.width,
            color: layout.color,
        };
        for line in table(self, layout) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }

    /// Each input, each policy domain, each conflict, then the totals.
    fn ndjson(&self, out: &mut dyn Write) -> io::Result<()> {
        self.inputs
            .iter()
            .map(Line::Input)
            .chain(self.domains.iter().map(Line::Domain))
            .chain(self.conflicts.iter().map(Line::Conflict))
            .chain(std::iter::once(Line::Totals(&self.totals)))
            .try_for_each(|line| super::json::line(&line, out))
    }
}

/// One line per input problem, for stderr: `SOURCE: PART: MESSAGE`,
/// made inert (file names and report text may hold control characters).
pub fn problem_lines(run: &TlsRptRun) -> Vec<String> {
    run.inputs
        .iter()
        .flat_map(|input| {
            input.errors.iter().map(move |e| match &e.part {
                Some(part) => format!(
                    "{}: {}: {}",
                    inert(&input.source),
                    inert(part),
                    inert(&e.message)
                ),
                None => format!("{}: {}", inert(&input.source), inert(&e.message)),
            })
        })
        .collect()
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

fn sessions(s: Sessions) -> String {
    let total = s.successful.saturating_add(s.failed);
    format!(
        "{} successful, {} failed ({} failed)",
        s.successful,
        s.failed,
        percent(s.failed, total)
    )
}

/// A count of failed sessions, in the tone of a failure when there are any.
fn failed_cell(t: &Table, failed: u64) -> comfy_table::Cell {
    t.maybe_paint(failed.to_string(), (failed > 0).then_some(Tone::Bad))
}

/// Prose laid out to the width: the first line after `first`, the rest
/// indented by `cont`.
fn prose(text: &str, first: &str, cont: &str, layout: Layout, lines: &mut Vec<String>) {
    lines.extend(wrap_words(text, &Span::plain(first), cont, layout.width));
}

/// Bold when colour is on: the domain heading.
fn bold(text: &str, layout: Layout) -> String {
    if layout.color {
        format!("\x1b[1m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The whole table output, as lines.
fn table(run: &TlsRptRun, layout: Layout) -> Vec<String> {
    let mut lines = Vec::new();
    for d in &run.domains {
        domain(d, layout, &mut lines);
        lines.push(String::new());
    }
    disagreements(run, layout, &mut lines);
    let problems = problem_lines(run);
    if !problems.is_empty() {
        lines.push("Unreadable input:".to_string());
        for line in problems {
            prose(&line, "  ", "    ", layout, &mut lines);
        }
        lines.push(String::new());
    }
    let t = &run.totals;
    let mut total = format!(
        "{} reports ({} duplicates skipped, {} unreadable); {}; {} failure groups",
        t.reports,
        t.duplicates,
        t.unreadable,
        sessions(t.sessions),
        t.failure_groups
    );
    if t.inconsistent_reports > 0 {
        total.push_str(&format!(
            "; {} reports disagree with themselves",
            t.inconsistent_reports
        ));
    }
    if let (Some(still), Some(gone), Some(unknown)) = (t.still_present, t.gone, t.not_reproducible)
    {
        total.push_str(&format!(
            "; audit: {still} still present, {gone} gone, {unknown} not reproducible"
        ));
    }
    prose(&total, "", "  ", layout, &mut lines);
    lines
}

/// "Reports that disagree": with each other (the conflicts), and with
/// themselves (a summary that is not what its failure details add up to).
fn disagreements(run: &TlsRptRun, layout: Layout, lines: &mut Vec<String>) {
    let inconsistent: Vec<(&str, &crate::report::tlsrpt::InconsistentReport)> = run
        .domains
        .iter()
        .flat_map(|d| {
            d.inconsistent_reports
                .iter()
                .map(|r| (d.policy_domain.as_str(), r))
        })
        .collect();
    if run.conflicts.is_empty() && inconsistent.is_empty() {
        return;
    }
    lines.push("Reports that disagree:".to_string());
    for c in &run.conflicts {
        prose(&conflict_line(c), "  ", "    ", layout, lines);
    }
    for (domain, r) in inconsistent {
        let text = format!(
            "summary-disagrees-with-details: {}: report {} from {} ({}) counts {} failed sessions \
             in its summary; its failure details add up to {}",
            inert(domain),
            inert(&r.report_id),
            inert(&r.organisation),
            inert(r.policy_type.as_str()),
            r.summary_failed,
            r.details_failed
        );
        prose(&text, "  ", "    ", layout, lines);
    }
    lines.push(String::new());
}

fn conflict_line(c: &Conflict) -> String {
    let name = serde_json::to_value(c.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let place = c
        .policy_domain
        .as_deref()
        .or(c.report_id.as_deref())
        .unwrap_or("");
    format!(
        "{name}: {}: {} ({})",
        inert(place),
        inert(&c.detail),
        inert(&c.organisations.join(", "))
    )
}

fn domain(d: &DomainSummary, layout: Layout, lines: &mut Vec<String>) {
    let heading = format!(
        "{}  {} – {}  {} reports",
        bold(&inert(&d.policy_domain), layout),
        d.window.start,
        d.window.end,
        d.reports
    );
    lines.push(heading);
    prose(
        &format!("sessions: {}", sessions(d.sessions)),
        "  ",
        "    ",
        layout,
        lines,
    );

    // The reporting windows in full when they fit, else their days
    // (reports cover whole UTC days, RFC 8460 §4.1; JSON has the times).
    let full = organisations(d, layout, false);
    if full.natural_width() <= layout.width {
        lines.extend(full.lines());
    } else {
        lines.extend(organisations(d, layout, true).lines());
    }

    let mut policies = Table::new(
        &["Policy", "Policy string", "Successful", "Failed"],
        layout,
        2,
    );
    policies.keep_whole(&[0, 2, 3]).align_right(&[2, 3]);
    for p in &d.policies {
        let failed = failed_cell(&policies, p.sessions.failed);
        let string = if p.policy_string.is_empty() {
            "-".to_string()
        } else {
            inert(&p.policy_string.join("; ")).into_owned()
        };
        policies.row(vec![
            Table::cell(inert(p.policy_type.as_str())),
            Table::cell(string),
            Table::cell(p.sessions.successful.to_string()),
            failed,
        ]);
    }
    lines.push(String::new());
    lines.extend(policies.lines());
    if d.failures.is_empty() {
        return;
    }
    lines.push(String::new());
    failures(d, layout, lines);
}

/// The organisations that reported the domain; `days`: the window's
/// dates without the time of day.
fn organisations(d: &DomainSummary, layout: Layout, days: bool) -> Table {
    let mut t = Table::new(
        &[
            "Organisation",
            "Reports",
            "Successful",
            "Failed",
            "From",
            "To",
        ],
        layout,
        2,
    );
    t.keep_whole(&[1, 2, 3, 4, 5]).align_right(&[1, 2, 3]);
    let when = |stamp: &str| {
        let stamp = inert(stamp).into_owned();
        match stamp.split_once('T') {
            Some((day, _)) if days => day.to_string(),
            _ => stamp,
        }
    };
    for o in &d.organisations {
        let failed = failed_cell(&t, o.sessions.failed);
        t.row(vec![
            Table::cell(inert(&o.organisation)),
            Table::cell(o.reports.to_string()),
            Table::cell(o.sessions.successful.to_string()),
            failed,
            Table::cell(when(&o.window.start)),
            Table::cell(when(&o.window.end)),
        ]);
    }
    t
}

/// The reason-code column's header.
const CODE_HEADER: &str = "Reason code";

/// The failure groups: one row each, the names whole (result type, MX,
/// IP). Laid out to the width in the first of these that fits: MX and IP
/// in columns of their own with the reason codes beside them (when every
/// code fits whole: they are identifiers, mostly); without the reason code
/// column (each code then goes under the table); MX and IP in one column,
/// one above the other. Under the
/// table, per group: its reason code when the table has no room for it,
/// its additional information and, with `--audit`, what the audit says
/// now.
fn failures(d: &DomainSummary, layout: Layout, lines: &mut Vec<String>) {
    let codes = d.failures.iter().any(|g| g.failure_reason_code.is_some());
    let code_width = d
        .failures
        .iter()
        .filter_map(|g| g.failure_reason_code.as_deref())
        .map(|c| unicode_width::UnicodeWidthStr::width(inert(c).as_ref()))
        .fold(CODE_HEADER.len(), usize::max);
    let names_only = failure_grid(d, layout, false, false);
    let free = layout.width.saturating_sub(names_only.natural_width() + 2);
    let (grid, codes_in_grid) = if codes && free >= code_width {
        (failure_grid(d, layout, false, true), true)
    } else if names_only.natural_width() <= layout.width {
        (names_only, false)
    } else {
        (failure_grid(d, layout, true, false), false)
    };
    lines.extend(grid.lines());
    for g in &d.failures {
        let name = group_name(g, true);
        if let (false, Some(code)) = (codes_in_grid, &g.failure_reason_code) {
            prose(
                &format!("{}: reason code {}", group_name(g, false), inert(code)),
                "  ",
                "      ",
                layout,
                lines,
            );
        }
        for info in &g.additional_information {
            prose(
                &format!("{name}: additional information: {}", inert(info)),
                "  ",
                "      ",
                layout,
                lines,
            );
        }
        if let Some(e) = &g.audit {
            prose(
                &format!("{name}: {} [{}]", inert(&e.message), e.id),
                "  ",
                "      ",
                layout,
                lines,
            );
        }
    }
}

/// The grid of [`failures`]: MX and IP `stacked` in one column or side
/// by side, with or without the reason `codes` as the last column.
fn failure_grid(d: &DomainSummary, layout: Layout, stacked: bool, codes: bool) -> Table {
    let audited = d.failures.iter().any(|g| g.audit.is_some());
    let mut header = vec!["Result type"];
    if stacked {
        header.push("Receiving MX / IP");
    } else {
        header.extend(["Receiving MX", "Receiving IP"]);
    }
    header.extend(["Sessions", "Share"]);
    if audited {
        header.push("Now");
    }
    if codes {
        header.push(CODE_HEADER);
    }
    let numbers = if stacked { [2, 3] } else { [3, 4] };
    let mut t = Table::new(&header, layout, 2);
    // Everything but the reason code is a name, a number or a status
    // word: never wrapped.
    let whole: Vec<usize> = (0..header.len() - usize::from(codes)).collect();
    t.keep_whole(&whole).align_right(&numbers);
    for g in &d.failures {
        let tone = if g.unknown_result_type {
            Tone::Warn
        } else {
            Tone::Bad
        };
        let mx = inert(g.receiving_mx_hostname.as_deref().unwrap_or("-")).into_owned();
        let ip = inert(g.receiving_ip.as_deref().unwrap_or("-")).into_owned();
        let mut row = vec![t.paint(result_type(g), tone)];
        if stacked {
            let place = match (&g.receiving_mx_hostname, &g.receiving_ip) {
                (Some(_), Some(_)) => format!("{mx}\n{ip}"),
                (None, Some(_)) => ip,
                _ => mx,
            };
            row.push(Table::cell(place));
        } else {
            row.extend([Table::cell(mx), Table::cell(ip)]);
        }
        row.extend([
            Table::cell(g.failed_sessions.to_string()),
            Table::cell(format!("{:.1}%", g.share * 100.0)),
        ]);
        if audited {
            let (word, tone) = match g.audit.as_ref().map(|e| e.status) {
                Some(CauseStatus::StillPresent) => ("still present", Some(Tone::Bad)),
                Some(CauseStatus::Gone) => ("gone", Some(Tone::Good)),
                Some(CauseStatus::NotReproducible) => ("not reproducible", Some(Tone::Notice)),
                None => ("-", None),
            };
            row.push(t.maybe_paint(word, tone));
        }
        if codes {
            row.push(Table::cell(inert(
                g.failure_reason_code.as_deref().unwrap_or("-"),
            )));
        }
        t.row(row);
    }
    t
}

/// A failure group in words for the lines under the table: its result
/// type, its reason `code` (two groups may differ only in it) and place.
fn group_name(g: &FailureGroup, code: bool) -> String {
    let mut name = inert(g.result_type.as_str()).into_owned();
    if let (true, Some(c)) = (code, &g.failure_reason_code) {
        name.push_str(&format!(" ({})", inert(c)));
    }
    match (&g.receiving_mx_hostname, &g.receiving_ip) {
        (Some(mx), Some(ip)) => name.push_str(&format!(" at {} [{}]", inert(mx), inert(ip))),
        (Some(mx), None) => name.push_str(&format!(" at {}", inert(mx))),
        (None, Some(ip)) => name.push_str(&format!(" at [{}]", inert(ip))),
        (None, None) => {}
    }
    name
}

fn result_type(g: &FailureGroup) -> String {
    let name = inert(g.result_type.as_str()).into_owned();
    if g.unknown_result_type {
        format!("{name} (unknown type)")
    } else {
        name
    }
}
