//! The one view of each domain and of the fleet that every human output
//! renders: the table, the HTML page, JUnit, CSV, Prometheus, the policy
//! comments. It is derived once, here, from the report rows, so that no
//! output re-walks the findings, names a subject, words a protection
//! state or decides the fail gate on its own.
//!
//! - [`Subject`]: what a finding is about (the domain, an MX host, an
//!   address), typed, never parsed back from text.
//! - [`Problem`]: a finding said once for every subject that has it.
//! - The protection states in one vocabulary ([`DnssecState`],
//!   [`DaneState`], [`MtaStsState`], [`TlsRptState`], [`delivery_word`]):
//!   each output shows the same word for the same state.
//! - [`Gate`]: `--fail-below` and `--fail-level`, the one fail rule of the
//!   exit code, JUnit and the summary.
//! - [`FleetView`]: the domains plus the problems they share, counted per
//!   id *and severity*, failures first.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{
    AddressReport, DaneResult, DeliveryResult, Dnssec, DomainReport, MxSource, RecordState, Report,
    RunSettings,
};
use crate::vocabulary::{
    Finding, FindingId, Fix, LevelThreshold, NcscLevel, Service, Severity, Threshold, Verdict,
};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// The domain itself (MX lookup, MTA-STS, TLS-RPT).
    Domain,
    /// An MX host (its lookups, TLSA, MTA-STS match).
    Host { host: &'a str },
    /// One probed address of an MX host.
    Address {
        host: &'a str,
        ip: IpAddr,
        port: u16,
    },
}

impl<'a> Subject<'a> {
    /// The MX host, for a host or an address.
    pub fn host(&self) -> Option<&'a str> {
        match *self {
            Subject::Domain => None,
            Subject::Host { host } | Subject::Address { host, .. } => Some(host),
        }
    }
}

/// A finding with what it is about.
#[derive(Debug, Clone, Copy)]
pub struct Located<'a> {
    pub subject: Subject<'a>,
    pub finding: &'a Finding,
}

/// Every finding of a domain with its subject, in the order the checks
/// ran: the domain's, then per MX host its own and its addresses'.
pub fn located(d: &DomainReport) -> Vec<Located<'_>> {
    let mut out: Vec<Located<'_>> = d
        .findings
        .iter()
        .map(|finding| Located {
            subject: Subject::Domain,
            finding,
        })
        .collect();
    for mx in &d.mx {
        let host = mx.host.as_str();
        out.extend(mx.findings.iter().map(|finding| Located {
            subject: Subject::Host { host },
            finding,
        }));
        for a in &mx.addresses {
            out.extend(a.findings.iter().map(|finding| Located {
                subject: Subject::Address {
                    host,
                    ip: a.ip,
                    port: a.port,
                },
                finding,
            }));
        }
    }
    out
}

/// One finding said once, with every subject of the domain that has the
/// same one (same id, severity, message and fix).
#[derive(Debug, Clone)]
pub struct Problem<'a> {
    pub finding: &'a Finding,
    pub subjects: Vec<Subject<'a>>,
}

/// How to name the subjects of a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Every address: `mx1 [192.0.2.1, 2001:db8::1], mx2 [192.0.2.2]`.
    Addresses,
    /// A host alone when every one of its addresses has the finding (the
    /// table shows the addresses in its rows): `mx1, mx2 [192.0.2.2]`;
    /// `every MX` when that holds for every host of several.
    Hosts,
}

