//! `--format table`: for people at a terminal, rendered from the one view
//! of the report (`report::view`). Per domain: the verdict line, the
//! protection line and the senders line; a table of short facts, one row
//! per MX address; every failure with its usual fix; each warning as one
//! line. Notes, tips and the fixes of warnings wait for `-v`, which shows
//! every finding with its id. Over a fleet, a warning that several domains
//! share is said once, in the summary, with its count; the summary lists
//! failures first.
//!
//! Everything is laid out to the width it is given (the terminal's, else
//! `COLUMNS`, else 100: see [`table_width`]). The fact table and the
//! summary's problem table are comfy-table in the house style
//! (`super::style`); only the finding lines are laid out by hand, because
//! they are prose hanging from a label (`FAIL  subject: message`, the fix
//! under it), which no grid draws. Prose wraps at spaces: a host name, an
//! address or a suite name is never split. Colour (`--color`, `NO_COLOR`)
//! never changes the layout, and it only repeats what a word already says.
//!
//! Every string from the network goes through [`inert`] before it is
//! laid out, so escapes are shown, never obeyed, and cannot forge lines.

use std::io::{self, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::Reporter;
pub(super) use super::style::Tone;
use super::style::{Layout, Table};
use super::text::terminal as inert;
use crate::report::view::{
    DaneState, DomainView, FleetView, Naming, Problem, SENDERS, Subject, delivery_word, located,
};
use crate::report::{
    AddressReport, ChainError, DaneResult, DeliveryResult, DomainReport, MxReport, NcscLevel,
    Report,
};

use crate::vocabulary::{Finding, FindingId, FixBy, Severity, Verdict, explain};

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
        let fleet = FleetView::new(report);
        let mut lines = Vec::new();
        let mut left_out = false;
        for v in &fleet.domains {
            left_out |= self.domain(v, &fleet, &mut lines);
            lines.push(String::new());
        }
        self.summary(&fleet, &mut lines);
        if left_out {
            lines.extend(wrap_words(MORE, &Span::plain(""), "  ", self.width));
        }
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

/// A fact of the table: its text and, when it is good or bad, its tone.
#[derive(Clone)]
struct Fact {
    text: String,
    tone: Option<Tone>,
}

impl Fact {
    fn plain(text: impl Into<String>) -> Fact {
        Fact {
            text: text.into(),
            tone: None,
        }
    }
    fn toned(text: impl Into<String>, tone: Tone) -> Fact {
        Fact {
            text: text.into(),
            tone: Some(tone),
        }
    }
    /// Good (green) or bad (red); plain when neither.
    fn judged(text: impl Into<String>, good: Option<bool>) -> Fact {
        Fact {
            text: text.into(),
            tone: good.map(|g| if g { Tone::Good } else { Tone::Bad }),
        }
    }
    fn dash() -> Fact {
        Fact::plain("-")
    }
}

/// The columns of the fact table, in order.
const HEADERS: [&str; 11] = [
    "Pref", "MX", "Address", "TLS", "Cert", "Days", "DANE", "Config", "Accepts", "PQ", "Cipher",
];
const PREF: usize = 0;
const MX: usize = 1;
const ADDRESS: usize = 2;
const DAYS: usize = 5;
/// The facts always shown (when a table fits at all).
const BASE: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];
/// Further facts, added in this order while they fit: the narrow ones
/// first, the cipher (the widest) last.
const EXTRA: [usize; 3] = [8, 9, 10];
/// The address column's header when the hosts are on lines of their own.
const GROUPED_HEADER: &str = "MX / Address";
/// An address under its host.
const GROUP_INDENT: &str = "  ";
/// Before the table and every problem line.
const INDENT: &str = "  ";
/// Said once at the end when the default output left something out.
const MORE: &str = "-v: every finding with its fix; smtptls explain ID: what a finding means";

/// One address's facts, with the index of its MX host.
struct Row {
    host: usize,
    facts: [Fact; 11],
}

impl TableReporter {
    fn layout(&self) -> Layout {
        Layout {
            width: self.width,
            color: self.color,
        }
    }

    fn paint(&self, text: impl Into<String>, tone: Tone) -> Span {
        let plain = text.into();
        let shown = if self.color {
            format!("\x1b[1;{}m{plain}\x1b[0m", tone.sgr())
        } else {
            plain.clone()
        };
        Span { plain, shown }
    }

    fn fact_span(&self, f: &Fact) -> Span {
        match f.tone {
            Some(t) => self.paint(f.text.clone(), t),
            None => Span::plain(f.text.clone()),
        }
    }

