//! Certificates: what the leaf says (x509-parser), whether the chain leads to
//! a trusted root and whether it names the MX host (rustls/webpki, checked
//! separately so a name mismatch is never hidden behind a chain error).

use std::net::IpAddr;

use ::time::OffsetDateTime;
use ::time::format_description::well_known::Rfc3339;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, Error as TlsError};
use x509_parser::prelude::*;

use crate::crypto::sha256_hex;
use crate::options::TrustStore;

use crate::prober::tls::KeyFamily;
use crate::vocabulary::{Finding, FindingId, NcscLevel, Severity};

/// The leaf's facts plus both trust checks. `chain` is leaf first, as sent.
pub fn grade(
    chain: &[CertificateDer<'static>],
    host: &str,
    trust: &TrustStore,
    now: OffsetDateTime,
) -> Option<(Certificate, Option<String>, Option<String>)> {
    let leaf = chain.first()?;
    let (_, x509) = X509Certificate::from_der(leaf.as_ref()).ok()?;
    let facts = facts(leaf, &x509, now);
    let (chain_error, chain_msg) = match verify_chain(chain, trust, now) {
        Ok(()) => (None, None),
        Err((kind, msg)) => (Some(kind), Some(msg)),
    };
    let name_msg = verify_name(leaf, host).err();
    let report = Certificate {
        chain_length: chain.len(),
        chain_valid: chain_error.is_none(),
        chain_error,
        hostname_match: name_msg.is_none(),
        ..facts
    };
    Some((report, chain_msg, name_msg))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn facts(der: &CertificateDer<'_>, x509: &X509Certificate<'_>, now: OffsetDateTime) -> Certificate {
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = x509.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push(d.to_string()),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        sans.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let not_after = x509.validity().not_after.to_datetime();
    let not_before = x509.validity().not_before.to_datetime();
    let days_left = (not_after - now).whole_days();
    let registry = x509_parser::objects::oid_registry();
    let sig_oid = &x509.signature_algorithm.algorithm;
    let signature_algorithm = x509_parser::objects::oid2sn(sig_oid, registry)
        .map(str::to_string)
        .unwrap_or_else(|_| sig_oid.to_id_string());
    Certificate {
        subject: x509.subject().to_string(),
        issuer: x509.issuer().to_string(),
        subject_alt_names: sans,
        serial: x509.raw_serial_as_string(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left,
        not_yet_valid: not_before > now,
        key: key_info(x509),
        signature_algorithm,
        sha256: sha256_hex(der.as_ref()),
        spki_sha256: sha256_hex(x509.public_key().raw),
        chain_length: 0,
        chain_valid: false,
        chain_error: None,
        hostname_match: false,
        must_staple: super::ocsp::must_staple(x509),
    }
}

fn key_info(x509: &X509Certificate<'_>) -> KeyInfo {
    use x509_parser::oid_registry::*;
    let spki = x509.public_key();
    let alg = &spki.algorithm.algorithm;
    let registry = x509_parser::objects::oid_registry();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|oid| {
            x509_parser::objects::oid2sn(&oid, registry)
                .map(str::to_string)
                .unwrap_or_else(|_| oid.to_id_string())
        });
    let parsed = spki.parsed();
    let (kind, bits, curve) = if *alg == OID_PKCS1_RSAENCRYPTION {
        ("RSA".to_string(), rsa_bits(&parsed), None)
    } else if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        // The curve says the size; x509-parser's point-length estimate
        // rounds P-521 up to 528.
        let bits = match curve.as_deref() {
            Some("prime256v1" | "secp256r1") => 256,
            Some("secp384r1") => 384,
            Some("secp521r1") => 521,
            _ => parsed.as_ref().map_or(0, |k| k.key_size()),
        };
        ("EC".to_string(), bits, curve)
    } else if *alg == OID_SIG_ED25519 {
        // x509-parser reports size 0 for Ed25519; the OID fixes it.
        ("Ed25519".to_string(), 256, None)
    } else if *alg == OID_SIG_ED448 {
        ("Ed448".to_string(), 456, None)
    } else if *alg == OID_KEY_TYPE_DSA {
        (
            "DSA".to_string(),
            parsed.as_ref().map_or(0, |k| k.key_size()),
            None,
        )
    } else {
        (alg.to_id_string(), 0, None)
    };
    KeyInfo { kind, bits, curve }
}

/// RSA modulus size in bits, leading zero octets not counted.
fn rsa_bits(parsed: &Result<x509_parser::public_key::PublicKey<'_>, X509Error>) -> usize {
    match parsed {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            let modulus = rsa.modulus;
            let first = modulus
                .iter()
                .position(|&b| b != 0)
                .unwrap_or(modulus.len());
            let significant = &modulus[first..];
            match significant.first() {
                Some(&top) => significant.len() * 8 - top.leading_zeros() as usize,
                None => 0,
            }
        }
        _ => 0,
    }
}

