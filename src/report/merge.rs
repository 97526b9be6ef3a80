//! Several saved reports read as one: the rows of `check` (NDJSON, or
//! whole JSON reports) from any number of files or stdin, merged by one
//! rule, for `smtptls report`, `diff --old/--new` and `policy --from`.
//!
//! **The rule.** The last row of a domain wins, in the order the rows were
//! read (the files in the order given, then line order), with one
//! exception: a row of a domain its run did not finish (error phase `run`:
//! `--deadline`, Ctrl-C) never replaces a finished row, whatever their
//! order. An unfinished row is a placeholder, not an observation: a shard
//! killed at its deadline and audited again with `--resume` writes the
//! finished row after it, but the same rows given in another order (the
//! resumed file first) must not lose the finished row to the placeholder.
//! An unfinished row is replaced by any later row of its domain.
//!
//! Every row is read through the one bounded reader
//! ([`read::each_row`]); what is kept per domain is the caller's choice
//! ([`Merger`] keeps a `T`), so that a streaming output keeps only the
//! position of each domain's winning row and reads the files a second
//! time ([`Merged::stream`]): memory grows with the domains, not with the
//! files.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::read::{self, Header, ReadError};
use super::{DomainReport, RunSettings, Summary, ToolInfo};
use crate::vocabulary::{ErrorPhase, ScanMode};

/// One report given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `-`.
    Stdin,
    File(PathBuf),
}

impl Input {
    /// A command-line argument: `-` is stdin.
    pub fn from_arg(path: &Path) -> Input {
        if path.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::File(path.to_path_buf())
        }
    }

    /// How errors and notices name it.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }
}

/// Where a row was read: the input (its position in the list given) and
/// the row's position in it (0-based, blank lines not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowId {
    pub input: usize,
    pub row: usize,
}

/// The run that wrote the row stopped before the domain was done (error
/// phase `run`); the same test as [`read::RowHead::unfinished`].
pub fn unfinished(row: &DomainReport) -> bool {
    row.error
        .as_ref()
        .is_some_and(|e| e.phase == ErrorPhase::Run)
}

/// The merging rule: does a later row of a domain replace the earlier
/// one? Yes, unless the later one is unfinished and the earlier one is
/// not.
pub fn replaces(earlier_unfinished: bool, later_unfinished: bool) -> bool {
    earlier_unfinished || !later_unfinished
}

/// The winning row of each domain so far, by the rule of [`replaces`].
#[derive(Debug, Clone)]
pub struct Merger<T> {
    winners: BTreeMap<String, Winner<T>>,
    rows: usize,
    duplicates: usize,
}

#[derive(Debug, Clone)]
struct Winner<T> {
    id: RowId,
    unfinished: bool,
    seen_again: bool,
    kept: T,
}

/// What the merge came to, for the notices on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeCounts {
    /// Rows read.
    pub rows: usize,
    /// Distinct domains.
    pub domains: usize,
    /// Domains with more than one row.
    pub duplicates: usize,
    /// Domains whose winning row is still unfinished.
    pub unfinished: usize,
}

impl<T> Default for Merger<T> {
    fn default() -> Self {
        Merger {
            winners: BTreeMap::new(),
            rows: 0,
            duplicates: 0,
        }
    }
}

