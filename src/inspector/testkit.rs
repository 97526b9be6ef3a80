//! Hand-built evidence for the inspector's unit tests, no network: probes
//! that stop at each phase of the dialogue, certificate chains minted with
//! rcgen under a test root, MX hosts with TLSA records, MTA-STS policies,
//! and a fixed clock. The tests of each file build their cases from these
//! and assert on the typed assessment.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use aws_lc_rs::digest;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::CertificateDer;
use time::OffsetDateTime;
use time::macros::datetime;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{
    AddressEvidence, DomainAssessment, DomainEvidence, InspectSettings, MtaStsEvidence, MxEvidence,
    TlsaEvidence, inspect_domain,
};
use crate::domain::DomainName;
use crate::options::TrustStore;
use crate::prober::injection::Injection;
use crate::prober::scan::{ScanMode, TlsScan, Version, VersionScan};
use crate::prober::smtp::Reply;
use crate::prober::{
    Greeting, Phase, Probe, ProbeError, ProbeErrorKind, StartTls, TlsFailure, TlsSession,
};
use crate::protection::dane::Tlsa;
use crate::protection::mta_sts::{FetchProblem, Fetched, PolicyBody};
use crate::resolver::{Answer, Dnssec, Exchange, HostAddresses, MxRecord, MxResolution};
use crate::vocabulary::Finding;

/// The recipient domain of every case.
pub const DOMAIN: &str = "example.test";

/// The primary MX host.
pub const MX1: &str = "mx1.example.test";

/// The backup MX host.
pub const MX2: &str = "mx2.example.test";

/// "Now" for every case: certificates are minted around it.
pub const NOW: OffsetDateTime = datetime!(2025-06-01 00:00 UTC);

/// A certificate chain, leaf first, as a server sends it.
pub type Chain = Vec<CertificateDer<'static>>;

struct Roots {
    trusted: CertifiedIssuer<'static, KeyPair>,
    untrusted: CertifiedIssuer<'static, KeyPair>,
    trust: TrustStore,
}

