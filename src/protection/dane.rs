//! DANE for SMTP (RFC 7672, with the TLSA updates of RFC 7671): does the
//! certificate an MX address presented match the domain's TLSA records?
//!
//! This module owns the *evaluation* of a TLSA RRset against a presented
//! chain, and the records we recommend publishing. It is pure logic: the
//! caller (the audit) looks the RRset up at `_25._tcp.<mx host>` and must
//! only pass records whose lookup was DNSSEC-secure — an insecure or bogus
//! RRset has no DANE meaning (RFC 7672 §2.2) and is the resolver's and the
//! inspector's business, not this module's.
//!
//! What an SMTP DANE client does with the records (RFC 7672 §3.1, RFC 7671
//! §5):
//!
//! - Only DANE-TA(2) and DANE-EE(3) are used; PKIX-TA(0) and PKIX-EE(1)
//!   records are unusable for SMTP (RFC 7672 §3.1.3). Records with unknown
//!   usages, selectors or matching types, or with a digest of the wrong
//!   length, are unusable too (RFC 7671 §4.1, RFC 6698 §2.1).
//! - DANE-EE(3) matches the server's own certificate or key only. Its names
//!   and validity dates are not checked (RFC 7672 §3.1.1, RFC 7671 §5.1).
//! - DANE-TA(2) matches a trust anchor among the issuer certificates the
//!   server sent (RFC 7671 §5.2.2: the server must send it; a `2 0 0` record
//!   carries the whole certificate, so it may serve as the anchor even when
//!   not sent). The server certificate must then chain to that anchor, with
//!   dates checked, and carry a name matching one of the reference
//!   identifiers: the MX host name and the recipient domain (RFC 7672
//!   §3.1.2, §3.2.2).
//! - If at least one record is usable, a matching certificate is mandatory;
//!   if the RRset has no usable record, a DANE sender still requires TLS but
//!   does not authenticate the server (RFC 7672 §2.2).
//!
//! Chain building, signatures, dates and names are checked by rustls'
//! webpki verifier with the single aws-lc-rs provider
//! ([`crate::crypto::provider`]), as for the PKIX grading in
//! `inspector::certificate`.

use std::fmt;

use aws_lc_rs::digest;
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, Error as TlsError, RootCertStore};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Certificate usage PKIX-TA(0) (RFC 7218 names).
pub const PKIX_TA: u8 = 0;
/// Certificate usage PKIX-EE(1).
pub const PKIX_EE: u8 = 1;
/// Certificate usage DANE-TA(2): a trust anchor of the server's chain.
pub const DANE_TA: u8 = 2;
/// Certificate usage DANE-EE(3): the server's own certificate or key.
pub const DANE_EE: u8 = 3;
/// Selector Cert(0): the whole certificate, DER.
pub const SELECTOR_CERT: u8 = 0;
/// Selector SPKI(1): the SubjectPublicKeyInfo, DER.
pub const SELECTOR_SPKI: u8 = 1;
/// Matching type Full(0): the selected bytes themselves.
pub const MATCHING_FULL: u8 = 0;
/// Matching type SHA2-256(1).
pub const MATCHING_SHA256: u8 = 1;
/// Matching type SHA2-512(2).
pub const MATCHING_SHA512: u8 = 2;

/// The record as the resolver returns it; what it means for SMTP is here.
pub use crate::resolver::Tlsa;

impl Tlsa {
    /// Why an SMTP DANE client cannot use this record, or `None` if it can.
    pub fn unusable(&self) -> Option<Unusable> {
        match self.usage {
            PKIX_TA | PKIX_EE => return Some(Unusable::PkixUsage(self.usage)),
            DANE_TA | DANE_EE => {}
            other => return Some(Unusable::UnknownUsage(other)),
        }
        if !matches!(self.selector, SELECTOR_CERT | SELECTOR_SPKI) {
            return Some(Unusable::UnknownSelector(self.selector));
        }
        let expected = match self.matching {
            MATCHING_FULL => None,
            MATCHING_SHA256 => Some(32),
            MATCHING_SHA512 => Some(64),
            other => return Some(Unusable::UnknownMatching(other)),
        };
        match expected {
            Some(expected) if self.data.len() != expected => Some(Unusable::BadDigestLength {
                expected,
                got: self.data.len(),
            }),
            _ => None,
        }
    }

    /// The three parameters, e.g. `3 1 1`, for messages.
    pub fn params(&self) -> String {
        format!("{} {} {}", self.usage, self.selector, self.matching)
    }