impl<T> Merger<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers the row `id` of `domain`; `keep` makes what is kept of it,
    /// called only when the row wins (for now). Rows must be offered in
    /// read order.
    pub fn offer(&mut self, domain: &str, unfinished: bool, id: RowId, keep: impl FnOnce() -> T) {
        self.rows += 1;
        match self.winners.get_mut(domain) {
            Some(w) => {
                if !w.seen_again {
                    w.seen_again = true;
                    self.duplicates += 1;
                }
                if replaces(w.unfinished, unfinished) {
                    w.id = id;
                    w.unfinished = unfinished;
                    w.kept = keep();
                }
            }
            None => {
                self.winners.insert(
                    domain.to_string(),
                    Winner {
                        id,
                        unfinished,
                        seen_again: false,
                        kept: keep(),
                    },
                );
            }
        }
    }

    /// The winning row of `domain`, if it has one.
    pub fn winner(&self, domain: &str) -> Option<RowId> {
        self.winners.get(domain).map(|w| w.id)
    }

    pub fn counts(&self) -> MergeCounts {
        MergeCounts {
            rows: self.rows,
            domains: self.winners.len(),
            duplicates: self.duplicates,
            unfinished: self.winners.values().filter(|w| w.unfinished).count(),
        }
    }

    /// What was kept of each winning row, in domain-name order.
    pub fn into_kept(self) -> impl Iterator<Item = (String, RowId, T)> {
        self.winners.into_iter().map(|(d, w)| (d, w.id, w.kept))
    }
}

/// What one input said about itself and what its rows showed of the run's
/// settings.
#[derive(Debug, Clone)]
pub struct InputInfo {
    pub name: String,
    pub header: Header,
    pub rows: usize,
    /// The modes of the rows' protocol scans: the setting an NDJSON
    /// report still shows.
    pub scans: Vec<ScanMode>,
    /// The services of the rows (`--service`), which each row carries.
    pub services: Vec<crate::vocabulary::Service>,
}

/// Reads one input, handing each row to `each` with its [`RowId`].
pub fn read_input(
    input: &Input,
    index: usize,
    mut each: impl FnMut(DomainReport, RowId),
) -> Result<InputInfo, ReadError> {
    let name = input.name();
    let mut rows = 0usize;
    let mut scans = Vec::new();
    let mut services = Vec::new();
    let mut on_row = |row: DomainReport, _line: usize| {
        if !services.contains(&row.service) {
            services.push(row.service);
        }
        for a in row.mx.iter().flat_map(|m| m.addresses.iter()) {
            if let Some(mode) = a.scan.as_ref().map(|s| s.mode)
                && !scans.contains(&mode)
            {
                scans.push(mode);
            }
        }
        each(
            row,
            RowId {
                input: index,
                row: rows,
            },
        );
        rows += 1;
    };
    let header = match input {
        Input::Stdin => read::each_row(std::io::stdin().lock(), &name, &mut on_row)?,
        Input::File(path) => {
            let file = std::fs::File::open(path).map_err(|error| ReadError::Io {
                file: name.clone(),
                error,
            })?;
            read::each_row(BufReader::new(file), &name, &mut on_row)?
        }
    };
    Ok(InputInfo {
        name,
        header,
        rows,
        scans,
        services,
    })
}

/// Reads one input from `reader` (tests, and callers that opened it).
pub fn read_reader<R: BufRead>(
    reader: R,
    name: &str,
    index: usize,
    mut each: impl FnMut(DomainReport, RowId),
) -> Result<Header, ReadError> {
    let mut rows = 0usize;
    read::each_row(reader, name, |row: DomainReport, _line| {
        each(
            row,
            RowId {
                input: index,
                row: rows,
            },
        );
        rows += 1;
    })
}

/// Every input read and merged.
#[derive(Debug)]
pub struct Merged<T> {
    pub inputs: Vec<InputInfo>,
    pub merger: Merger<T>,
}

/// Reads `inputs` in order and merges their rows, keeping `keep(row)` of
/// each winner.
pub fn merge<T>(
    inputs: &[Input],
    mut keep: impl FnMut(&Input, DomainReport) -> T,
) -> Result<Merged<T>, ReadError> {
    let mut merger = Merger::new();
    let mut infos = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let info = read_input(input, index, |row, id| {
            let domain = row.domain.clone();
            merger.offer(&domain, unfinished(&row), id, || keep(input, row));
        })?;
        infos.push(info);
    }
    Ok(Merged {
        inputs: infos,
        merger,
    })
}

