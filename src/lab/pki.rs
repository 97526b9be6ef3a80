//! A throw-away PKI made at test time: a root CA, an intermediate CA signed
//! by the root, and leaf certificates made to order ([`LeafSpec`]) for the
//! lab's SMTP servers.
//!
//! Nothing here is persisted except the root certificate, written to a
//! temporary directory so that the binary under test can be pointed at it
//! with `--ca-file`; the directory disappears with the [`TestPki`].
//!
//! All keys are generated with rcgen on aws-lc-rs, and every rustls object is
//! built with an explicit aws-lc-rs provider, so no process-wide default
//! crypto provider has to be installed.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use rcgen::DnType;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{SignatureAlgorithm, SignatureScheme};
use time::{Duration, OffsetDateTime};

/// The lab's certificate authority: a root and an intermediate, both ECDSA
/// P-256, plus the temporary directory holding the root's PEM file.
pub struct TestPki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
    ca_file: PathBuf,
    // Kept only so that the directory (and `ca_file`) lives as long as we do.
    _dir: tempfile::TempDir,
}

/// What leaf certificate to issue. Start from [`LeafSpec::valid_for`] and
/// override fields with struct-update syntax:
///
/// ```ignore
/// let expired = LeafSpec {
///     not_after: OffsetDateTime::now_utc() - Duration::days(1),
///     ..LeafSpec::valid_for("mx.expired.test")
/// };
/// ```
#[derive(Clone, Debug)]
pub struct LeafSpec {
    /// DNS subjectAltNames (wildcards such as `*.wild.test` are fine; an IP
    /// literal becomes an IP SAN). The first one is also the subject CN.
    pub names: Vec<String>,
    /// Put this in the future for a "not yet valid" certificate.
    pub not_before: OffsetDateTime,
    /// Put this in the past for an "expired" certificate.
    pub not_after: OffsetDateTime,
    pub key: KeyKind,
    pub issuer: Issuer,
    /// Only meaningful with [`Issuer::Intermediate`]: `false` serves the leaf
    /// alone although it was issued by the intermediate, which is the classic
    /// "missing intermediate" misconfiguration.
    pub send_intermediate: bool,
    /// Subject attributes besides the CN, or replacing it (a
    /// `DnType::CommonName` entry here wins over `names[0]`), encoded as
    /// UTF8String, which carries any character (NUL, ESC, line ends): peer
    /// text for the output-safety tests. A self-signed leaf has the same
    /// text as its issuer. (DNS names in `names` must be ASCII: rcgen
    /// encodes them as IA5String, which still allows ESC, NUL, quotes and
    /// line ends.)
    pub subject: Vec<(DnType, String)>,
    /// The TLS feature extension (RFC 7633) listing status_request:
    /// a must-staple certificate.
    pub must_staple: bool,
}

impl LeafSpec {
    /// A certificate any sane verifier accepts for `name`: valid since a day
    /// ago for 90 days, ECDSA P-256, issued by the intermediate, which is
    /// served with it.
    pub fn valid_for(name: &str) -> Self {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            names: vec![name.to_owned()],
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(90),
            key: KeyKind::default(),
            issuer: Issuer::default(),
            send_intermediate: true,
            subject: Vec::new(),
            must_staple: false,
        }
    }
}

/// The leaf's key type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyKind {
    #[default]
    EcdsaP256,
    Rsa2048,
    /// A deliberately weak RSA key, as old servers still have. aws-lc-rs
    /// can neither generate nor load (sign with) RSA keys below 2048 bits,
    /// so this leaf carries a fixed 1024-bit key
    /// ([`RSA1024_PRIVATE_KEY_PEM`]) and the server signs its handshake
    /// with the RustCrypto `rsa` crate, correctly: what a real Postfix or
    /// Exim with such a key sends.
    Rsa1024,
    /// The same key, but the server's handshake signature is garbage: a
    /// client must refuse the handshake.
    Rsa1024BadSignature,
    Ed25519,
}

