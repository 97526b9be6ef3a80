//! MTA-STS (RFC 8461): the record that announces a policy, the policy file,
//! MX pattern matching, and the HTTPS fetch of the policy.
//!
//! This module owns everything MTA-STS-specific that does not depend on the
//! rest of the audit:
//!
//! - [`parse_record`] / [`select_record`]: the `_mta-sts.<domain>` TXT
//!   record (§3.1), exactly to its ABNF, and the rule that exactly one
//!   `v=STSv1` record must exist;
//! - [`parse_policy`]: the policy file (§3.2), exactly to its ABNF, listing
//!   every problem at once so that a report can show them all;
//! - [`mx_matches`]: matching an MX host against a policy `mx` pattern
//!   (§4.1);
//! - [`Fetcher`]: fetching `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//!   the way a sender must (§3.3): HTTPS with full certificate validation,
//!   no redirects, status 200 only, `text/plain`, at most 64 KiB, under one
//!   overall timeout. Name resolution goes through the run's [`Resolver`]
//!   and `--connect-to` rules, like every other connection of the tool.
//!
//! Why here and not in the prober: a sender's MTA-STS decision depends only
//! on these inputs, and the audit needs the precise reason a policy is
//! unusable (a redirect, a wrong content type, a certificate problem) to
//! explain why a sender would fall back to opportunistic TLS (§5: "If a
//! valid TXT record is found but no policy can be fetched via HTTPS (for
//! any reason) […] senders MUST continue with delivery as though the domain
//! has not implemented MTA-STS").

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, redirect};
use serde::Serialize;

use crate::domain::DomainName;
use crate::options::{AddressFamilies, ConnectRules, Route, TrustStore};
use crate::resolver::{Answer, HostAddresses, Resolver};

/// The only record and policy version (§3.1, §3.2).
const VERSION: &str = "STSv1";
/// The TXT record's mandatory start (§3.1, `sts-version`; case-sensitive).
const RECORD_VERSION: &str = "v=STSv1";
/// Largest `max_age` (§3.2): one year, in seconds.
pub const MAX_AGE_LIMIT: u64 = 31_557_600;
/// Largest policy body accepted (§3.3: "a maximum size of 64 KB").
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// Where the policy lives on the policy host (§3.2).
pub const WELL_KNOWN_PATH: &str = "/.well-known/mta-sts.txt";
/// The policy host's port: the URL never names one (§3.3: HTTPS, port 443).
const HTTPS_PORT: u16 = 443;

// ---------------------------------------------------------------------------
// The TXT record (§3.1)
// ---------------------------------------------------------------------------

/// The `_mta-sts.<domain>` TXT record (RFC 8461 §3.1):
/// `v=STSv1; id=<1-32 letters and digits>;` plus optional extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsRecord {
    /// The policy instance id: a sender refetches the policy when it changes.
    pub id: String,
}

/// Why a `v=STSv1` TXT record is not valid (RFC 8461 §3.1). A sender
/// treats an invalid record like no record: the domain has no policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsRecordError {
    #[error("the record does not begin with \"v=STSv1;\" (case-sensitive)")]
    NoVersion,
    #[error("the record has no id field (\"id=\" is required and case-sensitive)")]
    MissingId,
    #[error("the record has more than one id field")]
    DuplicateId,
    #[error("id {0:?} is not 1 to 32 letters and digits")]
    BadId(String),
    #[error("the record has an empty field (two \";\" in a row)")]
    EmptyField,
    #[error("field {0:?} is not of the form name=value")]
    BadField(String),
    #[error(
        "extension name {0:?} is not a letter or digit followed by at most 31 letters, digits, \"_\", \"-\" or \".\""
    )]
    BadExtensionName(String),
    #[error(
        "extension {name:?} has value {value:?}, which is empty or holds a space, \"=\", \";\" or a control character"
    )]
    BadExtensionValue { name: String, value: String },
}