/// Merged for a streaming output: the rows of files are not kept (they
/// are read again by [`Merged::stream`]); stdin's are, as it cannot be
/// read twice.
/// A kept row is boxed: a file's winner, kept as `None`, then costs a
/// pointer, not the size of a whole row.
pub fn merge_positions(inputs: &[Input]) -> Result<Merged<Option<Box<DomainReport>>>, ReadError> {
    merge(inputs, |input, row| match input {
        Input::Stdin => Some(Box::new(row)),
        Input::File(_) => None,
    })
}

impl Merged<Option<Box<DomainReport>>> {
    /// Each winning row once, in read order (the inputs in order, then
    /// their rows), reading the files a second time.
    pub fn stream(
        self,
        inputs: &[Input],
        mut each: impl FnMut(&DomainReport),
    ) -> Result<(), ReadError> {
        let mut kept: BTreeMap<RowId, Box<DomainReport>> = BTreeMap::new();
        let mut winners: BTreeMap<String, RowId> = BTreeMap::new();
        for (domain, id, row) in self.merger.into_kept() {
            match row {
                Some(row) => {
                    kept.insert(id, row);
                }
                None => {
                    winners.insert(domain, id);
                }
            }
        }
        for (index, input) in inputs.iter().enumerate() {
            match input {
                Input::Stdin => {
                    for (_, row) in kept.range(
                        RowId {
                            input: index,
                            row: 0,
                        }..RowId {
                            input: index + 1,
                            row: 0,
                        },
                    ) {
                        each(row);
                    }
                }
                Input::File(_) => {
                    read_input(input, index, |row, id| {
                        if winners.get(&row.domain) == Some(&id) {
                            each(&row);
                        }
                    })?;
                }
            }
        }
        Ok(())
    }
}

/// The header of a merged report: its settings and date, taken from what
/// the inputs say, and what they disagree on.
#[derive(Debug, Clone)]
pub struct MergedHeader {
    pub tool: ToolInfo,
    pub generated_at: String,
    pub settings: RunSettings,
    /// The run's own counters (`probes`, `mx_reused`, `dns_retries`)
    /// summed over the inputs that have a summary (whole JSON reports;
    /// NDJSON rows carry none).
    pub counters: Summary,
    /// One line per disagreement between the inputs, for stderr.
    pub notices: Vec<String>,
}

