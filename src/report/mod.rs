//! Layer 4, the report: the JSON contract, built from the inspector's
//! assessment (`from_assessment`) and read back by `--resume` and
//! `policy --from`. These types *are* the JSON contract; `schema/report.schema.json` describes them and
//! `SCHEMA_VERSION` changes when a field is removed or changes meaning
//! (adding fields does not).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::inspector::assessment::SessionState;
use crate::options::DnssecMode;
pub use crate::vocabulary::{
    ErrorKind, ErrorPhase, Failure, Finding, NcscLevel, ScanMode, Service, Severity, Verdict,
};

// The report's own wire types: each is built `From` the lower layer's
// type it shows, so that a change below reaches the JSON only through a
// `From` impl here (`wire_guard` keeps lower-layer re-exports out).
pub use certificate::{CertificateReport, ChainError, KeyInfo, KeyType, OtherCertificateReport};
pub use delivery::{Delivery, DeliveryResult, Outcome};
pub use policy::{
    DaneResult, Dnssec, Mode, MtaStsReport, MxSource, RecordState, StsPolicyReport, TlsRptReport,
    TlsaStatus,
};
pub use session::{
    Configuration, OcspFreshness, OcspReport, OcspSignature, OcspStatus, Timings, TlsVersion,
};

pub mod advice;
mod certificate;
mod delivery;
mod from_assessment;
pub mod merge;
mod mirror;
mod policy;
pub mod read;
mod scan;
mod session;
pub mod tlsrpt;
pub mod tlsrpt_explain;
pub mod view;
#[cfg(test)]
mod wire_tests;

/// Major version of the JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub settings: RunSettings,
    pub domains: Vec<DomainReport>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// The settings that shape results, so a report can be read on its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSettings {
    /// `--service`: `smtp` (MX hosts), `submission` or `submissions`
    /// (`smtp` in reports from before the flag).
    #[serde(default)]
    pub service: Service,
    pub port: u16,
    /// `--fail-below`: verdicts below it make the run fail.
    pub fail_below: Verdict,
    /// `--fail-level`: configuration levels at or below it make the run
    /// fail; null when not set.
    #[serde(default)]
    pub fail_level: Option<NcscLevel>,
    pub expiry_warn_days: u32,
    /// Trust anchors added with `--ca-file`, besides Mozilla's roots.
    pub extra_trust_anchors: usize,
    /// `"system"` or the `--resolver` addresses.
    pub resolvers: Vec<String>,
    /// `validate` (local DNSSEC validation) or `trust-resolver` (AD bit).
    pub dnssec: DnssecMode,
    /// `--scan`: `light`, `deep` or `off`.
    pub scan: ScanMode,
    /// `--allow-local-addresses`: loopback and link-local MX addresses
    /// were probed.
    #[serde(default)]
    pub allow_local_addresses: bool,
    /// `--max-mx-hosts`: MX hosts probed per domain (0 in reports from
    /// before the cap).
    #[serde(default)]
    pub max_mx_hosts: usize,
    /// `--max-addresses-per-host`: addresses probed per MX host.
    #[serde(default)]
    pub max_addresses_per_host: usize,
    /// `--address-budget` in seconds: all connections to one address.
    #[serde(default)]
    pub address_budget_secs: f64,
    /// `smtptls report`: the files it merged, in the order read (`-` for
    /// stdin). Empty for a run of `check`.
    #[serde(default)]
    pub merged_from: Vec<String>,
    /// `smtptls report`: what its inputs disagree on (settings, scan
    /// modes, versions), one sentence each. Empty when they agree.
    #[serde(default)]
    pub input_differences: Vec<String>,
}