/// Parses one TXT record (its strings already concatenated) against the
/// ABNF of RFC 8461 §3.1:
///
/// ```text
/// sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
/// sts-field-delim = *WSP ";" *WSP
/// sts-version     = %s"v=STSv1"
/// sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
/// sts-extension   = sts-ext-name "=" sts-ext-value
/// sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
/// sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
/// ```
///
/// Strict as written: names are case-sensitive, and white space is allowed
/// only around a `;` (so `id=abc ` with a trailing space is invalid). The id
/// is required; a second id makes the record ambiguous, so it is rejected.
pub fn parse_record(txt: &str) -> Result<StsRecord, StsRecordError> {
    let rest = txt
        .strip_prefix(RECORD_VERSION)
        .ok_or(StsRecordError::NoVersion)?;
    let after_wsp = rest.trim_start_matches(is_wsp);
    if after_wsp.is_empty() {
        // "v=STSv1" alone: the version is there, the fields are not.
        return Err(StsRecordError::MissingId);
    }
    // "v=STSv10;…" or "v=STSv1 id=…": the version is not followed by a delimiter.
    let fields = after_wsp
        .strip_prefix(';')
        .ok_or(StsRecordError::NoVersion)?;

    let pieces: Vec<&str> = fields.split(';').collect();
    let last = pieces.len() - 1;
    let mut id = None;
    for (i, piece) in pieces.iter().enumerate() {
        // White space next to a ";" belongs to the delimiter; after the last
        // ";" there is no delimiter on the right, so none is trimmed there.
        let field = piece.trim_start_matches(is_wsp);
        let field = if i < last {
            field.trim_end_matches(is_wsp)
        } else {
            field
        };
        if field.is_empty() {
            if i == last {
                // The optional trailing delimiter.
                continue;
            }
            return Err(StsRecordError::EmptyField);
        }
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| StsRecordError::BadField(field.to_string()))?;
        if name == "id" {
            let ok =
                (1..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric());
            if !ok {
                return Err(StsRecordError::BadId(value.to_string()));
            }
            if id.is_some() {
                return Err(StsRecordError::DuplicateId);
            }
            id = Some(value.to_string());
        } else {
            if !is_extension_name(name) {
                return Err(StsRecordError::BadExtensionName(name.to_string()));
            }
            let ok = !value.is_empty()
                && value
                    .bytes()
                    .all(|b| matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e));
            if !ok {
                return Err(StsRecordError::BadExtensionValue {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
        }
    }
    id.map(|id| StsRecord { id })
        .ok_or(StsRecordError::MissingId)
}

/// What the `_mta-sts.<domain>` TXT lookup says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsTxtLookup {
    /// No `v=STSv1` record: the domain does not use MTA-STS.
    Absent,
    Valid(StsRecord),
    /// The one `v=STSv1` record is not valid: senders ignore MTA-STS.
    Invalid(StsRecordError),
    /// This many `v=STSv1` records: senders ignore MTA-STS (§3.1: "If the
    /// number of resulting records is not one […] senders MUST assume the
    /// recipient domain does not have an available MTA-STS Policy").
    Multiple(usize),
}

/// Picks the MTA-STS record among all TXT records of `_mta-sts.<domain>`
/// (§3.1): records that do not begin with the version are discarded, and
/// exactly one must remain.
///
/// §3.1 says records not beginning with `v=STSv1;` are discarded, while its
/// ABNF allows white space before that `;`. A record counts here when it
/// begins with `v=STSv1` followed by the end, or white space and `;`, so
/// that `v=STSv1 ; id=…` and a bare `v=STSv1` are judged by
/// [`parse_record`] rather than silently ignored; `v=STSv10` or `V=STSv1`
/// do not count.
pub fn select_record(txt_records: &[String]) -> StsTxtLookup {
    let candidates: Vec<&String> = txt_records
        .iter()
        .filter(|record| {
            record.strip_prefix(RECORD_VERSION).is_some_and(|rest| {
                let rest = rest.trim_start_matches(is_wsp);
                rest.is_empty() || rest.starts_with(';')
            })
        })
        .collect();
    match candidates.as_slice() {
        [] => StsTxtLookup::Absent,
        [one] => match parse_record(one) {
            Ok(record) => StsTxtLookup::Valid(record),
            Err(e) => StsTxtLookup::Invalid(e),
        },
        many => StsTxtLookup::Multiple(many.len()),
    }
}

// ---------------------------------------------------------------------------
// The policy file (§3.2)
// ---------------------------------------------------------------------------

/// The policy's `mode` (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Senders MUST NOT deliver to an MX that fails the policy.
    Enforce,
    /// Senders deliver anyway, and report failures (TLS-RPT).
    Testing,
    /// The domain withdraws its policy.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A valid policy file (RFC 8461 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsPolicy {
    pub mode: Mode,
    /// The `mx` patterns, in file order, as written (see [`mx_matches`]).
    /// May be empty only with [`Mode::None`].
    pub mx: Vec<String>,
    /// Seconds a sender may cache the policy, `0..=`[`MAX_AGE_LIMIT`].
    pub max_age: u64,
}