/// The settings a merged report shows. `fail_below` and `fail_level` are
/// `report`'s own (they are the gate it applies); every other setting comes
/// from the first whole JSON report among the inputs, else from the rows
/// (the scan mode) and the defaults. `now` dates a report made
/// of NDJSON rows only (they carry no date); otherwise the earliest
/// `generated_at` of the inputs is the run's start.
pub fn header(inputs: &[InputInfo], base: RunSettings, now: String) -> MergedHeader {
    let mut notices = Vec::new();
    let with_settings: Vec<(&InputInfo, &RunSettings)> = inputs
        .iter()
        .filter_map(|i| i.header.settings.as_ref().map(|s| (i, s)))
        .collect();
    let mut settings = base.clone();
    if let Some((_, first)) = with_settings.first() {
        settings = RunSettings {
            fail_below: base.fail_below,
            fail_level: base.fail_level,
            ..(*first).clone()
        };
    }
    // The settings that shape results, without the gate (report's own).
    let shaping = |s: &RunSettings| {
        let mut v = serde_json::to_value(s).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("fail_below");
            o.remove("fail_level");
            // A merged input's own provenance is not a setting.
            o.remove("merged_from");
            o.remove("input_differences");
        }
        v
    };
    let differing: Vec<String> = match with_settings.first() {
        Some((_, first)) => {
            let first = shaping(first);
            let mut keys: Vec<String> = Vec::new();
            for (_, s) in &with_settings[1..] {
                let other = shaping(s);
                if let (Some(a), Some(b)) = (first.as_object(), other.as_object()) {
                    for (k, v) in a {
                        if b.get(k) != Some(v) && !keys.contains(k) {
                            keys.push(k.clone());
                        }
                    }
                }
            }
            keys
        }
        None => Vec::new(),
    };
    if !differing.is_empty() {
        notices.push(format!(
            "the inputs were written with different settings ({}); the report shows {}'s",
            differing.join(", "),
            with_settings[0].0.name
        ));
    }
    // What the rows show: the scan mode. (Not the port: an address's
    // `port` is where it was reached, `--connect-to` included, not
    // `--port`.)
    let scans: Vec<(ScanMode, &str)> = inputs
        .iter()
        .flat_map(|i| i.scans.iter().map(move |m| (*m, i.name.as_str())))
        .collect();
    if with_settings.is_empty()
        && let Some((mode, _)) = scans.first()
    {
        settings.scan = *mode;
    }
    if scans.iter().any(|(m, _)| *m != settings.scan) {
        notices.push(format!(
            "the inputs ran different protocol scans (--scan): {}",
            listing(
                &scans
                    .iter()
                    .map(|(m, n)| (m.as_str(), *n))
                    .collect::<Vec<_>>()
            )
        ));
    }
    // The service, which every row carries: rows of MX hosts and of a
    // submission service graded by different rubrics do not make one run.
    let services: Vec<(crate::vocabulary::Service, &str)> = inputs
        .iter()
        .flat_map(|i| i.services.iter().map(move |s| (*s, i.name.as_str())))
        .collect();
    if with_settings.is_empty()
        && let Some((service, _)) = services.first()
    {
        settings.service = *service;
    }
    if services.iter().any(|(s, _)| *s != settings.service) {
        notices.push(format!(
            "the inputs audited different services (--service): {}",
            listing(
                &services
                    .iter()
                    .map(|(s, n)| (s.as_str(), *n))
                    .collect::<Vec<_>>()
            )
        ));
    }
    // The versions that wrote the inputs.
    let tools: Vec<(&str, &str)> = inputs
        .iter()
        .filter_map(|i| {
            i.header
                .tool
                .as_ref()
                .map(|t| (t.version.as_str(), i.name.as_str()))
        })
        .collect();
    if tools.iter().any(|(v, _)| *v != tools[0].0) {
        notices.push(format!(
            "the inputs were written by different smtptls versions: {}",
            listing(&tools)
        ));
    }
    let generated_at = inputs
        .iter()
        .filter_map(|i| i.header.generated_at.clone())
        .min()
        .unwrap_or(now);
    let mut counters = Summary::default();
    for s in inputs.iter().filter_map(|i| i.header.summary.as_ref()) {
        counters.probes += s.probes;
        counters.mx_reused += s.mx_reused;
        counters.dns_retries += s.dns_retries;
    }
    // The page and the JSON header say what stderr says: which files,
    // and what they disagree on.
    settings.merged_from = inputs.iter().map(|i| i.name.clone()).collect();
    settings.input_differences = notices.clone();
    MergedHeader {
        tool: ToolInfo::default(),
        generated_at,
        settings,
        counters,
        notices,
    }
}