impl Problem<'_> {
    /// The subjects in words, raw (each output makes it inert for its
    /// format); `None` for a finding about the domain itself. `port` is
    /// the run's: an address shows its port only when it differs.
    pub fn about(&self, d: &DomainReport, port: u16, naming: Naming) -> Option<String> {
        let mut by_host: Vec<(&str, Vec<String>)> = Vec::new();
        for s in &self.subjects {
            let Some(host) = s.host() else { continue };
            let i = match by_host.iter().position(|(h, _)| *h == host) {
                Some(i) => i,
                None => {
                    by_host.push((host, Vec::new()));
                    by_host.len() - 1
                }
            };
            if let Subject::Address { ip, port: p, .. } = *s {
                by_host[i].1.push(address_text(ip, p, port));
            }
        }
        if by_host.is_empty() {
            return None;
        }
        let whole = |host: &str, addrs: &[String]| {
            d.mx.iter()
                .find(|m| m.host == host)
                .is_some_and(|m| m.addresses.len() == addrs.len())
        };
        if naming == Naming::Hosts
            && d.mx.len() > 1
            && by_host.len() == d.mx.len()
            && by_host.iter().all(|(h, a)| whole(h, a))
        {
            return Some(EVERY_MX.to_string());
        }
        let parts: Vec<String> = by_host
            .into_iter()
            .map(|(host, addrs)| {
                if addrs.is_empty() || (naming == Naming::Hosts && whole(host, &addrs)) {
                    host.to_string()
                } else {
                    format!("{host} [{}]", addrs.join(", "))
                }
            })
            .collect();
        Some(parts.join(", "))
    }
}

/// What [`Naming::Hosts`] says for a finding on every address of every
/// MX host of several.
pub const EVERY_MX: &str = "every MX";

/// `192.0.2.1`, `2001:db8::1`; with the port (`192.0.2.1:2525`,
/// `[2001:db8::1]:2525`) when it is not the run's.
pub fn address_text(ip: IpAddr, port: u16, run_port: u16) -> String {
    if port == run_port {
        ip.to_string()
    } else if ip.is_ipv6() {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The address of a row as [`address_text`] writes it.
pub fn address(a: &AddressReport, run_port: u16) -> String {
    address_text(a.ip, a.port, run_port)
}

/// Every finding above `ok`, each said once ([`Problem`]): failures,
/// then warnings, then notes; in the order the checks ran within each.
pub fn problems(d: &DomainReport) -> Vec<Problem<'_>> {
    let mut out: Vec<Problem<'_>> = Vec::new();
    for l in located(d) {
        if l.finding.severity == Severity::Ok {
            continue;
        }
        match out.iter_mut().find(|p| same(p.finding, l.finding)) {
            Some(p) => p.subjects.push(l.subject),
            None => out.push(Problem {
                finding: l.finding,
                subjects: vec![l.subject],
            }),
        }
    }
    // A stable sort: the check order stays within a severity.
    out.sort_by_key(|p| std::cmp::Reverse(p.finding.severity));
    out
}

fn same(a: &Finding, b: &Finding) -> bool {
    a.id == b.id && a.severity == b.severity && a.message == b.message && a.fix == b.fix
}

/// Findings per severity (each finding of each subject counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub fail: usize,
    pub warn: usize,
    pub info: usize,
}

impl Counts {
    pub fn of(d: &DomainReport) -> Counts {
        let mut c = Counts::default();
        for l in located(d) {
            match l.finding.severity {
                Severity::Fail => c.fail += 1,
                Severity::Warn => c.warn += 1,
                Severity::Info => c.info += 1,
                Severity::Ok => {}
            }
        }
        c
    }
}

macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            /// Every state, in the order the outputs list them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The one word every output uses for this state.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word,)* }
            }
        }
    };
}

words! {
    /// The DNSSEC status of the domain's MX RRset.
    DnssecState {
        Signed = "signed",
        Unsigned = "unsigned",
        /// Signed but failing validation: validating senders defer.
        Bogus = "bogus",
        Unknown = "unknown",
    }
}

words! {
    /// DANE over a domain's addresses.
    DaneState {
        /// Every address with TLSA records matches them.
        Valid = "valid",
        /// A DANE sender defers on some address (no match, or the TLSA
        /// lookup failed).
        Mismatch = "mismatch",
        /// Only unusable records apply: DANE senders fall back.
        Unusable = "unusable",
        /// No TLSA records (or no DNSSEC to publish them under).
        None = "none",
    }
}