    /// Does `cert` (DER) match this record's selector and matching type?
    /// `false` for an unusable record or an unparseable certificate.
    fn matches_cert(&self, cert: &[u8]) -> bool {
        match self.selector {
            SELECTOR_CERT => self.matches_bytes(cert),
            SELECTOR_SPKI => X509Certificate::from_der(cert)
                .is_ok_and(|(_, x509)| self.matches_bytes(x509.public_key().raw)),
            _ => false,
        }
    }

    /// Compares the selected bytes under this record's matching type.
    fn matches_bytes(&self, selected: &[u8]) -> bool {
        match self.matching {
            MATCHING_FULL => selected == self.data.as_slice(),
            MATCHING_SHA256 => digest::digest(&digest::SHA256, selected).as_ref() == self.data,
            MATCHING_SHA512 => digest::digest(&digest::SHA512, selected).as_ref() == self.data,
            _ => false,
        }
    }
}

/// Presentation format, `3 1 1 <hex>` (RFC 6698 §2.2), lower-case hex.
impl fmt::Display for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.params())?;
        for b in &self.data {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Why a record cannot be used by an SMTP DANE client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// PKIX-TA(0) or PKIX-EE(1): SMTP clients have no PKIX trust store to
    /// combine them with (RFC 7672 §3.1.3).
    #[error("certificate usage {0} (PKIX-TA/PKIX-EE) is not used for SMTP (RFC 7672 §3.1.3)")]
    PkixUsage(u8),
    #[error("unknown certificate usage {0}")]
    UnknownUsage(u8),
    #[error("unknown selector {0}")]
    UnknownSelector(u8),
    #[error("unknown matching type {0}")]
    UnknownMatching(u8),
    /// SHA2-256 data must be 32 bytes, SHA2-512 data 64.
    #[error("the digest is {got} bytes long but the matching type needs {expected}")]
    BadDigestLength { expected: usize, got: usize },
}

/// What one record made of the presented chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Ignored by SMTP DANE clients; never a match.
    Unusable(Unusable),
    /// The record authenticates the server.
    Matches,
    /// Usable, but matched nothing the server presented.
    NoMatch,
    /// DANE-TA(2) matched a certificate, but the server certificate does not
    /// chain to it or is not valid for any reference name; says which.
    TaMatchedButChainFails(String),
    /// Ignored: a stronger digest (this matching type) is published for the
    /// same usage and selector, and clients use only the strongest (RFC 7671
    /// §9, digest algorithm agility; Postfix's `tls_dane_digests`).
    Superseded(u8),
}

impl RecordOutcome {
    /// `true` unless the record is unusable.
    pub fn is_usable(&self) -> bool {
        !matches!(
            self,
            RecordOutcome::Unusable(_) | RecordOutcome::Superseded(_)
        )
    }
}

impl fmt::Display for RecordOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordOutcome::Unusable(why) => write!(f, "unusable: {why}"),
            RecordOutcome::Matches => f.write_str("matches"),
            RecordOutcome::NoMatch => f.write_str("does not match the presented certificates"),
            RecordOutcome::TaMatchedButChainFails(why) => {
                write!(f, "matches a trust anchor, but {why}")
            }
            RecordOutcome::Superseded(by) => write!(
                f,
                "ignored: matching type {by} is published for the same usage and selector, and clients use only the strongest digest"
            ),
        }
    }
}

/// Per-address DANE result, given the (DNSSEC-secure) TLSA RRset and what
/// the server presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaneStatus {
    /// At least one record authenticates the server.
    Valid,
    /// Usable records exist, none authenticates the server: a DANE sender
    /// does not deliver to this address (RFC 7672 §2.2).
    Mismatch,
    /// TLSA present but none usable: a DANE sender falls back to mandatory
    /// unauthenticated TLS (RFC 7672 §2.2).
    Unusable,
}

/// The verdict on one address plus each record's outcome, in RRset order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaneEvaluation {
    pub status: DaneStatus,
    pub records: Vec<(Tlsa, RecordOutcome)>,
    /// Advice when the current key has no spare record to roll over to.
    pub rollover: Option<String>,
}

