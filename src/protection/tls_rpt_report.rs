//! TLS-RPT aggregate reports (RFC 8460 §4): the JSON a sender mails to
//! the `rua` of a `_smtp._tls` record, read into types ([`parse`]), added
//! up per policy domain ([`Aggregator`]), and each `result-type` mapped to
//! the audit findings that judge the same thing ([`ResultType::findings`]).
//!
//! Pure rules (layer 2): bytes in, values out. Reading files, mail and
//! gzip is `crate::tlsrpt_input`; comparing a failure with a live audit is
//! `crate::report::tlsrpt_explain`. Report text comes from strangers:
//! nothing here panics on it; the free-text values kept per failure group
//! are capped ([`MAX_SAMPLES`]), and everything else grows only with the
//! input, whose size is bounded where it is read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::vocabulary::FindingId;

/// Distinct free-text values (`additional-information`, sending IPs…)
/// kept per failure group; the rest are counted, not kept.
pub const MAX_SAMPLES: usize = 8;

/// The `policy-type` of a policy result (RFC 8460 §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyType {
    /// DANE (`tlsa`).
    Tlsa,
    /// MTA-STS (`sts`).
    Sts,
    /// Neither was found: the sender used opportunistic TLS.
    NoPolicyFound,
    /// A type RFC 8460 does not define, kept as sent.
    Unknown(String),
}

impl PolicyType {
    pub fn as_str(&self) -> &str {
        match self {
            PolicyType::Tlsa => "tlsa",
            PolicyType::Sts => "sts",
            PolicyType::NoPolicyFound => "no-policy-found",
            PolicyType::Unknown(s) => s,
        }
    }

    fn from_wire(s: &str) -> Self {
        match s {
            "tlsa" => PolicyType::Tlsa,
            "sts" => PolicyType::Sts,
            "no-policy-found" => PolicyType::NoPolicyFound,
            other => PolicyType::Unknown(other.to_string()),
        }
    }
}

