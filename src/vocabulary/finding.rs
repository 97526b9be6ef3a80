//! Findings: one per check, with a stable id, a severity and a sentence.
//!
//! The ids are part of the JSON contract (`schema/report.schema.json`) and
//! documented in `docs/grading.md`: never rename one, only add.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::NcscLevel;

/// How bad a finding is. Ordered: `Ok < Info < Warn < Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Info,
    Warn,
    Fail,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        })
    }
}

macro_rules! finding_ids {
    ($($(#[$doc:meta])* $variant:ident = $id:literal,)*) => {
        /// Every check smtptls makes. The string form is the stable id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FindingId { $($(#[$doc])* $variant,)* }

        impl FindingId {
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(FindingId::$variant => $id,)* }
            }

            /// The id whose string form is `id` (`cert.expiry`), if any.
            pub fn from_id(id: &str) -> Option<FindingId> {
                match id { $($id => Some(FindingId::$variant),)* _ => None }
            }
        }
    };
}

finding_ids! {
    /// The domain does not exist (NXDOMAIN).
    DnsNxdomain = "dns.nxdomain",
    /// A DNS lookup failed (SERVFAIL, timeout, refused).
    DnsError = "dns.error",
    /// A DNSSEC-signed answer failed validation: validating senders see
    /// SERVFAIL and defer. Never treated as merely insecure.
    DnssecBogus = "dnssec.bogus",
    /// Null MX (RFC 7505): the domain accepts no mail.
    MxNull = "mx.null",
    /// A null MX published next to other MX records.
    MxNullMixed = "mx.null-mixed",
    /// No MX: the domain's own address is used (RFC 5321 §5.1).
    MxImplicit = "mx.implicit",
    /// Neither MX nor address records.
    MxNone = "mx.none",
    /// The MX target is an alias (CNAME).
    MxCname = "mx.cname",
    /// The MX target is written as an IP address.
    MxIpLiteral = "mx.ip-literal",
    /// The MX target is not a valid host name.
    MxInvalidName = "mx.invalid-name",
    /// The MX host has no address (of the families probed).
    MxNoAddress = "mx.no-address",
    /// The MX names `localhost` (RFC 6761): senders connect to themselves.
    MxLocalhost = "mx.localhost",
    /// MX hosts beyond `--max-mx-hosts`, listed but not probed.
    MxHostsLeftOut = "mx.hosts-left-out",
    /// Addresses of an MX host beyond `--max-addresses-per-host`, listed
    /// but not probed.
    MxAddressesLeftOut = "mx.addresses-left-out",
    /// An unspecified, broadcast or multicast address: never probed.
    AddressUnusable = "address.unusable",
    /// A loopback or link-local address: probed only with
    /// `--allow-local-addresses`.
    AddressLocal = "address.local",
    /// A private address (RFC 1918, CGNAT, ULA): senders on the internet
    /// cannot reach it.
    AddressPrivate = "address.private",
    /// TCP connection to the MX address.
    SmtpConnect = "smtp.connect",
    /// The 220 greeting.
    SmtpBanner = "smtp.banner",
    /// EHLO (or the HELO fallback).
    SmtpEhlo = "smtp.ehlo",
    /// STARTTLS appears in the EHLO reply.
    StarttlsOffered = "starttls.offered",
    /// The STARTTLS command is accepted with 220 and nothing else.
    StarttlsCommand = "starttls.command",
    /// The TLS handshake completes.
    TlsHandshake = "tls.handshake",
    /// The negotiated protocol version.
    TlsVersion = "tls.version",
    /// EHLO again inside TLS (RFC 3207 §4.2).
    SmtpEhloAfterTls = "smtp.ehlo-after-tls",
    /// The certificate chain leads to a trusted root.
    CertChainValid = "cert.chain.valid",
    /// The certificate names the MX host (RFC 6125).
    CertHostname = "cert.hostname",
    /// Time left before the certificate expires.
    CertExpiry = "cert.expiry",
    /// The certificate's public key strength.
    CertKey = "cert.key",
    /// The certificate's signature hash.
    CertSignature = "cert.signature",
    /// The server's certificate of the other key type (a dual-certificate
    /// server's RSA or ECDSA chain that the main handshake did not get):
    /// chain, name, expiry and key.
    CertOtherCertificate = "cert.other-certificate",
    /// The TLSA lookup of an MX host (RFC 7672 §2.2).
    DaneTlsa = "dane.tlsa",
    /// The certificate against the TLSA records (RFC 7672 §3).
    DaneValid = "dane.valid",
    /// Advice: a single TLSA record leaves no room for a key rollover.
    DaneRollover = "dane.rollover",
    /// The server's certificate of the other key type against the same
    /// TLSA records (RFC 7671 §5: every chain must match).
    DaneOtherCertificate = "dane.other-certificate",
    /// The `_mta-sts` TXT record (RFC 8461 §3.1).
    MtaStsRecord = "mta-sts.record",
    /// Fetching and parsing the policy file (RFC 8461 §3.2, §3.3).
    MtaStsPolicy = "mta-sts.policy",
    /// The policy's mode.
    MtaStsMode = "mta-sts.mode",
    /// An MX host against the policy's `mx` patterns (RFC 8461 §4.1).
    MtaStsMx = "mta-sts.mx",
    /// An MX certificate under the policy (RFC 8461 §4.2).
    MtaStsCertificate = "mta-sts.certificate",
    /// The `_smtp._tls` TLS-RPT record (RFC 8460 §3).
    TlsRptRecord = "tls-rpt.record",
    /// What an MTA-STS-enforcing sender would do.
    DeliveryMtaSts = "delivery.mta-sts",
    /// What a DANE-enforcing sender would do.
    DeliveryDane = "delivery.dane",
    /// Protocol versions the scan saw accepted (NCSC-NL levels).
    TlsProtocols = "tls.protocols",
    /// Cipher suites the scan saw accepted (NCSC-NL levels).
    TlsCipherSuites = "tls.cipher-suites",
    /// Whether the server enforces its own suite order (NCSC-NL B2-5).
    TlsCipherOrder = "tls.cipher-order",
    /// Key-exchange groups: ECDHE curves and the DHE prime (NCSC-NL levels).
    TlsKeyExchange = "tls.key-exchange",
    /// TLS compression (CRIME).
    TlsCompression = "tls.compression",
    /// Secure renegotiation (RFC 5746) in a TLS ≤ 1.2 ServerHello.
    TlsRenegotiation = "tls.renegotiation",
    /// A hybrid post-quantum key exchange in the main handshake.
    TlsPostQuantum = "tls.post-quantum",
    /// The scan was cut short (the address stopped answering).
    TlsScan = "tls.scan",
    TlsLegacySession = "tls.legacy-session",
    /// Commands pipelined behind STARTTLS are not run inside TLS
    /// (CVE-2011-0411 class).
    StarttlsInjection = "starttls.injection",
    /// REQUIRETLS (RFC 8689) in the EHLO reply inside TLS: a fact, never
    /// a verdict change.
    SmtpRequiretls = "smtp.requiretls",
    /// A stapled OCSP response (RFC 6066 §8): status and freshness, on
    /// the configuration axis.
    TlsOcspStapling = "tls.ocsp-stapling",
    /// A must-staple certificate (RFC 7633) and the staple it demands.
    CertMustStaple = "cert.must-staple",
    /// Where the hosts of a submission service came from: the
    /// `_submission._tcp` / `_submissions._tcp` SRV records (RFC 6186), or
    /// the name given.
    SubmissionSrv = "submission.srv",
    /// A submission host where a mail client gets no TLS session.
    SubmissionNoTls = "submission.no-tls",
    /// AUTH advertised in the EHLO reply before STARTTLS: a client may
    /// send its credentials before TLS.
    SubmissionAuthBeforeTls = "submission.auth-before-tls",
    /// PLAIN or LOGIN offered before TLS: the password itself would
    /// cross the network in clear text.
    SubmissionCleartextPassword = "submission.cleartext-password",
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FindingId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        FindingId::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown finding id {id:?}")))
    }
}