words! {
    /// A domain's MTA-STS.
    MtaStsState {
        Enforce = "enforce",
        Testing = "testing",
        /// A policy in mode `none`.
        None = "none",
        /// No `_mta-sts` record.
        Absent = "absent",
        /// A record senders cannot use, or no policy to read.
        Invalid = "invalid",
        /// Not looked up.
        Unknown = "-",
    }
}

words! {
    /// A domain's `_smtp._tls` record.
    TlsRptState {
        Present = "present",
        Absent = "absent",
        Invalid = "invalid",
        /// Not looked up.
        Unknown = "-",
    }
}

impl DnssecState {
    pub fn of(d: Dnssec) -> DnssecState {
        match d {
            Dnssec::Secure => DnssecState::Signed,
            Dnssec::Insecure => DnssecState::Unsigned,
            Dnssec::Bogus => DnssecState::Bogus,
            Dnssec::Indeterminate => DnssecState::Unknown,
        }
    }
}

impl DaneState {
    /// `mismatch` when a DANE sender would defer on any address,
    /// `valid` when some address is DANE-valid, `unusable` when only
    /// unusable records apply, `none` otherwise.
    pub fn of(results: &[DaneResult]) -> DaneState {
        if results
            .iter()
            .any(|r| matches!(r, DaneResult::Mismatch | DaneResult::LookupFailed))
        {
            DaneState::Mismatch
        } else if results.contains(&DaneResult::Valid) {
            DaneState::Valid
        } else if results.contains(&DaneResult::Unusable) {
            DaneState::Unusable
        } else {
            DaneState::None
        }
    }
}

impl MtaStsState {
    pub fn of(d: &DomainReport) -> MtaStsState {
        use super::Mode;
        match &d.mta_sts {
            None => MtaStsState::Unknown,
            Some(s) => match (&s.policy, s.record) {
                (Some(p), _) => match p.mode {
                    Mode::Enforce => MtaStsState::Enforce,
                    Mode::Testing => MtaStsState::Testing,
                    Mode::None => MtaStsState::None,
                },
                (None, RecordState::Absent) => MtaStsState::Absent,
                (None, _) => MtaStsState::Invalid,
            },
        }
    }
}

impl TlsRptState {
    pub fn of(d: &DomainReport) -> TlsRptState {
        match d.tls_rpt.as_ref().map(|r| r.record) {
            None => TlsRptState::Unknown,
            Some(RecordState::Valid) => TlsRptState::Present,
            Some(RecordState::Absent) => TlsRptState::Absent,
            Some(_) => TlsRptState::Invalid,
        }
    }
}

/// A submission row's service as every output names it; `None` for MX
/// hosts (smtp), which need no saying.
pub fn service_words(service: Service) -> Option<&'static str> {
    match service {
        Service::Smtp => None,
        Service::Submission => Some("submission (STARTTLS, port 587)"),
        Service::Submissions => Some("submissions (implicit TLS, port 465)"),
    }
}

/// Where a row's hosts came from, as every output says it.
pub fn mx_source_words(source: MxSource) -> &'static str {
    match source {
        MxSource::Mx => "MX records",
        MxSource::Implicit => "implicit MX (the domain's own address)",
        MxSource::Null => "null MX: accepts no mail",
        MxSource::None => "none",
        MxSource::Srv => "SRV records (RFC 6186)",
        MxSource::Host => "the name given (no SRV records)",
    }
}

/// The heading of a row's hosts: MX hosts, or a submission service's.
pub fn hosts_word(service: Service) -> &'static str {
    if service.is_submission() {
        "Host"
    } else {
        "MX"
    }
}