/// Who signs the leaf, which also decides the chain that is served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Issuer {
    /// Signed by the intermediate; served chain is leaf + intermediate
    /// (unless [`LeafSpec::send_intermediate`] is false).
    #[default]
    Intermediate,
    /// Signed directly by the root; served chain is the leaf alone.
    Root,
    /// Signed by its own key; served chain is the leaf alone.
    SelfSigned,
}

/// A certificate chain and its key, ready to be served.
#[derive(Clone, Debug)]
pub struct ServerCert {
    /// Exactly what the server sends, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8), e.g. to write it to a file for
    /// another server. `None` for [`KeyKind::Rsa1024`], which has none.
    pub key: Option<Arc<PrivateKeyDer<'static>>>,
    /// What rustls signs the handshake with.
    signing_key: Arc<dyn rustls::sign::SigningKey>,
    /// An OCSP response (DER) stapled to every handshake whose client asks
    /// (status_request), as rustls's `CertifiedKey::ocsp`: see
    /// [`TestPki::ocsp_response`] and [`ServerCert::stapling`].
    pub ocsp: Option<Vec<u8>>,
    /// A second chain of another key type, served instead of this one to
    /// a client whose hello offers only signature schemes of that type
    /// ([`ServerCert::with_alternative`]): a dual-certificate server.
    alternative: Option<Box<ServerCert>>,
}

/// A 1024-bit RSA key for [`KeyKind::Rsa1024`] (made with `openssl genpkey
/// -algorithm RSA -pkeyopt rsa_keygen_bits:1024`; a test key, used nowhere
/// else), and its public half.
pub const RSA1024_PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAOOyNd9PJae9ZJ5S
vYzQeSB7s68QxKiH6BEXcpDK717g+oLQW9RUrc1RJTnNHhtvuNsMnzkmVRVDGxG7
DwCMnhqZQ3frl1qhdU2lA8Dm/wxtEoD0AXLu/QSzgV97Qp4ciXcy3wXYtHl9EElT
5Vljn12XAH9Ui37MlrPj+ShJFOOBAgMBAAECgYEA2v/7JM+BTjaxYj3+pkOVXRLd
nhIotFgTcuz0eiNV3BHToKI60JyplgLoJRIOVSE90SHwuw0NZKfoj0M1iLe3D9lk
gQ5oltGyL5Hqzv7L4GvTnQJ97iGL5jGZxt9F96OYnCpioKmcEzD7gYa88a9Fvulq
v0PZSmdU14S7VOSaGwkCQQD73k9SrqeVeXz+ifbX2R87WjH5RAOxfIw38i1V8I+b
wF5aud7FqAPc3fzGIuORGAMsRs2wt+ddMRXS/+t/vLvrAkEA525kZGXW3cc5ZAwt
4SFMwgBmvNV1amELm/42ssObXfJaSszv2yNH3erTgn/xSwvKnBJRG8l2Lb66H518
b3rfQwJBAN2haQGjyLnCVtgRBRI477+lhZYHYIycwTI1u+kErwnqA90n87zQNN30
xQqBBujVTW13vGYF3eRmXgL2yf70UBMCQGBUm+cKWNCBj4rsYuB1quyJnDn3o+L+
uAVbYEsyjmYhbaH7Ac+2NMDTcOy98qLpKpGiMi6dwdoyrGhidhw1Cd8CQQDi9gwr
ZzWvlbBhdyP+wDSnxC3zjfzLAZfxW2LPkjL1BKUFtktdnDZtzyGfedIh2D4ahP5a
Eeon1APJ1A2yEZO/
-----END PRIVATE KEY-----
";
pub const RSA1024_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDjsjXfTyWnvWSeUr2M0Hkge7Ov
EMSoh+gRF3KQyu9e4PqC0FvUVK3NUSU5zR4bb7jbDJ85JlUVQxsRuw8AjJ4amUN3
65daoXVNpQPA5v8MbRKA9AFy7v0Es4Ffe0KeHIl3Mt8F2LR5fRBJU+VZY59dlwB/
VIt+zJaz4/koSRTjgQIDAQAB
-----END PUBLIC KEY-----
";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// rcgen would derive the serial from the public key, which would give every
/// `Rsa1024` leaf (fixed public key) the same serial under the same issuer.
/// A per-process counter seeded from the clock keeps serials distinct.
fn next_serial() -> SerialNumber {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    let _ = NEXT.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    // Keep the top bit clear: serials must be positive integers.
    SerialNumber::from(NEXT.fetch_add(1, Ordering::Relaxed) & (u64::MAX >> 1))
}