/// Who can act on a finding's advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixBy {
    /// The receiving domain's administrator (its MTA, DNS, web server).
    Receiver,
    /// The sending side: whoever runs smtptls, or an MTA delivering to
    /// the domain.
    Sender,
}

impl fmt::Display for FixBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FixBy::Receiver => "receiver",
            FixBy::Sender => "sender",
        })
    }
}

/// The usual fix for a finding, written for the side that can act.
/// Shared by every output (JSON `fix`, the table's `fix:` lines); where
/// each piece of advice comes from is listed in `docs/grading.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    pub by: FixBy,
    pub text: String,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub message: String,
    /// The NCSC-NL level of what was graded (TLS versions, suites, key
    /// exchange, certificate key and signature); null for other checks.
    pub level: Option<NcscLevel>,
    /// The usual fix, when there is one (`report::advice`). Defaults to
    /// none so that reports of earlier versions still read back.
    #[serde(default)]
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn new(id: FindingId, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            id,
            severity,
            message: message.into(),
            level: None,
            fix: None,
        }
    }

    /// A finding for an NCSC-NL level, on the configuration axis: good and
    /// sufficient are `ok`, phase-out and insufficient `warn`. Severity says
    /// what a finding does to the verdict, and what a server merely also
    /// accepts does not change what senders get (`docs/grading.md`); the
    /// level field keeps `insufficient`.
    pub fn leveled(id: FindingId, level: NcscLevel, message: impl Into<String>) -> Self {
        let severity = match level {
            NcscLevel::Good | NcscLevel::Sufficient => Severity::Ok,
            NcscLevel::PhaseOut | NcscLevel::Insufficient => Severity::Warn,
        };
        Finding {
            level: Some(level),
            ..Self::new(id, severity, message)
        }
    }
    pub fn ok(id: FindingId, message: impl Into<String>) -> Self {
        Self::new(id, Severity::Ok, message)
    }
    pub fn info(id: FindingId, message: impl Into<String>) -> Self {
        Self::new(id, Severity::Info, message)
    }
    pub fn warn(id: FindingId, message: impl Into<String>) -> Self {
        Self::new(id, Severity::Warn, message)
    }
    pub fn fail(id: FindingId, message: impl Into<String>) -> Self {
        Self::new(id, Severity::Fail, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports written before advice existed (NDJSON for `--resume` and
    /// `policy --from`) still read, without a fix; a fix reads back.
    #[test]
    fn a_finding_without_fix_reads_as_none() {
        let old: Finding = serde_json::from_str(
            r#"{"id":"cert.expiry","severity":"warn","message":"soon","level":null}"#,
        )
        .expect("finding of an earlier version");
        assert_eq!(old.fix, None);
        let new: Finding = serde_json::from_str(
            r#"{"id":"cert.expiry","severity":"warn","message":"soon","level":null,
                "fix":{"by":"sender","text":"t"}}"#,
        )
        .expect("finding");
        assert_eq!(
            new.fix,
            Some(Fix {
                by: FixBy::Sender,
                text: "t".into()
            })
        );
        assert!(
            serde_json::to_string(&old)
                .expect("JSON")
                .ends_with(r#""fix":null}"#)
        );
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for id in FindingId::ALL {
            assert!(seen.insert(id.as_str()), "duplicate {id}");
            assert_eq!(FindingId::from_id(id.as_str()), Some(*id));
            assert!(
                id.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '-'),
                "{id}"
            );
        }
    }
}