fn root(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("root params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("root key")).expect("root")
}

/// One trusted test root (given to the `TrustStore` as a `--ca-file`
/// would be) and one that nothing trusts.
static ROOTS: LazyLock<Roots> = LazyLock::new(|| {
    let trusted = root("testkit trusted root");
    let untrusted = root("testkit untrusted root");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("root.pem");
    std::fs::write(&path, trusted.pem()).expect("write root");
    let trust = TrustStore::with_ca_files(&[path]).expect("trust store");
    Roots {
        trusted,
        untrusted,
        trust,
    }
});

/// How the inspector grades in every case: the test root trusted, the
/// default expiry warning, [`NOW`].
pub fn settings() -> InspectSettings {
    InspectSettings {
        trust: ROOTS.trust.clone(),
        expiry_warn_days: 30,
        now: NOW,
    }
}

fn leaf_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(vec![name.to_string()]).expect("leaf params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params
}

/// A leaf for `name`, issued by the trusted root: PKIX-valid for `name`.
pub fn valid(name: &str) -> Chain {
    issued(leaf_params(name), &ROOTS.trusted)
}

/// A leaf for `name` by the trusted root, expiring `days` after [`NOW`].
pub fn expiring(name: &str, days: i64) -> Chain {
    let mut params = leaf_params(name);
    params.not_after = NOW + time::Duration::days(days);
    issued(params, &ROOTS.trusted)
}

/// A leaf for `name` with an RSA-2048 key (NCSC-NL phase-out).
pub fn rsa2048(name: &str) -> Chain {
    let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key");
    let leaf = leaf_params(name)
        .signed_by(&key, &ROOTS.trusted)
        .expect("RSA leaf");
    vec![leaf.der().clone()]
}

/// A leaf for `name` issued by a root nothing trusts (sent alone).
pub fn untrusted(name: &str) -> Chain {
    issued(leaf_params(name), &ROOTS.untrusted)
}

/// A self-signed leaf for `name`: PKIX rejects it, DANE-EE can pin it.
pub fn self_signed(name: &str) -> Chain {
    let cert = leaf_params(name)
        .self_signed(&KeyPair::generate().expect("key"))
        .expect("self-signed");
    vec![cert.der().clone()]
}

/// A leaf for `name` by the trusted root, sent with the root after it
/// (what a DANE-TA(2) record needs to find its anchor).
pub fn with_root(name: &str) -> Chain {
    let mut chain = valid(name);
    chain.push(ROOTS.trusted.der().clone());
    chain
}

fn issued(params: CertificateParams, by: &CertifiedIssuer<'static, KeyPair>) -> Chain {
    let leaf = params
        .signed_by(&KeyPair::generate().expect("key"), by)
        .expect("leaf");
    vec![leaf.der().clone()]
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (what `3 1 1` pins).
pub fn spki_sha256(cert: &CertificateDer<'_>) -> Vec<u8> {
    let (_, x509) = X509Certificate::from_der(cert.as_ref()).expect("parse certificate");
    digest::digest(&digest::SHA256, x509.public_key().raw)
        .as_ref()
        .to_vec()
}

/// `3 1 1` for the chain's leaf key.
pub fn dane_ee(chain: &Chain) -> Tlsa {
    tlsa_record(3, 1, 1, spki_sha256(&chain[0]))
}

/// `3 1 2` for the chain's leaf key.
pub fn dane_ee_sha512(chain: &Chain) -> Tlsa {
    let (_, x509) = X509Certificate::from_der(chain[0].as_ref()).expect("parse certificate");
    let data = digest::digest(&digest::SHA512, x509.public_key().raw);
    tlsa_record(3, 1, 2, data.as_ref().to_vec())
}

/// `2 1 1` for the chain's last certificate (its root, see [`with_root`]).
pub fn dane_ta(chain: &Chain) -> Tlsa {
    tlsa_record(2, 1, 1, spki_sha256(chain.last().expect("non-empty chain")))
}

/// A usable `3 1 1` record that matches no key.
pub fn dane_ee_other() -> Tlsa {
    tlsa_record(3, 1, 1, vec![0xab; 32])
}

/// `1 1 1`: PKIX-EE, which SMTP clients cannot use (RFC 7672 §3.1.3).
pub fn pkix_ee(chain: &Chain) -> Tlsa {
    tlsa_record(1, 1, 1, spki_sha256(&chain[0]))
}

pub fn tlsa_record(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Tlsa {
    Tlsa {
        usage,
        selector,
        matching,
        data,
    }
}

pub fn reply(code: u16, text: &str) -> Reply {
    Reply {
        code,
        lines: vec![text.to_string()],
    }
}

fn error(phase: Phase, kind: ProbeErrorKind) -> Option<ProbeError> {
    Some(ProbeError { phase, kind })
}

/// No TCP connection.
pub fn connect_failed() -> Probe {
    Probe {
        error: error(Phase::Connect, ProbeErrorKind::ConnectionRefused),
        ..Probe::default()
    }
}

/// Not contacted: the address timed out earlier in the run.
pub fn skipped() -> Probe {
    Probe {
        error: error(Phase::Connect, ProbeErrorKind::Skipped),
        ..Probe::default()
    }
}

/// Connected, then no complete 220 greeting; a `Rejected` reply is also
/// the banner.
pub fn banner_failed(kind: ProbeErrorKind) -> Probe {
    let banner = match &kind {
        ProbeErrorKind::Rejected(r) => Some(r.clone()),
        _ => None,
    };
    Probe {
        banner,
        error: error(Phase::Banner, kind),
        ..connected()
    }
}

/// Greeted with 220, then EHLO (or HELO, by `phase`) failed.
pub fn greeting_failed(phase: Phase, kind: ProbeErrorKind) -> Probe {
    Probe {
        error: error(phase, kind),
        ..bannered()
    }
}

fn connected() -> Probe {
    let mut p = Probe::default();
    p.timings.connect = Some(1);
    p
}

fn bannered() -> Probe {
    Probe {
        banner: Some(reply(220, "mx ESMTP")),
        ..connected()
    }
}

fn ehlo(extensions: &[&str]) -> Option<Greeting> {
    Some(Greeting {
        helo_fallback: false,
        extensions: extensions.iter().map(|e| e.to_string()).collect(),
    })
}

/// EHLO answered without STARTTLS.
pub fn no_starttls() -> Probe {
    Probe {
        greeting: ehlo(&["PIPELINING", "8BITMIME"]),
        starttls: StartTls::NotOffered,
        ..bannered()
    }
}

/// EHLO rejected with 5xx, HELO accepted: no ESMTP, no STARTTLS.
pub fn helo_only() -> Probe {
    Probe {
        greeting: Some(Greeting {
            helo_fallback: true,
            extensions: Vec::new(),
        }),
        starttls: StartTls::NotOffered,
        ..bannered()
    }
}

fn offered() -> Probe {
    Probe {
        greeting: ehlo(&["PIPELINING", "STARTTLS"]),
        ..bannered()
    }
}

/// STARTTLS offered, then refused with this reply.
pub fn starttls_refused() -> Probe {
    Probe {
        starttls: StartTls::Refused(reply(454, "4.7.0 TLS not available")),
        ..offered()
    }
}

/// STARTTLS offered and answered 220, then bytes in clear text before
/// the handshake.
pub fn starttls_failed() -> Probe {
    Probe {
        starttls: StartTls::Accepted,
        error: error(Phase::Starttls, ProbeErrorKind::PlaintextAfterStarttls(12)),
        ..offered()
    }
}

/// STARTTLS accepted, the handshake failed with `failure` after the
/// server sent `presented`.
pub fn handshake_failed(failure: TlsFailure, presented: Chain) -> Probe {
    Probe {
        starttls: StartTls::Accepted,
        presented_chain: presented,
        error: error(Phase::TlsHandshake, ProbeErrorKind::Tls(failure)),
        ..offered()
    }
}

/// The TLS 1.3 session smtptls's client gets, showing `chain`.
pub fn session(chain: Chain) -> TlsSession {
    TlsSession {
        version: crate::prober::scan::Version::Tls13,
        cipher: "TLS_AES_256_GCM_SHA384".into(),
        key_exchange_group: Some("X25519".into()),
        chain,
        ocsp_stapled: false,
        ocsp: None,
        signature_unverified: None,
    }
}

/// The whole dialogue worked: STARTTLS, TLS 1.3 with `chain`, EHLO
/// inside TLS.
pub fn tls(chain: Chain) -> Probe {
    Probe {
        starttls: StartTls::Accepted,
        tls: Some(session(chain)),
        greeting_after_tls: ehlo(&["PIPELINING", "AUTH PLAIN"]),
        ..offered()
    }
}

/// [`tls`] with `main`, and the second hello (offering the other key
/// type's schemes) got `other`: a dual-certificate server.
pub fn dual(main: Chain, other: Chain) -> Probe {
    use crate::prober::dual::{OtherCertificate, OtherOutcome};
    use crate::prober::tls::KeyFamily;
    let family = KeyFamily::of(&other[0]).expect("an RSA or ECDSA leaf");
    Probe {
        other_certificate: Some(OtherCertificate {
            family,
            outcome: OtherOutcome::Served {
                chain: other,
                handshake: Ok(()),
            },
        }),
        ..tls(main)
    }
}

/// [`tls`] with `main`, and the second hello failed: the server has one
/// key type.
pub fn single_key_type(main: Chain) -> Probe {
    use crate::prober::dual::{OtherCertificate, OtherOutcome};
    use crate::prober::tls::KeyFamily;
    let family = KeyFamily::of(&main[0])
        .expect("an RSA or ECDSA leaf")
        .other();
    Probe {
        other_certificate: Some(OtherCertificate {
            family,
            outcome: OtherOutcome::NoneServed(TlsFailure::Alert("handshake_failure".into())),
        }),
        ..tls(main)
    }
}

/// TLS 1.3 with `chain`, then EHLO inside TLS failed: the session is
/// unusable.
pub fn ehlo_after_tls_failed(chain: Chain) -> Probe {
    Probe {
        starttls: StartTls::Accepted,
        tls: Some(session(chain)),
        error: error(
            Phase::EhloAfterTls,
            ProbeErrorKind::Rejected(reply(454, "4.3.0 try again")),
        ),
        ..offered()
    }
}

/// TLS with `chain`, but the handshake signature was not verified (an
/// RSA key below 1024 bits).
pub fn signature_unverified(chain: Chain) -> Probe {
    let mut p = tls(chain);
    if let Some(t) = &mut p.tls {
        t.signature_unverified = Some("RSA key of 768 bits: signature not verified".into());
    }
    p
}

/// TLS with `chain`, and a NOOP pipelined behind STARTTLS is answered
/// inside TLS (STARTTLS command injection).
pub fn injectable(chain: Chain) -> Probe {
    Probe {
        injection: Some(Ok(Injection::Vulnerable(reply(250, "2.0.0 OK")))),
        ..tls(chain)
    }
}

/// A `light` scan that saw `accepted` (version, suites) and `chain`.
pub fn scan(accepted: &[(Version, &[u16])], chain: Chain) -> TlsScan {
    TlsScan {
        mode: ScanMode::Light,
        versions: accepted
            .iter()
            .map(|(v, suites)| {
                (
                    *v,
                    VersionScan {
                        accepted: Some(true),
                        preferred: suites.first().copied(),
                        suites: suites.to_vec(),
                        error: None,
                    },
                )
            })
            .collect(),
        server_order: None,
        weak: Vec::new(),
        dhe: None,
        groups: Default::default(),
        post_quantum_accepted: None,
        compression: None,
        secure_renegotiation: None,
        connections: accepted.len(),
        stopped: None,
        chain,
    }
}

/// `TLS_RSA_WITH_AES_128_CBC_SHA`: static RSA, which rustls does not offer.
pub const RSA_AES128_CBC_SHA: u16 = 0x002f;
/// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`, which rustls offers.
pub const ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;

/// The main handshake failed (no common version), and the scan saw the
/// server accept only TLS 1.0 with a static-RSA suite, showing `chain`:
/// `legacy_tls`.
pub fn legacy_only(chain: Chain) -> Probe {
    Probe {
        fallback: Some(fallback(Version::Tls10, RSA_AES128_CBC_SHA, chain)),
        ..handshake_failed(
            TlsFailure::NoCommonVersion("protocol version".into()),
            Vec::new(),
        )
    }
}

/// What the fallback (OpenSSL-default) hello got: a ServerHello choosing
/// `suite` at `version`, with `chain`.
pub fn fallback(version: Version, suite: u16, chain: Chain) -> crate::prober::scan::Fallback {
    use crate::prober::scan::{Fallback, Reply, ServerHello};
    let hello = ServerHello {
        version,
        suite,
        compression: 0,
        secure_renegotiation: true,
        retry_request: false,
        group: None,
        key_exchange: None,
        chain: chain.iter().map(|c| c.as_ref().to_vec()).collect(),
    };
    Fallback::from(Ok(Reply::Hello(hello)))
}

/// `192.0.2.n:25`.
pub fn addr(n: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), 25)
}

/// An address the audit did not connect to because of what it is.
pub fn not_probed(ip: &str) -> (SocketAddr, Probe) {
    let ip: IpAddr = ip.parse().expect("test address");
    let probe = Probe {
        error: Some(ProbeError {
            phase: Phase::Connect,
            kind: ProbeErrorKind::NotProbed(crate::vocabulary::AddressClass::of(ip)),
        }),
        ..Probe::default()
    };
    (SocketAddr::new(ip, 25), probe)
}

/// An MX host at preference `pref`, its addresses `192.0.2.pref`,
/// `192.0.2.pref+1`, … (one per probe, found by an A lookup that is not
/// DNSSEC-signed), no TLSA lookup.
pub fn mx(pref: u8, host: &str, probes: Vec<Probe>) -> MxEvidence {
    let probes: Vec<(SocketAddr, Probe)> = probes
        .into_iter()
        .enumerate()
        .map(|(i, p)| (addr(pref + i as u8), p))
        .collect();
    let v4 = probes
        .iter()
        .map(|(a, _)| match a.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        })
        .collect();
    MxEvidence {
        record: MxRecord {
            preference: u16::from(pref),
            exchange: Exchange::Host(name(host)),
        },
        addresses: AddressEvidence::Resolved(HostAddresses {
            v4: Some(Answer::Records(v4)),
            v6: None,
            cname: None,
            dnssec: Dnssec::Insecure,
        }),
        tlsa: None,
        port: 25,
        probes,
        addresses_left_out: Vec::new(),
    }
}