/// Evaluates a DNSSEC-secure TLSA RRset against the chain an address
/// presented (leaf first, as sent; empty when there was no TLS).
///
/// `reference_names` are the names a DANE-TA(2) server certificate may
/// carry: the MX host name (TLSA base domain) and the recipient domain
/// (RFC 7672 §3.2.2); a trailing dot is ignored. `now` is the time at which
/// DANE-TA(2) chains are checked; DANE-EE(3) ignores it.
///
/// An empty `records` slice yields [`DaneStatus::Unusable`]; a caller with no
/// TLSA RRset has no DANE to evaluate.
pub fn evaluate(
    records: &[Tlsa],
    chain: &[CertificateDer<'_>],
    reference_names: &[&str],
    now: OffsetDateTime,
) -> DaneEvaluation {
    let outcomes: Vec<(Tlsa, RecordOutcome)> = records
        .iter()
        .map(|r| {
            let outcome = match strongest_digest(records, r) {
                Some(best) if best != r.matching => RecordOutcome::Superseded(best),
                _ => evaluate_record(r, chain, reference_names, now),
            };
            (r.clone(), outcome)
        })
        .collect();
    let status = if outcomes.iter().any(|(_, o)| *o == RecordOutcome::Matches) {
        DaneStatus::Valid
    } else if outcomes.iter().any(|(_, o)| o.is_usable()) {
        DaneStatus::Mismatch
    } else {
        DaneStatus::Unusable
    };
    let rollover = if status == DaneStatus::Valid {
        rollover_advice(&outcomes)
    } else {
        None
    };
    DaneEvaluation {
        status,
        records: outcomes,
        rollover,
    }
}

/// The strongest digest matching type published among the usable records
/// that share `record`'s usage and selector: SHA2-512 (2) over SHA2-256
/// (1). `None` for unusable and full-data (0) records, which digest
/// agility (RFC 7671 §9) does not touch.
fn strongest_digest(records: &[Tlsa], record: &Tlsa) -> Option<u8> {
    if record.unusable().is_some() || record.matching == MATCHING_FULL {
        return None;
    }
    records
        .iter()
        .filter(|r| r.usage == record.usage && r.selector == record.selector)
        .filter(|r| r.unusable().is_none() && r.matching != MATCHING_FULL)
        .map(|r| r.matching)
        .max_by_key(|m| if *m == MATCHING_SHA512 { 2 } else { 1 })
}

fn evaluate_record(
    record: &Tlsa,
    chain: &[CertificateDer<'_>],
    reference_names: &[&str],
    now: OffsetDateTime,
) -> RecordOutcome {
    if let Some(why) = record.unusable() {
        return RecordOutcome::Unusable(why);
    }
    let Some(leaf) = chain.first() else {
        return RecordOutcome::NoMatch;
    };
    if record.usage == DANE_EE {
        // RFC 7672 §3.1.1: the key (or certificate) is the identity; names
        // and dates do not matter.
        return if record.matches_cert(leaf.as_ref()) {
            RecordOutcome::Matches
        } else {
            RecordOutcome::NoMatch
        };
    }
    // DANE-TA(2): candidate anchors are the issuer certificates sent that
    // match, plus the record itself when it is a full certificate (RFC 7671
    // §5.2.2); that one counts as a match only if the server's chain leads
    // to it.
    let mut anchors: Vec<(CertificateDer<'_>, bool)> = chain[1..]
        .iter()
        .filter(|c| record.matches_cert(c.as_ref()))
        .map(|c| (c.clone(), true))
        .collect();
    if record.selector == SELECTOR_CERT
        && record.matching == MATCHING_FULL
        && !anchors
            .iter()
            .any(|(a, _)| a.as_ref() == record.data.as_slice())
    {
        anchors.push((CertificateDer::from(record.data.as_slice()), false));
    }
    let mut failures: Vec<String> = Vec::new();
    for (anchor, sent) in &anchors {
        match verify_ta(leaf, anchor, &chain[1..], reference_names, now) {
            Ok(()) => return RecordOutcome::Matches,
            Err(TaFailure::NotACertificate | TaFailure::NotTheIssuer(_)) if !sent => {}
            Err(TaFailure::NotACertificate) => {
                let why = format!(
                    "the matched certificate ({}) cannot be used as a trust anchor",
                    subject(anchor)
                );
                if !failures.contains(&why) {
                    failures.push(why);
                }
            }
            Err(TaFailure::NotTheIssuer(why) | TaFailure::Other(why)) => {
                if !failures.contains(&why) {
                    failures.push(why);
                }
            }
        }
    }
    if failures.is_empty() {
        RecordOutcome::NoMatch
    } else {
        RecordOutcome::TaMatchedButChainFails(failures.join("; "))
    }
}

/// Why a candidate trust anchor did not authenticate the server.
enum TaFailure {
    /// The anchor bytes are not a certificate webpki accepts as an anchor.
    NotACertificate,
    /// The server certificate's chain does not lead to the anchor.
    NotTheIssuer(String),
    /// Dates, signatures, names…
    Other(String),
}

/// The server certificate must chain to `anchor` (dates and signatures
/// checked) and be valid for one of the reference names.
fn verify_ta(
    leaf: &CertificateDer<'_>,
    anchor: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    reference_names: &[&str],
    now: OffsetDateTime,
) -> Result<(), TaFailure> {
    let mut roots = RootCertStore::empty();
    roots
        .add(anchor.clone())
        .map_err(|_| TaFailure::NotACertificate)?;
    let parsed = ParsedCertificate::try_from(leaf)
        .map_err(|e| TaFailure::Other(format!("the server certificate cannot be parsed: {e}")))?;
    let unix = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now.unix_timestamp()).unwrap_or(0),
    ));
    let algs = crate::crypto::provider().signature_verification_algorithms;
    verify_server_cert_signed_by_trust_anchor(&parsed, &roots, intermediates, unix, algs.all)
        .map_err(|e| {
            let anchor_name = subject(anchor);
            match e {
                // No path to the anchor's name, or the anchor's key did not
                // sign what names it as issuer (e.g. a re-keyed CA).
                TlsError::InvalidCertificate(CertificateError::UnknownIssuer) => {
                    TaFailure::NotTheIssuer(format!(
                        "the server certificate does not chain to it ({anchor_name})"
                    ))
                }
                TlsError::InvalidCertificate(CertificateError::BadSignature) => {
                    TaFailure::NotTheIssuer(format!(
                        "the server certificate does not chain to it ({anchor_name}): \
                         a signature does not verify with its key"
                    ))
                }
                TlsError::InvalidCertificate(c) => TaFailure::Other(format!(
                    "the chain to it ({anchor_name}) does not verify: {c}"
                )),
                other => TaFailure::Other(format!(
                    "the chain to it ({anchor_name}) does not verify: {other}"
                )),
            }
        })?;
    let mut presented: Vec<String> = Vec::new();
    let mut tried: Vec<&str> = Vec::new();
    for name in reference_names {
        let name = name.trim_end_matches('.');
        let Ok(server_name) = ServerName::try_from(name) else {
            continue;
        };
        tried.push(name);
        match verify_server_name(&parsed, &server_name) {
            Ok(()) => return Ok(()),
            Err(TlsError::InvalidCertificate(CertificateError::NotValidForNameContext {
                presented: p,
                ..
            })) => presented = p,
            Err(_) => {}
        }
    }
    let names = if presented.is_empty() {
        "no usable DNS name".to_string()
    } else {
        presented.join(", ")
    };
    Err(TaFailure::Other(if tried.is_empty() {
        "there is no valid reference name to check the server certificate against".to_string()
    } else {
        format!(
            "the server certificate names {names}, not {} (RFC 7672 §3.2.2)",
            tried.join(" or ")
        )
    }))
}