/// Parses a policy file against RFC 8461 §3.2 and returns every problem
/// found, each naming its line, so that a report can list them all.
///
/// ```text
/// sts-policy-record        = sts-policy-field *WSP
///                            *(sts-policy-term sts-policy-field *WSP)
///                            [sts-policy-term]
/// sts-policy-field         = sts-policy-version / sts-policy-mode / sts-policy-max-age   ; each required once
///                            / sts-policy-mx            ; once or more unless mode is "none"
///                            / sts-policy-extension
/// sts-policy-field-delim   = ":" *WSP
/// sts-policy-version-value = %s"STSv1"
/// sts-policy-mode-value    = %s"testing" / %s"enforce" / %s"none"
/// sts-policy-mx-value      = ["*."] Domain                  ; RFC 5321 Domain
/// sts-policy-max-age-value = 1*10(DIGIT)                    ; at most 31557600
/// sts-policy-ext-name      = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
/// sts-policy-ext-value     = sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]
/// sts-policy-term          = LF / CRLF
/// ```
///
/// So, exactly as written: field names are case-sensitive (`Mode:` is an
/// unknown extension, hence ignored, and the policy then lacks `mode`);
/// lines are separated by LF or CRLF, with at most one terminator at the
/// end and no blank lines; no white space before the `:` or at the start
/// of a line; unknown fields are ignored (but must still be well-formed);
/// `version`, `mode` and `max_age` must each appear exactly once.
pub fn parse_policy(text: &str) -> Result<StsPolicy, Vec<String>> {
    let mut problems = Vec::new();
    // Each known field, with the line numbers it appears on.
    let mut version: Vec<(usize, &str)> = Vec::new();
    let mut mode: Vec<(usize, &str)> = Vec::new();
    let mut max_age: Vec<(usize, &str)> = Vec::new();
    let mut mx: Vec<String> = Vec::new();
    let mut bad_mx = false;
    // Unknown field names (for the case-sensitivity hint).
    let mut others: Vec<(usize, &str)> = Vec::new();

    // One optional terminator after the last field.
    let body = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if body.is_empty() {
        problems.push("the policy is empty".to_string());
    } else {
        for (index, line) in body.split('\n').enumerate() {
            let n = index + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                problems.push(format!("line {n} is empty (blank lines are not allowed)"));
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                problems.push(format!("line {n}: {line:?} is not a \"name: value\" field"));
                continue;
            };
            if !is_extension_name(name) {
                problems.push(format!(
                    "line {n}: {name:?} is not a valid field name (a letter or digit, then at most 31 letters, digits, \"_\", \"-\" or \".\"; no white space)"
                ));
                continue;
            }
            let value = value.trim_matches(is_wsp);
            match name {
                "version" => version.push((n, value)),
                "mode" => mode.push((n, value)),
                "max_age" => max_age.push((n, value)),
                "mx" => {
                    if is_mx_pattern(value) {
                        mx.push(value.to_string());
                    } else {
                        bad_mx = true;
                        problems.push(format!(
                            "line {n}: mx {value:?} is not a host name or a \"*.\" wildcard pattern"
                        ));
                    }
                }
                _ => {
                    others.push((n, name));
                    if !is_policy_ext_value(value) {
                        problems.push(format!(
                            "line {n}: the value of {name:?} is empty or holds control characters"
                        ));
                    }
                }
            }
        }
    }

    let version = once("version", &version, &others, &mut problems);
    if let Some((n, v)) = version
        && v != VERSION
    {
        problems.push(format!("line {n}: version {v:?} is not \"{VERSION}\""));
    }

    let mode = once("mode", &mode, &others, &mut problems).and_then(|(n, v)| match v {
        "enforce" => Some(Mode::Enforce),
        "testing" => Some(Mode::Testing),
        "none" => Some(Mode::None),
        _ => {
            problems.push(format!(
                "line {n}: mode {v:?} is not \"enforce\", \"testing\" or \"none\""
            ));
            None
        }
    });

    let max_age = once("max_age", &max_age, &others, &mut problems).and_then(|(n, v)| {
        let digits = (1..=10).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit());
        match v.parse::<u64>() {
            Ok(secs) if digits && secs <= MAX_AGE_LIMIT => Some(secs),
            Ok(_) if digits => {
                problems.push(format!(
                    "line {n}: max_age {v} is larger than {MAX_AGE_LIMIT} (one year)"
                ));
                None
            }
            _ => {
                problems.push(format!(
                    "line {n}: max_age {v:?} is not a number of seconds (1 to 10 digits)"
                ));
                None
            }
        }
    });

    if let Some(m @ (Mode::Enforce | Mode::Testing)) = mode
        && mx.is_empty()
        && !bad_mx
    {
        problems.push(format!(
            "no mx field: mode {} requires at least one{}",
            m.as_str(),
            case_hint("mx", &others)
        ));
    }

    match (mode, max_age) {
        (Some(mode), Some(max_age)) if problems.is_empty() => Ok(StsPolicy { mode, mx, max_age }),
        _ => Err(problems),
    }
}