impl RunSettings {
    /// `check`'s defaults, for a report whose inputs do not say (NDJSON
    /// rows carry no settings): port 25, no resolvers known, the caps 0
    /// (as in reports from before them: not known).
    pub fn defaults() -> RunSettings {
        RunSettings {
            service: Service::Smtp,
            port: 25,
            fail_below: crate::vocabulary::Threshold::default().0,
            fail_level: None,
            expiry_warn_days: 30,
            extra_trust_anchors: 0,
            resolvers: Vec::new(),
            dnssec: DnssecMode::Validate,
            scan: ScanMode::default(),
            allow_local_addresses: false,
            max_mx_hosts: 0,
            max_addresses_per_host: 0,
            address_budget_secs: 0.0,
            merged_from: Vec::new(),
            input_differences: Vec::new(),
        }
    }
}

/// An MX host the `--max-mx-hosts` cap left out: listed, not probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOutMx {
    pub host: String,
    pub preference: u16,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub domains: usize,
    /// Verdict name → number of domains; every verdict is present.
    pub verdicts: BTreeMap<Verdict, usize>,
    /// Domains whose verdict is below `fail_below`.
    pub below_threshold: usize,
    /// Domains whose configuration level is at or below `fail_level` (0
    /// without it).
    #[serde(default)]
    pub below_level: usize,
    /// Domains not audited because of the local set-up, not the domain
    /// (`DomainReport::setup_failure`: `resolver-unusable` rows, and rows
    /// whose every address failed with `no-route`). When every domain is
    /// one, `check` exits 2 (`exit::check`).
    #[serde(default)]
    pub setup_errors: usize,
    /// Why the run stopped early, if it did; unfinished domains are
    /// reported with an error of phase `run`.
    pub stopped: Option<StopReason>,
    /// SMTP connections made (retries included).
    pub probes: usize,
    /// Times a domain reused another domain's observation of a shared MX
    /// host (lookups and probes made once per run).
    pub mx_reused: usize,
    /// DNS questions asked again after a transient failure (SERVFAIL,
    /// timeout) within their `--timeout` budget: attempts beyond each
    /// question's first, over the run (0 in reports written before it).
    #[serde(default)]
    pub dns_retries: usize,
}

impl Summary {
    /// No domain could be audited, because of the local set-up (every
    /// row a set-up error): `check` exits 2, Prometheus says
    /// `smtptls_run_setup_error 1`. An empty run is not one.
    pub fn setup_failed(&self) -> bool {
        self.domains > 0 && self.setup_errors == self.domains
    }
}

/// The summary's counters, kept as rows go by so that the summary (and
/// the exit code) never needs the rows themselves: the one count behind
/// `check`'s summary and `report`'s (a merged report is counted by the
/// same rule as a run).
#[derive(Debug, Clone)]
pub struct Tally {
    gate: view::Gate,
    domains: usize,
    verdicts: BTreeMap<Verdict, usize>,
    below_threshold: usize,
    below_level: usize,
    setup_errors: usize,
}

impl Tally {
    /// No row yet, counted against `gate` (`--fail-below`, `--fail-level`).
    pub fn new(gate: view::Gate) -> Self {
        Tally {
            gate,
            domains: 0,
            // Every verdict, zeros included: monitoring wants stable keys.
            verdicts: Verdict::ALL.iter().map(|v| (*v, 0)).collect(),
            below_threshold: 0,
            below_level: 0,
            setup_errors: 0,
        }
    }

    pub fn add(&mut self, d: &DomainReport) {
        self.domains += 1;
        *self.verdicts.entry(d.verdict).or_default() += 1;
        // The one fail rule (report::view::Gate) that JUnit and the
        // table's summary use too.
        if self.gate.verdict_fails(d) {
            self.below_threshold += 1;
        }
        if self.gate.level_fails(d) {
            self.below_level += 1;
        }
        if d.setup_failure().is_some() {
            self.setup_errors += 1;
        }
    }