fn subject(der: &CertificateDer<'_>) -> String {
    X509Certificate::from_der(der.as_ref())
        .map(|(_, x)| x.subject().to_string())
        .unwrap_or_else(|_| "unparseable certificate".to_string())
}

/// Advice when the RRset leaves no spare for a key change: a single usable
/// record, or only DANE-EE(3) records that all match the current key
/// (RFC 7671 §8, RFC 7672 §3.1: publish the next key's record first).
fn rollover_advice(outcomes: &[(Tlsa, RecordOutcome)]) -> Option<String> {
    let usable: Vec<&(Tlsa, RecordOutcome)> =
        outcomes.iter().filter(|(_, o)| o.is_usable()).collect();
    let all_ee_current = usable
        .iter()
        .all(|(t, o)| t.usage == DANE_EE && *o == RecordOutcome::Matches);
    let [(first, _), rest @ ..] = usable.as_slice() else {
        return None;
    };
    if !rest.is_empty() && !all_ee_current {
        return None;
    }
    let what = if rest.is_empty() {
        format!("only one usable TLSA record ({})", first.params())
    } else {
        let mut params: Vec<String> = usable.iter().map(|(t, _)| t.params()).collect();
        params.sort();
        params.dedup();
        format!(
            "all usable TLSA records ({}) are for the same server key",
            params.join(", ")
        )
    };
    Some(if first.usage == DANE_TA {
        format!(
            "{what} and it matches the current trust anchor: publish a second record before \
             that CA or its key changes (e.g. 2 1 1 for the next issuer, or 3 1 1 for the server's own key)"
        )
    } else if rest.is_empty() {
        format!(
            "{what} and it matches the current key: publish a second record for the next key \
             before rolling it over (e.g. 3 1 1 for the new key, or 2 1 1 for the issuing CA)"
        )
    } else {
        format!(
            "{what}: publish a record for the next key before rolling it over \
             (e.g. 3 1 1 for the new key, or 2 1 1 for the issuing CA)"
        )
    })
}