/// `light (a.ndjson), deep (b.ndjson)`.
fn listing<V: std::fmt::Display>(items: &[(V, &str)]) -> String {
    items
        .iter()
        .map(|(v, name)| format!("{v} ({name})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The notices of a merge, one line each: domains with several rows, and
/// domains still unfinished.
pub fn notices(counts: MergeCounts) -> Vec<String> {
    let mut out = Vec::new();
    if counts.duplicates > 0 {
        out.push(format!(
            "{} domain(s) have more than one row ({} rows for {} domains): the last row of each is \
             used, and an unfinished row (error phase run) never replaces a finished one",
            counts.duplicates, counts.rows, counts.domains
        ));
    }
    if counts.unfinished > 0 {
        out.push(format!(
            "{} domain(s) are still unfinished (error phase run: --deadline or interrupted) and \
             count as errors; audit them again with check --resume",
            counts.unfinished
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Failure;
    use crate::report::read::Shape;
    use crate::vocabulary::{ErrorKind, Verdict};
    use std::io::Cursor;

    fn row(domain: &str, verdict: Verdict) -> DomainReport {
        DomainReport {
            verdict,
            ..DomainReport::empty(domain)
        }
    }

    fn cut(domain: &str) -> DomainReport {
        DomainReport::failed(
            domain,
            Failure::new(ErrorPhase::Run, ErrorKind::Deadline, "not finished"),
        )
    }

    fn ndjson(rows: &[DomainReport]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            serde_json::to_writer(&mut out, r).expect("serialize");
            out.push(b'\n');
        }
        out
    }

    /// Merges the given files (each a list of rows) and returns the
    /// winners' (domain, verdict, unfinished) in name order and the counts.
    fn merged(files: &[Vec<DomainReport>]) -> (Vec<(String, Verdict, bool)>, MergeCounts) {
        let mut merger = Merger::new();
        for (index, rows) in files.iter().enumerate() {
            read_reader(Cursor::new(ndjson(rows)), "m.ndjson", index, |r, id| {
                let d = r.domain.clone();
                merger.offer(&d, unfinished(&r), id, || r);
            })
            .expect("read");
        }
        let counts = merger.counts();
        let winners = merger
            .into_kept()
            .map(|(d, _, r)| (d, r.verdict, unfinished(&r)))
            .collect();
        (winners, counts)
    }

    #[test]
    fn the_rule() {
        // earlier, later → replaced?
        assert!(
            replaces(false, false),
            "finished by finished: the last wins"
        );
        assert!(replaces(true, false), "unfinished by finished");
        assert!(replaces(true, true), "unfinished by unfinished");
        assert!(!replaces(false, true), "never finished by unfinished");
    }

    #[test]
    fn the_last_row_wins_across_files_and_lines() {
        let (winners, counts) = merged(&[
            vec![
                row("a.test", Verdict::Plaintext),
                row("b.test", Verdict::Secure),
            ],
            vec![
                row("a.test", Verdict::Encrypted),
                row("a.test", Verdict::Protected),
            ],
            vec![row("c.test", Verdict::Broken)],
        ]);
        assert_eq!(
            winners,
            [
                ("a.test".to_string(), Verdict::Protected, false),
                ("b.test".to_string(), Verdict::Secure, false),
                ("c.test".to_string(), Verdict::Broken, false),
            ]
        );
        assert_eq!(
            counts,
            MergeCounts {
                rows: 5,
                domains: 3,
                duplicates: 1,
                unfinished: 0
            }
        );
    }

    #[test]
    fn an_unfinished_row_is_replaced_and_never_replaces() {
        // A shard cut by its deadline, then its --resume run: finished.
        let (w, counts) = merged(&[vec![cut("a.test")], vec![row("a.test", Verdict::Secure)]]);
        assert_eq!(w, [("a.test".to_string(), Verdict::Secure, false)]);
        assert_eq!((counts.duplicates, counts.unfinished), (1, 0));
        // The same files the other way round: the finished row stays.
        let (w, counts) = merged(&[vec![row("a.test", Verdict::Secure)], vec![cut("a.test")]]);
        assert_eq!(w, [("a.test".to_string(), Verdict::Secure, false)]);
        assert_eq!((counts.duplicates, counts.unfinished), (1, 0));
        // Unfinished twice: still unfinished, and counted as such.
        let (w, counts) = merged(&[vec![cut("a.test"), cut("a.test")], vec![cut("b.test")]]);
        assert_eq!(
            w.iter().map(|x| x.2).collect::<Vec<_>>(),
            [true, true],
            "{w:?}"
        );
        assert_eq!(
            counts,
            MergeCounts {
                rows: 3,
                domains: 2,
                duplicates: 1,
                unfinished: 2
            }
        );
        // A finished row after an unfinished one after a finished one:
        // the last finished row wins.
        let (w, _) = merged(&[vec![
            row("a.test", Verdict::Plaintext),
            cut("a.test"),
            row("a.test", Verdict::Encrypted),
        ]]);
        assert_eq!(w, [("a.test".to_string(), Verdict::Encrypted, false)]);
    }

    #[test]
    fn notices_say_each_count_once() {
        assert!(notices(MergeCounts::default()).is_empty());
        let lines = notices(MergeCounts {
            rows: 5,
            domains: 3,
            duplicates: 2,
            unfinished: 1,
        });
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("2 domain(s) have more than one row (5 rows for 3 domains)"));
        assert!(lines[1].starts_with("1 domain(s) are still unfinished"));
    }

    fn info(name: &str, scans: &[ScanMode]) -> InputInfo {
        InputInfo {
            name: name.into(),
            header: Header {
                shape: Shape::Ndjson,
                generated_at: None,
                expiry_warn_days: None,
                settings: None,
                tool: None,
                summary: None,
            },
            rows: 1,
            scans: scans.to_vec(),
            services: Vec::new(),
        }
    }

    fn base() -> RunSettings {
        RunSettings {
            service: crate::vocabulary::Service::Smtp,
            port: 25,
            fail_below: Verdict::Secure,
            fail_level: None,
            expiry_warn_days: 30,
            extra_trust_anchors: 0,
            resolvers: Vec::new(),
            dnssec: crate::options::DnssecMode::Validate,
            scan: ScanMode::default(),
            allow_local_addresses: false,
            max_mx_hosts: 0,
            max_addresses_per_host: 0,
            address_budget_secs: 0.0,
            merged_from: Vec::new(),
            input_differences: Vec::new(),
        }
    }

    #[test]
    fn settings_come_from_the_rows_and_differences_are_said() {
        let h = header(
            &[info("1.ndjson", &[ScanMode::Deep]), info("2.ndjson", &[])],
            base(),
            "now".into(),
        );
        assert_eq!((h.settings.port, h.settings.scan), (25, ScanMode::Deep));
        assert_eq!(h.generated_at, "now");
        assert!(h.notices.is_empty(), "{:?}", h.notices);
        let h = header(
            &[
                info("1.ndjson", &[ScanMode::Light]),
                info("2.ndjson", &[ScanMode::Deep]),
            ],
            base(),
            "now".into(),
        );
        assert_eq!(
            h.notices,
            ["the inputs ran different protocol scans (--scan): light (1.ndjson), deep (2.ndjson)"]
        );
    }

    #[test]
    fn settings_come_from_json_headers_but_the_gate_is_reports() {
        let mut a = info("a.json", &[]);
        a.header.settings = Some(RunSettings {
            fail_below: Verdict::Encrypted,
            expiry_warn_days: 14,
            ..base()
        });
        a.header.generated_at = Some("2025-06-01T12:00:00Z".into());
        a.header.tool = Some(ToolInfo {
            name: "smtptls".into(),
            version: "1.0.0".into(),
        });
        let mut b = a.clone();
        b.name = "b.json".into();
        b.header.generated_at = Some("2025-06-01T11:00:00Z".into());
        b.header.summary = Some(Summary {
            probes: 7,
            ..Summary::default()
        });
        let h = header(&[a.clone(), b.clone()], base(), "now".into());
        assert_eq!(h.settings.fail_below, Verdict::Secure);
        assert_eq!(h.settings.expiry_warn_days, 14);
        assert_eq!(h.generated_at, "2025-06-01T11:00:00Z");
        assert_eq!(h.counters.probes, 7);
        assert!(h.notices.is_empty(), "{:?}", h.notices);
        // Shards written differently are said to be.
        if let Some(s) = b.header.settings.as_mut() {
            s.expiry_warn_days = 21;
            s.allow_local_addresses = true;
        }
        b.header.tool = Some(ToolInfo {
            name: "smtptls".into(),
            version: "1.1.0".into(),
        });
        let h = header(&[a, b], base(), "now".into());
        assert_eq!(
            h.notices,
            [
                "the inputs were written with different settings (allow_local_addresses, \
                 expiry_warn_days); the report shows a.json's",
                "the inputs were written by different smtptls versions: 1.0.0 (a.json), 1.1.0 (b.json)"
            ]
        );
    }
}