/// Validates the chain against the trust store; on failure, says why in
/// the terms an admin fixes it by ("send the intermediate", "renew").
fn verify_chain(
    chain: &[CertificateDer<'static>],
    trust: &TrustStore,
    now: OffsetDateTime,
) -> Result<(), (ChainError, String)> {
    let Some(leaf) = chain.first() else {
        return Err((ChainError::Malformed, "no certificate".into()));
    };
    let parsed = ParsedCertificate::try_from(leaf).map_err(|e| {
        (
            ChainError::Malformed,
            format!("unparseable certificate: {e}"),
        )
    })?;
    let unix = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now.unix_timestamp()).unwrap_or(0),
    ));
    let algs = crate::crypto::provider().signature_verification_algorithms;
    let result = rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        trust.roots(),
        &chain[1..],
        unix,
        algs.all,
    );
    match result {
        Ok(()) => Ok(()),
        Err(TlsError::InvalidCertificate(e)) => Err(classify(&e, chain)),
        Err(other) => Err((ChainError::Other, other.to_string())),
    }
}

fn classify(err: &CertificateError, chain: &[CertificateDer<'static>]) -> (ChainError, String) {
    match err {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
            ChainError::Expired,
            "a certificate in the chain has expired".into(),
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
            ChainError::NotYetValid,
            "a certificate in the chain is not valid yet".into(),
        ),
        CertificateError::UnknownIssuer => unknown_issuer(chain),
        CertificateError::BadSignature => (
            ChainError::BadSignature,
            "a signature in the chain does not verify".into(),
        ),
        #[allow(deprecated)]
        CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => (
            ChainError::UnsupportedAlgorithm,
            "the chain uses a signature algorithm that is not accepted (e.g. SHA-1)".into(),
        ),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => (
            ChainError::InvalidPurpose,
            "the certificate is not valid for TLS server authentication".into(),
        ),
        other => match self_issued_leaf(chain) {
            // `openssl req -x509` marks its certificates CA:TRUE, so the
            // most common self-signed server certificate fails webpki as
            // "CA used as end entity" before any issuer lookup: still
            // self-signed to an admin (found against Postfix in the
            // interop suite).
            Some(subject) => (
                ChainError::SelfSigned,
                format!("self-signed certificate ({subject}), itself marked as a CA: {other:?}"),
            ),
            None => (ChainError::Other, format!("{other:?}")),
        },
    }
}