    /// The summary of the rows counted; the run's own counters (`probes`,
    /// `mx_reused`, `dns_retries`, `stopped`) are zero, for the caller
    /// that ran something to set.
    pub fn summary(self) -> Summary {
        Summary {
            domains: self.domains,
            verdicts: self.verdicts,
            below_threshold: self.below_threshold,
            below_level: self.below_level,
            setup_errors: self.setup_errors,
            ..Summary::default()
        }
    }
}

/// Why a run stopped before every domain was audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// `--deadline` passed.
    Deadline,
    /// Ctrl-C (SIGINT) or SIGTERM.
    Interrupted,
}

/// One audited domain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainReport {
    /// Canonical form (A-labels, lower case, no trailing dot).
    pub domain: String,
    /// `smtp` for MX hosts; `submission` or `submissions` for a mail
    /// client's service, whose hosts are in `mx` (`smtp` in rows from
    /// before the flag).
    #[serde(default)]
    pub service: Service,
    pub verdict: Verdict,
    /// One sentence saying why.
    pub verdict_reason: String,
    pub mx_source: MxSource,
    /// Sorted by preference.
    pub mx: Vec<MxReport>,
    /// MX hosts beyond `--max-mx-hosts` (highest preferences): not probed,
    /// not graded.
    #[serde(default)]
    pub mx_left_out: Vec<LeftOutMx>,
    /// DNSSEC status of the MX RRset (of the address records for an
    /// implicit MX); `indeterminate` when there was none to judge.
    pub dnssec: Dnssec,
    /// The `_mta-sts` record and policy; null when not looked up.
    pub mta_sts: Option<MtaStsReport>,
    /// The `_smtp._tls` TLS-RPT record; null when not looked up.
    pub tls_rpt: Option<TlsRptReport>,
    /// What each kind of sender would do with mail to this domain; null
    /// when there is no mail host to deliver to.
    pub delivery: Option<Delivery>,
    /// The configuration axis (NCSC-NL level of what the addresses
    /// accept); null when no address had TLS or a certificate to grade.
    #[serde(default)]
    pub configuration: Option<Configuration>,
    /// Domain-level findings (MX lookup, MTA-STS, TLS-RPT).
    pub findings: Vec<Finding>,
    /// Set when the domain could not be audited at all.
    pub error: Option<Failure>,
}

impl DomainReport {
    /// A row for `domain` with nothing found yet: verdict `error` until the
    /// inspector says otherwise, or for good when `error` is all there is.
    pub fn empty(domain: &str) -> Self {
        DomainReport {
            domain: domain.to_string(),
            service: Service::Smtp,
            verdict: Verdict::Error,
            verdict_reason: String::new(),
            mx_source: MxSource::None,
            dnssec: Dnssec::Indeterminate,
            mta_sts: None,
            tls_rpt: None,
            delivery: None,
            configuration: None,
            mx: Vec::new(),
            mx_left_out: Vec::new(),
            findings: Vec::new(),
            error: None,
        }
    }

    /// Why the local set-up, not the partner, kept this row from being
    /// audited, if it did: the domain's own error is a set-up one (the
    /// resolver failed as the start-of-run check predicted), or every
    /// probed address failed with one (no route from this machine). The
    /// one rule behind `summary.setup_errors`, JUnit's `<error>` and exit
    /// 2.
    pub fn setup_failure(&self) -> Option<ErrorKind> {
        if let Some(e) = self.error.as_ref().filter(|e| e.kind.is_setup()) {
            return Some(e.kind);
        }
        let mut kinds = self
            .mx
            .iter()
            .flat_map(|m| m.addresses.iter())
            .map(|a| a.error.as_ref().map(|e| e.kind).filter(|k| k.is_setup()));
        let first = kinds.next()??;
        kinds.all(|k| k == Some(first)).then_some(first)
    }

    /// A row for a domain that could not be audited at all.
    pub fn failed(domain: &str, error: Failure) -> Self {
        DomainReport {
            verdict_reason: error.message.clone(),
            error: Some(error),
            ..DomainReport::empty(domain)
        }
    }
}

