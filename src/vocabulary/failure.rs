//! What failed, where: the error every row can carry (`error` in the
//! JSON), with a stable phase and kind id.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What failed, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub phase: ErrorPhase,
    /// Stable id of the kind of failure.
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(phase: ErrorPhase, kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            phase,
            kind,
            message: message.into(),
        }
    }
}

/// Where in the audit an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorPhase {
    Dns,
    Connect,
    Banner,
    Ehlo,
    Helo,
    Starttls,
    TlsHandshake,
    EhloAfterTls,
    /// A bug in smtptls itself, never a property of the domain.
    Internal,
    /// The run stopped (deadline, interrupt) before the domain was done.
    Run,
    /// The domain list itself: an invalid line.
    Input,
}

impl ErrorPhase {
    /// The failure came before the server answered EHLO/HELO: the address
    /// never took part in SMTP, so a sender skips it and the rubric does
    /// not grade it.
    pub fn before_smtp(self) -> bool {
        matches!(
            self,
            ErrorPhase::Dns
                | ErrorPhase::Connect
                | ErrorPhase::Banner
                | ErrorPhase::Ehlo
                | ErrorPhase::Helo
                | ErrorPhase::Internal
        )
    }
}

/// The stable ids of `error.kind`, one per way a step can fail. Part of
/// the JSON contract: never rename one, only add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    // DNS (phase `dns`)
    DnsTimeout,
    DnssecBogus,
    DnsServfail,
    DnsRefused,
    DnsFailure,
    Nxdomain,
    NoMailHost,
    IpLiteral,
    InvalidName,
    NoAddress,
    // SMTP and TLS (the probe's phases)
    ConnectionRefused,
    Timeout,
    Closed,
    Reset,
    Network,
    Rejected,
    LineTooLong,
    TooManyLines,
    Unparseable,
    PlaintextAfterStarttls,
    Tls,
    Skipped,
    // The run and its input
    Internal,
    Deadline,
    Interrupted,
    InvalidDomain,
}

impl ErrorKind {
    /// The id as in the JSON, e.g. `dns-timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::DnsTimeout => "dns-timeout",
            ErrorKind::DnssecBogus => "dnssec-bogus",
            ErrorKind::DnsServfail => "dns-servfail",
            ErrorKind::DnsRefused => "dns-refused",
            ErrorKind::DnsFailure => "dns-failure",
            ErrorKind::Nxdomain => "nxdomain",
            ErrorKind::NoMailHost => "no-mail-host",
            ErrorKind::IpLiteral => "ip-literal",
            ErrorKind::InvalidName => "invalid-name",
            ErrorKind::NoAddress => "no-address",
            ErrorKind::ConnectionRefused => "connection-refused",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Reset => "reset",
            ErrorKind::Network => "network",
            ErrorKind::Rejected => "rejected",
            ErrorKind::LineTooLong => "line-too-long",
            ErrorKind::TooManyLines => "too-many-lines",
            ErrorKind::Unparseable => "unparseable",
            ErrorKind::PlaintextAfterStarttls => "plaintext-after-starttls",
            ErrorKind::Tls => "tls",
            ErrorKind::Skipped => "skipped",
            ErrorKind::Internal => "internal",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::InvalidDomain => "invalid-domain",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_ids_are_the_serde_names() {
        use ErrorKind::*;
        for kind in [
            DnsTimeout,
            DnssecBogus,
            DnsServfail,
            DnsRefused,
            DnsFailure,
            Nxdomain,
            NoMailHost,
            IpLiteral,
            InvalidName,
            NoAddress,
            ConnectionRefused,
            Timeout,
            Closed,
            Reset,
            Network,
            Rejected,
            LineTooLong,
            TooManyLines,
            Unparseable,
            PlaintextAfterStarttls,
            Tls,
            Skipped,
            Internal,
            Deadline,
            Interrupted,
            InvalidDomain,
        ] {
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::json!(kind.as_str()))
            );
        }
    }
}