fn ca_params(lab: &str, common_name: &str, constraints: BasicConstraints) -> CertificateParams {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, lab);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    // Back-dated generously so that leaves with odd validity windows (e.g. an
    // expired one from last year) still have a currently valid issuer:
    // the leaf's own dates must be the only thing that is wrong.
    params.not_before = now - Duration::days(3650);
    params.not_after = now + Duration::days(3650);
    params.serial_number = Some(next_serial());
    params.use_authority_key_identifier_extension = true;
    params
}

impl TestPki {
    /// A fresh root and intermediate (ECDSA P-256), and the root's PEM file.
    pub fn new() -> Self {
        // Each PKI's CA names are its own: two labs' roots with one name
        // would make a foreign chain look like a forged one (bad
        // signature) instead of an unknown issuer.
        static LABS: AtomicU64 = AtomicU64::new(0);
        let lab = format!(
            "smtptls test lab {}-{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let root = CertifiedIssuer::self_signed(
            ca_params(&lab, "smtptls lab root CA", BasicConstraints::Unconstrained),
            KeyPair::generate().expect("generate root key"),
        )
        .expect("self-sign root CA");
        let intermediate = CertifiedIssuer::signed_by(
            ca_params(
                &lab,
                "smtptls lab intermediate CA",
                BasicConstraints::Constrained(0),
            ),
            KeyPair::generate().expect("generate intermediate key"),
            &root,
        )
        .expect("sign intermediate CA");

        let dir = tempfile::tempdir().expect("create temp dir for the test PKI");
        let ca_file = dir.path().join("lab-root.pem");
        std::fs::write(&ca_file, root.pem()).expect("write root CA PEM");

        TestPki {
            root,
            intermediate,
            ca_file,
            _dir: dir,
        }
    }