/// The host's addresses are DNSSEC-secure and its TLSA lookup gave
/// `answer` (DNSSEC-secure too).
pub fn signed(mx: MxEvidence, answer: Answer<Vec<Tlsa>>) -> MxEvidence {
    with_tlsa(mx, answer, Dnssec::Secure)
}

/// The host's addresses are DNSSEC-secure and its TLSA lookup gave
/// `answer` with status `dnssec`.
pub fn with_tlsa(mut mx: MxEvidence, answer: Answer<Vec<Tlsa>>, dnssec: Dnssec) -> MxEvidence {
    if let AddressEvidence::Resolved(a) = &mut mx.addresses {
        a.dnssec = Dnssec::Secure;
    }
    mx.tlsa = Some(TlsaEvidence { answer, dnssec });
    mx
}

/// An MX host that yields no address to probe (e.g. the A lookup found
/// nothing).
pub fn addressless(pref: u8, host: &str, v4: Answer<Vec<Ipv4Addr>>) -> MxEvidence {
    let mut m = mx(pref, host, Vec::new());
    m.addresses = AddressEvidence::Resolved(HostAddresses {
        v4: Some(v4),
        v6: None,
        cname: None,
        dnssec: Dnssec::Indeterminate,
    });
    m
}

pub fn name(s: &str) -> DomainName {
    s.parse().expect("domain name")
}