/// The one occurrence of a field that must appear exactly once, or a
/// problem recorded.
fn once<'a>(
    field: &str,
    seen: &[(usize, &'a str)],
    others: &[(usize, &str)],
    problems: &mut Vec<String>,
) -> Option<(usize, &'a str)> {
    match seen {
        [] => {
            problems.push(format!(
                "no {field} field (it is required){}",
                case_hint(field, others)
            ));
            None
        }
        [one] => Some(*one),
        many => {
            let lines: Vec<String> = many.iter().map(|(n, _)| n.to_string()).collect();
            problems.push(format!(
                "{field} appears {} times (lines {}); it must appear exactly once",
                many.len(),
                lines.join(", ")
            ));
            None
        }
    }
}

/// " (line 3 has \"Mode\": field names are case-sensitive)" when an unknown
/// field is the wanted one in another case.
fn case_hint(field: &str, others: &[(usize, &str)]) -> String {
    others
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(field))
        .map(|(n, name)| format!(" (line {n} has {name:?}: field names are case-sensitive)"))
        .unwrap_or_default()
}

/// `["*."] Domain`, Domain as in RFC 5321 §4.1.2: dot-separated labels of
/// letters, digits and inner hyphens, no trailing dot.
fn is_mx_pattern(value: &str) -> bool {
    let domain = value.strip_prefix("*.").unwrap_or(value);
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// `sts-policy-ext-value`: visible characters (UTF-8 included) and inner
/// spaces; white space at the ends was already trimmed as `*WSP`.
fn is_policy_ext_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c == ' ' || (c > ' ' && c != '\u{7f}'))
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`, shared by the
/// record's extension names and the policy's field names.
fn is_extension_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// ABNF `WSP`: space or horizontal tab.
fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

// ---------------------------------------------------------------------------
// MX matching (§4.1)
// ---------------------------------------------------------------------------

/// Whether MX host `host` matches policy pattern `pattern` (RFC 8461 §4.1):
/// `*.example.com` matches a host with exactly one more label on the left
/// (`mx.example.com`, not `example.com` nor `a.b.example.com`); any other
/// pattern matches only the same name. Case-insensitive; a trailing dot on
/// either side is ignored.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern
        .strip_suffix('.')
        .unwrap_or(pattern)
        .to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() || host.contains('*') {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && !suffix.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

// ---------------------------------------------------------------------------
// Fetching the policy (§3.3)
// ---------------------------------------------------------------------------

/// Why no policy could be fetched. Each variant is a reason a sender gets
/// no policy and so (§5) delivers as if the domain had no MTA-STS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchProblem {
    /// The policy host has no address (or the lookup failed).
    #[error("DNS: {0}")]
    Dns(String),
    /// No TCP connection to any address of the policy host.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The TLS handshake failed, including a certificate that is not valid
    /// (trusted, current) for `mta-sts.<domain>`.
    #[error("TLS: {0}")]
    Tls(String),
    /// An HTTP status other than 200 (and not a redirect).
    #[error("HTTP status {0} (only 200 is accepted)")]
    Status(u16),
    /// A 3xx answer: §3.3 forbids following redirects.
    #[error("HTTP {0} redirect{loc} (senders must not follow redirects)", loc = location_text(.1))]
    Redirect(u16, Option<String>),
    /// The Content-Type is missing or not `text/plain` (§3.2).
    #[error("Content-Type {} is not text/plain", .0.as_deref().map_or("(missing)".to_string(), |c| format!("{c:?}")))]
    ContentType(Option<String>),
    /// The body exceeds [`MAX_POLICY_BYTES`].
    #[error("the policy is larger than 64 KiB")]
    TooLarge,
    /// The whole fetch did not finish within the timeout.
    #[error("timed out")]
    Timeout,
    /// The HTTP exchange broke after connecting (no or malformed response,
    /// connection closed mid-body, …).
    #[error("HTTP: {0}")]
    Body(String),
}

fn location_text(location: &Option<String>) -> String {
    location
        .as_deref()
        .map(|l| format!(" to {l:?}"))
        .unwrap_or_default()
}

/// What a successful HTTPS fetch gave: the body, and whether it is a
/// valid policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// `https://mta-sts.<domain>/.well-known/mta-sts.txt`
    pub url: String,
    /// The parsed policy, or every problem that makes it invalid.
    pub policy: Result<StsPolicy, Vec<String>>,
    /// The body as text (invalid UTF-8 replaced).
    pub raw: String,
}