    /// PEM file holding the root certificate only, for `--ca-file`.
    /// The PKI's temporary directory, for other lab files (trust anchors).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn ca_file(&self) -> PathBuf {
        self.ca_file.clone()
    }

    /// The root certificate, to build a client trust store from.
    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root.der().clone()
    }

    /// The intermediate certificate (e.g. to assert on a served chain).
    pub fn intermediate_der(&self) -> CertificateDer<'static> {
        self.intermediate.der().clone()
    }

    /// Issues a leaf certificate according to `spec`.
    pub fn leaf(&self, spec: &LeafSpec) -> ServerCert {
        assert!(!spec.names.is_empty(), "LeafSpec::names must not be empty");

        let mut params =
            CertificateParams::new(spec.names.clone()).expect("LeafSpec::names must be valid");
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, spec.names[0].as_str());
        for (kind, value) in &spec.subject {
            params.distinguished_name.push(kind.clone(), value.as_str());
        }
        params.not_before = spec.not_before;
        params.not_after = spec.not_after;
        // A proper end-entity certificate: explicit CA:FALSE, usable only to
        // authenticate a TLS server.
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if matches!(
            spec.key,
            KeyKind::Rsa2048 | KeyKind::Rsa1024 | KeyKind::Rsa1024BadSignature
        ) {
            params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.serial_number = Some(next_serial());
        params.use_authority_key_identifier_extension = spec.issuer != Issuer::SelfSigned;
        if spec.must_staple {
            // id-pe-tlsfeature: SEQUENCE { INTEGER 5 (status_request) }.
            params
                .custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 5, 5, 7, 1, 24],
                    vec![0x30, 0x03, 0x02, 0x01, 0x05],
                ));
        }

        if matches!(spec.key, KeyKind::Rsa1024 | KeyKind::Rsa1024BadSignature) {
            return self.rsa1024_leaf(&params, spec);
        }

        let key = match spec.key {
            KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyKind::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
            KeyKind::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
            KeyKind::Rsa1024 | KeyKind::Rsa1024BadSignature => unreachable!("handled above"),
        }
        .expect("generate leaf key");

        let cert = match spec.issuer {
            Issuer::Intermediate => params.signed_by(&key, &self.intermediate),
            Issuer::Root => params.signed_by(&key, &self.root),
            Issuer::SelfSigned => params.self_signed(&key),
        }
        .expect("issue leaf certificate");

        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing_key = provider()
            .key_provider
            .load_private_key(key_der.clone_key())
            .expect("rustls accepts the generated leaf key");

        ServerCert {
            chain: self.chain(cert.der().clone(), spec),
            key: Some(Arc::new(key_der)),
            signing_key,
            ocsp: None,
            alternative: None,
        }
    }

    fn rsa1024_leaf(&self, params: &CertificateParams, spec: &LeafSpec) -> ServerCert {
        let public_key = rcgen::SubjectPublicKeyInfo::from_pem(RSA1024_PUBLIC_KEY_PEM)
            .expect("parse the fixed RSA-1024 public key");
        let cert = match spec.issuer {
            Issuer::Intermediate => params.signed_by(&public_key, &self.intermediate),
            Issuer::Root => params.signed_by(&public_key, &self.root),
            // Self-signing needs the private key, which does not exist.
            Issuer::SelfSigned => {
                panic!("KeyKind::Rsa1024 cannot be combined with Issuer::SelfSigned")
            }
        }
        .expect("issue RSA-1024 leaf certificate");
        ServerCert {
            chain: self.chain(cert.der().clone(), spec),
            key: None,
            signing_key: Arc::new(SmallRsaKey {
                bad_signature: spec.key == KeyKind::Rsa1024BadSignature,
            }),
            ocsp: None,
            alternative: None,
        }
    }

    fn chain(
        &self,
        leaf: CertificateDer<'static>,
        spec: &LeafSpec,
    ) -> Vec<CertificateDer<'static>> {
        let mut chain = vec![leaf];
        if spec.issuer == Issuer::Intermediate && spec.send_intermediate {
            chain.push(self.intermediate_der());
        }
        chain
    }
}

/// The status an OCSP response of [`TestPki::ocsp_response`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcspCertStatus {
    Good,
    /// Revoked at that time (reason not given).
    Revoked(OffsetDateTime),
    Unknown,
}

/// What an OCSP response says, and for when.
#[derive(Clone, Copy, Debug)]
pub struct OcspSpec {
    pub status: OcspCertStatus,
    pub this_update: OffsetDateTime,
    /// `None` leaves nextUpdate out (RFC 6960: newer information is
    /// always available).
    pub next_update: Option<OffsetDateTime>,
}

impl OcspSpec {
    /// Good, issued an hour ago, valid for a week.
    pub fn good() -> Self {
        let now = OffsetDateTime::now_utc();
        OcspSpec {
            status: OcspCertStatus::Good,
            this_update: now - Duration::hours(1),
            next_update: Some(now + Duration::days(7)),
        }
    }

    /// Revoked yesterday, in an otherwise current response.
    pub fn revoked() -> Self {
        OcspSpec {
            status: OcspCertStatus::Revoked(OffsetDateTime::now_utc() - Duration::days(1)),
            ..Self::good()
        }
    }

    /// Good, but its nextUpdate passed two days ago: a stale staple.
    pub fn expired() -> Self {
        let now = OffsetDateTime::now_utc();
        OcspSpec {
            status: OcspCertStatus::Good,
            this_update: now - Duration::days(9),
            next_update: Some(now - Duration::days(2)),
        }
    }
}

/// One DER TLV.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn generalized_time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    der(0x18, text.as_bytes())
}