/// MX records for `mx`, an absent MTA-STS record and no TLS-RPT record.
pub fn domain(mx: Vec<MxEvidence>) -> DomainEvidence {
    DomainEvidence {
        resolution: MxResolution::Hosts {
            hosts: mx.iter().map(|m| m.record.clone()).collect(),
            implicit: false,
            null_mx_mixed: false,
            dnssec: Dnssec::Insecure,
        },
        mx,
        mx_left_out: Vec::new(),
        mta_sts: Some(MtaStsEvidence {
            txt: Answer::NoData,
            fetch: None,
        }),
        tls_rpt: Some(Answer::NoData),
    }
}

/// A domain whose MX lookup came out as `resolution`, without mail hosts.
pub fn resolved(resolution: MxResolution) -> DomainEvidence {
    DomainEvidence {
        resolution,
        mx: Vec::new(),
        mx_left_out: Vec::new(),
        mta_sts: None,
        tls_rpt: None,
    }
}

/// The policy body for `mode` listing `mx` patterns.
pub fn policy(mode: &str, mx: &[&str]) -> String {
    let mut body = format!("version: STSv1\nmode: {mode}\n");
    for m in mx {
        body.push_str(&format!("mx: {m}\n"));
    }
    body.push_str("max_age: 86400\n");
    body
}

