//! `--format table`: for people at a terminal. Per domain the verdict
//! line, the protection line and the senders line; a compact table of
//! short facts per MX address; then the problems as full-width lines, each
//! naming what it is about, with the usual fix under it (`-v`: every
//! finding). A run summary ends the output.
//!
//! Everything is laid out to the width it is given (the terminal's, else
//! `COLUMNS`, else 100: see [`table_width`]). Only prose wraps, at spaces:
//! a host name, an address or a suite name is never split, and a line
//! can only exceed the width when one such word is longer than the line.
//! Colour (`--color`, `NO_COLOR`) never changes the layout, and it only
//! repeats what a word already says.
//!
//! Every string from the network goes through [`inert`] before it is
//! laid out, so escapes are shown, never obeyed, and cannot forge lines.

use std::collections::BTreeMap;
use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::Reporter;
use super::text::terminal as inert;
use crate::report::RecordState;
use crate::report::{
    AddressReport, ChainError, DaneResult, DeliveryResult, Dnssec, DomainReport, MxReport,
    NcscLevel, Report,
};
use crate::vocabulary::{Finding, FixBy, Severity, Verdict};

/// The width when neither the terminal nor `COLUMNS` says one.
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, nothing useful fits; lay out as if this wide.
pub const MIN_WIDTH: usize = 40;

