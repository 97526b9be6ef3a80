//! `--format table`: per domain, a summary line (verdict and why), the
//! domain's problems, and a row per MX address; then a run summary.

use std::io::{self, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use super::Reporter;
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
                t.version.trim_start_matches("TLSv").to_string(),
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

/// Text from the network made inert for a terminal: C0 and C1 controls,
/// DEL and the bidirectional overrides (which could move the cursor, set
/// the title, clear the screen, recolour or reorder what the admin reads)
/// are shown as escapes (`\x1b`, `\u{202e}`); so are line ends and tabs,
/// which would break the table's rows.
pub fn inert(s: &str) -> std::borrow::Cow<'_, str> {
    fn dangerous(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(dangerous) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && dangerous(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod inert_tests {
    use super::inert;

    #[test]
    fn control_and_bidi_characters_are_shown_escaped() {
        assert_eq!(inert("mx.example.test"), "mx.example.test");
        assert_eq!(
            inert("421 \u{1b}]0;TITLE\u{7}\u{1b}[2J\u{1b}[31mRED"),
            "421 \\x1b]0;TITLE\\x07\\x1b[2J\\x1b[31mRED"
        );
        assert_eq!(inert("a\u{9b}b\u{7f}c\u{0}"), "a\\u{9b}b\\x7fc\\x00");
        assert_eq!(inert("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(inert("two\r\nlines\t"), "two\\r\\nlines\\t");
    }
}