    /// One domain. Returns whether the default output left something out
    /// (`-v` would show more).
    fn domain(&self, v: &DomainView<'_>, fleet: &FleetView<'_>, lines: &mut Vec<String>) -> bool {
        let d = v.report;
        let port = fleet.report.settings.port;
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
        if let Some(service) = crate::report::view::service_words(d.service) {
            let line = format!(
                "service: {service} | hosts: {}",
                crate::report::view::mx_source_words(d.mx_source)
            );
            lines.extend(wrap_words(&line, &Span::plain(INDENT), "    ", self.width));
        }
        if let Some(delivery) = &d.delivery {
            lines.extend(wrap_units(
                &protection_units(v),
                " | ",
                &Span::plain(INDENT),
                "    ",
                self.width,
            ));
            let results = [
                delivery.opportunistic.result,
                delivery.mta_sts.result,
                delivery.dane.result,
            ];
            let senders: Vec<Span> = SENDERS
                .iter()
                .zip(results)
                .map(|(who, r)| {
                    let result = self.result(r);
                    Span {
                        plain: format!("{who} {}", result.plain),
                        shown: format!("{who} {}", result.shown),
                    }
                })
                .collect();
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
            false
        } else {
            self.problems(v, fleet, lines)
        }
    }

    fn result(&self, r: DeliveryResult) -> Span {
        let tone = match r {
            DeliveryResult::Secure => Some(Tone::Good),
            DeliveryResult::Cleartext => Some(Tone::Warn),
            DeliveryResult::Deferred => Some(Tone::Bad),
            DeliveryResult::NotApplicable => None,
        };
        let word = delivery_word(r);
        match tone {
            Some(t) => self.paint(word, t),
            None => Span::plain(word),
        }
    }

    /// The fact table, as wide as fits. Three layouts, the first that
    /// fits: a column each for the preference, the MX host and the
    /// address; the MX host on a line of its own with its addresses under
    /// it (the host's line may run across the fact columns); each address
    /// as a wrapped line of facts. In a table, the extra columns are
    /// added while they fit. Every column is kept whole: they hold names
    /// and short facts, and a fact split over two lines misreads.
    fn facts(&self, d: &DomainReport, port: u16, lines: &mut Vec<String>) {
        let rows: Vec<Row> =
            d.mx.iter()
                .enumerate()
                .flat_map(|(i, mx)| {
                    let facts: Vec<[Fact; 11]> = if mx.addresses.is_empty() {
                        vec![no_address_facts(mx)]
                    } else {
                        mx.addresses
                            .iter()
                            .map(|a| address_facts(mx, a, port))
                            .collect()
                    };
                    facts.into_iter().map(move |facts| Row { host: i, facts })
                })
                .collect();
        let submission = d.service.is_submission();
        let fits = |cols: &[usize], grouped: bool| {
            self.fact_table(&rows, cols, grouped, submission)
                .natural_width()
                <= self.width
        };
        let grouped_base: Vec<usize> = BASE.iter().copied().filter(|&i| i >= ADDRESS).collect();
        let (mut cols, grouped) = if fits(&BASE, false) {
            (BASE.to_vec(), false)
        } else if fits(&grouped_base, true) {
            (grouped_base, true)
        } else {
            for row in &rows {
                self.fact_line(&d.mx[row.host], row, lines);
            }
            return;
        };
        for extra in EXTRA {
            let mut wider = cols.clone();
            wider.push(extra);
            if fits(&wider, grouped) {
                cols = wider;
            }
        }
        let table = self.fact_table(&rows, &cols, grouped, submission);
        let mut drawn = table.lines().into_iter();
        lines.extend(drawn.next());
        let mut host = None;
        for (row, line) in rows.iter().zip(drawn) {
            if grouped && host != Some(row.host) {
                let mx = &d.mx[row.host];
                lines.push(format!("{INDENT}{} {}", mx.preference, inert(&mx.host)));
                host = Some(row.host);
            }
            lines.push(line);
        }
    }