/// The subject of a chain that is one self-issued certificate.
fn self_issued_leaf(chain: &[CertificateDer<'static>]) -> Option<String> {
    let [leaf] = chain else { return None };
    let (_, x) = X509Certificate::from_der(leaf.as_ref()).ok()?;
    (x.subject() == x.issuer()).then(|| x.subject().to_string())
}

/// webpki says only "unknown issuer"; the chain as sent tells us which of
/// three very different problems it is.
fn unknown_issuer(chain: &[CertificateDer<'static>]) -> (ChainError, String) {
    let names: Vec<(String, String)> = chain
        .iter()
        .filter_map(|c| X509Certificate::from_der(c.as_ref()).ok())
        .map(|(_, x)| (x.subject().to_string(), x.issuer().to_string()))
        .collect();
    let Some((leaf_subject, leaf_issuer)) = names.first() else {
        return (
            ChainError::UnknownIssuer,
            "the chain does not lead to a trusted root".into(),
        );
    };
    if leaf_subject == leaf_issuer && names.len() == 1 {
        return (
            ChainError::SelfSigned,
            format!("self-signed certificate ({leaf_subject})"),
        );
    }
    // Follow issuer names through what was sent, to the last certificate
    // we have; what it names as issuer is what is missing.
    let mut current = 0;
    let mut seen = vec![false; names.len()];
    loop {
        seen[current] = true;
        let (subject, issuer) = &names[current];
        if subject == issuer {
            return (
                ChainError::UnknownIssuer,
                format!("the chain ends at a root that is not trusted ({subject})"),
            );
        }
        match names.iter().position(|(s, _)| s == issuer) {
            Some(next) if !seen[next] => current = next,
            _ if current == 0 => {
                return (
                    ChainError::IncompleteChain,
                    format!(
                        "incomplete chain: the server did not send the intermediate certificate for issuer {issuer}, and it is not a trusted root"
                    ),
                );
            }
            _ => {
                return (
                    ChainError::UnknownIssuer,
                    format!("the chain leads to an issuer that is not trusted ({issuer})"),
                );
            }
        }
    }
}

/// RFC 6125 name check of the leaf against the MX host, by webpki.
fn verify_name(leaf: &CertificateDer<'static>, host: &str) -> Result<(), String> {
    let parsed =
        ParsedCertificate::try_from(leaf).map_err(|e| format!("unparseable certificate: {e}"))?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("{host:?} is not a valid server name"))?;
    match rustls::client::verify_server_name(&parsed, &name) {
        Ok(()) => Ok(()),
        Err(TlsError::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        })) => Err(format!(
            "certificate names {} but not {host}",
            if presented.is_empty() {
                "nothing usable".to_string()
            } else {
                presented.join(", ")
            }
        )),
        Err(TlsError::InvalidCertificate(CertificateError::NotValidForName)) => {
            Err(format!("certificate is not valid for {host}"))
        }
        Err(e) => Err(format!("name check failed: {e}")),
    }
}

/// The certificate's findings: chain, name, dates, key and signature (the
/// last two with their NCSC-NL levels).
pub fn findings(
    cert: &Certificate,
    chain_msg: Option<String>,
    name_msg: Option<String>,
    host: &str,
    settings: &super::InspectSettings,
    findings: &mut Vec<Finding>,
) {
    findings.push(match chain_msg {
        None => Finding::ok(
            FindingId::CertChainValid,
            format!("chain of {} validates to a trusted root", cert.chain_length),
        ),
        Some(msg) => Finding::fail(FindingId::CertChainValid, msg),
    });
    findings.push(match name_msg {
        None => Finding::ok(
            FindingId::CertHostname,
            format!("certificate is valid for {host}"),
        ),
        Some(msg) => Finding::fail(FindingId::CertHostname, msg),
    });
    findings.push(expiry_finding(cert, settings));
    findings.push(key_finding(&cert.key));
    findings.push(signature_finding(&cert.signature_algorithm));
}

/// `cert.other-certificate`: the certificate of the other key type
/// (`family`), graded like the main one, said in one finding. `warn` when
/// its chain or name fails, it has expired or expires within the warning,
/// or its key is too weak: senders that negotiate that key type get it,
/// and verifying and MTA-STS ones among them refuse it; `ok` otherwise.
pub fn other_finding(
    family: KeyFamily,
    cert: &Certificate,
    chain_msg: Option<String>,
    name_msg: Option<String>,
    host: &str,
    settings: &super::InspectSettings,
) -> Finding {
    let name = family.as_str();
    let mut refused = Vec::new();
    refused.extend(chain_msg);
    refused.extend(name_msg);
    let mut problems = refused.clone();
    let expiry = expiry_finding(cert, settings);
    // An expired leaf is already a chain failure; the date adds nothing.
    if expiry.severity == Severity::Warn {
        problems.push(expiry.message);
    }
    let key = key_finding(&cert.key);
    if key.level == Some(NcscLevel::Insufficient) {
        problems.push(key.message);
    }
    if problems.is_empty() {
        return Finding::ok(
            FindingId::CertOtherCertificate,
            format!(
                "the {name} certificate (served to senders that negotiate {name}) validates and names {host}; it expires in {} days",
                cert.days_left
            ),
        );
    }
    let consequence = if refused.is_empty() {
        String::new()
    } else {
        format!(": verifying and MTA-STS senders that negotiate {name} refuse it")
    };
    Finding::warn(
        FindingId::CertOtherCertificate,
        format!(
            "the {name} certificate (served to senders that negotiate {name}): {}{consequence}",
            problems.join("; ")
        ),
    )
}

