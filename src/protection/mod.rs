//! Downgrade protection: what a domain publishes so that senders insist on
//! TLS — DANE (RFC 7672, TLSA records under DNSSEC), MTA-STS (RFC 8461,
//! an HTTPS-published policy) — and where it asks for failure reports
//! (TLS-RPT, RFC 8460).
//!
//! Pure rules (layer 2): each file parses and evaluates one mechanism as
//! functions over the records, policy text and certificates it is given;
//! no I/O (the MTA-STS HTTPS fetch is `crate::fetch`). The audit gathers
//! the inputs; the inspector turns the results into findings and
//! per-sender delivery outcomes.

use serde::{Deserialize, Serialize};

pub mod dane;
pub mod mta_sts;
pub mod tls_rpt;
pub mod tls_rpt_report;

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

impl TlsaStatus {
    /// The JSON name, e.g. `lookup-failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsaStatus::Found => "found",
            TlsaStatus::None => "none",
            TlsaStatus::Insecure => "insecure",
            TlsaStatus::LookupFailed => "lookup-failed",
        }
    }
}

impl std::fmt::Display for TlsaStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
