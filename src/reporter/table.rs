//! `--format table`: per domain, a summary line (verdict and why), the
//! domain's problems, and a row per MX address; then a run summary.

use std::io::{self, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use super::Reporter;
use super::text::terminal as inert;
use crate::report::{
    AddressReport, ChainError, DaneResult, DeliveryResult, Dnssec, DomainReport, MxReport, Report,
    worst,
};
use crate::report::{RecordState, SessionState};
use crate::vocabulary::{Severity, Verdict};

pub struct TableReporter {
    pub color: bool,
}

impl Reporter for TableReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        for domain in &report.domains {
            self.domain(domain, out)?;
            writeln!(out)?;
        }
        self.summary(report, out)
    }
}

fn verdict_color(v: Verdict) -> Color {
    match v {
        Verdict::Protected | Verdict::Secure => Color::Green,
        Verdict::Encrypted => Color::Cyan,
        Verdict::Partial => Color::Yellow,
        Verdict::Plaintext | Verdict::Broken | Verdict::Error => Color::Red,
        Verdict::NoMail => Color::Grey,
    }
}

/// ANSI SGR code for a colour, for text outside tables.
fn sgr(c: Color) -> &'static str {
    match c {
        Color::Green => "32",
        Color::Cyan => "36",
        Color::Yellow => "33",
        Color::Red => "31",
        _ => "90",
    }
}

impl TableReporter {
    fn paint(&self, text: &str, color: Color) -> String {
        if self.color {
            format!("\x1b[1;{}m{text}\x1b[0m", sgr(color))
        } else {
            text.to_string()
        }
    }

    fn domain(&self, d: &DomainReport, out: &mut dyn Write) -> io::Result<()> {
        let verdict = self.paint(&d.verdict.as_str().to_uppercase(), verdict_color(d.verdict));
        writeln!(
            out,
            "{}  {verdict}  {}",
            inert(&d.domain),
            inert(&d.verdict_reason)
        )?;
        if let Some(delivery) = &d.delivery {
            writeln!(out, "  {}", protection_line(d))?;
            writeln!(
                out,
                "  senders: opportunistic {} | MTA-STS-enforcing {} | DANE-enforcing {}",
                self.result(delivery.opportunistic.result),
                self.result(delivery.mta_sts.result),
                self.result(delivery.dane.result)
            )?;
        }
        // Warnings and failures; advice (info) only where there is no
        // table to look at, or it would drown the problems.
        let problems = d
            .findings
            .iter()
            .chain(d.mx.iter().flat_map(|m| m.findings.iter()))
            .filter(|f| {
                f.severity >= Severity::Warn
                    || (d.delivery.is_none() && f.severity == Severity::Info)
            });
        for f in problems {
            writeln!(
                out,
                "  {} {}: {}",
                self.severity(f.severity),
                f.id,
                inert(&f.message)
            )?;
        }
        if d.mx.is_empty() {
            return Ok(());
        }
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        if self.color {
            table.enforce_styling();
            table.set_content_arrangement(ContentArrangement::Dynamic);
        } else {
            table.force_no_tty();
        }
        table.set_header(vec![
            "Pref", "MX", "Address", "STARTTLS", "TLS", "Cipher", "Accepts", "PQ", "Config",
            "Chain", "Name", "Days", "DANE", "Problem",
        ]);
        for mx in &d.mx {
            if mx.addresses.is_empty() {
                table.add_row(vec![
                    Cell::new(mx.preference),
                    Cell::new(inert(&mx.host)),
                    Cell::new("-"),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    Cell::new(""),
                    self.problem_cell(mx_problem(mx), Severity::Fail),
                ]);
            }
            for a in &mx.addresses {
                table.add_row(self.address_row(mx, a));
            }
        }
        writeln!(out, "{table}")
    }

