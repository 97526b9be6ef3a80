//! The downgrade-protection sections of a row: DANE per address, TLSA per
//! MX host, MTA-STS and TLS-RPT per domain, and the DNSSEC status they
//! rest on. Built from the inspector's assessment and the protection and
//! resolver enums, mirrored here so that the JSON changes only when these
//! do.

use serde::{Deserialize, Serialize};

use super::mirror::mirror;
use crate::inspector::assessment as assess;
use crate::protection::{self as protect, mta_sts};
use crate::resolver;

/// DANE status of one MX address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DaneResult {
    /// A usable TLSA record matches: DANE senders deliver.
    Valid,
    /// Usable TLSA records, none matches (or no TLS): DANE senders defer.
    Mismatch,
    /// TLSA records exist but none is usable for SMTP: DANE senders
    /// require TLS but do not authenticate.
    Unusable,
    /// The host's records are not DNSSEC-secure: DANE does not apply.
    Insecure,
    /// Secure, and no TLSA records: DANE does not apply.
    None,
    /// The TLSA lookup failed (SERVFAIL, bogus, timeout): DANE senders defer.
    LookupFailed,
}

mirror!(assess::DaneResult => DaneResult {
    Valid,
    Mismatch,
    Unusable,
    Insecure,
    None,
    LookupFailed,
});

/// The TLSA lookup of one MX host, as a DANE sender sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsaStatus {
    /// DNSSEC-signed TLSA records exist.
    Found,
    /// Securely denied: no TLSA records.
    None,
    /// TLSA records not signed: ignored.
    Insecure,
    /// The lookup failed: a DANE sender defers.
    LookupFailed,
}

mirror!(protect::TlsaStatus => TlsaStatus {
    Found,
    None,
    Insecure,
    LookupFailed,
});

/// The state of a published `v=…` TXT record (`_mta-sts`, `_smtp._tls`):
/// senders use it only when exactly one valid record exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordState {
    Absent,
    Valid,
    Invalid,
    /// More than one record: senders ignore them all.
    Multiple,
    LookupFailed,
}

mirror!(protect::RecordState => RecordState {
    Absent,
    Valid,
    Invalid,
    Multiple,
    LookupFailed,
});

impl RecordState {
    /// The JSON name, e.g. `lookup-failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Absent => "absent",
            RecordState::Valid => "valid",
            RecordState::Invalid => "invalid",
            RecordState::Multiple => "multiple",
            RecordState::LookupFailed => "lookup-failed",
        }
    }
}

impl std::fmt::Display for RecordState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an answer (or a denial) is DNSSEC-authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dnssec {
    /// Validated (or, with `--dnssec trust-resolver`, the AD bit was set).
    Secure,
    /// Provably unsigned, or not authenticated by the trusted resolver.
    Insecure,
    /// Signed, but the signatures do not validate.
    Bogus,
    /// Not decided (no answer to judge, e.g. after a failure).
    Indeterminate,
}

mirror!(resolver::Dnssec => Dnssec {
    Secure,
    Insecure,
    Bogus,
    Indeterminate,
});

/// Where a domain's mail hosts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MxSource {
    /// MX records.
    Mx,
    /// No MX, the domain's own address (RFC 5321 §5.1).
    Implicit,
    /// Null MX (RFC 7505).
    Null,
    /// None could be determined.
    None,
    /// A submission service's SRV records (RFC 6186).
    Srv,
    /// A submission service at the name given (no SRV records).
    Host,
}

mirror!(assess::MxSource => MxSource {
    Mx,
    Implicit,
    Null,
    None,
    Srv,
    Host,
});

/// MTA-STS (RFC 8461) as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtaStsReport {
    /// `absent`, `valid`, `invalid`, `multiple`, `lookup-failed`.
    pub record: RecordState,
    /// The record's `id` when valid.
    pub id: Option<String>,
    /// The fetched policy; null when there is no valid record or the
    /// fetch failed (see `fetch_error`).
    pub policy: Option<StsPolicyReport>,
    /// Why the policy could not be fetched or parsed.
    pub fetch_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsPolicyReport {
    pub url: String,
    /// `enforce`, `testing` or `none`.
    pub mode: Mode,
    pub mx: Vec<String>,
    pub max_age: u64,
    /// SHA-256 (hex) of the policy text as fetched, so `smtptls diff` can
    /// see a policy that changed while its record's `id` did not (senders
    /// with a cached policy never fetch the new one, RFC 8461 §3.3). Null
    /// in reports from before it was kept.
    #[serde(default)]
    pub text_sha256: Option<String>,
}

/// The MTA-STS policy's `mode` (RFC 8461 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Senders MUST NOT deliver to an MX that fails the policy.
    Enforce,
    /// Senders deliver anyway, and report failures (TLS-RPT).
    Testing,
    /// The domain withdraws its policy.
    None,
}

mirror!(mta_sts::Mode => Mode {
    Enforce,
    Testing,
    None,
});

impl Mode {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// TLS-RPT (RFC 8460) as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsRptReport {
    /// `absent`, `valid`, `invalid`, `multiple`, `lookup-failed`.
    pub record: RecordState,
    /// Report destinations (`mailto:` / `https:` URIs) when valid.
    pub rua: Vec<String>,
}

impl From<&assess::MtaSts> for MtaStsReport {
    fn from(m: &assess::MtaSts) -> Self {
        MtaStsReport {
            record: m.record.into(),
            id: m.id.clone(),
            policy: m.policy.as_ref().map(|p| StsPolicyReport {
                url: p.url.clone(),
                mode: p.mode.into(),
                mx: p.mx.clone(),
                max_age: p.max_age,
                text_sha256: p.text_sha256.clone(),
            }),
            fetch_error: m.fetch_error.clone(),
        }
    }
}

impl From<&assess::TlsRpt> for TlsRptReport {
    fn from(t: &assess::TlsRpt) -> Self {
        TlsRptReport {
            record: t.record.into(),
            rua: t.rua.clone(),
        }
    }
}