/// What one kind of sender gets, in a word.
pub fn delivery_word(r: DeliveryResult) -> &'static str {
    match r {
        DeliveryResult::Secure => "secure",
        DeliveryResult::Cleartext => "cleartext",
        DeliveryResult::Deferred => "deferred",
        DeliveryResult::NotApplicable => "n/a",
    }
}

/// The kinds of sender, as every output names them.
pub const SENDERS: [&str; 3] = ["opportunistic", "MTA-STS", "DANE"];

/// The downgrade protection of a domain in the one vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    pub dnssec: DnssecState,
    pub dane: DaneState,
    /// Addresses whose certificate matches their TLSA records, of all the
    /// probed addresses.
    pub dane_valid: usize,
    pub addresses: usize,
    pub mta_sts: MtaStsState,
    pub tls_rpt: TlsRptState,
}

impl Protection {
    pub fn of(d: &DomainReport) -> Protection {
        let results: Vec<DaneResult> =
            d.mx.iter()
                .flat_map(|m| m.addresses.iter().map(|a| a.dane))
                .collect();
        Protection {
            dnssec: DnssecState::of(d.dnssec),
            dane: DaneState::of(&results),
            dane_valid: results.iter().filter(|r| **r == DaneResult::Valid).count(),
            addresses: results.len(),
            mta_sts: MtaStsState::of(d),
            tls_rpt: TlsRptState::of(d),
        }
    }
}

/// The run's fail rule: a verdict below `--fail-below`, or a
/// configuration level at or below `--fail-level`. The exit code, the
/// summary's counts and JUnit's failures all ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub verdict: Threshold,
    pub level: Option<LevelThreshold>,
}

/// Why a domain fails the [`Gate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateFailure {
    Verdict { verdict: Verdict, below: Verdict },
    Level { level: NcscLevel, gate: NcscLevel },
}

impl GateFailure {
    /// `verdict plaintext below encrypted`,
    /// `configuration sufficient at or below --fail-level sufficient`.
    pub fn message(&self) -> String {
        match self {
            GateFailure::Verdict { verdict, below } => format!("verdict {verdict} below {below}"),
            GateFailure::Level { level, gate } => {
                format!("configuration {level} at or below --fail-level {gate}")
            }
        }
    }

    /// The kind of failure: the verdict, or `configuration`.
    pub fn kind(&self) -> &'static str {
        match self {
            GateFailure::Verdict { verdict, .. } => verdict.as_str(),
            GateFailure::Level { .. } => "configuration",
        }
    }
}

impl Gate {
    /// The gate of a run being audited (`--fail-below`, `--fail-level`).
    pub fn of_options(options: &crate::options::AuditOptions) -> Gate {
        Gate {
            verdict: options.threshold,
            level: options.fail_level,
        }
    }

    /// The gate a report was written under.
    pub fn of(settings: &RunSettings) -> Gate {
        Gate {
            verdict: Threshold(settings.fail_below),
            level: settings.fail_level.map(LevelThreshold),
        }
    }

    /// The verdict is below `--fail-below`.
    pub fn verdict_fails(&self, d: &DomainReport) -> bool {
        self.verdict.fails(d.verdict)
    }

    /// The configuration level is at or below `--fail-level`.
    pub fn level_fails(&self, d: &DomainReport) -> bool {
        match (self.level, &d.configuration) {
            (Some(gate), Some(c)) => gate.fails(c.level),
            _ => false,
        }
    }

    /// Why the domain fails, the verdict first; `None` when it passes.
    pub fn check(&self, d: &DomainReport) -> Option<GateFailure> {
        if self.verdict_fails(d) {
            return Some(GateFailure::Verdict {
                verdict: d.verdict,
                below: self.verdict.0,
            });
        }
        let level = d.configuration.as_ref()?.level;
        let gate = self.level?;
        gate.fails(level).then_some(GateFailure::Level {
            level,
            gate: gate.0,
        })
    }
}