macro_rules! result_types {
    ($($(#[$doc:meta])* $variant:ident = $id:literal => [$($finding:ident),*],)*) => {
        /// The `result-type` of a failure (RFC 8460 §4.3.2).
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResultType {
            $($(#[$doc])* $variant,)*
            /// A type RFC 8460 does not define: shown as sent, never dropped.
            Unknown(String),
        }

        impl ResultType {
            /// Every type RFC 8460 defines.
            pub const KNOWN: &'static [ResultType] = &[$(ResultType::$variant,)*];

            pub fn as_str(&self) -> &str {
                match self {
                    $(ResultType::$variant => $id,)*
                    ResultType::Unknown(s) => s,
                }
            }

            fn from_wire(s: &str) -> Self {
                match s {
                    $($id => ResultType::$variant,)*
                    other => ResultType::Unknown(other.to_string()),
                }
            }

            /// The audit findings that judge what this failure reports
            /// (the table in `docs/tlsrpt.md`); empty for an unknown type.
            pub fn findings(&self) -> &'static [FindingId] {
                match self {
                    $(ResultType::$variant => &[$(FindingId::$finding),*],)*
                    ResultType::Unknown(_) => &[],
                }
            }
        }
    };
}

result_types! {
    /// The receiving MTA did not offer STARTTLS (§4.3.2.1).
    StarttlsNotSupported = "starttls-not-supported"
        => [StarttlsOffered, StarttlsCommand, TlsHandshake],
    /// The certificate does not name the MX host (§4.3.2.1).
    CertificateHostMismatch = "certificate-host-mismatch" => [CertHostname],
    /// The certificate has expired (§4.3.2.1).
    CertificateExpired = "certificate-expired" => [CertExpiry, CertChainValid],
    /// The chain does not lead to a root the sender trusts (§4.3.2.1).
    CertificateNotTrusted = "certificate-not-trusted" => [CertChainValid],
    /// A validation failure of another kind (§4.3.2.1).
    ValidationFailure = "validation-failure"
        => [CertChainValid, CertHostname, CertExpiry, MtaStsMx, MtaStsCertificate, DaneValid],
    /// The TLSA records do not match, or are unusable (§4.3.2.2).
    TlsaInvalid = "tlsa-invalid" => [DaneValid, DaneTlsa],
    /// DNSSEC validation of the records failed (§4.3.2.2).
    DnssecInvalid = "dnssec-invalid" => [DnssecBogus, DaneTlsa],
    /// The sender requires DANE and found no usable TLSA (§4.3.2.2).
    DaneRequired = "dane-required" => [DaneTlsa, DeliveryDane],
    /// The MTA-STS policy could not be fetched (§4.3.2.3).
    StsPolicyFetchError = "sts-policy-fetch-error" => [MtaStsRecord, MtaStsPolicy],
    /// The MTA-STS policy did not validate: its syntax, or an MX it does
    /// not cover (§4.3.2.3).
    StsPolicyInvalid = "sts-policy-invalid" => [MtaStsPolicy, MtaStsMx],
    /// The policy host's certificate did not validate (§4.3.2.3).
    StsWebpkiInvalid = "sts-webpki-invalid" => [MtaStsPolicy],
}

macro_rules! wire_string {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(<$ty>::from_wire(&String::deserialize(d)?))
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
wire_string!(PolicyType);
wire_string!(ResultType);

/// One report as sent (RFC 8460 §4.4); optional fields may be absent or
/// null, as some senders send them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RptReport {
    pub organization_name: String,
    pub date_range: DateRange,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub contact_info: Option<String>,
    pub report_id: String,
    pub policies: Vec<PolicyResult>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DateRange {
    pub start_datetime: String,
    pub end_datetime: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyResult {
    pub policy: PolicyDetails,
    pub summary: SessionCounts,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub failure_details: Vec<FailureDetail>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PolicyDetails {
    pub policy_type: PolicyType,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub policy_string: Vec<String>,
    pub policy_domain: String,
    /// RFC 8460's example sends a string, some senders a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub mx_host: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SessionCounts {
    pub total_successful_session_count: u64,
    pub total_failure_session_count: u64,
}

/// One `failure-details` entry (RFC 8460 §4.3). Its optional strings
/// read an empty (or blank) value as absent: some senders write `""` for
/// what they do not know, and it must group with the senders that leave
/// the field out, not make a group of its own.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureDetail {
    pub result_type: ResultType,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub sending_mta_ip: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub receiving_mx_hostname: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub receiving_mx_helo: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub receiving_ip: Option<String>,
    pub failed_session_count: u64,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub additional_information: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub failure_reason_code: Option<String>,
}

/// An optional string; null, `""` and whitespace alone are all absent.
fn blank_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// Why bytes are not a TLS-RPT report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a TLS-RPT report: at {path}: {message}")]
    Field { path: String, message: String },
    #[error("not a TLS-RPT report: {field} is not an RFC 3339 date-time: {value:?}")]
    Date { field: &'static str, value: String },
    #[error("not a TLS-RPT report: the date range ends before it starts")]
    DateOrder,
}

/// A report that was read: the typed report, its window, and the SHA-256
/// of its JSON in canonical form (keys sorted, no whitespace), to tell a
/// duplicate from a conflicting report without keeping every report.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReport {
    pub report: RptReport,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    digest: [u8; 32],
}

/// Reads one report (RFC 8460 §4.4) from its JSON text.
pub fn parse(json: &[u8]) -> Result<ParsedReport, ReportError> {
    let raw: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| ReportError::NotJson(e.to_string()))?;
    let report: RptReport = serde_path_to_error::deserialize(&raw).map_err(|e| {
        let path = e.path().to_string();
        ReportError::Field {
            path,
            message: e.into_inner().to_string(),
        }
    })?;
    let date = |field: &'static str, value: &str| {
        OffsetDateTime::parse(value.trim(), &Rfc3339).map_err(|_| ReportError::Date {
            field,
            value: value.chars().take(64).collect(),
        })
    };
    let start = date("start-datetime", &report.date_range.start_datetime)?;
    let end = date("end-datetime", &report.date_range.end_datetime)?;
    if end < start {
        return Err(ReportError::DateOrder);
    }
    // serde_json's maps are sorted (no `preserve_order`), so equal
    // content serialises to equal bytes whatever the sender's key order.
    let canonical = serde_json::to_vec(&raw).unwrap_or_default();
    let mut digest = [0u8; 32];
    digest.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &canonical).as_ref(),
    );
    Ok(ParsedReport {
        report,
        start,
        end,
        digest,
    })
}

/// A reporting window, RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

impl Window {
    fn of(start: OffsetDateTime, end: OffsetDateTime) -> Self {
        let utc = |t: OffsetDateTime| {
            t.to_offset(time::UtcOffset::UTC)
                .format(&Rfc3339)
                .unwrap_or_default()
        };
        Window {
            start: utc(start),
            end: utc(end),
        }
    }
}

/// Session counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sessions {
    pub successful: u64,
    pub failed: u64,
}

impl Sessions {
    fn add(&mut self, counts: SessionCounts) {
        self.successful = self
            .successful
            .saturating_add(counts.total_successful_session_count);
        self.failed = self
            .failed
            .saturating_add(counts.total_failure_session_count);
    }
}