/// One MX host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MxReport {
    pub host: String,
    pub preference: u16,
    /// Set when the host name is an alias.
    pub cname: Option<String>,
    /// DNSSEC status of the host's address records.
    pub dnssec: Dnssec,
    /// TLSA records at `_PORT._tcp.HOST`; null when DANE does not apply
    /// (address records not DNSSEC-secure) or was not looked up.
    pub tlsa: Option<TlsaReport>,
    /// Whether the host matches the MTA-STS policy's `mx` patterns; null
    /// without a policy.
    pub mta_sts_match: Option<bool>,
    /// Every address with a TLS session negotiated a hybrid post-quantum
    /// key exchange (X25519MLKEM768); null when none had a session.
    pub post_quantum: Option<bool>,
    pub addresses: Vec<AddressReport>,
    /// Addresses beyond `--max-addresses-per-host`: not probed, not graded.
    #[serde(default)]
    pub addresses_left_out: Vec<IpAddr>,
    pub findings: Vec<Finding>,
    /// Set when the host's addresses could not be found.
    pub error: Option<Failure>,
}

/// One probed MX address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddressReport {
    pub ip: IpAddr,
    pub port: u16,
    /// STARTTLS was advertised in the EHLO reply.
    pub starttls: bool,
    /// The 220 greeting (or the refusal), first line.
    pub banner: Option<String>,
    /// EHLO extensions before TLS.
    pub extensions: Vec<String>,
    /// EHLO extensions inside TLS.
    pub extensions_after_tls: Option<Vec<String>>,
    pub tls: Option<TlsReport>,
    /// The certificate of the main handshake: the one mainstream senders
    /// negotiate, which `dane` and the address's grade follow.
    pub certificate: Option<CertificateReport>,
    /// The server's certificates of the other key type (RSA or ECDSA),
    /// from one more hello that offers only that type's signature schemes;
    /// empty when the server has one key type. Absent from earlier
    /// reports: empty.
    #[serde(default)]
    pub other_certificates: Vec<OtherCertificateReport>,
    /// DANE result for this address.
    pub dane: DaneResult,
    /// The main handshake negotiated a hybrid post-quantum group; null
    /// without a TLS session.
    pub post_quantum: Option<bool>,
    /// What else the server accepts (`--scan`); null when not scanned.
    pub scan: Option<ScanReport>,
    /// The STARTTLS command-injection test; null when not run.
    pub starttls_injection: Option<InjectionReport>,
    /// smtptls's own TLS 1.2/1.3 client found no TLS here, but the scan
    /// saw the server accept older versions or suites that client does not
    /// offer: senders on OpenSSL or GnuTLS encrypt, stricter ones do not.
    /// The certificate, if shown, comes from that scan.
    /// Absent from reports before the protocol scan: false.
    #[serde(default)]
    pub legacy_tls: bool,
    /// With `legacy_tls`: the session an OpenSSL-default sender gets (from
    /// the fallback hello); null otherwise.
    #[serde(default)]
    pub legacy_session: Option<LegacySessionReport>,
    /// The configuration axis for this address; null without TLS or a
    /// certificate to grade.
    #[serde(default)]
    pub configuration: Option<Configuration>,
    pub error: Option<Failure>,
    pub findings: Vec<Finding>,
    pub timings_ms: Timings,
}

/// What the fallback hello (an OpenSSL-default sender's, TLS ≤ 1.2) got
/// where smtptls's own client got no session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacySessionReport {
    pub version: TlsVersion,
    /// IANA name of the suite the server chose.
    pub cipher: String,
    /// Size of the DHE prime, for a DHE suite.
    pub dhe_bits: Option<u32>,
    /// The ECDHE curve, for an ECDHE suite.
    pub group: Option<String>,
    /// NCSC-NL level of the worst of version, suite and group.
    pub level: NcscLevel,
}

