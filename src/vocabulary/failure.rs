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

macro_rules! error_kinds {
    ($($(#[$doc:meta])* $variant:ident = $id:literal,)*) => {
        /// The stable ids of `error.kind`, one per way a step can fail. Part
        /// of the JSON contract: never rename one, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorKind { $($(#[$doc])* #[serde(rename = $id)] $variant,)* }

        impl ErrorKind {
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The id as in the JSON, e.g. `dns-timeout`.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorKind::$variant => $id,)* }
            }
        }
    };
}

error_kinds! {
    // DNS (phase `dns`)
    DnsTimeout = "dns-timeout",
    DnssecBogus = "dnssec-bogus",
    DnsServfail = "dns-servfail",
    DnsRefused = "dns-refused",
    DnsFailure = "dns-failure",
    /// An answer too large for UDP that could not be had over TCP.
    DnsTruncated = "dns-truncated",
    /// The resolver failed the start-of-run check (it cannot serve the
    /// DNSSEC trust anchor's keys): the domain was not audited.
    ResolverUnusable = "resolver-unusable",
    Nxdomain = "nxdomain",
    NoMailHost = "no-mail-host",
    IpLiteral = "ip-literal",
    InvalidName = "invalid-name",
    NoAddress = "no-address",
    /// The MX names `localhost` (RFC 6761): a sender connects to itself.
    Localhost = "localhost",
    // SMTP and TLS (the probe's phases)
    ConnectionRefused = "connection-refused",
    /// "Network unreachable" at connect: no route from this machine.
    NoRoute = "no-route",
    Timeout = "timeout",
    Closed = "closed",
    Reset = "reset",
    Network = "network",
    Rejected = "rejected",
    LineTooLong = "line-too-long",
    TooManyLines = "too-many-lines",
    Unparseable = "unparseable",
    PlaintextAfterStarttls = "plaintext-after-starttls",
    Tls = "tls",
    /// Not contacted: the address timed out or answered 421 earlier.
    Skipped = "skipped",
    /// Not contacted because of what the address is (unspecified,
    /// broadcast, multicast; loopback or link-local without
    /// `--allow-local-addresses`).
    NotProbed = "not-probed",
    // The run and its input
    /// A bug in smtptls itself.
    Internal = "internal",
    Deadline = "deadline",
    Interrupted = "interrupted",
    InvalidDomain = "invalid-domain",
}

impl ErrorKind {
    /// A failure that may well be gone on the next run (a busy or
    /// unreachable resolver, a server that timed out, the run stopped):
    /// `--resume` audits such a row again instead of keeping it.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::DnsTimeout
                | ErrorKind::DnsServfail
                | ErrorKind::ResolverUnusable
                | ErrorKind::NoRoute
                | ErrorKind::Deadline
                | ErrorKind::Interrupted
                | ErrorKind::Internal
        )
    }
}

impl ErrorKind {
    /// A failure of the local set-up (the resolver smtptls was given, or
    /// no route from this machine), not of the domain: the row says
    /// nothing about the partner, and a run made only of such rows exits
    /// 2 (`DomainReport::setup_failure` applies it to a row).
    pub fn is_setup(self) -> bool {
        matches!(self, ErrorKind::ResolverUnusable | ErrorKind::NoRoute)
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
        for &kind in ErrorKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::json!(kind.as_str()))
            );
            assert_eq!(
                serde_json::from_value::<ErrorKind>(serde_json::json!(kind.as_str())).ok(),
                Some(kind)
            );
        }
    }
}