/// What one policy domain's reports add up to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainSummary {
    /// As reported (lower case, no trailing dot).
    pub policy_domain: String,
    /// From the earliest start to the latest end of its reports.
    pub window: Window,
    /// Reports counted (duplicates once).
    pub reports: usize,
    pub sessions: Sessions,
    /// Per reporting organisation, by name.
    pub organisations: Vec<OrganisationSummary>,
    /// Per policy type and policy string.
    pub policies: Vec<PolicySummary>,
    /// Per `result-type` × receiving MX × receiving IP × failure reason
    /// code, most failed sessions first.
    pub failures: Vec<FailureGroup>,
    /// Reports whose summary disagrees with their own failure details
    /// about this domain, in the order they were read.
    pub inconsistent_reports: Vec<InconsistentReport>,
}

/// A report that disagrees with itself: the `total-failure-session-count`
/// of a policy's summary is not what its `failure-details` add up to
/// (RFC 8460 §4.4 makes the summary the total of the details). Its
/// numbers are still counted as sent; this says they cannot both be right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InconsistentReport {
    pub report_id: String,
    pub organisation: String,
    pub policy_type: PolicyType,
    /// The summary's `total-failure-session-count`.
    pub summary_failed: u64,
    /// The `failed-session-count`s of its failure details, added up.
    pub details_failed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrganisationSummary {
    pub organisation: String,
    pub reports: usize,
    pub window: Window,
    pub sessions: Sessions,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySummary {
    pub policy_type: PolicyType,
    /// The policy as the sender saw it (MTA-STS lines, TLSA records).
    pub policy_string: Vec<String>,
    pub mx_host: Vec<String>,
    pub sessions: Sessions,
    pub organisations: Vec<String>,
}

/// Failed sessions of one kind at one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureGroup {
    pub result_type: ResultType,
    /// True for a `result-type` RFC 8460 does not define.
    pub unknown_result_type: bool,
    pub receiving_mx_hostname: Option<String>,
    pub receiving_ip: Option<String>,
    /// The `failure-reason-code` shared by the group's details: part of
    /// the group's key, so two failures that differ only in their code are
    /// two groups.
    pub failure_reason_code: Option<String>,
    pub failed_sessions: u64,
    /// Of the policy domain's failed sessions, 0 to 1.
    pub share: f64,
    pub policy_types: Vec<PolicyType>,
    pub organisations: Vec<String>,
    /// Up to [`MAX_SAMPLES`] distinct values each.
    pub sending_mta_ips: Vec<String>,
    pub receiving_mx_helos: Vec<String>,
    pub additional_information: Vec<String>,
    /// The group's `failure_reason_code` as a list (empty or one value),
    /// kept for the readers of the output before that field existed.
    pub failure_reason_codes: Vec<String>,
    /// The audit findings that judge the same thing (`docs/tlsrpt.md`).
    pub findings: Vec<FindingId>,
    /// With `--audit`: what a probe made now says about the cause.
    pub audit: Option<Explanation>,
}

/// With `--audit`: whether the cause of a failure group is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseStatus {
    /// The audit sees the same problem now.
    StillPresent,
    /// The audit sees it fixed.
    Gone,
    /// The audit cannot see it from here (the reason says why).
    NotReproducible,
}