/// One domain as every output shows it.
#[derive(Debug, Clone)]
pub struct DomainView<'a> {
    pub report: &'a DomainReport,
    pub protection: Protection,
    /// Every finding above `ok`, said once, failures first.
    pub problems: Vec<Problem<'a>>,
    pub counts: Counts,
    /// Why the domain fails the run's gate, if it does.
    pub gate: Option<GateFailure>,
}

impl<'a> DomainView<'a> {
    pub fn new(report: &'a DomainReport, gate: &Gate) -> DomainView<'a> {
        DomainView {
            report,
            protection: Protection::of(report),
            problems: problems(report),
            counts: Counts::of(report),
            gate: gate.check(report),
        }
    }

    /// The problems at one severity.
    pub fn at(&self, severity: Severity) -> impl Iterator<Item = &Problem<'a>> {
        self.problems
            .iter()
            .filter(move |p| p.finding.severity == severity)
    }
}

/// One finding id at one severity over the fleet: a FAIL badge counts
/// only the domains that fail it.
#[derive(Debug, Clone)]
pub struct SharedProblem<'a> {
    pub id: FindingId,
    pub severity: Severity,
    /// Domains with this id at this severity.
    pub domains: usize,
    /// The first such finding: its domain and the domain's problem.
    pub example: (&'a DomainReport, Problem<'a>),
    /// The first fix given for it.
    pub fix: Option<&'a Fix>,
}

/// The whole run as every output shows it.
#[derive(Debug, Clone)]
pub struct FleetView<'a> {
    pub report: &'a Report,
    pub gate: Gate,
    /// Input order.
    pub domains: Vec<DomainView<'a>>,
    /// Every (id, severity) above `ok`: failures, then warnings, then
    /// notes; within a severity the most domains first, then by id.
    pub shared: Vec<SharedProblem<'a>>,
}

