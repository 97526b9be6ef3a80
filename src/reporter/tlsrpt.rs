//! `smtptls tlsrpt --format table|json|ndjson`: the TLS-RPT summary
//! ([`TlsRptRun`]) written out. JSON is the whole run
//! (`schema/tlsrpt.schema.json`); NDJSON one object per input, policy
//! domain, conflict and the totals, each tagged with `type`; the table is
//! for people, with every string from a report made inert first (report
//! text is written by strangers).

use std::io::{self, Write};

use comfy_table::{Cell, Table, presets};
use serde::Serialize;

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

/// Writes `run` in `format`.
pub fn write(format: TlsRptFormat, run: &TlsRptRun, out: &mut dyn Write) -> io::Result<()> {
    match format {
        TlsRptFormat::Json => {
            // serde_json leaves DEL, C1 and bidi controls raw, which a
            // terminal (or an editor) would obey: text::json escapes them.
            let text = serde_json::to_string_pretty(run).map_err(io::Error::other)?;
            out.write_all(super::text::json(&text).as_bytes())?;
            writeln!(out)
        }
        TlsRptFormat::Ndjson => {
            let lines = run
                .inputs
                .iter()
                .map(Line::Input)
                .chain(run.domains.iter().map(Line::Domain))
                .chain(run.conflicts.iter().map(Line::Conflict))
                .chain(std::iter::once(Line::Totals(&run.totals)));
            for line in lines {
                let text = serde_json::to_string(&line).map_err(io::Error::other)?;
                out.write_all(super::text::json(&text).as_bytes())?;
                writeln!(out)?;
            }
            Ok(())
        }
        TlsRptFormat::Table => table(run, out),
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

fn new_table(header: Vec<&str>) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.force_no_tty();
    table.set_header(header);
    table
}

fn table(run: &TlsRptRun, out: &mut dyn Write) -> io::Result<()> {
    for d in &run.domains {
        domain(d, out)?;
        writeln!(out)?;
    }
    if !run.conflicts.is_empty() {
        writeln!(out, "Reports that disagree:")?;
        for c in &run.conflicts {
            let name = serde_json::to_value(c.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let place = c
                .policy_domain
                .as_deref()
                .or(c.report_id.as_deref())
                .unwrap_or("");
            writeln!(
                out,
                "  {name}: {}: {} ({})",
                inert(place),
                inert(&c.detail),
                inert(&c.organisations.join(", "))
            )?;
        }
        writeln!(out)?;
    }
    let problems = problem_lines(run);
    if !problems.is_empty() {
        writeln!(out, "Unreadable input:")?;
        for line in problems {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    let t = &run.totals;
    write!(
        out,
        "{} reports ({} duplicates skipped, {} unreadable); {}; {} failure groups",
        t.reports,
        t.duplicates,
        t.unreadable,
        sessions(t.sessions),
        t.failure_groups
    )?;
    if let (Some(still), Some(gone), Some(unknown)) = (t.still_present, t.gone, t.not_reproducible)
    {
        write!(
            out,
            "; audit: {still} still present, {gone} gone, {unknown} not reproducible"
        )?;
    }
    writeln!(out)
}

fn domain(d: &DomainSummary, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{}  {} – {}  {} reports",
        inert(&d.policy_domain),
        d.window.start,
        d.window.end,
        d.reports
    )?;
    writeln!(out, "  sessions: {}", sessions(d.sessions))?;
    let mut orgs = new_table(vec![
        "Organisation",
        "Reports",
        "Successful",
        "Failed",
        "From",
        "To",
    ]);
    for o in &d.organisations {
        orgs.add_row(vec![
            Cell::new(inert(&o.organisation)),
            Cell::new(o.reports),
            Cell::new(o.sessions.successful),
            Cell::new(o.sessions.failed),
            Cell::new(&o.window.start),
            Cell::new(&o.window.end),
        ]);
    }
    writeln!(out, "{orgs}")?;
    let mut policies = new_table(vec!["Policy", "Policy string", "Successful", "Failed"]);
    for p in &d.policies {
        policies.add_row(vec![
            Cell::new(inert(p.policy_type.as_str())),
            Cell::new(inert(&p.policy_string.join("; "))),
            Cell::new(p.sessions.successful),
            Cell::new(p.sessions.failed),
        ]);
    }
    writeln!(out, "{policies}")?;
    if d.failures.is_empty() {
        return Ok(());
    }
    let audited = d.failures.iter().any(|g| g.audit.is_some());
    let mut header = vec![
        "Result type",
        "Receiving MX",
        "Receiving IP",
        "Sessions",
        "Share",
    ];
    if audited {
        header.push("Now");
    }
    let mut failures = new_table(header);
    for g in &d.failures {
        let mut row = vec![
            Cell::new(result_type(g)),
            Cell::new(inert(g.receiving_mx_hostname.as_deref().unwrap_or("-"))),
            Cell::new(inert(g.receiving_ip.as_deref().unwrap_or("-"))),
            Cell::new(g.failed_sessions),
            Cell::new(format!("{:.1}%", g.share * 100.0)),
        ];
        if audited {
            row.push(Cell::new(match g.audit.as_ref().map(|e| e.status) {
                Some(CauseStatus::StillPresent) => "still present",
                Some(CauseStatus::Gone) => "gone",
                Some(CauseStatus::NotReproducible) => "not reproducible",
                None => "-",
            }));
        }
        failures.add_row(row);
    }
    writeln!(out, "{failures}")?;
    for g in &d.failures {
        if let Some(e) = &g.audit {
            writeln!(
                out,
                "  {}: {} [{}]",
                inert(g.result_type.as_str()),
                inert(&e.message),
                e.id
            )?;
        }
    }
    Ok(())
}

fn result_type(g: &FailureGroup) -> String {
    let name = inert(g.result_type.as_str()).into_owned();
    if g.unknown_result_type {
        format!("{name} (unknown type)")
    } else {
        name
    }
}