/// One valid `_mta-sts` record and the fetched `body`.
pub fn sts(body: &str) -> MtaStsEvidence {
    MtaStsEvidence {
        txt: Answer::Records(vec!["v=STSv1; id=1".into()]),
        fetch: Some(Ok(Fetched::read(PolicyBody {
            url: format!("https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt"),
            body: body.as_bytes().to_vec(),
        }))),
    }
}

/// One valid `_mta-sts` record, and the policy fetch failed.
pub fn sts_unfetched(problem: FetchProblem) -> MtaStsEvidence {
    MtaStsEvidence {
        txt: Answer::Records(vec!["v=STSv1; id=1".into()]),
        fetch: Some(Err(problem)),
    }
}

/// `_mta-sts` TXT records as given, nothing fetched.
pub fn sts_txt(txt: Answer<Vec<String>>) -> MtaStsEvidence {
    MtaStsEvidence { txt, fetch: None }
}

/// `domain(mx)` with an MTA-STS `enforce` policy listing `patterns`.
pub fn enforced(mx: Vec<MxEvidence>, patterns: &[&str]) -> DomainEvidence {
    DomainEvidence {
        mta_sts: Some(sts(&policy("enforce", patterns))),
        ..domain(mx)
    }
}

/// Grades `evidence` as the domain [`DOMAIN`].
pub fn inspect(evidence: &DomainEvidence) -> DomainAssessment<'_> {
    inspect_domain(&name(DOMAIN), evidence, &settings())
}

/// `id=severity` for each finding, e.g. `smtp.connect=fail`.
pub fn listed(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{}={}", f.id, f.severity))
        .collect()
}

/// Checks `expected` against `findings`: each `id=severity` must be
/// among them, each `!id` must not be (at any severity). The error lists
/// what was there.
pub fn check_findings(findings: &[Finding], expected: &[&str]) -> Result<(), String> {
    let have = listed(findings);
    for e in expected {
        let ok = match e.strip_prefix('!') {
            Some(id) => !have.iter().any(|h| h.split('=').next() == Some(id)),
            None => have.iter().any(|h| h == e),
        };
        if !ok {
            return Err(format!("expected {e}, findings are {have:?}"));
        }
    }
    Ok(())
}

/// A timeout of `secs` seconds, for error kinds.
pub fn timeout(secs: u64) -> ProbeErrorKind {
    ProbeErrorKind::Timeout(Duration::from_secs(secs))
}