    fn result(&self, r: DeliveryResult) -> String {
        let (text, color) = match r {
            DeliveryResult::Secure => ("secure", Color::Green),
            DeliveryResult::Cleartext => ("cleartext", Color::Yellow),
            DeliveryResult::Deferred => ("DEFERRED", Color::Red),
            DeliveryResult::NotApplicable => ("n/a", Color::Grey),
        };
        self.paint(text, color)
    }

    fn dane_cell(&self, r: DaneResult) -> Cell {
        let (text, good) = match r {
            DaneResult::Valid => ("valid", Some(true)),
            DaneResult::Mismatch => ("MISMATCH", Some(false)),
            DaneResult::LookupFailed => ("lookup failed", Some(false)),
            DaneResult::Unusable => ("unusable", None),
            DaneResult::None | DaneResult::Insecure => ("-", None),
        };
        self.cell(text, good)
    }

    fn severity(&self, s: Severity) -> String {
        let (text, color) = match s {
            Severity::Ok => ("ok", Color::Green),
            Severity::Info => ("info", Color::Grey),
            Severity::Warn => ("warn", Color::Yellow),
            Severity::Fail => ("FAIL", Color::Red),
        };
        self.paint(text, color)
    }

    fn cell(&self, text: impl ToString, good: Option<bool>) -> Cell {
        let cell = Cell::new(text);
        match (self.color, good) {
            (true, Some(true)) => cell.fg(Color::Green),
            (true, Some(false)) => cell.fg(Color::Red),
            _ => cell,
        }
    }

    fn problem_cell(&self, text: String, severity: Severity) -> Cell {
        let cell = Cell::new(inert(&text));
        match (self.color, severity) {
            (true, Severity::Fail) => cell.fg(Color::Red),
            (true, Severity::Warn) => cell.fg(Color::Yellow),
            _ => cell,
        }
    }

    /// The versions the scan saw accepted, `1.0 1.2 1.3`; red when one is
    /// insufficient (below TLS 1.2); `-` when not scanned.
    fn accepts_cell(&self, a: &AddressReport) -> Cell {
        let Some(scan) = &a.scan else {
            return Cell::new("-");
        };
        let text: Vec<&str> = scan
            .accepted_versions
            .iter()
            .map(|v| v.as_str().trim_start_matches("TLSv"))
            .collect();
        let legacy = scan
            .accepted_versions
            .iter()
            .any(|v| v.level() == crate::report::NcscLevel::Insufficient);
        self.cell(text.join(" "), Some(!legacy))
    }

    /// The configuration level, `insuff.` / `phase-out` / `suff.` /
    /// `good`, with `?` when not everything was tried (it may be worse);
    /// colour only repeats it.
    fn config_cell(&self, a: &AddressReport) -> Cell {
        let Some(c) = &a.configuration else {
            return Cell::new("-");
        };
        let word = match c.level {
            crate::report::NcscLevel::Good => "good",
            crate::report::NcscLevel::Sufficient => "suff.",
            crate::report::NcscLevel::PhaseOut => "phase-out",
            crate::report::NcscLevel::Insufficient => "insuff.",
        };
        let text = if c.lower_bound {
            format!("{word}?")
        } else {
            word.to_string()
        };
        self.cell(
            text,
            (c.level == crate::report::NcscLevel::Insufficient).then_some(false),
        )
    }