/// `cert.expiry`: not yet valid, expired, expiring within the warning, or fine.
fn expiry_finding(cert: &Certificate, settings: &super::InspectSettings) -> Finding {
    // webpki's not-yet-valid may be an intermediate's: only the leaf's
    // own date makes this finding about the leaf.
    if cert.chain_error == Some(ChainError::NotYetValid) && cert.not_yet_valid {
        Finding::fail(
            FindingId::CertExpiry,
            format!("certificate is not valid before {}", cert.not_before),
        )
    } else if cert.days_left < 0
        || cert.chain_error == Some(ChainError::Expired) && cert.days_left <= 0
    {
        Finding::fail(
            FindingId::CertExpiry,
            format!("certificate expired on {}", cert.not_after),
        )
    } else if cert.days_left < i64::from(settings.expiry_warn_days) {
        Finding::warn(
            FindingId::CertExpiry,
            format!(
                "certificate expires in {} days ({})",
                cert.days_left, cert.not_after
            ),
        )
    } else {
        Finding::ok(
            FindingId::CertExpiry,
            format!(
                "certificate expires in {} days ({})",
                cert.days_left, cert.not_after
            ),
        )
    }
}

/// `cert.key`, with its NCSC-NL level.
fn key_finding(key: &KeyInfo) -> Finding {
    // NCSC-NL levels (2025, §3.3.2.1, as internet.nl applies them): RSA
    // from 3072 bits good, 2048–3071 phase-out, less insufficient; the
    // NIST P and Brainpool curves from 256 bits, Ed25519 and Ed448 good,
    // P-224 phase-out; DSA and anything smaller insufficient.
    let described = match &key.curve {
        Some(curve) => format!("{} {} bits ({curve})", key.kind, key.bits),
        None => format!("{} {} bits", key.kind, key.bits),
    };
    match key.kind.as_str() {
        "RSA" if key.bits < 2048 => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::Insufficient,
            format!("RSA key of {} bits is too weak (2048 at least)", key.bits),
        ),
        "RSA" if key.bits < 3072 => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::PhaseOut,
            format!(
                "RSA {} bits (phase out: 3072 bits or an EC key is good)",
                key.bits
            ),
        ),
        "RSA" => Finding::leveled(FindingId::CertKey, NcscLevel::Good, described),
        "EC" if key.bits < 224 => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::Insufficient,
            format!("EC key of {} bits is too weak", key.bits),
        ),
        "EC" if key.bits < 256 => {
            Finding::leveled(FindingId::CertKey, NcscLevel::PhaseOut, described)
        }
        "DSA" => Finding::leveled(
            FindingId::CertKey,
            NcscLevel::Insufficient,
            "DSA keys are obsolete",
        ),
        _ if key.bits == 0 => Finding::warn(
            FindingId::CertKey,
            format!("key type {} is not one smtptls can grade", key.kind),
        ),
        _ => Finding::leveled(FindingId::CertKey, NcscLevel::Good, described),
    }
}

/// `cert.signature`: the hash of the leaf's signature, with its level.
fn signature_finding(algorithm: &str) -> Finding {
    let sig = algorithm.to_ascii_lowercase();
    if sig.contains("sha1") || sig.contains("md5") || sig.contains("md2") {
        Finding::leveled(
            FindingId::CertSignature,
            NcscLevel::Insufficient,
            format!("signed with {algorithm}: broken hash"),
        )
    } else if sig.contains("sha224") {
        Finding::leveled(
            FindingId::CertSignature,
            NcscLevel::PhaseOut,
            format!("signed with {algorithm}"),
        )
    } else {
        Finding::leveled(
            FindingId::CertSignature,
            NcscLevel::Good,
            format!("signed with {algorithm}"),
        )
    }
}