    /// The facts of `cols` as a table; `grouped`: the address under its
    /// host (the host lines are added by the caller).
    fn fact_table(&self, rows: &[Row], cols: &[usize], grouped: bool, submission: bool) -> Table {
        let header: Vec<&str> = cols
            .iter()
            .map(|&i| match (grouped, i) {
                (true, ADDRESS) if submission => "Host / Address",
                (true, ADDRESS) => GROUPED_HEADER,
                (_, MX) if submission => "Host",
                _ => HEADERS[i],
            })
            .collect();
        let mut table = Table::new(&header, self.layout(), INDENT.width());
        table.keep_whole(&(0..cols.len()).collect::<Vec<_>>());
        if let Some(days) = cols.iter().position(|&i| i == DAYS) {
            table.align_right(&[days]);
        }
        for row in rows {
            let cells = cols
                .iter()
                .map(|&i| {
                    let f = &row.facts[i];
                    let text = match (grouped, i) {
                        (true, ADDRESS) => format!("{GROUP_INDENT}{}", f.text),
                        _ => f.text.clone(),
                    };
                    table.maybe_paint(text, f.tone)
                })
                .collect();
            table.row(cells);
        }
        table
    }

    /// An address's facts as one wrapped line, for widths where no
    /// table fits: `10 mx.example 192.0.2.1: TLS 1.3, cert valid, …`.
    fn fact_line(&self, mx: &MxReport, row: &Row, lines: &mut Vec<String>) {
        let f = &row.facts;
        let labelled = |label: &str, i: usize, end: &str| {
            let cell = self.fact_span(&f[i]);
            Span {
                plain: format!("{label} {}{end}", cell.plain),
                shown: format!("{label} {}{end}", cell.shown),
            }
        };
        let units = [
            Span::plain(format!("{} {}", mx.preference, inert(&mx.host))),
            Span::plain(format!("{}:", self.fact_span(&f[ADDRESS]).plain)),
            labelled("TLS", 3, ","),
            labelled("cert", 4, ","),
            labelled("days", 5, ","),
            labelled("DANE", 6, ","),
            labelled("config", 7, ""),
        ];
        lines.extend(wrap_units(
            &units,
            " ",
            &Span::plain(INDENT),
            "      ",
            self.width,
        ));
    }

    /// The problems under the table, from the view: every failure with
    /// its fix, each warning as one line. Over a fleet, the warnings that
    /// other domains share are only named here; the summary says them
    /// once, with their count. Returns whether anything was left for
    /// `-v` (notes, tips, the fixes of warnings).
    fn problems(&self, v: &DomainView<'_>, fleet: &FleetView<'_>, lines: &mut Vec<String>) -> bool {
        let d = v.report;
        let port = fleet.report.settings.port;
        let several = fleet.domains.len() > 1;
        let mut shared: Vec<FindingId> = Vec::new();
        let mut left_out = false;
        for p in &v.problems {
            let f = p.finding;
            let about = p
                .about(d, port, Naming::Hosts)
                .map(|a| format!("{}: ", inert(&a)))
                .unwrap_or_default();
            match f.severity {
                // The headline already says it, word for word.
                Severity::Fail if f.fix.is_none() && f.message == d.verdict_reason => {}
                Severity::Fail => self.finding_lines(f, &about, false, lines),
                Severity::Warn => {
                    left_out |= f.fix.is_some();
                    if several && fleet.domains_with(f.id, Severity::Warn) > 1 {
                        if !shared.contains(&f.id) {
                            shared.push(f.id);
                        }
                    } else {
                        self.one_line(p, &about, lines);
                    }
                }
                Severity::Info | Severity::Ok => left_out = true,
            }
        }
        if !shared.is_empty() {
            let ids: Vec<&str> = shared.iter().map(|id| id.as_str()).collect();
            let (word, tone) = severity_word(Severity::Warn);
            let sev = self.paint(format!("{word:<4}"), tone);
            let first = Span {
                plain: format!("{INDENT}{}  ", sev.plain),
                shown: format!("{INDENT}{}  ", sev.shown),
            };
            let text = format!(
                "{} (shared with other domains: see the summary)",
                ids.join(", ")
            );
            lines.extend(wrap_words(&text, &first, "        ", self.width));
        }
        left_out
    }

    /// `  warn  subject: message`, cut to one line with `…`.
    fn one_line(&self, p: &Problem<'_>, about: &str, lines: &mut Vec<String>) {
        let (word, tone) = severity_word(p.finding.severity);
        let sev = self.paint(format!("{word:<4}"), tone);
        let lead = format!("{INDENT}{}  ", sev.plain);
        let text = format!("{about}{}", inert(&p.finding.message));
        let room = self.width.saturating_sub(lead.width());
        lines.push(format!(
            "{INDENT}{}  {}",
            sev.shown,
            cut(&text, room).trim_end()
        ));
    }