/// Fetches MTA-STS policies; one per run, shared by all domains.
///
/// How the HTTP client is wired:
///
/// - TLS: a rustls [`rustls::ClientConfig`] built on
///   [`crate::prober::tls::provider`] (the tool's only crypto provider) with
///   the run's trust anchors (webpki roots plus `--ca-file`), handed to
///   reqwest as a preconfigured backend. rustls checks the chain and that
///   the certificate names `mta-sts.<domain>` (the URL host, also the SNI),
///   by subjectAltName only, as RFC 6125 and §3.3 want.
/// - Names: a reqwest [`Resolve`] over the run's [`Resolver`], honouring
///   `-4`/`-6`, so no system resolver or hosts file is involved. It applies
///   `--connect-to` for (`mta-sts.<domain>`, 443): `Route::Fixed` returns
///   that socket address without any lookup; `Route::Resolved { port }`
///   returns the resolved addresses with that port.
/// - Ports: hyper-util's connector replaces the port of resolved addresses
///   only when the URL names a port explicitly or the address has port 0
///   (`set_port` in `hyper_util::client::legacy::connect::http`). The URL
///   never names one, so the port the resolver returns is the one
///   connected to. The URL, Host header and SNI stay `mta-sts.<domain>`.
/// - No redirects, no proxy (environment proxies are ignored), HTTP/1.1
///   only, no idle connection kept, and one overall timeout: reqwest's
///   total timeout plus a `tokio::time::timeout` around the whole fetch,
///   body included.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Builds the run's HTTPS client. Fails only if TLS cannot be set up.
    pub fn new(
        resolver: Resolver,
        connect_to: ConnectRules,
        trust: TrustStore,
        timeout: Duration,
        families: AddressFamilies,
    ) -> Result<Self, String> {
        let mut tls = rustls::ClientConfig::builder_with_provider(crate::prober::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("MTA-STS HTTPS client: {e}"))?
            .with_root_certificates(trust.roots().clone())
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];

        let resolve = PolicyHostResolver {
            resolver,
            connect_to,
            families,
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(resolve))
            .redirect(redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy()
            .https_only(true)
            .http1_only()
            .pool_max_idle_per_host(0)
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("smtptls/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("MTA-STS HTTPS client: {}", error_text(&e)))?;
        Ok(Fetcher { client, timeout })
    }

    /// Fetches `https://mta-sts.<domain>/.well-known/mta-sts.txt` as a
    /// sender would (§3.3). `Ok` means the body was received (it may still
    /// not be a valid policy: see [`Fetched::policy`]).
    pub async fn fetch(&self, domain: &DomainName) -> Result<Fetched, FetchProblem> {
        let host = format!("mta-sts.{}", domain.as_str());
        let url = format!("https://{host}{WELL_KNOWN_PATH}");
        match tokio::time::timeout(self.timeout, self.fetch_url(&host, &url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchProblem::Timeout),
        }
    }

    async fn fetch_url(&self, host: &str, url: &str) -> Result<Fetched, FetchProblem> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| classify(&e, host))?;

        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Err(FetchProblem::Redirect(status.as_u16(), location));
        }
        if status != StatusCode::OK {
            return Err(FetchProblem::Status(status.as_u16()));
        }

        // §3.2: the media type MUST be text/plain; parameters are ignored.
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let plain = content_type.as_deref().is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/plain"))
        });
        if !plain {
            return Err(FetchProblem::ContentType(content_type));
        }

        if response
            .content_length()
            .is_some_and(|len| len > MAX_POLICY_BYTES as u64)
        {
            return Err(FetchProblem::TooLarge);
        }
        // Chunk by chunk, so an endless body costs at most the cap.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, host))? {
            if body.len() + chunk.len() > MAX_POLICY_BYTES {
                return Err(FetchProblem::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }

        let (policy, raw) = match String::from_utf8(body) {
            Ok(text) => (parse_policy(&text), text),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let raw = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let mut problems = vec![format!("the policy is not UTF-8 text (byte {at})")];
                if let Err(more) = parse_policy(&raw) {
                    problems.extend(more);
                }
                (Err(problems), raw)
            }
        };
        Ok(Fetched {
            url: url.to_string(),
            policy,
            raw,
        })
    }
}

/// The policy host's name resolution: the run's DNS client and
/// `--connect-to` rules, never the system resolver.
struct PolicyHostResolver {
    resolver: Resolver,
    connect_to: ConnectRules,
    families: AddressFamilies,
}

/// The policy host has no usable address; found again in the error chain
/// to tell DNS problems from connection problems.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct LookupError(String);

impl Resolve for PolicyHostResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let route = self.connect_to.route(&host, HTTPS_PORT);
        let resolver = self.resolver.clone();
        let families = self.families;
        Box::pin(async move {
            let port = match route {
                Route::Fixed(addr) => return Ok(Box::new(std::iter::once(addr)) as Addrs),
                Route::Resolved { port } => port,
            };
            let domain = DomainName::from_dns(&host).map_err(|e| LookupError(e.to_string()))?;
            let found = resolver.addresses(&domain, families).await;
            let ips = found.all();
            if ips.is_empty() {
                return Err(LookupError(no_address(&host, &found)).into());
            }
            let addrs = ips.into_iter().map(move |ip| SocketAddr::new(ip, port));
            Ok(Box::new(addrs) as Addrs)
        })
    }
}