/// Recommended records for a chain (leaf first): `3 1 1` for the server's
/// key and, when the issuer was sent, `2 1 1` for the issuing CA's key —
/// the pair RFC 7671 §8 and RFC 7672 §3.1 suggest, so that either the
/// server key or the CA can change without an outage. Used for advice and
/// future policy generation. Empty for an empty chain.
pub fn suggest(chain: &[CertificateDer<'_>]) -> Vec<Tlsa> {
    let Some(leaf) = chain.first() else {
        return Vec::new();
    };
    let Ok((_, leaf_x509)) = X509Certificate::from_der(leaf.as_ref()) else {
        // Without a parseable certificate there is no SPKI to pin; the
        // certificate digest still identifies it.
        return vec![sha256_record(DANE_EE, SELECTOR_CERT, leaf.as_ref())];
    };
    let mut out = vec![sha256_record(
        DANE_EE,
        SELECTOR_SPKI,
        leaf_x509.public_key().raw,
    )];
    let issuer = chain[1..].iter().find_map(|c| {
        let (_, x) = X509Certificate::from_der(c.as_ref()).ok()?;
        let is_issuer = x.subject().as_raw() == leaf_x509.issuer().as_raw()
            && x.subject().as_raw() != leaf_x509.subject().as_raw();
        is_issuer.then(|| x.public_key().raw.to_vec())
    });
    if let Some(spki) = issuer {
        out.push(sha256_record(DANE_TA, SELECTOR_SPKI, &spki));
    }
    out
}

fn sha256_record(usage: u8, selector: u8, bytes: &[u8]) -> Tlsa {
    Tlsa {
        usage,
        selector,
        matching: MATCHING_SHA256,
        data: digest::digest(&digest::SHA256, bytes).as_ref().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

    const MX: &str = "mx.unit.test";
    const DOMAIN: &str = "unit.test";

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn ca_params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p
    }

    fn leaf_params(name: &str) -> CertificateParams {
        let mut p = CertificateParams::new(vec![name.to_string()]).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, name);
        p
    }

    /// Certificates of a test PKI, all DER.
    struct Pki {
        root: CertificateDer<'static>,
        intermediate: Option<CertificateDer<'static>>,
        leaf: CertificateDer<'static>,
    }

    impl Pki {
        /// The chain a server sends: leaf, then the intermediate if any.
        fn sent(&self) -> Vec<CertificateDer<'static>> {
            let mut v = vec![self.leaf.clone()];
            v.extend(self.intermediate.clone());
            v
        }
    }

    /// root → leaf.
    fn root_leaf(leaf: CertificateParams) -> Pki {
        let root = CertifiedIssuer::self_signed(
            ca_params("dane unit root"),
            KeyPair::generate().expect("key"),
        )
        .expect("root");
        let leaf = leaf
            .signed_by(&KeyPair::generate().expect("key"), &root)
            .expect("leaf");
        Pki {
            root: root.der().clone(),
            intermediate: None,
            leaf: leaf.der().clone(),
        }
    }

    /// root → intermediate → leaf.
    fn root_int_leaf(leaf: CertificateParams) -> Pki {
        let root = CertifiedIssuer::self_signed(
            ca_params("dane unit root"),
            KeyPair::generate().expect("key"),
        )
        .expect("root");
        let int = CertifiedIssuer::signed_by(
            ca_params("dane unit intermediate"),
            KeyPair::generate().expect("key"),
            &root,
        )
        .expect("intermediate");
        let leaf = leaf
            .signed_by(&KeyPair::generate().expect("key"), &int)
            .expect("leaf");
        Pki {
            root: root.der().clone(),
            intermediate: Some(int.der().clone()),
            leaf: leaf.der().clone(),
        }
    }

    /// A self-signed CA certificate that issued nothing here.
    fn other_root(cn: &str) -> CertificateDer<'static> {
        CertifiedIssuer::self_signed(ca_params(cn), KeyPair::generate().expect("key"))
            .expect("root")
            .der()
            .clone()
    }

    fn spki(der: &CertificateDer<'_>) -> Vec<u8> {
        let (_, x) = X509Certificate::from_der(der.as_ref()).expect("parse");
        x.public_key().raw.to_vec()
    }

    fn record(usage: u8, selector: u8, matching: u8, cert: &CertificateDer<'_>) -> Tlsa {
        let selected = if selector == SELECTOR_SPKI {
            spki(cert)
        } else {
            cert.as_ref().to_vec()
        };
        let data = match matching {
            MATCHING_SHA256 => digest::digest(&digest::SHA256, &selected).as_ref().to_vec(),
            MATCHING_SHA512 => digest::digest(&digest::SHA512, &selected).as_ref().to_vec(),
            _ => selected,
        };
        Tlsa {
            usage,
            selector,
            matching,
            data,
        }
    }

    fn eval(records: &[Tlsa], chain: &[CertificateDer<'_>]) -> DaneEvaluation {
        evaluate(records, chain, &[MX, DOMAIN], now())
    }

    #[test]
    fn dane_ee_all_selector_and_matching_combinations_match() {
        let pki = root_leaf(leaf_params(MX));
        for (s, m) in [(1, 1), (0, 1), (1, 0), (1, 2), (0, 0), (0, 2)] {
            let r = record(DANE_EE, s, m, &pki.leaf);
            let e = eval(std::slice::from_ref(&r), &pki.sent());
            assert_eq!(e.status, DaneStatus::Valid, "3 {s} {m}: {e:?}");
            assert_eq!(e.records, vec![(r, RecordOutcome::Matches)]);
        }
    }

    #[test]
    fn only_the_strongest_digest_counts_per_usage_and_selector() {
        let pki = root_leaf(leaf_params(MX));
        let good_256 = record(DANE_EE, 1, 1, &pki.leaf);
        let good_512 = record(DANE_EE, 1, 2, &pki.leaf);
        let mut stale_512 = good_512.clone();
        stale_512.data[0] ^= 0xff;
        let mut stale_256 = good_256.clone();
        stale_256.data[0] ^= 0xff;

        // A stale SHA-512 record hides a correct SHA-256 one (RFC 7671 §9):
        // Postfix would defer, so must we.
        let e = eval(&[good_256.clone(), stale_512.clone()], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch, "{e:?}");
        assert_eq!(e.records[0].1, RecordOutcome::Superseded(MATCHING_SHA512));
        assert_eq!(e.records[1].1, RecordOutcome::NoMatch);

        // The other way round is fine.
        let e = eval(&[stale_256, good_512], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid);

        // Another selector is another group; full data is never superseded.
        let mut stale_spki = good_256.clone();
        stale_spki.data[0] ^= 0xff;
        let cert_512 = record(DANE_EE, 0, 2, &pki.leaf);
        let e = eval(&[stale_spki, cert_512], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid);
        let full = record(DANE_EE, 1, 0, &pki.leaf);
        let e = eval(&[full, stale_512], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid);
    }

    #[test]
    fn dane_ee_wrong_digest_is_a_mismatch() {
        let pki = root_leaf(leaf_params(MX));
        let mut r = record(DANE_EE, 1, 1, &pki.leaf);
        r.data[0] ^= 0xff;
        let e = eval(&[r], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch);
        assert_eq!(e.records[0].1, RecordOutcome::NoMatch);
        assert_eq!(e.rollover, None);
    }

    #[test]
    fn dane_ee_ignores_names_and_dates() {
        let mut params = leaf_params("somewhere.else.test");
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let pki = root_leaf(params);
        let e = eval(&[record(DANE_EE, 1, 1, &pki.leaf)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid, "{e:?}");
    }

    #[test]
    fn dane_ee_does_not_match_an_issuer() {
        let pki = root_int_leaf(leaf_params(MX));
        let int = pki.intermediate.clone().expect("intermediate");
        let e = eval(&[record(DANE_EE, 1, 1, &int)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch);
    }

    #[test]
    fn dane_ta_matching_the_intermediate_with_the_right_name_is_valid() {
        let pki = root_int_leaf(leaf_params(MX));
        let int = pki.intermediate.clone().expect("intermediate");
        let e = eval(&[record(DANE_TA, 1, 1, &int)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid, "{e:?}");
    }

    #[test]
    fn dane_ta_matching_a_sent_root_is_valid() {
        let pki = root_int_leaf(leaf_params(MX));
        let mut sent = pki.sent();
        sent.push(pki.root.clone());
        let e = eval(&[record(DANE_TA, 1, 1, &pki.root)], &sent);
        assert_eq!(e.status, DaneStatus::Valid, "{e:?}");
    }

    #[test]
    fn dane_ta_root_not_sent_does_not_match_by_digest() {
        // RFC 7671 §5.2.2: the server must send the trust anchor; only a
        // full certificate in the record can stand in for it.
        let pki = root_int_leaf(leaf_params(MX));
        let e = eval(&[record(DANE_TA, 1, 1, &pki.root)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch);
        assert_eq!(e.records[0].1, RecordOutcome::NoMatch);
    }

    #[test]
    fn dane_ta_accepts_the_recipient_domain_as_name() {
        let pki = root_leaf(leaf_params(DOMAIN));
        let mut sent = pki.sent();
        sent.push(pki.root.clone());
        let e = eval(&[record(DANE_TA, 1, 1, &pki.root)], &sent);
        assert_eq!(e.status, DaneStatus::Valid, "{e:?}");
    }

    #[test]
    fn dane_ta_with_a_foreign_name_is_a_mismatch() {
        let pki = root_int_leaf(leaf_params("mail.other.test"));
        let int = pki.intermediate.clone().expect("intermediate");
        let e = eval(&[record(DANE_TA, 1, 1, &int)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch);
        let RecordOutcome::TaMatchedButChainFails(why) = &e.records[0].1 else {
            panic!("expected a chain failure: {e:?}");
        };
        assert!(
            why.contains("mail.other.test") && why.contains(MX) && why.contains(DOMAIN),
            "{why}"
        );
    }

    #[test]
    fn dane_ta_with_an_expired_leaf_is_a_mismatch() {
        let mut params = leaf_params(MX);
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let pki = root_int_leaf(params);
        let int = pki.intermediate.clone().expect("intermediate");
        let e = eval(&[record(DANE_TA, 1, 1, &int)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch);
        assert!(
            matches!(&e.records[0].1, RecordOutcome::TaMatchedButChainFails(why) if why.contains("expired")),
            "{e:?}"
        );
    }

    #[test]
    fn dane_ta_matching_an_unrelated_sent_certificate_fails_the_chain() {
        let pki = root_int_leaf(leaf_params(MX));
        for other in [other_root("other unit root"), other_root("dane unit root")] {
            let mut sent = pki.sent();
            sent.push(other.clone());
            let e = eval(&[record(DANE_TA, 1, 1, &other)], &sent);
            assert_eq!(e.status, DaneStatus::Mismatch);
            assert!(
                matches!(&e.records[0].1, RecordOutcome::TaMatchedButChainFails(why) if why.contains("does not chain")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn dane_ta_does_not_match_the_leaf() {
        let pki = root_leaf(leaf_params(MX));
        let e = eval(&[record(DANE_TA, 1, 1, &pki.leaf)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch);
        assert_eq!(e.records[0].1, RecordOutcome::NoMatch);
    }

    #[test]
    fn dane_ta_full_certificate_record_is_an_anchor_when_not_sent() {
        let pki = root_int_leaf(leaf_params(MX));
        let e = eval(&[record(DANE_TA, 0, 0, &pki.root)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid, "{e:?}");
        let pki = root_leaf(leaf_params(MX));
        let e = eval(&[record(DANE_TA, 0, 0, &pki.root)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid, "{e:?}");
    }

    #[test]
    fn dane_ta_full_record_with_garbage_is_no_match() {
        let pki = root_leaf(leaf_params(MX));
        let r = Tlsa {
            usage: DANE_TA,
            selector: 0,
            matching: 0,
            data: vec![0x30, 0x03, 0x01, 0x02, 0x03],
        };
        let e = eval(&[r], &pki.sent());
        assert_eq!(e.status, DaneStatus::Mismatch);
        assert_eq!(e.records[0].1, RecordOutcome::NoMatch);
        // Another root, not sent and not the issuer: no match either, with
        // another name or with the same name and another key.
        for other in [other_root("other unit root"), other_root("dane unit root")] {
            let e = eval(&[record(DANE_TA, 0, 0, &other)], &pki.sent());
            assert_eq!(e.status, DaneStatus::Mismatch);
            assert_eq!(e.records[0].1, RecordOutcome::NoMatch);
        }
    }

    #[test]
    fn pkix_usages_only_are_unusable() {
        let pki = root_leaf(leaf_params(MX));
        let records = [
            record(PKIX_TA, 1, 1, &pki.root),
            record(PKIX_EE, 1, 1, &pki.leaf),
        ];
        let mut sent = pki.sent();
        sent.push(pki.root.clone());
        let e = eval(&records, &sent);
        assert_eq!(e.status, DaneStatus::Unusable);
        assert_eq!(
            e.records[0].1,
            RecordOutcome::Unusable(Unusable::PkixUsage(0))
        );
        assert_eq!(
            e.records[1].1,
            RecordOutcome::Unusable(Unusable::PkixUsage(1))
        );
        assert_eq!(e.rollover, None);
    }

    #[test]
    fn unknown_parameters_are_unusable_and_never_match() {
        let pki = root_leaf(leaf_params(MX));
        let good = record(DANE_EE, 1, 1, &pki.leaf);
        let cases = [
            (
                Tlsa {
                    usage: 4,
                    ..good.clone()
                },
                Unusable::UnknownUsage(4),
            ),
            (
                Tlsa {
                    selector: 2,
                    ..good.clone()
                },
                Unusable::UnknownSelector(2),
            ),
            (
                Tlsa {
                    matching: 3,
                    ..good.clone()
                },
                Unusable::UnknownMatching(3),
            ),
            (
                // A SHA-256 digest labelled SHA-512.
                Tlsa {
                    matching: 2,
                    ..good.clone()
                },
                Unusable::BadDigestLength {
                    expected: 64,
                    got: 32,
                },
            ),
            (
                Tlsa {
                    data: good.data[..31].to_vec(),
                    ..good.clone()
                },
                Unusable::BadDigestLength {
                    expected: 32,
                    got: 31,
                },
            ),
        ];
        for (r, why) in cases {
            let e = eval(std::slice::from_ref(&r), &pki.sent());
            assert_eq!(e.status, DaneStatus::Unusable, "{r}");
            assert_eq!(e.records[0].1, RecordOutcome::Unusable(why));
        }
    }

    #[test]
    fn unusable_records_beside_a_match_leave_it_valid() {
        let pki = root_leaf(leaf_params(MX));
        let good = record(DANE_EE, 1, 1, &pki.leaf);
        let bad = Tlsa {
            matching: 9,
            ..good.clone()
        };
        let e = eval(&[bad, good], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid);
        // Still only one usable record: no spare.
        assert!(e.rollover.is_some());
    }

    #[test]
    fn empty_chain_is_a_mismatch() {
        let pki = root_leaf(leaf_params(MX));
        let e = eval(&[record(DANE_EE, 1, 1, &pki.leaf)], &[]);
        assert_eq!(e.status, DaneStatus::Mismatch);
        assert_eq!(e.records[0].1, RecordOutcome::NoMatch);
        let e = eval(&[record(PKIX_EE, 1, 1, &pki.leaf)], &[]);
        assert_eq!(e.status, DaneStatus::Unusable);
    }

    #[test]
    fn rollover_advice_for_a_single_record_only() {
        let pki = root_int_leaf(leaf_params(MX));
        let int = pki.intermediate.clone().expect("intermediate");
        let ee = record(DANE_EE, 1, 1, &pki.leaf);

        let e = eval(std::slice::from_ref(&ee), &pki.sent());
        let advice = e.rollover.expect("advice");
        assert!(
            advice.contains("only one usable TLSA record (3 1 1)") && advice.contains("2 1 1"),
            "{advice}"
        );

        // 3 1 1 + 2 1 1: either may change.
        let e = eval(&[ee.clone(), record(DANE_TA, 1, 1, &int)], &pki.sent());
        assert_eq!((e.status, e.rollover), (DaneStatus::Valid, None));

        // Current key + a pre-published next key.
        let next = root_leaf(leaf_params(MX));
        let e = eval(
            &[ee.clone(), record(DANE_EE, 1, 1, &next.leaf)],
            &pki.sent(),
        );
        assert_eq!((e.status, e.rollover), (DaneStatus::Valid, None));

        // Two records, both for the current key: still no spare.
        let e = eval(&[ee, record(DANE_EE, 0, 1, &pki.leaf)], &pki.sent());
        assert_eq!(e.status, DaneStatus::Valid);
        assert!(e.rollover.expect("advice").contains("same server key"));

        // A single DANE-TA record.
        let e = eval(&[record(DANE_TA, 1, 1, &int)], &pki.sent());
        assert!(e.rollover.expect("advice").contains("(2 1 1)"));
    }

    #[test]
    fn suggestions_round_trip_as_valid() {
        let pki = root_int_leaf(leaf_params(MX));
        let suggested = suggest(&pki.sent());
        let params: Vec<String> = suggested.iter().map(Tlsa::params).collect();
        assert_eq!(params, ["3 1 1", "2 1 1"]);
        for r in &suggested {
            let e = eval(std::slice::from_ref(r), &pki.sent());
            assert_eq!(e.status, DaneStatus::Valid, "{r}: {e:?}");
        }
        let e = eval(&suggested, &pki.sent());
        assert_eq!((e.status, e.rollover), (DaneStatus::Valid, None));

        // No issuer sent: only the server key.
        let pki = root_leaf(leaf_params(MX));
        let suggested = suggest(&pki.sent());
        assert_eq!(suggested.len(), 1);
        assert_eq!(eval(&suggested, &pki.sent()).status, DaneStatus::Valid);
        assert!(suggest(&[]).is_empty());
    }

    #[test]
    fn presentation_format() {
        let r = Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![0x0a, 0xbc, 0xff],
        };
        assert_eq!(r.to_string(), "3 1 1 0abcff");
        assert_eq!(r.params(), "3 1 1");
    }
}