/// The width to lay the table out to: the terminal's (`terminal`, when
/// stdout is one), else `COLUMNS` when it is a number, else
/// [`DEFAULT_WIDTH`]; never below [`MIN_WIDTH`].
pub fn table_width(terminal: Option<usize>, columns: Option<&str>) -> usize {
    terminal
        .filter(|w| *w > 0)
        .or_else(|| {
            columns
                .and_then(|c| c.trim().parse::<usize>().ok())
                .filter(|w| *w > 0)
        })
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

pub struct TableReporter {
    pub color: bool,
    /// The columns each line may take.
    pub width: usize,
    /// `-v`: every finding of every address, not only the problems.
    pub verbose: bool,
}

impl Reporter for TableReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut lines = Vec::new();
        for domain in &report.domains {
            self.domain(domain, report.settings.port, &mut lines);
            lines.push(String::new());
        }
        self.summary(report, &mut lines);
        for line in lines {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

/// Text to lay out: what it looks like (`plain`, measured) and what is
/// written (`shown`: the same with colour escapes, or the same).
#[derive(Clone, Debug)]
pub(super) struct Span {
    pub(super) plain: String,
    pub(super) shown: String,
}

impl Span {
    pub(super) fn plain(text: impl Into<String>) -> Span {
        let plain = text.into();
        Span {
            shown: plain.clone(),
            plain,
        }
    }

    fn width(&self) -> usize {
        self.plain.width()
    }
}

/// Units laid out on lines of at most `width` columns, joined by `sep`
/// on a line; the first line starts with `first`, the others with `cont`.
/// A unit is never split: one longer than a whole line gets a line of its
/// own, the only way a line can exceed `width`.
fn wrap_units(units: &[Span], sep: &str, first: &Span, cont: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut shown = first.shown.clone();
    let mut used = first.width();
    let mut empty = true;
    for unit in units {
        let need = if empty { 0 } else { sep.width() } + unit.width();
        // The first unit goes after a label (`most common problems: `)
        // unless it fits only on a line of its own.
        let label_alone = empty
            && !first.plain.trim().is_empty()
            && used + need > width
            && cont.width() + unit.width() <= width;
        if label_alone || (!empty && used + need > width) {
            lines.push(shown.trim_end().to_string());
            shown = cont.to_string();
            used = cont.width();
            empty = true;
        }
        if !empty {
            shown.push_str(sep);
            used += sep.width();
        }
        shown.push_str(&unit.shown);
        used += unit.width();
        empty = false;
    }
    lines.push(shown.trim_end().to_string());
    lines
}

/// Prose wrapped at spaces (see [`wrap_units`]). A setting or record
/// quoted in backticks (`` `smtpd_tls_protocols = >=TLSv1.2` ``) stays on
/// one line when it fits on one.
pub(super) fn wrap_words(text: &str, first: &Span, cont: &str, width: usize) -> Vec<String> {
    let room = width.saturating_sub(cont.width());
    let mut units: Vec<Span> = Vec::new();
    let mut quoted: Vec<&str> = Vec::new();
    for word in text.split_whitespace() {
        let bare = word.trim_start_matches(['(', '"']);
        let opens = quoted.is_empty() && bare.starts_with('`') && !closes_quote(&bare[1..]);
        if opens || !quoted.is_empty() {
            quoted.push(word);
            if opens {
                continue;
            }
            if closes_quote(word) {
                let joined = quoted.join(" ");
                if joined.width() <= room {
                    units.push(Span::plain(joined));
                } else {
                    units.extend(quoted.iter().map(|w| Span::plain(*w)));
                }
                quoted.clear();
            }
            continue;
        }
        units.push(Span::plain(word));
    }
    // An unclosed quote: plain words.
    units.extend(quoted.iter().map(|w| Span::plain(*w)));
    wrap_units(&units, " ", first, cont, width)
}

/// The word ends a backtick quote (`` x` ``, `` x`; ``, `` x`, ``).
fn closes_quote(word: &str) -> bool {
    word.trim_end_matches([',', ';', '.', ':', ')'])
        .ends_with('`')
}

#[derive(Clone, Copy)]
pub(super) enum Tone {
    Good,
    Info,
    Notice,
    Warn,
    Bad,
}

impl Tone {
    /// ANSI SGR code.
    pub(super) fn sgr(self) -> &'static str {
        match self {
            Tone::Good => "32",
            Tone::Info => "36",
            Tone::Notice => "90",
            Tone::Warn => "33",
            Tone::Bad => "31",
        }
    }
}

pub(super) fn verdict_tone(v: Verdict) -> Tone {
    match v {
        Verdict::Protected | Verdict::Secure => Tone::Good,
        Verdict::Encrypted => Tone::Info,
        Verdict::Partial => Tone::Warn,
        Verdict::Plaintext | Verdict::Broken | Verdict::Error => Tone::Bad,
        Verdict::NoMail => Tone::Notice,
    }
}

/// The severity as a word (colour only repeats it): upper case for a
/// failure so that it stands out without colour too.
fn severity_word(s: Severity) -> (&'static str, Tone) {
    match s {
        Severity::Ok => ("ok", Tone::Good),
        Severity::Info => ("info", Tone::Notice),
        Severity::Warn => ("warn", Tone::Warn),
        Severity::Fail => ("FAIL", Tone::Bad),
    }
}

/// A column of the fact table: its header, whether numbers align right.
struct Column {
    header: &'static str,
    right: bool,
}

const PREF: Column = Column {
    header: "Pref",
    right: false,
};
const MX: Column = Column {
    header: "MX",
    right: false,
};
const ADDRESS: Column = Column {
    header: "Address",
    right: false,
};
const TLS: Column = Column {
    header: "TLS",
    right: false,
};
const CERT: Column = Column {
    header: "Cert",
    right: false,
};
const DAYS: Column = Column {
    header: "Days",
    right: true,
};
const DANE: Column = Column {
    header: "DANE",
    right: false,
};
const CONFIG: Column = Column {
    header: "Config",
    right: false,
};
const ACCEPTS: Column = Column {
    header: "Accepts",
    right: false,
};
const PQ: Column = Column {
    header: "PQ",
    right: false,
};
const CIPHER: Column = Column {
    header: "Cipher",
    right: false,
};

/// The facts of one address, one cell per column.
struct Row {
    pref: Span,
    mx: Span,
    address: Span,
    tls: Span,
    cert: Span,
    days: Span,
    dane: Span,
    config: Span,
    accepts: Span,
    pq: Span,
    cipher: Span,
}

impl Row {
    fn cells(&self) -> [&Span; 11] {
        [
            &self.pref,
            &self.mx,
            &self.address,
            &self.tls,
            &self.cert,
            &self.days,
            &self.dane,
            &self.config,
            &self.accepts,
            &self.pq,
            &self.cipher,
        ]
    }
}

/// The columns of [`Row::cells`], in order.
const COLUMNS: [Column; 11] = [
    PREF, MX, ADDRESS, TLS, CERT, DAYS, DANE, CONFIG, ACCEPTS, PQ, CIPHER,
];
/// The facts always shown (when the table fits at all).
const BASE: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Further facts, added in this order while they fit: the narrow ones
/// first, the cipher (the widest) last.
const EXTRA: [usize; 3] = [8, 9, 10];
/// Where the address is in [`Row::cells`].
const ADDRESS_COLUMN: usize = 2;
/// The address column's header when the hosts are on lines of their own.
const GROUPED_HEADER: &str = "MX / Address";
/// An address under its host.
const GROUP_INDENT: &str = "  ";
/// Between two columns.
const GAP: &str = "  ";
/// Before the table and every problem line.
const INDENT: &str = "  ";

/// One line to say under the table: a finding, what it is about, and
/// every subject that has the same finding.
struct Problem<'a> {
    finding: &'a Finding,
    subjects: Vec<String>,
}