impl TestPki {
    /// An OCSP response (RFC 6960, a BasicOCSPResponse) about `cert`'s
    /// leaf, signed by the CA that issued it (the intermediate or the
    /// root) with ECDSA P-256 SHA-256; its CertID hashes with SHA-256.
    /// Built by hand: no maintained crate builds OCSP responses on the
    /// DER stack the lab already has.
    pub fn ocsp_response(&self, cert: &ServerCert, spec: &OcspSpec) -> Vec<u8> {
        use rcgen::SigningKey;
        use rsa::sha2::{Digest, Sha256};
        use x509_parser::prelude::{FromDer, X509Certificate};

        let (_, leaf) =
            X509Certificate::from_der(cert.leaf_der().as_ref()).expect("the lab's leaf parses");
        let issuer = [&self.intermediate, &self.root]
            .into_iter()
            .find(|ca| {
                X509Certificate::from_der(ca.der().as_ref())
                    .is_ok_and(|(_, c)| c.subject().as_raw() == leaf.issuer().as_raw())
            })
            .expect("an OCSP response needs a leaf issued by the lab's CA");
        let (_, ca) = X509Certificate::from_der(issuer.der().as_ref()).expect("the lab CA parses");

        const SHA256: &[u8] = &[
            0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
        ];
        const ECDSA_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        const OCSP_BASIC: &[u8] = &[
            0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01,
        ];
        let cert_id = der(
            0x30,
            &[
                der(0x30, SHA256),
                der(0x04, &Sha256::digest(ca.subject().as_raw())),
                der(
                    0x04,
                    &Sha256::digest(&*ca.public_key().subject_public_key.data),
                ),
                der(0x02, leaf.raw_serial()),
            ]
            .concat(),
        );
        let status = match spec.status {
            OcspCertStatus::Good => vec![0x80, 0x00],
            OcspCertStatus::Revoked(at) => der(0xa1, &generalized_time(at)),
            OcspCertStatus::Unknown => vec![0x82, 0x00],
        };
        let mut single = [cert_id, status, generalized_time(spec.this_update)].concat();
        if let Some(next) = spec.next_update {
            single.extend(der(0xa0, &generalized_time(next)));
        }
        let tbs = der(
            0x30,
            &[
                // responderID byName [1]
                der(0xa1, ca.subject().as_raw()),
                generalized_time(spec.this_update),
                der(0x30, &der(0x30, &single)),
            ]
            .concat(),
        );
        let signature = issuer.key().sign(&tbs).expect("sign the OCSP response");
        let basic = der(
            0x30,
            &[
                tbs,
                der(0x30, ECDSA_SHA256),
                der(0x03, &[&[0u8][..], &signature].concat()),
            ]
            .concat(),
        );
        der(
            0x30,
            &[
                der(0x0a, &[0]),
                der(0xa0, &der(0x30, &[OCSP_BASIC, &der(0x04, &basic)].concat())),
            ]
            .concat(),
        )
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether [`ServerCert::server_config`] keeps rustls's default session
/// cache and sends TLS 1.3 tickets (the default), for the whole process.
static SESSION_CACHE: AtomicBool = AtomicBool::new(true);

/// From now on, lab TLS servers keep no session cache and send no
/// tickets: the soak's control run (`SOAK_LAB_SESSIONS=off`), which tells
/// the lab servers' memory (they run in the soak's process) from the
/// audit's.
pub fn keep_no_sessions() {
    SESSION_CACHE.store(false, Ordering::Relaxed);
}

impl ServerCert {
    /// The leaf certificate (first in the served chain).
    pub fn leaf_der(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The same certificate, stapling `response` (DER) when asked.
    pub fn stapling(self, response: Vec<u8>) -> Self {
        ServerCert {
            ocsp: Some(response),
            ..self
        }
    }

    /// This chain and `other` (of another key type) on one server, as
    /// Postfix's `smtpd_tls_chain_files` with an RSA and an ECDSA chain:
    /// a client offering this chain's signature schemes gets this chain
    /// (the server's preference), one offering only `other`'s gets
    /// `other`. A chain of `other` is dropped.
    #[must_use]
    pub fn with_alternative(mut self, mut other: ServerCert) -> Self {
        other.alternative = None;
        self.alternative = Some(Box::new(other));
        self
    }

    /// The second chain of [`ServerCert::with_alternative`], if any.
    pub fn alternative(&self) -> Option<&ServerCert> {
        self.alternative.as_deref()
    }

    /// A server configuration serving this chain, TLS 1.2 and 1.3, aws-lc-rs.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        // A resolver rather than `with_single_cert`, because the latter
        // insists on a parseable private key and `Rsa1024` has none.
        let mut certified = CertifiedKey::new(self.chain.clone(), self.signing_key.clone());
        certified.ocsp = self.ocsp.clone();
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
            .expect("aws-lc-rs supports TLS 1.2 and 1.3")
            .with_no_client_auth();
        let mut config = match &self.alternative {
            None => builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified))),
            Some(other) => builder.with_cert_resolver(Arc::new(ByOfferedSchemes {
                first: Arc::new(certified),
                other: Arc::new(CertifiedKey::new(
                    other.chain.clone(),
                    other.signing_key.clone(),
                )),
            })),
        };
        if !SESSION_CACHE.load(Ordering::Relaxed) {
            config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        Arc::new(config)
    }
}