    /// `-v`: every finding, grouped by what it is about: the domain, each
    /// MX host, each address.
    fn every_finding(&self, d: &DomainReport, lines: &mut Vec<String>) {
        let mut groups: Vec<(Subject<'_>, Vec<&Finding>)> = Vec::new();
        for l in located(d) {
            match groups.last_mut() {
                Some((last, list)) if *last == l.subject => list.push(l.finding),
                _ => groups.push((l.subject, vec![l.finding])),
            }
        }
        for (subject, findings) in groups {
            let name = match subject {
                Subject::Domain => inert(&d.domain).into_owned(),
                Subject::Host { host } => inert(host).into_owned(),
                Subject::Address { host, ip, .. } => format!("{} [{ip}]", inert(host)),
            };
            lines.push(format!("{INDENT}{name}"));
            for f in findings {
                self.finding_lines(f, "", true, lines);
            }
        }
    }

    /// `  FAIL  about: message` wrapped, then `fix: …` under it. With
    /// `ids` (verbose) the id and the NCSC-NL level are shown too.
    fn finding_lines(&self, f: &Finding, about: &str, ids: bool, lines: &mut Vec<String>) {
        let (word, tone) = severity_word(f.severity);
        let sev = self.paint(format!("{word:<4}"), tone);
        let indent = if ids { "    " } else { INDENT };
        let first = Span {
            plain: format!("{indent}{}  ", sev.plain),
            shown: format!("{indent}{}  ", sev.shown),
        };
        let cont = " ".repeat(indent.width() + 6);
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
            let label = match fix.by {
                FixBy::Receiver => "fix:",
                FixBy::Sender => "fix (your side):",
            };
            let first = Span::plain(format!("{cont}{label} "));
            let more = " ".repeat(cont.width() + 5);
            lines.extend(wrap_words(&inert(&fix.text), &first, &more, self.width));
        }
    }

