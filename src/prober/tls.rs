//! The TLS side of a probe: a client configuration that lets the handshake
//! finish whatever certificate the server shows, and the facts of the
//! negotiated session.
//!
//! Why accept every certificate here? An opportunistic sender does, and the
//! inspector needs the chain to grade it, separately and precisely, rather
//! than seeing only "handshake failed: UnknownIssuer". The server still has
//! to prove it holds the certificate's key: handshake signatures are
//! verified as usual — except with an RSA key below 2048 bits, which
//! aws-lc-rs will not verify but OpenSSL- and GnuTLS-based senders accept:
//! that handshake goes on, recorded as not verified, so the report shows
//! the TLS those senders get instead of claiming clear text.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

pub use crate::crypto::provider;

/// What the server presented, recorded during the handshake.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// Leaf first, as sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// A stapled OCSP response, if any.
    pub ocsp: Option<Vec<u8>>,
    /// Why the server's handshake signature was not verified, if it was not.
    pub signature_unverified: Option<String>,
}

/// Records the chain and accepts it; verifies handshake signatures.
#[derive(Debug)]
pub struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    presented: Mutex<Option<Presented>>,
    /// Only these signature schemes are offered in the hello (rustls
    /// sends `supported_verify_schemes` as `signature_algorithms`); `None`:
    /// every scheme the provider verifies.
    only: Option<KeyFamily>,
}

/// The key types a server certificate comes in, as far as the second
/// hello of a dual-certificate server cares: RSA or ECDSA. Ed25519 (and
/// anything else) is in neither: a server's Ed25519 certificate gets no
/// second hello, and neither second hello offers Ed25519, because no
/// mainstream sender negotiates it (OpenSSL-based Postfix and Exim offer
/// it last, after ECDSA and RSA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    Rsa,
    Ecdsa,
}

impl KeyFamily {
    /// The family of a certificate's public key; `None` for Ed25519, Ed448,
    /// DSA and anything unparseable.
    pub fn of(cert: &CertificateDer<'_>) -> Option<Self> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        use x509_parser::public_key::PublicKey;
        let (_, x) = X509Certificate::from_der(cert.as_ref()).ok()?;
        match x.public_key().parsed().ok()? {
            PublicKey::RSA(_) => Some(KeyFamily::Rsa),
            PublicKey::EC(_) => Some(KeyFamily::Ecdsa),
            _ => None,
        }
    }

    /// The family a second hello asks for.
    pub fn other(self) -> Self {
        match self {
            KeyFamily::Rsa => KeyFamily::Ecdsa,
            KeyFamily::Ecdsa => KeyFamily::Rsa,
        }
    }

    /// `RSA`, `ECDSA`: as people name the certificate.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ecdsa => "ECDSA",
        }
    }

    /// Whether a key of this family signs with `scheme`.
    pub fn signs_with(self, scheme: SignatureScheme) -> bool {
        use SignatureScheme as S;
        match self {
            KeyFamily::Rsa => matches!(
                scheme,
                S::RSA_PKCS1_SHA1
                    | S::RSA_PKCS1_SHA256
                    | S::RSA_PKCS1_SHA384
                    | S::RSA_PKCS1_SHA512
                    | S::RSA_PSS_SHA256
                    | S::RSA_PSS_SHA384
                    | S::RSA_PSS_SHA512
            ),
            KeyFamily::Ecdsa => matches!(
                scheme,
                S::ECDSA_SHA1_Legacy
                    | S::ECDSA_NISTP256_SHA256
                    | S::ECDSA_NISTP384_SHA384
                    | S::ECDSA_NISTP521_SHA512
            ),
        }
    }
}

impl RecordingVerifier {
    pub fn new(provider: Arc<CryptoProvider>) -> Arc<Self> {
        Arc::new(RecordingVerifier {
            provider,
            presented: Mutex::new(None),
            only: None,
        })
    }

    /// A verifier whose hello offers only the signature schemes of
    /// `family`: a dual-certificate server then has to show its
    /// certificate of that type, or fail the handshake.
    pub fn offering(provider: Arc<CryptoProvider>, family: KeyFamily) -> Arc<Self> {
        Arc::new(RecordingVerifier {
            provider,
            presented: Mutex::new(None),
            only: Some(family),
        })
    }

    /// The certificates seen, if the handshake got that far.
    pub fn presented(&self) -> Option<Presented> {
        self.presented.lock().ok().and_then(|p| p.clone())
    }
}