impl TableReporter {
    fn paint(&self, text: impl Into<String>, tone: Tone) -> Span {
        let plain = text.into();
        let shown = if self.color {
            format!("\x1b[1;{}m{plain}\x1b[0m", tone.sgr())
        } else {
            plain.clone()
        };
        Span { plain, shown }
    }

    /// A cell coloured when it is good or bad; plain otherwise.
    fn cell(&self, text: impl Into<String>, good: Option<bool>) -> Span {
        match good {
            Some(true) => self.paint(text, Tone::Good),
            Some(false) => self.paint(text, Tone::Bad),
            None => Span::plain(text),
        }
    }

    /// One domain; `port` is the run's SMTP port (an address is shown
    /// with its port only when that differs, as with `--connect-to`).
    fn domain(&self, d: &DomainReport, port: u16, lines: &mut Vec<String>) {
        let verdict = self.paint(d.verdict.as_str().to_uppercase(), verdict_tone(d.verdict));
        let head = Span {
            plain: format!("{}  {}  ", inert(&d.domain), verdict.plain),
            shown: format!("{}  {}  ", inert(&d.domain), verdict.shown),
        };
        lines.extend(wrap_words(
            &inert(&d.verdict_reason),
            &head,
            "    ",
            self.width,
        ));
        if let Some(delivery) = &d.delivery {
            lines.extend(wrap_units(
                &protection_units(d),
                " | ",
                &Span::plain(INDENT),
                "    ",
                self.width,
            ));
            let senders = [
                ("opportunistic", delivery.opportunistic.result),
                ("MTA-STS-enforcing", delivery.mta_sts.result),
                ("DANE-enforcing", delivery.dane.result),
            ]
            .map(|(who, r)| {
                let result = self.result(r);
                Span {
                    plain: format!("{who} {}", result.plain),
                    shown: format!("{who} {}", result.shown),
                }
            });
            lines.extend(wrap_units(
                &senders,
                " | ",
                &Span::plain("  senders: "),
                "    ",
                self.width,
            ));
        }
        if !d.mx.is_empty() {
            self.facts(d, port, lines);
        }
        if self.verbose {
            self.every_finding(d, lines);
        } else {
            self.problems(d, lines);
        }
    }

    fn result(&self, r: DeliveryResult) -> Span {
        match r {
            DeliveryResult::Secure => self.paint("secure", Tone::Good),
            DeliveryResult::Cleartext => self.paint("cleartext", Tone::Warn),
            DeliveryResult::Deferred => self.paint("DEFERRED", Tone::Bad),
            DeliveryResult::NotApplicable => Span::plain("n/a"),
        }
    }