/// Why `found` holds no address, in a sentence.
fn no_address(host: &str, found: &HostAddresses) -> String {
    fn outcome<T>(answer: &Answer<T>) -> (Option<String>, bool) {
        match answer {
            Answer::Failed(f) => (Some(f.to_string()), false),
            Answer::NxDomain => (None, true),
            Answer::Records(_) | Answer::NoData => (None, false),
        }
    }
    let answers = [
        ("A", found.v4.as_ref().map(outcome)),
        ("AAAA", found.v6.as_ref().map(outcome)),
    ];
    for (rtype, answer) in &answers {
        if let Some((Some(failure), _)) = answer {
            return format!("{rtype} {host}: {failure}");
        }
    }
    if answers.iter().any(|(_, a)| matches!(a, Some((_, true)))) {
        return format!("{host} does not exist (NXDOMAIN)");
    }
    let asked: Vec<&str> = answers
        .iter()
        .filter(|(_, a)| a.is_some())
        .map(|(rtype, _)| *rtype)
        .collect();
    format!("{host} has no {} record", asked.join(" or "))
}

/// Sorts a reqwest error into a [`FetchProblem`] by what its cause chain
/// holds: our lookup error, a rustls error, a timeout, an I/O error.
fn classify(err: &reqwest::Error, host: &str) -> FetchProblem {
    for cause in causes(err) {
        if let Some(lookup) = cause.downcast_ref::<LookupError>() {
            return FetchProblem::Dns(lookup.0.clone());
        }
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return FetchProblem::Tls(match tls {
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                    format!(
                        "the certificate of {host} is not valid: its issuer is not a trusted CA (UnknownIssuer)"
                    )
                }
                rustls::Error::InvalidCertificate(why) => {
                    format!("the certificate of {host} is not valid: {why}")
                }
                other => other.to_string(),
            });
        }
    }
    if err.is_timeout() {
        return FetchProblem::Timeout;
    }
    if err.is_connect() {
        let io: Vec<&std::io::Error> = causes(err)
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .collect();
        // TCP was up: the peer hung up in the middle of the TLS handshake
        // (connector errors cover TCP and TLS alike).
        if io
            .iter()
            .any(|e| e.kind() == std::io::ErrorKind::UnexpectedEof)
        {
            return FetchProblem::Tls(
                "the server closed the connection during the TLS handshake".to_string(),
            );
        }
        return FetchProblem::Connect(match io.last() {
            Some(innermost) => innermost.to_string(),
            None => error_text(err),
        });
    }
    FetchProblem::Body(error_text(err))
}

/// An error and its causes, looking inside `io::Error`s (whose `source()`
/// skips the error they wrap).
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            return Some(inner as &(dyn StdError + 'static));
        }
        e.source()
    })
}