macro_rules! explanation_ids {
    ($($(#[$doc:meta])* $variant:ident = $id:literal => $status:ident,)*) => {
        /// Why a failure group is still present, gone or not reproducible:
        /// stable ids (`docs/tlsrpt.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ExplanationId { $($(#[$doc])* $variant,)* }

        impl ExplanationId {
            pub const ALL: &'static [ExplanationId] = &[$(ExplanationId::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ExplanationId::$variant => $id,)* }
            }

            pub fn status(self) -> CauseStatus {
                match self { $(ExplanationId::$variant => CauseStatus::$status,)* }
            }
        }
    };
}

explanation_ids! {
    /// An address still serves an expired certificate.
    CertificateExpired = "certificate-expired" => StillPresent,
    /// An address still serves a chain that does not validate.
    CertificateNotTrusted = "certificate-not-trusted" => StillPresent,
    /// An address still serves a certificate without the MX name.
    CertificateHostMismatch = "certificate-host-mismatch" => StillPresent,
    /// An address still does not offer STARTTLS, or refuses it.
    StarttlsNotOffered = "starttls-not-offered" => StillPresent,
    /// STARTTLS is offered but the handshake still fails.
    TlsHandshakeFails = "tls-handshake-fails" => StillPresent,
    /// The TLSA records still do not match, or are unusable.
    TlsaMismatch = "tlsa-mismatch" => StillPresent,
    /// DNSSEC validation still fails (bogus, or the TLSA lookup fails).
    DnssecBogus = "dnssec-bogus" => StillPresent,
    /// The MTA-STS policy's `mx` patterns still do not cover the MX.
    StsMxNotCovered = "sts-mx-not-covered" => StillPresent,
    /// The MTA-STS policy still cannot be fetched or read.
    StsPolicyUnusable = "sts-policy-unusable" => StillPresent,
    /// The certificate validates now.
    CertificateNowValid = "certificate-now-valid" => Gone,
    /// STARTTLS is offered and the handshake completes now.
    StarttlsNowWorks = "starttls-now-works" => Gone,
    /// A usable TLSA record matches now.
    TlsaNowMatches = "tlsa-now-matches" => Gone,
    /// The DNSSEC answers validate now.
    DnssecNowValid = "dnssec-now-valid" => Gone,
    /// The policy's patterns cover the MX now.
    StsMxNowCovered = "sts-mx-now-covered" => Gone,
    /// The policy can be fetched and read now.
    StsPolicyNowValid = "sts-policy-now-valid" => Gone,
    /// No valid `_mta-sts` record is published any more.
    StsPolicyWithdrawn = "sts-policy-withdrawn" => Gone,
    /// The reported IP is not an address of today's MX hosts.
    IpNotAnMxAddress = "ip-not-an-mx-address" => NotReproducible,
    /// The reported MX host is not an MX host of the domain today.
    MxNotCurrent = "mx-not-current" => NotReproducible,
    /// The reported MX host or IP is one of today's, but beyond the
    /// audit's `--max-mx-hosts` / `--max-addresses-per-host`: not probed.
    BeyondAuditCap = "beyond-audit-cap" => NotReproducible,
    /// The address could not be reached or did not speak SMTP now.
    AddressUnreachable = "address-unreachable" => NotReproducible,
    /// The sender requires DANE of this domain (its own policy), and the
    /// domain publishes no DNSSEC-signed TLSA records.
    SenderRequiresDane = "sender-requires-dane" => NotReproducible,
    /// Everything the audit checks for this result type passes: the
    /// sender's own view (trust store, DNS, a policy it does not support).
    SenderSide = "sender-side" => NotReproducible,
    /// A result type RFC 8460 does not define: no audit finding maps to it.
    UnknownResultType = "unknown-result-type" => NotReproducible,
    /// The policy domain could not be audited (invalid name, DNS failure).
    DomainNotAudited = "domain-not-audited" => NotReproducible,
}

impl Serialize for ExplanationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for ExplanationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the audit says about one failure group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub status: CauseStatus,
    pub id: ExplanationId,
    /// One sentence, e.g. "mx2.example.com [192.0.2.7] still serves a
    /// certificate that expired on …".
    pub message: String,
}

impl Explanation {
    pub fn new(id: ExplanationId, message: impl Into<String>) -> Self {
        Explanation {
            status: id.status(),
            id,
            message: message.into(),
        }
    }
}

/// Why reports disagree with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Two reports share a `report-id` but not their content: the first
    /// one read is counted.
    SameIdDifferentContent,
    /// Senders saw different policy strings of the same type for the
    /// same domain (a policy changed, or a cache is stale).
    PolicyStringsDiffer,
    /// One sender found a policy of a type that another did not find.
    PolicyFoundByOnlySome,
}

/// Reports that disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub kind: ConflictKind,
    pub policy_domain: Option<String>,
    pub report_id: Option<String>,
    pub organisations: Vec<String>,
    pub detail: String,
}

/// Whether [`Aggregator::add`] counted a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Counted,
    /// Its `report-id` was seen before: not counted again.
    Duplicate,
}

#[derive(Debug, Default)]
struct OrgAcc {
    reports: usize,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    sessions: Sessions,
}

#[derive(Debug, Default)]
struct PolicyAcc {
    sessions: Sessions,
    organisations: BTreeSet<String>,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
}