impl RecordingVerifier {
    /// A failed signature check stands, unless the key is RSA below 2048
    /// bits, which aws-lc-rs refuses to verify but OpenSSL and GnuTLS (so
    /// Postfix and Exim) accept: such a signature is verified with the
    /// RustCrypto `rsa` crate instead (keys of 1024 bits and more), and
    /// only when even that is impossible (a smaller key) does the
    /// handshake go on unverified, with the reason recorded.
    fn unless_small_rsa(
        &self,
        checked: Result<HandshakeSignatureValid, rustls::Error>,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let Err(err) = checked else { return checked };
        let Some((bits, key)) = small_rsa_key(cert) else {
            return Err(err);
        };
        match small_rsa::verify(&key, dss.scheme, message, dss.signature()) {
            small_rsa::Outcome::Valid => return Ok(HandshakeSignatureValid::assertion()),
            // A signature that does not verify is refused, as by any sender.
            small_rsa::Outcome::Invalid => return Err(err),
            small_rsa::Outcome::Unsupported => {}
        }
        if let Ok(mut slot) = self.presented.lock()
            && let Some(p) = slot.as_mut()
        {
            p.signature_unverified = Some(format!(
                "handshake signature not verified: the server's RSA key has {bits} bits, below the 1024 that the probe can verify (senders built on OpenSSL or GnuTLS may accept it)"
            ));
        }
        Ok(HandshakeSignatureValid::assertion())
    }
}

/// The modulus size and PKCS#1 `RSAPublicKey` of an RSA certificate key
/// below 2048 bits.
fn small_rsa_key(cert: &CertificateDer<'_>) -> Option<(usize, Vec<u8>)> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    use x509_parser::public_key::PublicKey;
    let (_, x) = X509Certificate::from_der(cert.as_ref()).ok()?;
    let PublicKey::RSA(rsa) = x.public_key().parsed().ok()? else {
        return None;
    };
    let bits = rsa.key_size();
    (bits < 2048).then(|| (bits, x.public_key().subject_public_key.data.to_vec()))
}

/// Handshake signatures made with RSA keys of 1024 to 2047 bits, which
/// mainstream MTAs verify and aws-lc-rs does not.
mod small_rsa {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::sha2::{Sha256, Sha384, Sha512};
    use rsa::signature::Verifier;
    use rustls::SignatureScheme;

    pub enum Outcome {
        Valid,
        Invalid,
        /// A key or scheme this fallback does not handle.
        Unsupported,
    }