/// The server's leaf certificate and how it grades.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses.
    pub subject_alt_names: Vec<String>,
    /// Hex, colon-separated.
    pub serial: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// Whole days until `not_after`; negative once expired.
    pub days_left: i64,
    /// `not_before` is after the run's time: the leaf is not valid yet.
    /// A fact of its own so that what reads the row (advice) never has to
    /// compare dates or read a message.
    pub not_yet_valid: bool,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    /// SHA-256 of the certificate (DER), hex.
    pub sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo, hex (what TLSA `3 1 1` pins).
    pub spki_sha256: String,
    /// Number of certificates the server sent.
    pub chain_length: usize,
    pub chain_valid: bool,
    /// Why the chain does not validate (absent when it does).
    pub chain_error: Option<ChainError>,
    pub hostname_match: bool,
    /// The TLS feature extension lists status_request (RFC 7633).
    pub must_staple: bool,
}

#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, or the OID.
    pub kind: String,
    pub bits: usize,
    /// Named curve for EC keys.
    pub curve: Option<String>,
}

/// Why a chain did not validate, as a stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainError {
    Expired,
    NotYetValid,
    SelfSigned,
    /// The server did not send the intermediate(s) needed.
    IncompleteChain,
    /// The chain ends at a CA that is not trusted.
    UnknownIssuer,
    BadSignature,
    UnsupportedAlgorithm,
    /// Not a TLS server certificate (key usage / EKU).
    InvalidPurpose,
    /// The certificate could not be parsed.
    Malformed,
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    struct Chain {
        root_pem: String,
        leaf: CertificateDer<'static>,
    }

    fn chain(leaf_name: &str) -> Chain {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "unit root");
        let root =
            CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("root");
        let leaf_params = CertificateParams::new(vec![leaf_name.to_string()]).expect("params");
        let leaf = leaf_params
            .signed_by(&KeyPair::generate().expect("key"), &root)
            .expect("leaf");
        Chain {
            root_pem: root.pem(),
            leaf: leaf.der().clone(),
        }
    }

    fn trust(c: &Chain) -> TrustStore {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("root.pem");
        std::fs::write(&path, &c.root_pem).expect("write");
        TrustStore::with_ca_files(&[path]).expect("trust")
    }

    #[test]
    fn valid_chain_and_name() {
        let c = chain("mx.unit.test");
        let (report, chain_msg, name_msg) = grade(
            std::slice::from_ref(&c.leaf),
            "mx.unit.test",
            &trust(&c),
            OffsetDateTime::now_utc(),
        )
        .expect("graded");
        assert_eq!((chain_msg, name_msg), (None, None));
        assert!(report.chain_valid && report.hostname_match);
        assert_eq!(report.sha256.len(), 64);
        assert_eq!(report.spki_sha256.len(), 64);
    }

    /// `not_yet_valid` is the leaf's own date against the run's clock: a
    /// run before the leaf's notBefore sees it, one after does not.
    #[test]
    fn a_leaf_from_the_future_is_not_yet_valid() {
        let c = chain("mx.unit.test");
        let grade_at = |at| {
            grade(
                std::slice::from_ref(&c.leaf),
                "mx.unit.test",
                &trust(&c),
                at,
            )
            .expect("graded")
            .0
        };
        // rcgen's leaves start in 1975.
        let early = grade_at(OffsetDateTime::UNIX_EPOCH);
        assert!(early.not_yet_valid);
        assert_eq!(early.chain_error, Some(ChainError::NotYetValid));
        assert!(!grade_at(OffsetDateTime::now_utc()).not_yet_valid);
    }

    #[test]
    fn tampered_signature_is_a_bad_signature() {
        let c = chain("mx.unit.test");
        let mut der = c.leaf.as_ref().to_vec();
        // The signature is the last bytes of the DER: flip one.
        let last = der.len() - 3;
        der[last] ^= 0x55;
        let tampered = CertificateDer::from(der);
        let (report, chain_msg, _) = grade(
            &[tampered],
            "mx.unit.test",
            &trust(&c),
            OffsetDateTime::now_utc(),
        )
        .expect("graded");
        assert_eq!(
            report.chain_error,
            Some(ChainError::BadSignature),
            "{chain_msg:?}"
        );
    }

    #[test]
    fn self_signed_ca_as_server_certificate_is_self_signed() {
        // What `openssl req -x509` makes: self-signed, CA:TRUE, the MX name.
        let mut params = CertificateParams::new(vec!["mx.unit.test".to_string()]).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "mx.unit.test");
        let cert = params
            .self_signed(&KeyPair::generate().expect("key"))
            .expect("cert");
        let other = chain("unrelated.test");
        let (report, chain_msg, _) = grade(
            std::slice::from_ref(cert.der()),
            "mx.unit.test",
            &trust(&other),
            OffsetDateTime::now_utc(),
        )
        .expect("graded");
        assert_eq!(
            report.chain_error,
            Some(ChainError::SelfSigned),
            "{chain_msg:?}"
        );
        assert!(!report.chain_valid);
    }

    #[test]
    fn name_mismatch_lists_what_the_certificate_names() {
        let c = chain("mail.other.test");
        let (report, _, name_msg) = grade(
            std::slice::from_ref(&c.leaf),
            "mx.unit.test",
            &trust(&c),
            OffsetDateTime::now_utc(),
        )
        .expect("graded");
        assert!(!report.hostname_match);
        let msg = name_msg.expect("mismatch");
        assert!(
            msg.contains("mail.other.test") && msg.contains("mx.unit.test"),
            "{msg}"
        );
    }

    #[test]
    fn garbage_is_not_graded_and_does_not_panic() {
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(
            grade(
                &[junk],
                "mx.unit.test",
                &TrustStore::webpki(),
                OffsetDateTime::now_utc()
            )
            .is_none()
        );
        assert!(
            grade(
                &[],
                "mx.unit.test",
                &TrustStore::webpki(),
                OffsetDateTime::now_utc()
            )
            .is_none()
        );
    }

    #[test]
    fn rsa_bits_ignore_the_sign_octet() {
        let modulus = [0x00u8, 0x80, 0, 0];
        let key = x509_parser::public_key::PublicKey::RSA(x509_parser::public_key::RSAPublicKey {
            modulus: &modulus,
            exponent: &[1, 0, 1],
        });
        assert_eq!(rsa_bits(&Ok(key)), 24);
    }
}