impl PolicyAcc {
    fn overlaps(&self, other: &PolicyAcc) -> bool {
        match (self.start, self.end, other.start, other.end) {
            (Some(s1), Some(e1), Some(s2), Some(e2)) => s1 <= e2 && s2 <= e1,
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
struct GroupAcc {
    failed: u64,
    policy_types: BTreeSet<PolicyType>,
    organisations: BTreeSet<String>,
    sending_mta_ips: BTreeSet<String>,
    helos: BTreeSet<String>,
    info: BTreeSet<String>,
}

type PolicyKey = (PolicyType, Vec<String>, Vec<String>);
/// Result type, receiving MX, receiving IP, failure reason code. Not
/// `additional-information`: senders put a per-report URL there, which
/// would make every report a group of its own.
type GroupKey = (ResultType, Option<String>, Option<String>, Option<String>);

#[derive(Debug, Default)]
struct DomainAcc {
    reports: usize,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    sessions: Sessions,
    organisations: BTreeMap<String, OrgAcc>,
    policies: BTreeMap<PolicyKey, PolicyAcc>,
    groups: BTreeMap<GroupKey, GroupAcc>,
    inconsistent: Vec<InconsistentReport>,
}

/// Adds reports up, per policy domain; a `report-id` is counted once.
#[derive(Debug, Default)]
pub struct Aggregator {
    seen: HashMap<String, ([u8; 32], String)>,
    domains: BTreeMap<String, DomainAcc>,
    conflicts: Vec<Conflict>,
}

fn insert_bounded(set: &mut BTreeSet<String>, value: Option<&str>) {
    if let Some(v) = value
        && (set.len() < MAX_SAMPLES || set.contains(v))
    {
        set.insert(v.to_string());
    }
}

/// A host name as reports spell it: lower case, no trailing dot.
fn host_key(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// A value of a group's key: trimmed, and nothing left is absent (a host
/// name of "." names no host).
fn key_part(value: Option<&str>, normalise: fn(&str) -> String) -> Option<String> {
    value.map(normalise).filter(|v| !v.is_empty())
}

fn trimmed(s: &str) -> String {
    s.trim().to_string()
}

fn widen(start: &mut Option<OffsetDateTime>, end: &mut Option<OffsetDateTime>, r: &ParsedReport) {
    *start = Some(start.map_or(r.start, |s| s.min(r.start)));
    *end = Some(end.map_or(r.end, |e| e.max(r.end)));
}

impl Aggregator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `report` unless its `report-id` was counted before; a
    /// repeated id with other content is recorded as a conflict.
    pub fn add(&mut self, parsed: &ParsedReport) -> Added {
        let report = &parsed.report;
        if let Some((digest, org)) = self.seen.get(&report.report_id) {
            if *digest != parsed.digest {
                self.conflicts.push(Conflict {
                    kind: ConflictKind::SameIdDifferentContent,
                    policy_domain: None,
                    report_id: Some(report.report_id.clone()),
                    organisations: dedup(vec![org.clone(), report.organization_name.clone()]),
                    detail: "two reports with this report-id differ; the first one read is counted"
                        .to_string(),
                });
            }
            return Added::Duplicate;
        }
        self.seen.insert(
            report.report_id.clone(),
            (parsed.digest, report.organization_name.clone()),
        );
        let org = report.organization_name.clone();
        let mut counted_in = BTreeSet::new();
        for result in &report.policies {
            let domain = host_key(&result.policy.policy_domain);
            let acc = self.domains.entry(domain.clone()).or_default();
            if counted_in.insert(domain) {
                acc.reports += 1;
                widen(&mut acc.start, &mut acc.end, parsed);
                let o = acc.organisations.entry(org.clone()).or_default();
                o.reports += 1;
                widen(&mut o.start, &mut o.end, parsed);
            }
            acc.sessions.add(result.summary);
            if let Some(o) = acc.organisations.get_mut(&org) {
                o.sessions.add(result.summary);
            }
            let key = (
                result.policy.policy_type.clone(),
                result.policy.policy_string.clone(),
                result.policy.mx_host.clone(),
            );
            let p = acc.policies.entry(key).or_default();
            p.sessions.add(result.summary);
            p.organisations.insert(org.clone());
            widen(&mut p.start, &mut p.end, parsed);
            let details_failed = result
                .failure_details
                .iter()
                .fold(0u64, |n, f| n.saturating_add(f.failed_session_count));
            if details_failed != result.summary.total_failure_session_count {
                acc.inconsistent.push(InconsistentReport {
                    report_id: report.report_id.clone(),
                    organisation: org.clone(),
                    policy_type: result.policy.policy_type.clone(),
                    summary_failed: result.summary.total_failure_session_count,
                    details_failed,
                });
            }
            for f in &result.failure_details {
                let key = (
                    f.result_type.clone(),
                    key_part(f.receiving_mx_hostname.as_deref(), host_key),
                    key_part(f.receiving_ip.as_deref(), trimmed),
                    key_part(f.failure_reason_code.as_deref(), trimmed),
                );
                let g = acc.groups.entry(key).or_default();
                g.failed = g.failed.saturating_add(f.failed_session_count);
                g.policy_types.insert(result.policy.policy_type.clone());
                g.organisations.insert(org.clone());
                insert_bounded(&mut g.sending_mta_ips, f.sending_mta_ip.as_deref());
                insert_bounded(&mut g.helos, f.receiving_mx_helo.as_deref());
                insert_bounded(&mut g.info, f.additional_information.as_deref());
            }
        }
        Added::Counted
    }

    /// The summaries, by policy domain, and the disagreements found.
    pub fn finish(self) -> (Vec<DomainSummary>, Vec<Conflict>) {
        let mut conflicts = self.conflicts;
        let mut out = Vec::new();
        for (domain, acc) in self.domains {
            conflicts.extend(policy_conflicts(&domain, &acc));
            let total_failed = acc.sessions.failed.max(
                acc.groups
                    .values()
                    .fold(0u64, |n, g| n.saturating_add(g.failed)),
            );
            let mut failures: Vec<FailureGroup> = acc
                .groups
                .into_iter()
                .map(|((result_type, mx, ip, code), g)| FailureGroup {
                    unknown_result_type: matches!(result_type, ResultType::Unknown(_)),
                    findings: result_type.findings().to_vec(),
                    result_type,
                    receiving_mx_hostname: mx,
                    receiving_ip: ip,
                    failure_reason_codes: code.iter().cloned().collect(),
                    failure_reason_code: code,
                    failed_sessions: g.failed,
                    share: share(g.failed, total_failed),
                    policy_types: g.policy_types.into_iter().collect(),
                    organisations: g.organisations.into_iter().collect(),
                    sending_mta_ips: g.sending_mta_ips.into_iter().collect(),
                    receiving_mx_helos: g.helos.into_iter().collect(),
                    additional_information: g.info.into_iter().collect(),
                    audit: None,
                })
                .collect();
            // Most failed sessions first; the BTreeMap order breaks ties,
            // so the output is stable.
            failures.sort_by_key(|g| std::cmp::Reverse(g.failed_sessions));
            let window = |s: Option<OffsetDateTime>, e: Option<OffsetDateTime>| match (s, e) {
                (Some(s), Some(e)) => Window::of(s, e),
                _ => Window {
                    start: String::new(),
                    end: String::new(),
                },
            };
            out.push(DomainSummary {
                window: window(acc.start, acc.end),
                policy_domain: domain,
                reports: acc.reports,
                sessions: acc.sessions,
                organisations: acc
                    .organisations
                    .into_iter()
                    .map(|(organisation, o)| OrganisationSummary {
                        organisation,
                        reports: o.reports,
                        window: window(o.start, o.end),
                        sessions: o.sessions,
                    })
                    .collect(),
                policies: acc
                    .policies
                    .into_iter()
                    .map(|((policy_type, policy_string, mx_host), p)| PolicySummary {
                        policy_type,
                        policy_string,
                        mx_host,
                        sessions: p.sessions,
                        organisations: p.organisations.into_iter().collect(),
                    })
                    .collect(),
                failures,
                inconsistent_reports: acc.inconsistent,
            });
        }
        (out, conflicts)
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// `part / whole`, rounded to four places (0 when there is no whole).
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0
}

/// Senders that saw different policies of one domain.
fn policy_conflicts(domain: &str, acc: &DomainAcc) -> Vec<Conflict> {
    let mut out = Vec::new();
    let mut by_type: BTreeMap<&PolicyType, Vec<(&Vec<String>, &PolicyAcc)>> = BTreeMap::new();
    for ((ty, strings, _), p) in &acc.policies {
        by_type.entry(ty).or_default().push((strings, p));
    }
    for (ty, seen) in &by_type {
        if **ty == PolicyType::NoPolicyFound {
            continue;
        }
        let strings: BTreeSet<&Vec<String>> = seen.iter().map(|(s, _)| *s).collect();
        if strings.len() > 1 {
            let organisations = dedup(
                seen.iter()
                    .flat_map(|(_, p)| p.organisations.iter().cloned())
                    .collect(),
            );
            out.push(Conflict {
                kind: ConflictKind::PolicyStringsDiffer,
                policy_domain: Some(domain.to_string()),
                report_id: None,
                organisations,
                detail: format!(
                    "{} different {ty} policy strings were reported",
                    strings.len()
                ),
            });
        }
    }
    if let Some(none) = by_type.get(&PolicyType::NoPolicyFound) {
        let without: BTreeSet<&String> = none
            .iter()
            .flat_map(|(_, p)| p.organisations.iter())
            .collect();
        for ty in [PolicyType::Sts, PolicyType::Tlsa] {
            let Some(found) = by_type.get(&ty) else {
                continue;
            };
            // A policy published after (or withdrawn before) the other
            // reports' days is a change, not a disagreement.
            let same_time = none
                .iter()
                .any(|(_, n)| found.iter().any(|(_, f)| n.overlaps(f)));
            if !same_time {
                continue;
            }
            let with: BTreeSet<&String> = found
                .iter()
                .flat_map(|(_, p)| p.organisations.iter())
                .collect();
            let only_without: Vec<String> =
                without.difference(&with).map(|s| (*s).clone()).collect();
            if !only_without.is_empty() {
                out.push(Conflict {
                    kind: ConflictKind::PolicyFoundByOnlySome,
                    policy_domain: Some(domain.to_string()),
                    report_id: None,
                    organisations: dedup(
                        with.iter()
                            .map(|s| (*s).clone())
                            .chain(only_without.iter().cloned())
                            .collect(),
                    ),
                    detail: format!(
                        "{} found a {ty} policy; {} found none",
                        join(with.iter().map(|s| s.as_str())),
                        only_without.join(", ")
                    ),
                });
            }
        }
    }
    out
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8460 §4.4's example, shortened.
    const EXAMPLE: &str = r#"{
      "organization-name": "Company-X",
      "date-range": {"start-datetime": "2016-04-01T00:00:00Z", "end-datetime": "2016-04-01T23:59:59Z"},
      "contact-info": "sts-reporting@company-x.example",
      "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
      "policies": [{
        "policy": {"policy-type": "sts", "policy-string": ["version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400"], "policy-domain": "company-y.example", "mx-host": "*.mail.company-y.example"},
        "summary": {"total-successful-session-count": 5326, "total-failure-session-count": 303},
        "failure-details": [
          {"result-type": "certificate-expired", "sending-mta-ip": "2001:db8:abcd:0012::1", "receiving-mx-hostname": "mx1.mail.company-y.example", "failed-session-count": 100},
          {"result-type": "starttls-not-supported", "sending-mta-ip": "2001:db8:abcd:0013::1", "receiving-mx-hostname": "mx2.mail.company-y.example", "receiving-ip": "203.0.113.56", "failed-session-count": 200, "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported"},
          {"result-type": "validation-failure", "sending-mta-ip": "198.51.100.62", "receiving-ip": "203.0.113.58", "receiving-mx-hostname": "mx-backup.mail.company-y.example", "failed-session-count": 3, "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"}
        ]
      }]
    }"#;

    #[test]
    fn reads_the_rfc_example() {
        let r = parse(EXAMPLE.as_bytes()).expect("parse");
        assert_eq!(r.report.organization_name, "Company-X");
        let p = &r.report.policies[0];
        assert_eq!(p.policy.policy_type, PolicyType::Sts);
        assert_eq!(p.policy.mx_host, ["*.mail.company-y.example"]);
        assert_eq!(p.failure_details.len(), 3);
        assert_eq!(
            p.failure_details[0].result_type,
            ResultType::CertificateExpired
        );
        assert_eq!(p.failure_details[0].receiving_ip, None);
    }

    #[test]
    fn aggregates_with_shares_and_counts_a_duplicate_once() {
        let r = parse(EXAMPLE.as_bytes()).expect("parse");
        let mut agg = Aggregator::new();
        assert_eq!(agg.add(&r), Added::Counted);
        assert_eq!(agg.add(&r), Added::Duplicate);
        let (domains, conflicts) = agg.finish();
        assert!(conflicts.is_empty(), "{conflicts:?}");
        let d = &domains[0];
        assert_eq!(d.reports, 1);
        assert_eq!(d.sessions.failed, 303);
        assert_eq!(d.failures[0].result_type, ResultType::StarttlsNotSupported);
        assert_eq!(d.failures[0].failed_sessions, 200);
        assert_eq!(d.failures[0].share, 0.6601);
        assert_eq!(d.window.start, "2016-04-01T00:00:00Z");
    }

    #[test]
    fn unknown_types_are_kept() {
        let text = EXAMPLE
            .replace("\"certificate-expired\"", "\"quantum-flux\"")
            .replace("\"sts\"", "\"magic\"");
        let r = parse(text.as_bytes()).expect("parse");
        let p = &r.report.policies[0];
        assert_eq!(p.policy.policy_type, PolicyType::Unknown("magic".into()));
        assert_eq!(
            p.failure_details[0].result_type,
            ResultType::Unknown("quantum-flux".into())
        );
        assert!(p.failure_details[0].result_type.findings().is_empty());
    }

    #[test]
    fn malformed_reports_say_where() {
        let err = parse(br#"{"organization-name": 3}"#).expect_err("malformed");
        assert!(matches!(err, ReportError::Field { .. }), "{err}");
        assert!(err.to_string().contains("organization-name"), "{err}");
        assert!(matches!(parse(b"not json"), Err(ReportError::NotJson(_))));
        let bad_date = EXAMPLE.replace("2016-04-01T00:00:00Z", "yesterday");
        assert!(matches!(
            parse(bad_date.as_bytes()),
            Err(ReportError::Date { .. })
        ));
    }

    #[test]
    fn every_known_result_type_maps_to_findings() {
        assert_eq!(ResultType::KNOWN.len(), 11);
        for t in ResultType::KNOWN {
            assert!(!t.findings().is_empty(), "{t}");
            assert_eq!(&ResultType::from_wire(t.as_str()), t);
        }
    }

    /// One report of `failure-details` (as JSON text) for
    /// `company-y.example`, `failed` failed sessions in its summary.
    fn with_details(id: &str, failed: u64, details: &str) -> ParsedReport {
        let text = format!(
            r#"{{"organization-name": "Org", "report-id": "{id}",
              "date-range": {{"start-datetime": "2026-11-30T00:00:00Z", "end-datetime": "2026-11-30T23:59:59Z"}},
              "policies": [{{"policy": {{"policy-type": "sts", "policy-domain": "company-y.example"}},
                "summary": {{"total-successful-session-count": 1, "total-failure-session-count": {failed}}},
                "failure-details": [{details}]}}]}}"#
        );
        parse(text.as_bytes()).expect("parse")
    }

    fn summary_of(reports: &[ParsedReport]) -> DomainSummary {
        let mut agg = Aggregator::new();
        for r in reports {
            agg.add(r);
        }
        agg.finish().0.remove(0)
    }

    #[test]
    fn groups_that_differ_only_in_reason_code_stay_apart() {
        let d = summary_of(&[with_details(
            "r",
            5,
            r#"{"result-type": "validation-failure", "receiving-mx-hostname": "mx.example", "failed-session-count": 2, "failure-reason-code": "CODE_A"},
               {"result-type": "validation-failure", "receiving-mx-hostname": "mx.example", "failed-session-count": 3, "failure-reason-code": "CODE_B"},
               {"result-type": "validation-failure", "receiving-mx-hostname": "MX.example.", "failed-session-count": 4, "failure-reason-code": " CODE_B "}"#,
        )]);
        let codes: Vec<(Option<&str>, u64)> = d
            .failures
            .iter()
            .map(|g| (g.failure_reason_code.as_deref(), g.failed_sessions))
            .collect();
        assert_eq!(codes, [(Some("CODE_B"), 7), (Some("CODE_A"), 2)]);
        assert_eq!(d.failures[0].failure_reason_codes, ["CODE_B"]);
    }

    #[test]
    fn empty_strings_group_with_absent_fields() {
        let d = summary_of(&[with_details(
            "r",
            6,
            r#"{"result-type": "starttls-not-supported", "failed-session-count": 1},
               {"result-type": "starttls-not-supported", "receiving-mx-hostname": "", "receiving-ip": "", "failure-reason-code": "", "failed-session-count": 2},
               {"result-type": "starttls-not-supported", "receiving-mx-hostname": ".", "receiving-ip": "  ", "sending-mta-ip": "", "receiving-mx-helo": "", "additional-information": "", "failed-session-count": 3}"#,
        )]);
        assert_eq!(d.failures.len(), 1, "{:#?}", d.failures);
        let g = &d.failures[0];
        assert_eq!(g.failed_sessions, 6);
        assert_eq!(g.receiving_mx_hostname, None);
        assert_eq!(g.receiving_ip, None);
        assert_eq!(g.failure_reason_code, None);
        assert!(g.sending_mta_ips.is_empty());
        assert!(g.receiving_mx_helos.is_empty());
        assert!(g.additional_information.is_empty());
    }

    #[test]
    fn a_summary_that_disagrees_with_its_details_is_kept() {
        let detail = r#"{"result-type": "certificate-expired", "failed-session-count": 2}"#;
        let d = summary_of(&[
            with_details("agrees", 2, detail),
            with_details("disagrees", 1, detail),
        ]);
        assert_eq!(
            d.inconsistent_reports,
            [InconsistentReport {
                report_id: "disagrees".into(),
                organisation: "Org".into(),
                policy_type: PolicyType::Sts,
                summary_failed: 1,
                details_failed: 2,
            }]
        );
        // Failures in the summary without any detail disagree too.
        let d = summary_of(&[with_details("no-details", 3, "")]);
        assert_eq!(d.inconsistent_reports[0].details_failed, 0);
        // A duplicate is not counted, so it is not listed twice.
        let r = with_details("disagrees", 1, detail);
        assert_eq!(summary_of(&[r.clone(), r]).inconsistent_reports.len(), 1);
    }

    #[test]
    fn explanation_ids_are_unique() {
        let ids: BTreeSet<&str> = ExplanationId::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(ids.len(), ExplanationId::ALL.len());
    }
}
