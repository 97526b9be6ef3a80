//! The `certificate` of an address row: the leaf the server showed and how
//! it graded, built from the inspector's [`inspect::Certificate`].

use serde::{Deserialize, Serialize};

use super::mirror::mirror;
use super::policy::DaneResult;
use crate::inspector::assessment::GradedLeaf;
use crate::inspector::certificate as inspect;
use crate::prober::tls;

/// The server's leaf certificate and how it grades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateReport {
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
    /// compare dates or read a message. Absent from earlier reports: false.
    #[serde(default)]
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
    /// The TLS feature extension lists status_request (must-staple, RFC
    /// 7633). Absent from reports before stapling was read: false.
    #[serde(default)]
    pub must_staple: bool,
}

/// A certificate of the other key type (a dual-certificate server's second
/// chain), graded like the main one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherCertificateReport {
    /// The key type the second hello asked for.
    pub key_type: KeyType,
    pub certificate: CertificateReport,
    /// Against the same TLSA records as the main certificate.
    pub dane: DaneResult,
}

/// The two key types a dual-certificate server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    Rsa,
    Ecdsa,
}

impl KeyType {
    /// `RSA`, `ECDSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::Ecdsa => "ECDSA",
        }
    }
}

mirror!(tls::KeyFamily => KeyType { Rsa, Ecdsa });

impl From<&crate::inspector::assessment::OtherCertificate> for OtherCertificateReport {
    fn from(o: &crate::inspector::assessment::OtherCertificate) -> Self {
        OtherCertificateReport {
            key_type: o.family.into(),
            certificate: CertificateReport::from(&o.certificate),
            dane: o.dane.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, or the OID.
    #[serde(rename = "type")]
    pub kind: String,
    pub bits: usize,
    /// Named curve for EC keys.
    pub curve: Option<String>,
}

/// Why a chain did not validate, as a stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

mirror!(inspect::ChainError => ChainError {
    Expired,
    NotYetValid,
    SelfSigned,
    IncompleteChain,
    UnknownIssuer,
    BadSignature,
    UnsupportedAlgorithm,
    InvalidPurpose,
    Malformed,
    Other,
});

impl From<&inspect::KeyInfo> for KeyInfo {
    fn from(k: &inspect::KeyInfo) -> Self {
        KeyInfo {
            kind: k.kind.clone(),
            bits: k.bits,
            curve: k.curve.clone(),
        }
    }
}

impl From<&inspect::Certificate> for CertificateReport {
    fn from(c: &inspect::Certificate) -> Self {
        CertificateReport {
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            subject_alt_names: c.subject_alt_names.clone(),
            serial: c.serial.clone(),
            not_before: c.not_before.clone(),
            not_after: c.not_after.clone(),
            days_left: c.days_left,
            not_yet_valid: c.not_yet_valid,
            key: KeyInfo::from(&c.key),
            signature_algorithm: c.signature_algorithm.clone(),
            sha256: c.sha256.clone(),
            spki_sha256: c.spki_sha256.clone(),
            chain_length: c.chain_length,
            chain_valid: c.chain_valid,
            chain_error: c.chain_error.map(ChainError::from),
            hostname_match: c.hostname_match,
            must_staple: c.must_staple,
        }
    }
}

/// A row read back from a report (`policy --from`) is judged by the same
/// sender predicates as the assessment (`SessionState::pkix_valid`).
impl GradedLeaf for CertificateReport {
    fn chain_valid(&self) -> bool {
        self.chain_valid
    }
    fn hostname_match(&self) -> bool {
        self.hostname_match
    }
}