/// The certificate choice of a dual-certificate server: by the signature
/// schemes the client's hello offers (`signature_algorithms`), the first
/// chain whenever its key can sign with one of them.
#[derive(Debug)]
struct ByOfferedSchemes {
    first: Arc<CertifiedKey>,
    other: Arc<CertifiedKey>,
}

impl rustls::server::ResolvesServerCert for ByOfferedSchemes {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let offered = hello.signature_schemes();
        let can_sign = |c: &CertifiedKey| c.key.choose_scheme(offered).is_some();
        if !can_sign(&self.first) && can_sign(&self.other) {
            Some(self.other.clone())
        } else {
            // Neither fits: the first, and rustls fails the handshake as a
            // single-certificate server would.
            Some(self.first.clone())
        }
    }
}

/// Signs handshakes with [`RSA1024_PRIVATE_KEY_PEM`] through the RustCrypto
/// `rsa` crate (aws-lc-rs refuses keys this small), or with garbage for
/// [`KeyKind::Rsa1024BadSignature`].
#[derive(Debug)]
struct SmallRsaKey {
    bad_signature: bool,
}

#[derive(Debug)]
struct SmallRsaSigner {
    scheme: SignatureScheme,
    bad_signature: bool,
}

impl rustls::sign::SigningKey for SmallRsaKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        // PSS first: TLS 1.3 only allows PSS for RSA.
        [
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PKCS1_SHA256,
        ]
        .into_iter()
        .find(|scheme| offered.contains(scheme))
        .map(|scheme| {
            Box::new(SmallRsaSigner {
                scheme,
                bad_signature: self.bad_signature,
            }) as Box<dyn rustls::sign::Signer>
        })
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::RSA
    }
}

impl rustls::sign::Signer for SmallRsaSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::sha2::Sha256;
        use rsa::signature::{SignatureEncoding, Signer};
        if self.bad_signature {
            // 128 bytes is the size of a 1024-bit RSA signature.
            return Ok(vec![0; 128]);
        }
        let key = rsa::PrivateKey::from_pkcs8_pem(RSA1024_PRIVATE_KEY_PEM)
            .map_err(|e| rustls::Error::General(format!("lab RSA-1024 key: {e}")))?;
        let failed = |e: rsa::signature::Error| rustls::Error::General(format!("sign: {e}"));
        match self.scheme {
            SignatureScheme::RSA_PSS_SHA256 => rsa::pss::SigningKey::<Sha256>::new(key)
                .try_sign(message)
                .map(|s| s.to_vec())
                .map_err(failed),
            _ => rsa::pkcs1v15::SigningKey::<Sha256>::new(key)
                .try_sign(message)
                .map(|s| s.to_vec())
                .map_err(failed),
        }
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}