#[cfg(test)]
mod algorithm_tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    /// ecdsa-with-SHA256 (1.2.840.10045.4.3.2), DER-encoded.
    const ECDSA_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

    #[test]
    fn unsupported_signature_algorithm_is_named() {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root =
            CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("root");
        let leaf = CertificateParams::new(vec!["mx.alg.test".to_string()])
            .expect("params")
            .signed_by(&KeyPair::generate().expect("key"), &root)
            .expect("leaf");
        // Relabel the signature as ecdsa-with-SHA224 (same length, last
        // byte 1): SHA-224 is not a hash webpki accepts, so the chain fails
        // on the algorithm before any signature check.
        let mut der = leaf.der().as_ref().to_vec();
        let mut relabelled = 0;
        let mut i = 0;
        while i + ECDSA_SHA256.len() <= der.len() {
            if &der[i..i + ECDSA_SHA256.len()] == ECDSA_SHA256 {
                der[i + ECDSA_SHA256.len() - 1] = 0x01;
                relabelled += 1;
            }
            i += 1;
        }
        assert_eq!(relabelled, 2, "inner and outer signature algorithm");
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("root.pem");
        std::fs::write(&path, root.pem()).expect("write");
        let trust = TrustStore::with_ca_files(&[path]).expect("trust");
        let (report, msg, _) = grade(
            &[CertificateDer::from(der)],
            "mx.alg.test",
            &trust,
            OffsetDateTime::now_utc(),
        )
        .expect("graded");
        assert_eq!(
            report.chain_error,
            Some(ChainError::UnsupportedAlgorithm),
            "{msg:?}"
        );
        assert_eq!(report.signature_algorithm, "ecdsa-with-SHA224");
    }
}