    /// The verdict counts and the threshold; over a fleet, then every
    /// failure and warning id with the number of domains that have it at
    /// that severity, failures first.
    fn summary(&self, fleet: &FleetView<'_>, lines: &mut Vec<String>) {
        let report = fleet.report;
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
        if s.setup_errors > 0 {
            // Those rows say nothing about the partners (exit 2 when
            // they are all there is): keep them apart from the threshold.
            tail.push(',');
            units.push(Span::plain(tail));
            tail = format!(
                "{} not audited: the resolver is unusable (set-up)",
                s.setup_errors
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
        if fleet.domains.len() < 2 {
            return;
        }
        let shared: Vec<_> = fleet
            .shared
            .iter()
            .filter(|p| p.severity >= Severity::Warn)
            .collect();
        if shared.is_empty() {
            return;
        }
        // Each row one line: a failure names its domains (each domain's
        // block above has the details and the fix), a warning says what
        // it means, in the registry's words (`smtptls explain ID` has
        // more; the domains' blocks only name it).
        let texts: Vec<String> = shared
            .iter()
            .map(|p| match p.severity {
                Severity::Fail => {
                    let names: Vec<&str> = fleet
                        .domains
                        .iter()
                        .filter(|v| v.at(Severity::Fail).any(|q| q.finding.id == p.id))
                        .map(|v| v.report.domain.as_str())
                        .collect();
                    inert(&names.join(", ")).into_owned()
                }
                _ => explain(p.id).meaning.to_string(),
            })
            .collect();
        let build = |texts: Option<&[String]>| {
            let header: &[&str] = match texts {
                Some(_) => &["", "Finding", "Domains", ""],
                None => &["", "Finding", "Domains"],
            };
            let mut table = Table::new(header, self.layout(), 2);
            table.keep_whole(&[0, 1, 2, 3]).align_right(&[2]);
            for (i, p) in shared.iter().enumerate() {
                let (word, tone) = severity_word(p.severity);
                let mut cells = vec![
                    table.paint(word, tone),
                    Table::cell(p.id.as_str()),
                    Table::cell(p.domains.to_string()),
                ];
                if let Some(texts) = texts {
                    cells.push(Table::cell(texts[i].clone()));
                }
                table.row(cells);
            }
            table
        };
        // What the first three columns and their gaps take; the rest is
        // for the text, which is cut to one line (or left out where too
        // little would be left to read).
        let bare = build(None).natural_width() + 2;
        let room = self.width.saturating_sub(bare);
        let table = if room >= MIN_TEXT {
            let texts: Vec<String> = texts.iter().map(|t| cut(t, room)).collect();
            build(Some(&texts))
        } else {
            build(None)
        };
        lines.extend(table.lines());
    }
}

/// The least room worth giving the summary's last column (the domains
/// of a failure, the meaning of a warning).
const MIN_TEXT: usize = 10;

/// `text` cut to `room` columns, with `…` when it was cut.
fn cut(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > room {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

fn no_address_facts(mx: &MxReport) -> [Fact; 11] {
    let mut facts: [Fact; 11] = std::array::from_fn(|_| Fact::dash());
    facts[PREF] = Fact::plain(mx.preference.to_string());
    facts[MX] = Fact::plain(inert(&mx.host));
    facts[ADDRESS] = Fact::toned("none", Tone::Bad);
    facts
}

fn address_facts(mx: &MxReport, a: &AddressReport, port: u16) -> [Fact; 11] {
    let tls = match (&a.tls, &a.legacy_session) {
        (Some(t), _) => Fact::plain(t.version.as_str().trim_start_matches("TLSv")),
        (None, Some(_)) => Fact::toned("legacy", Tone::Warn),
        (None, None) if !a.reachable() => Fact::plain("?"),
        (None, None) if a.starttls => Fact::toned("failed", Tone::Bad),
        (None, None) => Fact::toned("no", Tone::Bad),
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
            // A dual-certificate server: both key types in the cell, and a
            // warning tone when only the other certificate fails (its
            // finding says how).
            let other_bad = a.other_certificates.iter().any(|o| {
                !(o.certificate.chain_valid && o.certificate.hostname_match)
                    || o.dane == crate::report::DaneResult::Mismatch
            });
            let cell = if a.other_certificates.is_empty() {
                Fact::judged(word, Some(good))
            } else if good && other_bad {
                Fact::toned(format!("{word} RSA+EC"), Tone::Warn)
            } else {
                Fact::judged(format!("{word} RSA+EC"), Some(good))
            };
            (
                cell,
                Fact::judged(c.days_left.to_string(), Some(c.days_left >= 0)),
            )
        }
        None => (Fact::dash(), Fact::dash()),
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
                Fact::dash()
            } else {
                Fact::judged(text.join(" "), legacy.then_some(false))
            }
        }
        None => Fact::dash(),
    };
    [
        Fact::plain(mx.preference.to_string()),
        Fact::plain(inert(&mx.host)),
        Fact::plain(crate::report::view::address(a, port)),
        tls,
        cert,
        days,
        dane_fact(a.dane),
        config_fact(a),
        accepts,
        match a.post_quantum {
            Some(true) => Fact::plain("yes"),
            Some(false) => Fact::plain("no"),
            None => Fact::dash(),
        },
        match &a.tls {
            Some(t) => Fact::plain(inert(&t.cipher)),
            None => Fact::dash(),
        },
    ]
}

/// An address's DANE result; the domain's line uses the view's words.
fn dane_fact(r: DaneResult) -> Fact {
    match r {
        DaneResult::Valid => Fact::toned(DaneState::Valid.as_str(), Tone::Good),
        DaneResult::Mismatch => Fact::toned(DaneState::Mismatch.as_str(), Tone::Bad),
        DaneResult::LookupFailed => Fact::toned("failed", Tone::Bad),
        DaneResult::Unusable => Fact::plain(DaneState::Unusable.as_str()),
        DaneResult::None | DaneResult::Insecure => Fact::dash(),
    }
}

/// The configuration level, `insuff.` / `phase-out` / `suff.` /
/// `good`, with `?` when not everything was tried (it may be worse).
fn config_fact(a: &AddressReport) -> Fact {
    let Some(c) = &a.configuration else {
        return Fact::dash();
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
    Fact::judged(text, (c.level == NcscLevel::Insufficient).then_some(false))
}

/// `DNSSEC signed | DANE valid 2/2 | MTA-STS enforce | TLS-RPT present`,
/// in the view's words.
fn protection_units(v: &DomainView<'_>) -> Vec<Span> {
    let p = &v.protection;
    let dane = match p.dane {
        DaneState::None => p.dane.as_str().to_string(),
        state => format!("{} {}/{}", state.as_str(), p.dane_valid, p.addresses),
    };
    vec![
        Span::plain(format!("DNSSEC {}", p.dnssec.as_str())),
        Span::plain(format!("DANE {dane}")),
        Span::plain(format!("MTA-STS {}", p.mta_sts.as_str())),
        Span::plain(format!("TLS-RPT {}", p.tls_rpt.as_str())),
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