    pub fn verify(
        pkcs1_key: &[u8],
        scheme: SignatureScheme,
        message: &[u8],
        sig: &[u8],
    ) -> Outcome {
        let Ok(key) = rsa::PublicKey::from_pkcs1_der(pkcs1_key) else {
            return Outcome::Unsupported;
        };
        // RFC 8446 §4.2.3: PSS salts are as long as the digest, which is
        // what `pss::VerifyingKey::new` expects.
        macro_rules! check {
            ($padding:ident, $digest:ty) => {
                match rsa::$padding::Signature::try_from(sig) {
                    Ok(sig) => rsa::$padding::VerifyingKey::<$digest>::new(key)
                        .verify(message, &sig)
                        .is_ok(),
                    Err(_) => false,
                }
            };
        }
        let verified = match scheme {
            SignatureScheme::RSA_PKCS1_SHA256 => check!(pkcs1v15, Sha256),
            SignatureScheme::RSA_PKCS1_SHA384 => check!(pkcs1v15, Sha384),
            SignatureScheme::RSA_PKCS1_SHA512 => check!(pkcs1v15, Sha512),
            SignatureScheme::RSA_PSS_SHA256 => check!(pss, Sha256),
            SignatureScheme::RSA_PSS_SHA384 => check!(pss, Sha384),
            SignatureScheme::RSA_PSS_SHA512 => check!(pss, Sha512),
            _ => return Outcome::Unsupported,
        };
        if verified {
            Outcome::Valid
        } else {
            Outcome::Invalid
        }
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        let ocsp = (!ocsp_response.is_empty()).then(|| ocsp_response.to_vec());
        if let Ok(mut slot) = self.presented.lock() {
            *slot = Some(Presented {
                chain,
                ocsp,
                signature_unverified: None,
            });
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let checked = verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        );
        self.unless_small_rsa(checked, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let checked = verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        );
        self.unless_small_rsa(checked, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let all = self
            .provider
            .signature_verification_algorithms
            .supported_schemes();
        match self.only {
            None => all,
            Some(family) => all.into_iter().filter(|s| family.signs_with(*s)).collect(),
        }
    }
}

/// Whether the main handshake's client offers `suite` (a TLS 1.2 or 1.3
/// code point): what a ServerHello the scan saw would have needed to work
/// with rustls too.
pub fn client_offers(suite: u16) -> bool {
    provider()
        .cipher_suites
        .iter()
        .any(|s| u16::from(s.suite()) == suite)
}

/// A client configuration for one probe, with its own recorder.
pub fn client_config(verifier: Arc<RecordingVerifier>) -> Result<ClientConfig, rustls::Error> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Facts of an established TLS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSession {
    /// TLS 1.3 or 1.2 (rustls speaks nothing older).
    pub version: super::scan::Version,
    /// IANA name, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// Key-exchange group, e.g. `X25519`, `secp256r1`, `X25519MLKEM768`.
    pub key_exchange_group: Option<String>,
    /// Leaf first, as sent.
    pub chain: Vec<CertificateDer<'static>>,
    pub ocsp_stapled: bool,
    /// The stapled OCSP response (DER) as sent, for the inspector to read.
    /// rustls's client always asks for one (status_request in every
    /// ClientHello) and hands it to the verifier unchecked.
    pub ocsp: Option<Vec<u8>>,
    /// Why the handshake signature was not verified (a small RSA key).
    pub signature_unverified: Option<String>,
}

impl TlsSession {
    /// The session of a completed handshake. Fails only if rustls names no
    /// version the scan's `Version` knows, which a completed handshake
    /// with the safe default versions (1.2, 1.3) never does: the session is
    /// then not reported at all rather than with a made-up version.
    pub fn from_connection(
        conn: &rustls::ClientConnection,
        presented: Option<Presented>,
    ) -> Result<Self, TlsFailure> {
        let version = conn
            .protocol_version()
            .and_then(|v| super::scan::Version::from_wire(u16::from(v)))
            .ok_or_else(|| {
                TlsFailure::Other(format!(
                    "the handshake completed with no known protocol version ({:?})",
                    conn.protocol_version()
                ))
            })?;
        let cipher = conn
            .negotiated_cipher_suite()
            .map(|s| iana_suite_name(s.suite()))
            .unwrap_or_else(|| "unknown".to_string());
        let key_exchange_group = conn.negotiated_key_exchange_group().map(|g| {
            g.name()
                .as_str()
                .map_or_else(|| format!("{:?}", g.name()), str::to_string)
        });
        let presented = presented.unwrap_or_default();
        let chain = if presented.chain.is_empty() {
            conn.peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default()
        } else {
            presented.chain
        };
        Ok(TlsSession {
            version,
            cipher,
            key_exchange_group,
            chain,
            ocsp_stapled: presented.ocsp.is_some(),
            ocsp: presented.ocsp,
            signature_unverified: presented.signature_unverified,
        })
    }
}

/// rustls names TLS 1.3 suites `TLS13_…`; the IANA registry (and every
/// other tool) calls them `TLS_…`.
fn iana_suite_name(suite: rustls::CipherSuite) -> String {
    let name = suite
        .as_str()
        .map_or_else(|| format!("{suite:?}"), str::to_string);
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// Why a TLS handshake failed, in words an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsFailure {
    #[error("server sent TLS alert {0}")]
    Alert(String),
    #[error("server offers no TLS version we share (TLS 1.2 and 1.3 tried): {0}")]
    NoCommonVersion(String),
    #[error("no common parameters: {0}")]
    Incompatible(String),
    #[error("server's reply is not TLS: {0}")]
    NotTls(String),
    #[error("server's handshake signature or key is invalid: {0}")]
    BadSignature(String),
    #[error("connection closed during the handshake")]
    Closed,
    #[error("{0:?} cannot be sent as a TLS server name")]
    InvalidServerName(String),
    #[error("{0}")]
    Other(String),
}

impl TlsFailure {
    /// Classifies the error tokio-rustls returns from a failed handshake.
    pub fn from_io(err: &std::io::Error) -> Self {
        use rustls::{AlertDescription, Error, PeerIncompatible};
        let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
            return match err.kind() {
                std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe => TlsFailure::Closed,
                _ => TlsFailure::Other(err.to_string()),
            };
        };
        match tls {
            Error::AlertReceived(AlertDescription::ProtocolVersion) => {
                TlsFailure::NoCommonVersion("alert protocol_version".into())
            }
            Error::AlertReceived(alert) => TlsFailure::Alert(
                alert
                    .as_str()
                    .map_or_else(|| format!("{alert:?}"), alert_name),
            ),
            Error::PeerIncompatible(
                p @ (PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | PeerIncompatible::SupportedVersionsExtensionRequired),
            ) => TlsFailure::NoCommonVersion(format!("{p:?}")),
            Error::PeerIncompatible(p) => TlsFailure::Incompatible(format!("{p:?}")),
            Error::InvalidMessage(m) => TlsFailure::NotTls(format!("{m:?}")),
            Error::InvalidCertificate(c) => TlsFailure::BadSignature(format!("{c:?}")),
            Error::PeerMisbehaved(m) => TlsFailure::Other(format!("server misbehaved: {m:?}")),
            other => TlsFailure::Other(other.to_string()),
        }
    }
}

/// `HandshakeFailure` → `handshake_failure`, the RFC 8446 spelling.
fn alert_name(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_iana_and_rfc_spelling() {
        assert_eq!(
            iana_suite_name(rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(
            iana_suite_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(alert_name("HandshakeFailure"), "handshake_failure");
    }

    #[test]
    fn handshake_errors_are_classified() {
        let wrap = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        assert_eq!(
            TlsFailure::from_io(&wrap(rustls::Error::AlertReceived(
                rustls::AlertDescription::HandshakeFailure
            ))),
            TlsFailure::Alert("handshake_failure".into())
        );
        assert!(matches!(
            TlsFailure::from_io(&wrap(rustls::Error::AlertReceived(
                rustls::AlertDescription::ProtocolVersion
            ))),
            TlsFailure::NoCommonVersion(_)
        ));
        assert_eq!(
            TlsFailure::from_io(&std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            TlsFailure::Closed
        );
    }
}