/// The protocol scan of one address: hand-built ClientHellos, one per
/// connection, each answered by the server's first flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// `light` or `deep`.
    pub mode: ScanMode,
    /// Connections the scan made (the injection test not included).
    pub connections: usize,
    /// False when the address stopped answering (timeout, 421) and the
    /// scan was cut short; `stopped` says why.
    pub complete: bool,
    pub stopped: Option<String>,
    /// SSLv3, TLS 1.0, 1.1, 1.2, 1.3, in that order.
    pub versions: Vec<VersionReport>,
    pub accepted_versions: Vec<TlsVersion>,
    /// The server chose the same suite from the same offer in opposite
    /// orders (it enforces its own preference); null when not tested.
    pub server_order: Option<bool>,
    pub weak_suites: WeakSuitesReport,
    /// The DHE group of the weakest DHE key exchange seen; null when no
    /// probe got a DHE suite.
    pub dhe: Option<DheReport>,
    /// Key-exchange groups seen accepted (TLS 1.3 and ECDHE).
    pub groups: Vec<GroupReport>,
    /// `--scan deep`: a hybrid post-quantum group was accepted over TLS 1.3
    /// when offered alone; null when not asked.
    pub post_quantum_accepted: Option<bool>,
    /// The server chose DEFLATE when offered (TLS ≤ 1.2); null: no answer.
    pub compression: Option<bool>,
    /// The TLS ≤ 1.2 ServerHello carried `renegotiation_info` (RFC 5746);
    /// null: no TLS 1.0–1.2 answer.
    pub secure_renegotiation: Option<bool>,
}

/// One protocol version in the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionReport {
    /// `SSLv3`, `TLSv1.0`, `TLSv1.1`, `TLSv1.2`, `TLSv1.3`.
    pub version: TlsVersion,
    /// Null when the probe failed (see `error`) or was not sent.
    pub accepted: Option<bool>,
    /// IANA name of the suite chosen from the whole offer (strong first).
    pub preferred_suite: Option<String>,
    /// Suites seen accepted, in the order the server chose them: all of
    /// them with `--scan deep`, those the probes met with `light`.
    pub suites: Vec<SuiteReport>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// IANA name, as testssl.sh prints with `--mapping iana`.
    pub name: String,
    pub level: NcscLevel,
}

/// Whether the server accepts any suite with each weak property; null
/// when unknown (`light` learns only the categories of the one weak suite
/// it is given, `deep` all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeakSuitesReport {
    pub null: Option<bool>,
    pub anonymous: Option<bool>,
    pub export: Option<bool>,
    pub rc4: Option<bool>,
    /// Single DES, RC2 or IDEA.
    pub des: Option<bool>,
    pub triple_des: Option<bool>,
    /// RSA key transport (no forward secrecy).
    pub static_rsa: Option<bool>,
    pub cbc: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DheReport {
    /// Size of the prime.
    pub bits: u32,
    /// `ffdhe2048` … `ffdhe8192` for an RFC 7919 group, else null.
    pub group: Option<String>,
    pub level: NcscLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupReport {
    /// As rustls and the IANA registry spell it: `X25519`, `secp256r1`,
    /// `X25519MLKEM768`.
    pub name: String,
    pub level: NcscLevel,
}

/// The STARTTLS command-injection test (CVE-2011-0411 class).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectionReport {
    pub result: InjectionResult,
    /// The reply to the pipelined NOOP, when one came.
    pub reply: Option<String>,
    /// Why the test could not tell (`result` = `error`).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InjectionResult {
    /// The pipelined command was thrown away (RFC 3207 §4.2): safe.
    Discarded,
    /// Answered in plain text before TLS: not exploitable this way.
    AnsweredInPlaintext,
    /// Answered inside TLS: vulnerable.
    Vulnerable,
    Error,
}