    /// The fact table, as wide as fits. Three layouts, the first that
    /// fits: a column each for the preference, the MX host and the
    /// address; the MX host on a line of its own with its addresses under
    /// it (the host's line may run across the fact columns); each address
    /// as a wrapped line of facts. In a table, the extra columns are
    /// added while they fit.
    fn facts(&self, d: &DomainReport, port: u16, lines: &mut Vec<String>) {
        let hosts: Vec<(&MxReport, Vec<Row>)> =
            d.mx.iter()
                .map(|mx| {
                    let rows = if mx.addresses.is_empty() {
                        vec![self.no_address_row(mx)]
                    } else {
                        mx.addresses
                            .iter()
                            .map(|a| self.address_row(mx, a, port))
                            .collect()
                    };
                    (mx, rows)
                })
                .collect();
        let rows = || hosts.iter().flat_map(|(_, rows)| rows.iter());
        let widths: Vec<usize> = (0..COLUMNS.len())
            .map(|i| {
                rows()
                    .map(|r| r.cells()[i].width())
                    .chain([COLUMNS[i].header.width()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let total = |cols: &[usize], widths: &[usize]| {
            INDENT.width()
                + cols.iter().map(|&i| widths[i]).sum::<usize>()
                + GAP.width() * cols.len().saturating_sub(1)
        };
        // Grouped: the address column holds the address under its host,
        // indented, and is headed `MX / Address`.
        let mut grouped_widths = widths.clone();
        grouped_widths[ADDRESS_COLUMN] = rows()
            .map(|r| GROUP_INDENT.width() + r.address.width())
            .chain([GROUPED_HEADER.width()])
            .max()
            .unwrap_or(0);
        let grouped_base: Vec<usize> = BASE
            .iter()
            .copied()
            .filter(|&i| i >= ADDRESS_COLUMN)
            .collect();
        let (mut cols, widths, grouped) = if total(&BASE, &widths) <= self.width {
            (BASE.to_vec(), widths, false)
        } else if total(&grouped_base, &grouped_widths) <= self.width {
            (grouped_base, grouped_widths, true)
        } else {
            for row in rows() {
                self.fact_line(row, lines);
            }
            return;
        };
        for extra in EXTRA {
            let mut wider = cols.clone();
            wider.push(extra);
            if total(&wider, &widths) <= self.width {
                cols = wider;
            }
        }
        let header: Vec<Span> = cols
            .iter()
            .map(|&i| match (grouped, i) {
                (true, ADDRESS_COLUMN) => Span::plain(GROUPED_HEADER),
                _ => Span::plain(COLUMNS[i].header),
            })
            .collect();
        lines.push(self.table_line(&header.iter().collect::<Vec<_>>(), &cols, &widths));
        for (mx, rows) in &hosts {
            if grouped {
                lines.push(format!("{INDENT}{} {}", mx.preference, inert(&mx.host)));
            }
            for row in rows {
                let cells = row.cells();
                let indented = Span {
                    plain: format!("{GROUP_INDENT}{}", row.address.plain),
                    shown: format!("{GROUP_INDENT}{}", row.address.shown),
                };
                let picked: Vec<&Span> = cols
                    .iter()
                    .map(|&i| match (grouped, i) {
                        (true, ADDRESS_COLUMN) => &indented,
                        _ => cells[i],
                    })
                    .collect();
                lines.push(self.table_line(&picked, &cols, &widths));
            }
        }
    }

    fn table_line(&self, cells: &[&Span], cols: &[usize], widths: &[usize]) -> String {
        let mut line = INDENT.to_string();
        for (n, (cell, &i)) in cells.iter().zip(cols).enumerate() {
            if n > 0 {
                line.push_str(GAP);
            }
            let pad = " ".repeat(widths[i].saturating_sub(cell.width()));
            if COLUMNS[i].right {
                line.push_str(&pad);
                line.push_str(&cell.shown);
            } else {
                line.push_str(&cell.shown);
                line.push_str(&pad);
            }
        }
        line.trim_end().to_string()
    }

    /// An address's facts as one wrapped line, for widths where no
    /// table fits: `10 mx.example 192.0.2.1: TLS 1.3, cert valid, …`.
    fn fact_line(&self, row: &Row, lines: &mut Vec<String>) {
        let labelled = |label: &str, cell: &Span, end: &str| Span {
            plain: format!("{label} {}{end}", cell.plain),
            shown: format!("{label} {}{end}", cell.shown),
        };
        let units = [
            Span::plain(format!("{} {}", row.pref.plain, row.mx.plain)),
            Span::plain(format!("{}:", row.address.plain)),
            labelled("TLS", &row.tls, ","),
            labelled("cert", &row.cert, ","),
            labelled("days", &row.days, ","),
            labelled("DANE", &row.dane, ","),
            labelled("config", &row.config, ""),
        ];
        lines.extend(wrap_units(
            &units,
            " ",
            &Span::plain(INDENT),
            "      ",
            self.width,
        ));
    }

    fn no_address_row(&self, mx: &MxReport) -> Row {
        let dash = || Span::plain("-");
        Row {
            pref: Span::plain(mx.preference.to_string()),
            mx: Span::plain(inert(&mx.host)),
            address: self.paint("none", Tone::Bad),
            tls: dash(),
            cert: dash(),
            days: dash(),
            dane: dash(),
            config: dash(),
            accepts: dash(),
            pq: dash(),
            cipher: dash(),
        }
    }

    fn address_row(&self, mx: &MxReport, a: &AddressReport, port: u16) -> Row {
        let dash = || Span::plain("-");
        let tls = match (&a.tls, &a.legacy_session) {
            (Some(t), _) => Span::plain(inert(t.version.as_str().trim_start_matches("TLSv"))),
            (None, Some(_)) => self.paint("legacy", Tone::Warn),
            (None, None) if !a.reachable() => Span::plain("?"),
            (None, None) if a.starttls => self.paint("failed", Tone::Bad),
            (None, None) => self.paint("no", Tone::Bad),
        };
        let (cert, days) = match &a.certificate {
            Some(c) => {
                let word = match (c.chain_error, c.hostname_match) {
                    (None, true) => "valid".to_string(),
                    (None, false) => "wrong name".to_string(),
                    // Both wrong: the chain, the worse; the problem lines
                    // under the table name both.
                    (Some(e), _) => chain_word(e).to_string(),
                };
                let good = c.chain_valid && c.hostname_match;
                (
                    self.cell(word, Some(good)),
                    self.cell(c.days_left.to_string(), Some(c.days_left >= 0)),
                )
            }
            None => (dash(), dash()),
        };
        let accepts = match &a.scan {
            Some(scan) => {
                let text: Vec<&str> = scan
                    .accepted_versions
                    .iter()
                    .map(|v| v.as_str().trim_start_matches("TLSv"))
                    .collect();
                let legacy = scan
                    .accepted_versions
                    .iter()
                    .any(|v| v.level() == NcscLevel::Insufficient);
                if text.is_empty() {
                    dash()
                } else {
                    self.cell(text.join(" "), legacy.then_some(false))
                }
            }
            None => dash(),
        };
        Row {
            pref: Span::plain(mx.preference.to_string()),
            mx: Span::plain(inert(&mx.host)),
            address: Span::plain(address(a, port)),
            tls,
            cert,
            days,
            dane: self.dane_cell(a.dane),
            config: self.config_cell(a),
            accepts,
            pq: match a.post_quantum {
                Some(true) => Span::plain("yes"),
                Some(false) => Span::plain("no"),
                None => dash(),
            },
            cipher: match &a.tls {
                Some(t) => Span::plain(inert(&t.cipher)),
                None => dash(),
            },
        }
    }

    fn dane_cell(&self, r: DaneResult) -> Span {
        match r {
            DaneResult::Valid => self.paint("valid", Tone::Good),
            DaneResult::Mismatch => self.paint("MISMATCH", Tone::Bad),
            DaneResult::LookupFailed => self.paint("failed", Tone::Bad),
            DaneResult::Unusable => Span::plain("unusable"),
            DaneResult::None | DaneResult::Insecure => Span::plain("-"),
        }
    }

    /// The configuration level, `insuff.` / `phase-out` / `suff.` /
    /// `good`, with `?` when not everything was tried (it may be worse).
    fn config_cell(&self, a: &AddressReport) -> Span {
        let Some(c) = &a.configuration else {
            return Span::plain("-");
        };
        let word = match c.level {
            NcscLevel::Good => "good",
            NcscLevel::Sufficient => "suff.",
            NcscLevel::PhaseOut => "phase-out",
            NcscLevel::Insufficient => "insuff.",
        };
        let text = if c.lower_bound {
            format!("{word}?")
        } else {
            word.to_string()
        };
        self.cell(text, (c.level == NcscLevel::Insufficient).then_some(false))
    }

    /// The problems under the table: warnings and failures, and notes
    /// that come with advice; every note where there is no table to look
    /// at (null MX, a domain that does not exist). The same finding on
    /// several addresses is one line naming them all.
    fn problems(&self, d: &DomainReport, lines: &mut Vec<String>) {
        let shown = |f: &Finding| {
            f.severity >= Severity::Warn
                || (f.severity == Severity::Info && (f.fix.is_some() || d.delivery.is_none()))
        };
        let mut problems: Vec<Problem<'_>> = Vec::new();
        for (subject, finding) in subjects(d) {
            if !shown(finding) {
                continue;
            }
            match problems.iter_mut().find(|p| {
                p.finding.id == finding.id
                    && p.finding.severity == finding.severity
                    && p.finding.message == finding.message
                    && p.finding.fix == finding.fix
            }) {
                Some(p) => {
                    if let Some(s) = subject {
                        p.subjects.push(s);
                    }
                }
                None => problems.push(Problem {
                    finding,
                    subjects: subject.into_iter().collect(),
                }),
            }
        }
        // Failures first; otherwise in the order the checks ran.
        problems.sort_by_key(|p| std::cmp::Reverse(p.finding.severity));
        for p in &problems {
            let about = if p.subjects.is_empty() {
                String::new()
            } else {
                format!("{}: ", join_subjects(&p.subjects))
            };
            self.finding_lines(p.finding, &about, false, lines);
        }
    }

    /// `-v`: every finding, grouped by what it is about: the domain, each
    /// MX host, each address.
    fn every_finding(&self, d: &DomainReport, lines: &mut Vec<String>) {
        let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
        for (subject, finding) in subjects(d) {
            let name = subject.unwrap_or_else(|| inert(&d.domain).into_owned());
            match groups.last_mut() {
                Some((last, list)) if *last == name => list.push(finding),
                _ => groups.push((name, vec![finding])),
            }
        }
        for (name, findings) in groups {
            lines.push(format!("{INDENT}{name}"));
            for f in findings {
                self.finding_lines(f, "", true, lines);
            }
        }
    }

    /// `  FAIL  about: message` wrapped, then `fix: …` under it. With
    /// `ids` (verbose) the id and the NCSC-NL level are shown too;
    /// without, a note with advice is shown as its advice.
    fn finding_lines(&self, f: &Finding, about: &str, ids: bool, lines: &mut Vec<String>) {
        let (word, tone) = severity_word(f.severity);
        let sev = self.paint(format!("{word:<4}"), tone);
        let indent = if ids { "    " } else { INDENT };
        let first = Span {
            plain: format!("{indent}{}  ", sev.plain),
            shown: format!("{indent}{}  ", sev.shown),
        };
        let cont = " ".repeat(indent.width() + 6);
        let label = |by: FixBy| match by {
            FixBy::Receiver => "fix:",
            FixBy::Sender => "fix (your side):",
        };
        // A note that comes with advice (no TLS-RPT record, MTA-STS in
        // testing) is its advice alone by default: one item, not two.
        if let (false, Severity::Info, Some(fix)) = (ids, f.severity, &f.fix) {
            let text = format!("{about}{} {}", label(fix.by), inert(&fix.text));
            lines.extend(wrap_words(&text, &first, &cont, self.width));
            return;
        }
        let mut text = String::new();
        if ids {
            text.push_str(f.id.as_str());
            text.push_str(": ");
        }
        text.push_str(about);
        text.push_str(&inert(&f.message));
        if let (true, Some(level)) = (ids, f.level) {
            text.push_str(&format!(" [{}]", level.as_str()));
        }
        lines.extend(wrap_words(&text, &first, &cont, self.width));
        if let Some(fix) = &f.fix {
            let first = Span::plain(format!("{cont}{} ", label(fix.by)));
            let more = " ".repeat(cont.width() + 5);
            lines.extend(wrap_words(&inert(&fix.text), &first, &more, self.width));
        }
    }

    fn summary(&self, report: &Report, lines: &mut Vec<String>) {
        let s = &report.summary;
        let plural = if s.domains == 1 { "" } else { "s" };
        let counts: Vec<(&Verdict, &usize)> = s.verdicts.iter().filter(|(_, n)| **n > 0).collect();
        // Each item carries its own punctuation, so that lines break
        // between items only.
        let mut units: Vec<Span> = counts
            .iter()
            .enumerate()
            .map(|(i, (v, n))| {
                let word = self.paint(v.as_str(), verdict_tone(**v));
                let end = if i + 1 == counts.len() { ";" } else { "," };
                Span {
                    plain: format!("{n} {}{end}", word.plain),
                    shown: format!("{n} {}{end}", word.shown),
                }
            })
            .collect();
        let mut tail = format!(
            "{} below the threshold ({})",
            s.below_threshold, report.settings.fail_below
        );
        if let Some(level) = report.settings.fail_level {
            tail.push(',');
            units.push(Span::plain(tail));
            tail = format!(
                "{} at or below the level ({})",
                s.below_level,
                level.as_str()
            );
        }
        units.push(Span::plain(tail));
        lines.extend(wrap_units(
            &units,
            " ",
            &Span::plain(format!("{} domain{plural}: ", s.domains)),
            "  ",
            self.width,
        ));
        // Over a partner list, what to fix first: the problems that
        // affect the most domains.
        if s.domains > 1 {
            let common = most_common_problems(report, 5);
            if !common.is_empty() {
                let last = common.len() - 1;
                let units: Vec<Span> = common
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| Span::plain(if i == last { item } else { item + "," }))
                    .collect();
                lines.extend(wrap_units(
                    &units,
                    " ",
                    &Span::plain("most common problems: "),
                    "  ",
                    self.width,
                ));
            }
        }
    }
}

/// Every finding of a domain with what it is about: `None` for the
/// domain itself, the host for an MX finding, `host [address]` for an
/// address finding; in the order the checks ran.
fn subjects(d: &DomainReport) -> Vec<(Option<String>, &Finding)> {
    let mut out: Vec<(Option<String>, &Finding)> = d.findings.iter().map(|f| (None, f)).collect();
    for mx in &d.mx {
        let host = inert(&mx.host).into_owned();
        out.extend(mx.findings.iter().map(|f| (Some(host.clone()), f)));
        for a in &mx.addresses {
            let name = format!("{host} [{}]", a.ip);
            out.extend(a.findings.iter().map(|f| (Some(name.clone()), f)));
        }
    }
    out
}

/// `mx1 [192.0.2.1]`, `mx1 [192.0.2.1, 2001:db8::1]`, `mx1 [a], mx2 [b]`.
fn join_subjects(subjects: &[String]) -> String {
    let mut by_host: Vec<(String, Vec<String>)> = Vec::new();
    for s in subjects {
        let (host, addr) = match s.rsplit_once(" [") {
            Some((h, a)) => (h.to_string(), Some(a.trim_end_matches(']').to_string())),
            None => (s.clone(), None),
        };
        match by_host.iter_mut().find(|(h, _)| *h == host) {
            Some((_, addrs)) => addrs.extend(addr),
            None => by_host.push((host, addr.into_iter().collect())),
        }
    }
    by_host
        .into_iter()
        .map(|(host, addrs)| {
            if addrs.is_empty() {
                host
            } else {
                format!("{host} [{}]", addrs.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `192.0.2.1`, `2001:db8::1`; with the port (`192.0.2.1:2525`,
/// `[2001:db8::1]:2525`) when it is not the run's.
fn address(a: &AddressReport, port: u16) -> String {
    if a.port == port {
        a.ip.to_string()
    } else if a.ip.is_ipv6() {
        format!("[{}]:{}", a.ip, a.port)
    } else {
        format!("{}:{}", a.ip, a.port)
    }
}

/// The `limit` warning or failing finding ids that affect the most
/// domains, as `id (N domains)`, most first; on a tie failures before
/// warnings, then by id, so the output is stable.
fn most_common_problems(report: &Report, limit: usize) -> Vec<String> {
    // Per id: the domains it affects and its worst severity.
    let mut by_id: BTreeMap<&'static str, (usize, Severity)> = BTreeMap::new();
    for d in &report.domains {
        let mut ids: BTreeMap<&'static str, Severity> = BTreeMap::new();
        for (_, f) in subjects(d) {
            if f.severity >= Severity::Warn {
                let worst = ids.entry(f.id.as_str()).or_insert(f.severity);
                *worst = (*worst).max(f.severity);
            }
        }
        for (id, severity) in ids {
            let entry = by_id.entry(id).or_insert((0, severity));
            entry.0 += 1;
            entry.1 = entry.1.max(severity);
        }
    }
    let mut ranked: Vec<(&str, (usize, Severity))> = by_id.into_iter().collect();
    ranked.sort_by(|a, b| {
        (b.1.0.cmp(&a.1.0))
            .then(b.1.1.cmp(&a.1.1))
            .then(a.0.cmp(b.0))
    });
    ranked
        .into_iter()
        .take(limit)
        .map(|(id, (n, _))| format!("{id} ({n} domain{})", if n == 1 { "" } else { "s" }))
        .collect()
}

/// `DNSSEC signed`, `DANE 2/2 valid`, `MTA-STS enforce`, `TLS-RPT yes`.
fn protection_units(d: &DomainReport) -> Vec<Span> {
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
    vec![
        Span::plain(format!("DNSSEC {dnssec}")),
        Span::plain(format!("DANE {dane}")),
        Span::plain(format!("MTA-STS {sts}")),
        Span::plain(format!("TLS-RPT {rpt}")),
    ]
}

/// The certificate's chain problem in a word (shared with the HTML page).
pub(super) fn chain_word(e: ChainError) -> &'static str {
    match e {
        ChainError::Expired => "expired",
        ChainError::NotYetValid => "not yet valid",
        ChainError::SelfSigned => "self-signed",
        ChainError::IncompleteChain => "incomplete",
        ChainError::UnknownIssuer => "untrusted",
        ChainError::BadSignature => "bad signature",
        ChainError::UnsupportedAlgorithm => "weak algorithm",
        ChainError::InvalidPurpose => "wrong purpose",
        ChainError::Malformed => "malformed",
        ChainError::Other => "invalid",
    }
}

#[cfg(test)]
mod tests;