impl<'a> FleetView<'a> {
    pub fn new(report: &'a Report) -> FleetView<'a> {
        let gate = Gate::of(&report.settings);
        let domains: Vec<DomainView<'a>> = report
            .domains
            .iter()
            .map(|d| DomainView::new(d, &gate))
            .collect();
        let mut by_key: BTreeMap<(Severity, FindingId), SharedProblem<'a>> = BTreeMap::new();
        for v in &domains {
            let mut seen: Vec<(Severity, FindingId)> = Vec::new();
            for p in &v.problems {
                let key = (p.finding.severity, p.finding.id);
                let entry = by_key.entry(key).or_insert_with(|| SharedProblem {
                    id: p.finding.id,
                    severity: p.finding.severity,
                    domains: 0,
                    example: (v.report, p.clone()),
                    fix: None,
                });
                if entry.fix.is_none() {
                    entry.fix = p.finding.fix.as_ref();
                }
                if !seen.contains(&key) {
                    seen.push(key);
                    entry.domains += 1;
                }
            }
        }
        let mut shared: Vec<SharedProblem<'a>> = by_key.into_values().collect();
        shared.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.domains.cmp(&a.domains))
                .then(a.id.as_str().cmp(b.id.as_str()))
        });
        FleetView {
            report,
            gate,
            domains,
            shared,
        }
    }

    /// How many domains have `id` at `severity`.
    pub fn domains_with(&self, id: FindingId, severity: Severity) -> usize {
        self.shared
            .iter()
            .find(|s| s.id == id && s.severity == severity)
            .map_or(0, |s| s.domains)
    }

    /// Verdict → domains, every verdict present: of the rows when there
    /// are any, else the summary's (a streamed run keeps no rows).
    pub fn verdicts(&self) -> BTreeMap<Verdict, usize> {
        if self.report.domains.is_empty() {
            return self.report.summary.verdicts.clone();
        }
        let mut counts: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
        for d in &self.report.domains {
            *counts.entry(d.verdict).or_insert(0) += 1;
        }
        counts
    }

    /// Domain indices worst first: by verdict (`--fail-below` order,
    /// `no-mail` last), then the most failures, the most warnings, the
    /// name. Where to start reading.
    pub fn worst_first(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.domains.len()).collect();
        let key = |i: usize| {
            let v = &self.domains[i];
            (
                v.report.verdict.rank().unwrap_or(u8::MAX),
                std::cmp::Reverse(v.counts.fail),
                std::cmp::Reverse(v.counts.warn),
                v.report.domain.as_str(),
            )
        };
        order.sort_by(|&a, &b| key(a).cmp(&key(b)));
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{
        Configuration, DomainReport, MtaStsReport, MxReport, StsPolicyReport, TlsRptReport,
    };
    use crate::vocabulary::Finding;

    fn mx(host: &str, ips: &[&str]) -> MxReport {
        let mut m: MxReport = serde_json::from_value(serde_json::json!({
            "host": host, "preference": 10, "cname": null, "dnssec": "insecure",
            "tlsa": null, "mta_sts_match": null, "post_quantum": null,
            "addresses": [], "findings": [], "error": null
        }))
        .expect("mx");
        m.addresses = ips
            .iter()
            .map(|ip| crate::report::read::fixture::address(ip))
            .collect();
        m
    }

    fn run(domains: Vec<DomainReport>) -> Report {
        Report {
            schema_version: crate::report::SCHEMA_VERSION,
            tool: crate::report::ToolInfo::default(),
            generated_at: "2025-06-01T12:00:00Z".into(),
            settings: serde_json::from_value(serde_json::json!({
                "port": 25, "fail_below": "encrypted", "fail_level": null,
                "expiry_warn_days": 14, "extra_trust_anchors": 0,
                "resolvers": ["system"], "dnssec": "validate", "scan": "light"
            }))
            .expect("settings"),
            domains,
            summary: Default::default(),
        }
    }

    fn domain(findings: &[(usize, usize, Finding)]) -> DomainReport {
        let mut d = DomainReport::empty("d.example");
        d.mx = vec![
            mx("mx1.d.example", &["192.0.2.1", "2001:db8::1"]),
            mx("mx2.d.example", &["192.0.2.2"]),
        ];
        for a in d.mx.iter_mut().flat_map(|m| m.addresses.iter_mut()) {
            a.findings.clear();
        }
        for (m, a, f) in findings {
            d.mx[*m].addresses[*a].findings.push(f.clone());
        }
        d
    }

    #[test]
    fn a_finding_on_several_addresses_is_one_problem_naming_them() {
        let w = Finding::warn(FindingId::TlsCipherOrder, "client order");
        let f = Finding::fail(FindingId::CertHostname, "wrong name");
        let d = domain(&[
            (0, 0, w.clone()),
            (0, 1, w.clone()),
            (1, 0, w.clone()),
            (1, 0, f.clone()),
        ]);
        let ps = problems(&d);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].finding.id, FindingId::CertHostname, "failures first");
        let about = |p: &Problem<'_>, n| p.about(&d, 25, n);
        assert_eq!(
            about(&ps[1], Naming::Addresses).as_deref(),
            Some("mx1.d.example [192.0.2.1, 2001:db8::1], mx2.d.example [192.0.2.2]")
        );
        assert_eq!(about(&ps[1], Naming::Hosts).as_deref(), Some(EVERY_MX));
        assert_eq!(
            about(&ps[0], Naming::Hosts).as_deref(),
            Some("mx2.d.example"),
            "the whole of one host of two"
        );
        // One address of two: the host alone would overstate it.
        let d = domain(&[(0, 1, w.clone())]);
        assert_eq!(
            problems(&d)[0].about(&d, 2525, Naming::Hosts).as_deref(),
            Some("mx1.d.example [[2001:db8::1]:25]")
        );
        assert_eq!(
            Counts::of(&domain(&[(0, 0, w.clone()), (0, 1, w), (1, 0, f)])),
            Counts {
                fail: 1,
                warn: 2,
                info: 0
            }
        );
    }

    #[test]
    fn fleet_counts_each_severity_apart() {
        // One domain fails delivery.dane, two only have it as a note: the
        // FAIL counts one domain, the note two.
        let mut a = DomainReport::empty("a.example");
        a.findings = vec![Finding::fail(FindingId::DeliveryDane, "defers")];
        let mut b = DomainReport::empty("b.example");
        b.findings = vec![Finding::info(FindingId::DeliveryDane, "n/a")];
        let mut c = b.clone();
        c.domain = "c.example".into();
        let report = run(vec![b, a, c]);
        let fleet = FleetView::new(&report);
        assert_eq!(
            fleet.domains_with(FindingId::DeliveryDane, Severity::Fail),
            1
        );
        assert_eq!(
            fleet.domains_with(FindingId::DeliveryDane, Severity::Info),
            2
        );
        assert_eq!(fleet.shared[0].severity, Severity::Fail, "failures first");
        assert_eq!(fleet.shared[0].example.0.domain, "a.example");
    }

    #[test]
    fn the_gate_says_why_the_verdict_first() {
        let gate = Gate {
            verdict: Threshold(Verdict::Encrypted),
            level: Some(LevelThreshold(NcscLevel::Insufficient)),
        };
        let mut d = DomainReport::empty("d.example");
        d.verdict = Verdict::Plaintext;
        d.configuration = Some(Configuration {
            level: NcscLevel::Insufficient,
            items: Vec::new(),
            lower_bound: false,
        });
        let f = gate.check(&d).expect("fails");
        assert_eq!(f.message(), "verdict plaintext below encrypted");
        assert_eq!(f.kind(), "plaintext");
        d.verdict = Verdict::Secure;
        let f = gate.check(&d).expect("fails on the level");
        assert_eq!(
            f.message(),
            "configuration insufficient at or below --fail-level insufficient"
        );
        assert!(gate.level_fails(&d) && !gate.verdict_fails(&d));
        d.configuration = None;
        assert_eq!(gate.check(&d), None);
    }

    #[test]
    fn protection_states_in_one_vocabulary() {
        let mut d = DomainReport::empty("d.example");
        assert_eq!(MtaStsState::of(&d), MtaStsState::Unknown);
        d.mta_sts = Some(MtaStsReport {
            record: RecordState::Absent,
            id: None,
            policy: None,
            fetch_error: None,
        });
        assert_eq!(MtaStsState::of(&d).as_str(), "absent");
        d.mta_sts = Some(MtaStsReport {
            record: RecordState::Valid,
            id: Some("1".into()),
            policy: Some(StsPolicyReport {
                url: "https://mta-sts.d.example/.well-known/mta-sts.txt".into(),
                mode: crate::report::Mode::Testing,
                mx: vec![],
                max_age: 1,
                text_sha256: None,
            }),
            fetch_error: None,
        });
        assert_eq!(MtaStsState::of(&d).as_str(), "testing");
        d.tls_rpt = Some(TlsRptReport {
            record: RecordState::Valid,
            rua: vec![],
        });
        assert_eq!(TlsRptState::of(&d).as_str(), "present");
        assert_eq!(
            DaneState::of(&[DaneResult::Valid, DaneResult::LookupFailed]),
            DaneState::Mismatch
        );
        assert_eq!(DaneState::of(&[DaneResult::Insecure]), DaneState::None);
        // Every word is distinct within its kind.
        for words in [
            DaneState::ALL
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            MtaStsState::ALL.iter().map(|s| s.as_str()).collect(),
            TlsRptState::ALL.iter().map(|s| s.as_str()).collect(),
            DnssecState::ALL.iter().map(|s| s.as_str()).collect(),
        ] {
            let mut unique = words.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), words.len(), "{words:?}");
        }
    }
}
