//! The words of an address row that come from the prober and the
//! configuration grading: the protocol version, the timings, the
//! configuration axis. Mirrored here so that the JSON changes only when
//! these do.

use serde::{Deserialize, Serialize};

use super::mirror::mirror;
use crate::inspector::assessment as config;
use crate::inspector::ocsp;
use crate::prober::{self, scan};
use crate::vocabulary::NcscLevel;

/// A TLS protocol version, spelt as OpenSSL does (`TLSv1.3`). Ordered
/// oldest first, so `<` means older: `smtptls diff` says better or worse
/// by this order. Reading a report with any other spelling is an error
/// that names the field: every report smtptls wrote has one of these
/// (rustls negotiates 1.2 and 1.3, the scan sends these five), so another
/// one was not written by it, and no order can be guessed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

mirror!(scan::Version => TlsVersion {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
});

/// Back to the prober's version, for the rules that live there (its
/// NCSC-NL level).
impl From<TlsVersion> for scan::Version {
    fn from(v: TlsVersion) -> Self {
        match v {
            TlsVersion::Ssl3 => scan::Version::Ssl3,
            TlsVersion::Tls10 => scan::Version::Tls10,
            TlsVersion::Tls11 => scan::Version::Tls11,
            TlsVersion::Tls12 => scan::Version::Tls12,
            TlsVersion::Tls13 => scan::Version::Tls13,
        }
    }
}

impl TlsVersion {
    /// Oldest first.
    pub const ALL: [TlsVersion; 5] = [
        TlsVersion::Ssl3,
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    /// The JSON name, e.g. `TLSv1.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Ssl3 => "SSLv3",
            TlsVersion::Tls10 => "TLSv1.0",
            TlsVersion::Tls11 => "TLSv1.1",
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }

    /// NCSC-NL level (the prober's rule: 1.3 good, 1.2 sufficient, older
    /// insufficient).
    pub fn level(self) -> NcscLevel {
        scan::Version::from(self).level()
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Milliseconds each step took (absent: not reached).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ehlo: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starttls: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_handshake: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ehlo_after_tls: Option<u64>,
    pub total: u64,
}

impl From<prober::Timings> for Timings {
    fn from(t: prober::Timings) -> Self {
        Timings {
            connect: t.connect,
            banner: t.banner,
            ehlo: t.ehlo,
            helo: t.helo,
            starttls: t.starttls,
            tls_handshake: t.tls_handshake,
            ehlo_after_tls: t.ehlo_after_tls,
            total: t.total,
        }
    }
}

/// The configuration level of an address or a domain, and what set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    /// The worst level of what was graded.
    pub level: NcscLevel,
    /// What set the level, worst first: `finding id: message`, prefixed
    /// with `host [address]: ` at the domain level. Empty at good and
    /// sufficient.
    pub items: Vec<String>,
    /// Not everything was tried (`--scan off` or `light`, or the scan was
    /// cut short), so the true level may be worse: the reported one is a
    /// lower bound. `deep` and a level of `insufficient` are certain.
    pub lower_bound: bool,
}

impl From<&config::Configuration> for Configuration {
    fn from(c: &config::Configuration) -> Self {
        Configuration {
            level: c.level,
            items: c.items.clone(),
            lower_bound: c.lower_bound,
        }
    }
}

/// What the CA's stapled response says of the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcspStatus {
    Good,
    Revoked,
    Unknown,
    /// Not a successful response, not parseable, or about another
    /// certificate (`problem` says which).
    Unusable,
}

mirror!(ocsp::OcspStatus => OcspStatus {
    Good,
    Revoked,
    Unknown,
    Unusable,
});

/// The response's validity period against the run's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcspFreshness {
    Fresh,
    Expired,
    NotYetValid,
}

mirror!(ocsp::OcspFreshness => OcspFreshness {
    Fresh,
    Expired,
    NotYetValid,
});

/// The response's signature against the issuer's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcspSignature {
    Valid,
    Invalid,
    NotChecked,
}

mirror!(ocsp::OcspSignature => OcspSignature {
    Valid,
    Invalid,
    NotChecked,
});

/// A stapled OCSP response (RFC 6960), as read against the leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcspReport {
    pub status: OcspStatus,
    /// `null` when the response is unusable.
    pub freshness: Option<OcspFreshness>,
    pub signature: OcspSignature,
    /// RFC 3339, or null.
    pub this_update: Option<String>,
    pub next_update: Option<String>,
    pub revoked_at: Option<String>,
    /// Why it is unusable or its signature was not checked.
    pub problem: Option<String>,
}

impl From<&ocsp::Ocsp> for OcspReport {
    fn from(o: &ocsp::Ocsp) -> Self {
        let time = |t: Option<::time::OffsetDateTime>| {
            t.map(|t| {
                t.format(&::time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| t.unix_timestamp().to_string())
            })
        };
        OcspReport {
            status: o.status.into(),
            freshness: o.freshness.map(Into::into),
            signature: o.signature.into(),
            this_update: time(o.this_update),
            next_update: time(o.next_update),
            revoked_at: time(o.revoked_at),
            problem: o.problem.clone(),
        }
    }
}