/// The TLSA lookup of one MX host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsaReport {
    /// `found`, `none` (securely denied), `insecure` (TLSA not signed:
    /// ignored), `lookup-failed` (a DANE sender defers).
    pub status: TlsaStatus,
    pub dnssec: Dnssec,
    /// Presentation form, e.g. `3 1 1 <hex>`.
    pub records: Vec<String>,
}

/// The sender predicates are the inspector's, written once there; a row
/// read back from a report (`policy --from`) is judged by the same ones.
impl SessionState for AddressReport {
    type Leaf = CertificateReport;
    fn failure(&self) -> Option<&Failure> {
        self.error.as_ref()
    }
    fn has_tls_session(&self) -> bool {
        self.tls.is_some()
    }
    fn legacy_only(&self) -> bool {
        self.legacy_tls
    }
    fn leaf(&self) -> Option<&CertificateReport> {
        self.certificate.as_ref()
    }
}

impl AddressReport {
    /// The address answered SMTP: a sender would hand it mail
    /// ([`SessionState::reachable`]).
    pub fn reachable(&self) -> bool {
        SessionState::reachable(self)
    }

    /// TLS was established and the session stayed usable
    /// ([`SessionState::tls_works`]).
    pub fn tls_works(&self) -> bool {
        SessionState::tls_works(self)
    }

    /// Mail to this address is encrypted, with smtptls's own client or
    /// only with legacy versions or suites ([`SessionState::encrypts`]).
    pub fn encrypts(&self) -> bool {
        SessionState::encrypts(self)
    }

    /// The certificate validates to a trusted root and names the host
    /// ([`SessionState::pkix_valid`]).
    pub fn pkix_valid(&self) -> bool {
        SessionState::pkix_valid(self)
    }

    /// An address row with nothing observed: no STARTTLS, no TLS, DANE
    /// `insecure` (does not apply), no error. Tests build their rows from
    /// it, so a new field is added here once.
    #[cfg(test)]
    pub(crate) fn unprobed(ip: IpAddr, port: u16) -> Self {
        AddressReport {
            ip,
            port,
            starttls: false,
            banner: None,
            extensions: Vec::new(),
            extensions_after_tls: None,
            tls: None,
            certificate: None,
            other_certificates: Vec::new(),
            dane: DaneResult::Insecure,
            post_quantum: None,
            scan: None,
            starttls_injection: None,
            legacy_tls: false,
            legacy_session: None,
            configuration: None,
            error: None,
            findings: Vec::new(),
            timings_ms: Timings::default(),
        }
    }

    /// The worst finding, for "the main problem in words".
    pub fn worst_finding(&self) -> Option<&Finding> {
        worst(&self.findings)
    }
}

/// The first of the most severe findings, if any is above `ok`.
pub fn worst(findings: &[Finding]) -> Option<&Finding> {
    let max = findings.iter().map(|f| f.severity).max()?;
    if max == Severity::Ok {
        return None;
    }
    findings.iter().find(|f| f.severity == max)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsReport {
    /// `TLSv1.3` or `TLSv1.2` (smtptls's own client speaks nothing older).
    pub version: TlsVersion,
    pub cipher: String,
    pub key_exchange_group: Option<String>,
    pub ocsp_stapled: bool,
    /// The EHLO reply inside TLS lists REQUIRETLS (RFC 8689). A fact: it
    /// does not change the verdict. Absent from earlier reports: false.
    #[serde(default)]
    pub requiretls: bool,
    /// The stapled OCSP response, read; null when none was stapled.
    /// Absent from earlier reports: null.
    #[serde(default)]
    pub ocsp: Option<OcspReport>,
    /// False when the server's handshake signature could not be verified
    /// (an RSA key below 2048 bits); the session is still what lenient
    /// senders get.
    /// Absent from reports before small RSA keys got a session: every
    /// session then had a verified signature.
    #[serde(default = "verified")]
    pub signature_verified: bool,
}

/// The default of `tls.signature_verified` for earlier reports.
fn verified() -> bool {
    true
}