    fn address_row(&self, mx: &MxReport, a: &AddressReport) -> Vec<Cell> {
        // "?" when the dialogue ended before the server's extensions were known.
        let unknown = !a.reachable();
        let starttls = match (a.starttls, unknown) {
            (true, _) => "yes",
            (false, true) => "?",
            (false, false) => "no",
        };
        let (version, cipher) = match &a.tls {
            Some(t) => (
                inert(t.version.trim_start_matches("TLSv")).into_owned(),
                inert(&t.cipher).into_owned(),
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        let (chain, name, days) = match &a.certificate {
            Some(c) => (
                self.cell(chain_word(c.chain_error), Some(c.chain_valid)),
                self.cell(
                    if c.hostname_match { "ok" } else { "mismatch" },
                    Some(c.hostname_match),
                ),
                self.cell(c.days_left, Some(c.days_left >= 0)),
            ),
            None => (Cell::new("-"), Cell::new("-"), Cell::new("-")),
        };
        let (problem, severity) = match a.worst_finding() {
            Some(f) => (f.message.clone(), f.severity),
            None => (String::new(), Severity::Ok),
        };
        let addr = if a.ip.is_ipv6() {
            format!("[{}]:{}", a.ip, a.port)
        } else {
            format!("{}:{}", a.ip, a.port)
        };
        vec![
            Cell::new(mx.preference),
            Cell::new(inert(&mx.host)),
            Cell::new(addr),
            self.cell(starttls, (!unknown).then_some(a.starttls)),
            Cell::new(version),
            Cell::new(cipher),
            self.accepts_cell(a),
            match a.post_quantum {
                Some(pq) => self.cell(if pq { "yes" } else { "no" }, None),
                None => Cell::new("-"),
            },
            self.config_cell(a),
            chain,
            name,
            days,
            self.dane_cell(a.dane),
            self.problem_cell(problem, severity),
        ]
    }

    fn summary(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let counts: Vec<String> = report
            .summary
            .verdicts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| format!("{n} {}", self.paint(v.as_str(), verdict_color(*v))))
            .collect();
        let plural = if report.summary.domains == 1 { "" } else { "s" };
        writeln!(
            out,
            "{} domain{plural}: {}; {} below the threshold ({})",
            report.summary.domains,
            counts.join(", "),
            report.summary.below_threshold,
            report.settings.fail_below
        )?;
        // Over a partner list, what to fix first: the failing checks that
        // affect the most domains.
        if report.summary.domains > 1 {
            let worst = most_common_failures(report, 5);
            if !worst.is_empty() {
                writeln!(out, "most common failures: {}", worst.join(", "))?;
            }
        }
        Ok(())
    }
}

/// The `limit` failing finding ids that affect the most domains, as
/// `id (N domains)`, most first; ties by id so the output is stable.
fn most_common_failures(report: &Report, limit: usize) -> Vec<String> {
    let mut by_id: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for d in &report.domains {
        let ids: std::collections::BTreeSet<&'static str> = d
            .findings
            .iter()
            .chain(d.mx.iter().flat_map(|m| {
                m.findings
                    .iter()
                    .chain(m.addresses.iter().flat_map(|a| a.findings.iter()))
            }))
            .filter(|f| f.severity == Severity::Fail)
            .map(|f| f.id.as_str())
            .collect();
        for id in ids {
            *by_id.entry(id).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&str, usize)> = by_id.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(limit)
        .map(|(id, n)| format!("{id} ({n} domain{})", if n == 1 { "" } else { "s" }))
        .collect()
}

/// `DNSSEC signed | DANE 2/2 valid | MTA-STS enforce | TLS-RPT yes`
fn protection_line(d: &DomainReport) -> String {
    let dnssec = match d.dnssec {
        Dnssec::Secure => "signed",
        Dnssec::Insecure => "unsigned",
        Dnssec::Bogus => "BOGUS",
        Dnssec::Indeterminate => "unknown",
    };
    let rows: Vec<DaneResult> =
        d.mx.iter()
            .flat_map(|m| m.addresses.iter().map(|a| a.dane))
            .collect();
    let with_tlsa = rows
        .iter()
        .filter(|r| {
            matches!(
                r,
                DaneResult::Valid
                    | DaneResult::Mismatch
                    | DaneResult::Unusable
                    | DaneResult::LookupFailed
            )
        })
        .count();
    let valid = rows.iter().filter(|r| **r == DaneResult::Valid).count();
    let dane = if with_tlsa == 0 {
        "none".to_string()
    } else {
        format!("{valid}/{} valid", rows.len())
    };
    let sts = match &d.mta_sts {
        Some(s) => match (&s.policy, s.record) {
            (Some(p), _) => p.mode.as_str().to_string(),
            (None, RecordState::Valid) => "policy unusable".to_string(),
            (None, RecordState::Absent) => "none".to_string(),
            (None, other) => format!("record {other}"),
        },
        None => "-".to_string(),
    };
    let rpt = match d.tls_rpt.as_ref().map(|r| r.record) {
        Some(RecordState::Valid) => "yes",
        Some(RecordState::Absent) | None => "no",
        Some(_) => "invalid",
    };
    format!("DNSSEC {dnssec} | DANE {dane} | MTA-STS {sts} | TLS-RPT {rpt}")
}

fn mx_problem(mx: &MxReport) -> String {
    worst(&mx.findings)
        .map(|f| f.message.clone())
        .or_else(|| mx.error.as_ref().map(|e| e.message.clone()))
        .unwrap_or_default()
}

fn chain_word(e: Option<ChainError>) -> &'static str {
    match e {
        None => "valid",
        Some(ChainError::Expired) => "expired",
        Some(ChainError::NotYetValid) => "not yet valid",
        Some(ChainError::SelfSigned) => "self-signed",
        Some(ChainError::IncompleteChain) => "incomplete",
        Some(ChainError::UnknownIssuer) => "untrusted",
        Some(ChainError::BadSignature) => "bad signature",
        Some(ChainError::UnsupportedAlgorithm) => "weak algorithm",
        Some(ChainError::InvalidPurpose) => "wrong purpose",
        Some(ChainError::Malformed) => "malformed",
        Some(ChainError::Other) => "invalid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixture;
    use crate::reporter::text::is_unsafe;

    /// `fixture::PEER` as the table shows it.
    const SHOWN: &str = r#"=cmd|' /C calc'!A0\x1b[2J\x1b]0;T\x07\x00\x7f\u{9b}31m\u{85}\u{202e}\u{2066}\u{2028}"q"</script>\r\nX"#;

    fn render(color: bool) -> String {
        let mut out = Vec::new();
        TableReporter { color }
            .finish(&fixture::peer_report(), &mut out)
            .expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn peer_text_is_shown_escaped_in_every_line_and_cell() {
        let text = render(false);
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| c != '\n' && is_unsafe(c))
            .collect();
        assert!(raw.is_empty(), "raw {raw:?} in:\n{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("peer.example  BROKEN  because {SHOWN}"));
        assert_eq!(lines[3], format!("  FAIL mta-sts.policy: policy: {SHOWN}"));
        assert_eq!(lines[4], format!("  warn mx.invalid-name: MX {SHOWN}"));
        let row = lines
            .iter()
            .find(|l| l.contains("192.0.2.7"))
            .expect("address row");
        let cells: Vec<&str> = row.trim_matches('│').split('┆').map(str::trim).collect();
        assert_eq!(cells.len(), 14, "{row}");
        assert_eq!(cells[1], SHOWN, "MX cell");
        assert_eq!(
            cells[13],
            format!("self-signed certificate (CN={SHOWN})"),
            "problem cell"
        );
        assert_eq!(
            lines.last().copied(),
            Some("1 domain: 1 broken; 1 below the threshold (encrypted)")
        );
    }

    #[test]
    fn with_colour_only_our_own_escapes_reach_the_terminal() {
        let text = render(true);
        assert!(text.contains(&format!("because {SHOWN}\n")), "{text}");
        // Every ESC left starts an SGR sequence the table wrote itself.
        for (i, _) in text.match_indices('\u{1b}') {
            let sgr = text[i + 1..]
                .strip_prefix('[')
                .and_then(|rest| rest.find('m').map(|end| &rest[..end]));
            assert!(
                sgr.is_some_and(|p| p.chars().all(|c| c.is_ascii_digit() || c == ';')),
                "not an SGR sequence at {i}: {:?}",
                &text[i..(i + 12).min(text.len())]
            );
        }
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| !matches!(c, '\n' | '\u{1b}') && is_unsafe(c))
            .collect();
        assert!(raw.is_empty(), "raw {raw:?}");
    }
}