/// "a: b: c" from an error chain, without messages that repeat their cause.
fn error_text(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in causes(err) {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(txt: &str) -> Result<StsRecord, StsRecordError> {
        parse_record(txt)
    }

    #[test]
    fn valid_records() {
        for (txt, id) in [
            ("v=STSv1; id=20160831085700Z;", "20160831085700Z"),
            ("v=STSv1;id=abc", "abc"),
            ("v=STSv1 ;\tid=abc ; ", "abc"),
            ("v=STSv1; id=abc; ext.name_1-x=va:lue<>", "abc"),
            ("v=STSv1; foo=bar; id=ABC123", "ABC123"),
            (
                "v=STSv1; id=12345678901234567890123456789012",
                "12345678901234567890123456789012",
            ),
        ] {
            assert_eq!(record(txt), Ok(StsRecord { id: id.into() }), "{txt}");
        }
    }

    #[test]
    fn invalid_records() {
        use StsRecordError::*;
        for (txt, err) in [
            ("v=STSv1", MissingId),
            ("v=STSv1;", MissingId),
            ("v=STSv1; foo=bar", MissingId),
            ("v=STSv1; ID=abc", MissingId),
            ("V=STSv1; id=abc", NoVersion),
            ("v=STSv10; id=abc", NoVersion),
            ("v=STSv1 id=abc", NoVersion),
            (" v=STSv1; id=abc", NoVersion),
            ("id=abc; v=STSv1", NoVersion),
            ("v=STSv1; id=", BadId(String::new())),
            (
                "v=STSv1; id=123456789012345678901234567890123",
                BadId("123456789012345678901234567890123".into()),
            ),
            ("v=STSv1; id=abc-def", BadId("abc-def".into())),
            ("v=STSv1; id=abc ", BadId("abc ".into())),
            ("v=STSv1; id=abc; id=def", DuplicateId),
            ("v=STSv1;; id=abc", EmptyField),
            ("v=STSv1; id=abc; ;", EmptyField),
            ("v=STSv1; id=abc; foo", BadField("foo".into())),
            ("v=STSv1; id=abc; _x=1", BadExtensionName("_x".into())),
            ("v=STSv1; id=abc; =1", BadExtensionName(String::new())),
            (
                "v=STSv1; id=abc; x=a b",
                BadExtensionValue {
                    name: "x".into(),
                    value: "a b".into(),
                },
            ),
            (
                "v=STSv1; id=abc; x=a=b",
                BadExtensionValue {
                    name: "x".into(),
                    value: "a=b".into(),
                },
            ),
            (
                "v=STSv1; id=abc; x=",
                BadExtensionValue {
                    name: "x".into(),
                    value: String::new(),
                },
            ),
        ] {
            assert_eq!(record(txt), Err(err), "{txt}");
        }
        assert!(
            record("v=STSv1; id=abc-def")
                .unwrap_err()
                .to_string()
                .contains("1 to 32 letters and digits")
        );
    }

    #[test]
    fn selecting_the_record() {
        let txt =
            |records: &[&str]| -> Vec<String> { records.iter().map(|s| s.to_string()).collect() };
        assert_eq!(select_record(&[]), StsTxtLookup::Absent);
        assert_eq!(
            select_record(&txt(&["v=spf1 -all", "hello", "v=STSv10; id=1"])),
            StsTxtLookup::Absent
        );
        assert_eq!(
            select_record(&txt(&["v=spf1 -all", "v=STSv1; id=abc;", "other"])),
            StsTxtLookup::Valid(StsRecord { id: "abc".into() })
        );
        assert_eq!(
            select_record(&txt(&["v=STSv1; id=1", "x", "v=STSv1; id=2"])),
            StsTxtLookup::Multiple(2)
        );
        // Two records count even if one of them is invalid.
        assert_eq!(
            select_record(&txt(&["v=STSv1; id=1", "v=STSv1"])),
            StsTxtLookup::Multiple(2)
        );
        assert_eq!(
            select_record(&txt(&["v=STSv1; id=not-alnum", "v=spf1"])),
            StsTxtLookup::Invalid(StsRecordError::BadId("not-alnum".into()))
        );
        assert_eq!(
            select_record(&txt(&["v=STSv1 ; id=abc"])),
            StsTxtLookup::Valid(StsRecord { id: "abc".into() })
        );
    }

    const ENFORCE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    #[test]
    fn policies_with_crlf_and_lf() {
        let expected = StsPolicy {
            mode: Mode::Enforce,
            mx: vec![
                "mail.example.com".into(),
                "*.example.net".into(),
                "backupmx.example.com".into(),
            ],
            max_age: 604800,
        };
        assert_eq!(parse_policy(ENFORCE), Ok(expected.clone()));
        assert_eq!(
            parse_policy(&ENFORCE.replace("\r\n", "\n")),
            Ok(expected.clone())
        );
        // No final terminator, mixed terminators, white space after values.
        let mixed = "version: STSv1\nmode:enforce \r\nmx:\tmail.example.com\nmx: *.example.net\r\nmx: backupmx.example.com\nmax_age: 604800";
        assert_eq!(parse_policy(mixed), Ok(expected));
    }

    #[test]
    fn policy_modes_and_limits() {
        let p = parse_policy("version: STSv1\nmode: none\nmax_age: 0\n").expect("mode none");
        assert_eq!((p.mode, p.mx.len(), p.max_age), (Mode::None, 0, 0));
        let p = parse_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 31557600\n")
            .expect("testing");
        assert_eq!((p.mode, p.max_age), (Mode::Testing, MAX_AGE_LIMIT));
        let p = parse_policy("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 0000086400\n")
            .expect("leading zeros");
        assert_eq!(p.max_age, 86400);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let text = "version: STSv1\nfoo: bar baz\nmode: enforce\nx.y-z_1: ünïcode = ok;\nmx: mx.example.com\nmax_age: 86400\n";
        let p = parse_policy(text).expect("extensions ignored");
        assert_eq!(p.mx, vec!["mx.example.com".to_string()]);
    }

    fn problems(text: &str) -> Vec<String> {
        match parse_policy(text) {
            Ok(p) => panic!("accepted: {p:?}"),
            Err(problems) => problems,
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let found = problems("mode: sometimes\nmx: mx.example.com\nmax_age: 31557601\n");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("no version field"), "{found:?}");
        assert!(found[1].contains("mode \"sometimes\""), "{found:?}");
        assert!(found[2].contains("max_age 31557601 is larger"), "{found:?}");

        let found = problems("version: STSv2\nmode: enforce\nmx: mx.example.com\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("version \"STSv2\""), "{found:?}");
        assert!(found[1].starts_with("no max_age field"), "{found:?}");

        let found = problems("version: STSv1\nmode: enforce\nmax_age: 1d\n");
        assert!(
            found.iter().any(|p| p.contains("\"1d\" is not a number")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with("no mx field")),
            "{found:?}"
        );

        let found =
            problems("version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 12345678901\n");
        assert!(found[0].contains("is not a number"), "{found:?}");

        assert_eq!(
            problems(""),
            vec![
                "the policy is empty",
                "no version field (it is required)",
                "no mode field (it is required)",
                "no max_age field (it is required)"
            ]
        );
    }

    #[test]
    fn duplicate_fields() {
        let found = problems(
            "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\nmax_age: 1\n",
        );
        assert_eq!(
            found,
            vec![
                "mode appears 2 times (lines 2, 3); it must appear exactly once",
                "max_age appears 2 times (lines 5, 6); it must appear exactly once",
            ]
        );
        // mx repeats by design, and unknown fields may repeat.
        assert!(parse_policy("version: STSv1\nmode: none\nx: 1\nx: 2\nmax_age: 1\n").is_ok());
    }

    #[test]
    fn syntax_is_exact() {
        let base = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400\n";
        assert!(parse_policy(base).is_ok());
        // Field names are case-sensitive.
        let found = problems(&base.replace("mode:", "Mode:"));
        assert_eq!(
            found,
            vec![
                "no mode field (it is required) (line 2 has \"Mode\": field names are case-sensitive)"
            ]
        );
        let found = problems(&base.replace("enforce", "Enforce"));
        assert!(found[0].contains("mode \"Enforce\""), "{found:?}");
        // Blank lines, white space before ":" or at the line start, no colon.
        let found = problems(&format!("{base}\n"));
        assert_eq!(found, vec!["line 5 is empty (blank lines are not allowed)"]);
        let found = problems(&base.replace("mode:", "mode :"));
        assert!(
            found[0].contains("\"mode \" is not a valid field name"),
            "{found:?}"
        );
        let found = problems(&base.replace("mx:", " mx:"));
        assert!(
            found[0].contains("\" mx\" is not a valid field name"),
            "{found:?}"
        );
        let found = problems(&format!("{base}garbage\n"));
        assert!(
            found[0].contains("\"garbage\" is not a \"name: value\""),
            "{found:?}"
        );
        // mx values.
        for bad in [
            "mx.example.com.",
            "*.",
            "a.*.example",
            "mx_1.example",
            "-a.example",
            "",
            "mx example",
        ] {
            let found = problems(&base.replace("mx.example.com", bad));
            assert!(found[0].contains("is not a host name"), "{bad}: {found:?}");
        }
        // A control character in an ignored field's value.
        let found = problems(&format!("{base}x: a\u{7}b\n"));
        assert!(found[0].contains("control characters"), "{found:?}");
        // A bare CR inside a line is not a terminator.
        let found = problems(&base.replace("mode: enforce\n", "mode: enforce\rmx: a.example\n"));
        assert!(
            found.iter().any(|p| p.contains("mode \"enforce\\rmx")),
            "{found:?}"
        );
    }

    #[test]
    fn matching_mx_patterns() {
        assert!(mx_matches("*.example.com", "mx.example.com"));
        assert!(mx_matches("*.Example.COM", "MX.example.com."));
        assert!(mx_matches("*.example.com.", "mx.example.com"));
        assert!(!mx_matches("*.example.com", "a.b.example.com"));
        assert!(!mx_matches("*.example.com", "example.com"));
        assert!(!mx_matches("*.example.com", ".example.com"));
        assert!(!mx_matches("*.example.com", "mx.example.net"));
        assert!(!mx_matches("*.example.com", "mxexample.com"));
        assert!(mx_matches("mx.example.com", "MX.Example.Com."));
        assert!(mx_matches("mx.example.com.", "mx.example.com"));
        assert!(!mx_matches("mx.example.com", "a.mx.example.com"));
        assert!(!mx_matches("example.com", "mx.example.com"));
        assert!(!mx_matches("*.example.com", "*.example.com"));
        assert!(!mx_matches("", ""));
    }

    #[test]
    fn fetch_problems_read_well() {
        assert_eq!(
            FetchProblem::Redirect(301, Some("https://elsewhere.test/".into())).to_string(),
            "HTTP 301 redirect to \"https://elsewhere.test/\" (senders must not follow redirects)"
        );
        assert_eq!(
            FetchProblem::Redirect(302, None).to_string(),
            "HTTP 302 redirect (senders must not follow redirects)"
        );
        assert_eq!(
            FetchProblem::ContentType(None).to_string(),
            "Content-Type (missing) is not text/plain"
        );
        assert_eq!(
            FetchProblem::ContentType(Some("text/html".into())).to_string(),
            "Content-Type \"text/html\" is not text/plain"
        );
    }
}
