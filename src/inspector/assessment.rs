//! What the inspector hands on: its verdict, findings and per-sender
//! outcomes for a domain, each MX host and each address, built from the
//! evidence (which the address rows borrow) and typed throughout.
//!
//! `crate::report` builds the JSON rows from these: the report owns its
//! wire types (`From` these), so a change here reaches the JSON only
//! through a `From` impl in `report/`.

use std::net::SocketAddr;

use super::certificate::Certificate;
use crate::domain::DomainName;
use crate::prober::Probe;
use crate::prober::scan::ServerHello;
use crate::prober::tls::KeyFamily;
use crate::protection::dane::Tlsa;
use crate::protection::mta_sts::Mode;
use crate::protection::{RecordState, TlsaStatus};
use crate::resolver::Dnssec;
use crate::vocabulary::{Failure, Finding, NcscLevel, Service, Verdict};

/// One graded domain.
#[derive(Debug, Clone)]
pub struct DomainAssessment<'e> {
    pub domain: DomainName,
    /// The service graded: MX hosts (smtp), or a submission service,
    /// whose hosts stand in `mx`.
    pub service: Service,
    pub verdict: Verdict,
    /// One sentence saying why.
    pub verdict_reason: String,
    pub mx_source: MxSource,
    /// DNSSEC status of the MX RRset (of the address records for an
    /// implicit MX); `indeterminate` when there was none to judge.
    pub dnssec: Dnssec,
    /// Sorted by preference.
    pub mx: Vec<MxAssessment<'e>>,
    /// MX hosts beyond `--max-mx-hosts`: listed, not probed or graded.
    pub mx_left_out: Vec<crate::resolver::MxRecord>,
    pub mta_sts: Option<MtaSts>,
    pub tls_rpt: Option<TlsRpt>,
    /// What each kind of sender would do; `None` without a mail host.
    pub delivery: Option<Delivery>,
    /// The configuration axis: the worst level of its addresses.
    pub configuration: Option<Configuration>,
    /// Domain-level findings (MX lookup, MTA-STS, TLS-RPT, delivery).
    pub findings: Vec<Finding>,
    /// Set when the domain could not be audited at all.
    pub error: Option<Failure>,
}

impl DomainAssessment<'_> {
    /// A domain with nothing graded yet: verdict `error` until the
    /// inspector says otherwise.
    pub fn new(domain: &DomainName) -> Self {
        DomainAssessment {
            domain: domain.clone(),
            service: Service::Smtp,
            verdict: Verdict::Error,
            verdict_reason: String::new(),
            mx_source: MxSource::None,
            dnssec: Dnssec::Indeterminate,
            mx: Vec::new(),
            mx_left_out: Vec::new(),
            mta_sts: None,
            tls_rpt: None,
            delivery: None,
            configuration: None,
            findings: Vec::new(),
            error: None,
        }
    }
}

/// One graded MX host.
#[derive(Debug, Clone)]
pub struct MxAssessment<'e> {
    pub host: String,
    pub preference: u16,
    /// Set when the host name is an alias.
    pub cname: Option<String>,
    /// DNSSEC status of the host's address records.
    pub dnssec: Dnssec,
    /// `None` when DANE does not apply (addresses not DNSSEC-secure).
    pub tlsa: Option<TlsaAssessment>,
    /// Whether the host matches the MTA-STS policy's `mx` patterns; `None`
    /// without a policy.
    pub mta_sts_match: Option<bool>,
    pub addresses: Vec<AddressAssessment<'e>>,
    /// Addresses beyond `--max-addresses-per-host`: listed, not probed.
    pub addresses_left_out: Vec<std::net::IpAddr>,
    pub findings: Vec<Finding>,
    /// Set when the host's addresses could not be found.
    pub error: Option<Failure>,
}

impl MxAssessment<'_> {
    /// Every address with a TLS session negotiated a hybrid post-quantum
    /// group; `None` when none had a session.
    pub fn post_quantum(&self) -> Option<bool> {
        let sessions: Vec<bool> = self
            .addresses
            .iter()
            .filter_map(AddressAssessment::post_quantum)
            .collect();
        (!sessions.is_empty()).then(|| sessions.iter().all(|&pq| pq))
    }
}

/// The TLSA lookup of one MX host, as a DANE sender sees it.
#[derive(Debug, Clone)]
pub struct TlsaAssessment {
    pub status: TlsaStatus,
    pub dnssec: Dnssec,
    /// The records as published (empty unless found or insecure).
    pub records: Vec<Tlsa>,
}

/// One graded MX address: the probe it was graded from, and the grades.
#[derive(Debug, Clone)]
pub struct AddressAssessment<'e> {
    pub addr: SocketAddr,
    pub probe: &'e Probe,
    /// The leaf the server showed, graded; `None` when none was shown or
    /// it could not be parsed.
    pub certificate: Option<Certificate>,
    pub dane: DaneResult,
    /// What the fallback hello got where smtptls's own client got no
    /// session, when that is something our client does not offer
    /// (`scan::legacy_session`): the address is `legacy_tls`.
    pub legacy_session: Option<&'e ServerHello>,
    /// The probe's error, or what the dialogue made of it (a refused
    /// STARTTLS).
    pub error: Option<Failure>,
    pub findings: Vec<Finding>,
    /// What the address amounts to for the rubric.
    pub grade: AddressGrade,
    /// The configuration axis: the NCSC-NL level of what it accepts.
    pub configuration: Option<Configuration>,
    /// The OCSP response stapled in the main handshake, read against the
    /// leaf; `None` when none was stapled (or no session).
    pub ocsp: Option<super::ocsp::Ocsp>,
    /// The server's certificates of the other key type (the second hello,
    /// [`crate::prober::dual`]), graded like `certificate`; empty when it
    /// has one key type. They never change `grade`: mainstream senders
    /// offer both key types and get `certificate`.
    pub other_certificates: Vec<OtherCertificate>,
}

/// A certificate of the other key type, graded.
#[derive(Debug, Clone)]
pub struct OtherCertificate {
    /// The key type the second hello asked for.
    pub family: KeyFamily,
    pub certificate: Certificate,
    /// Against the same TLSA records as the main certificate; `Insecure`
    /// (like the main one) when DANE does not apply.
    pub dane: DaneResult,
}

/// What the PKIX predicate needs of a graded leaf: the assessment's
/// [`Certificate`] has it, and so has the report's certificate.
pub trait GradedLeaf {
    /// The chain validates to a trusted root.
    fn chain_valid(&self) -> bool;
    /// The certificate names the host.
    fn hostname_match(&self) -> bool;
}

impl GradedLeaf for Certificate {
    fn chain_valid(&self) -> bool {
        self.chain_valid
    }
    fn hostname_match(&self) -> bool {
        self.hostname_match
    }
}

/// What every sender's decision about an address rests on. The
/// assessment has it, and so does the report row, which `policy --from`
/// reads back from an earlier run; the predicates are written once, here.
pub trait SessionState {
    /// The certificate type the row holds.
    type Leaf: GradedLeaf;
    /// The address's error, if any.
    fn failure(&self) -> Option<&Failure>;
    /// smtptls's own client established a TLS session.
    fn has_tls_session(&self) -> bool;
    /// Encrypted only with legacy versions or suites (`legacy_tls`).
    fn legacy_only(&self) -> bool;
    /// The graded leaf certificate, if one was shown.
    fn leaf(&self) -> Option<&Self::Leaf>;

    /// The address answered SMTP: a sender would hand it mail.
    fn reachable(&self) -> bool {
        !self.failure().is_some_and(|e| e.phase.before_smtp())
    }

    /// TLS was established and the session stayed usable.
    fn tls_works(&self) -> bool {
        self.has_tls_session() && self.failure().is_none()
    }

    /// Mail to this address is encrypted by a sender whose TLS library
    /// still speaks what the server accepts: [`Self::tls_works`], or only
    /// with legacy versions or suites.
    fn encrypts(&self) -> bool {
        self.tls_works() || self.legacy_only()
    }

    /// The certificate validates to a trusted root and names the host.
    fn pkix_valid(&self) -> bool {
        self.leaf()
            .is_some_and(|c| c.chain_valid() && c.hostname_match())
    }
}

impl SessionState for AddressAssessment<'_> {
    type Leaf = Certificate;
    fn failure(&self) -> Option<&Failure> {
        self.error.as_ref()
    }
    fn has_tls_session(&self) -> bool {
        self.probe.tls.is_some()
    }
    fn legacy_only(&self) -> bool {
        self.legacy_tls()
    }
    fn leaf(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }
}

impl AddressAssessment<'_> {
    /// Encrypted only with versions or suites smtptls's own client does not
    /// offer.
    pub fn legacy_tls(&self) -> bool {
        self.legacy_session.is_some()
    }

    /// STARTTLS was advertised in the EHLO reply.
    pub fn starttls(&self) -> bool {
        self.probe
            .greeting
            .as_ref()
            .is_some_and(|g| g.offers("STARTTLS"))
    }

    /// The main handshake negotiated a hybrid post-quantum group; `None`
    /// without a TLS session.
    pub fn post_quantum(&self) -> Option<bool> {
        self.probe.tls.as_ref().map(|t| {
            t.key_exchange_group
                .as_deref()
                .is_some_and(|g| g.contains("MLKEM"))
        })
    }
}

/// Where a domain's mail hosts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MxSource {
    /// MX records.
    Mx,
    /// No MX, the domain's own address (RFC 5321 §5.1).
    Implicit,
    /// Null MX (RFC 7505).
    Null,
    /// None could be determined.
    None,
    /// A submission service's SRV records (RFC 6186).
    Srv,
    /// A submission service at the name given (no SRV records).
    Host,
}

/// MTA-STS (RFC 8461) as published.
#[derive(Debug, Clone)]
pub struct MtaSts {
    /// `absent`, `valid`, `invalid`, `multiple`, `lookup-failed`.
    pub record: RecordState,
    /// The record's `id` when valid.
    pub id: Option<String>,
    /// The fetched policy; null when there is no valid record or the
    /// fetch failed (see `fetch_error`).
    pub policy: Option<StsPolicySummary>,
    /// Why the policy could not be fetched or parsed.
    pub fetch_error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StsPolicySummary {
    pub url: String,
    /// `enforce`, `testing` or `none`.
    pub mode: Mode,
    pub mx: Vec<String>,
    pub max_age: u64,
    /// SHA-256 (hex) of the policy text as fetched, so `smtptls diff` can
    /// see a policy that changed while its record's `id` did not (senders
    /// with a cached policy never fetch the new one, RFC 8461 §3.3). Null
    /// in reports from before it was kept.
    pub text_sha256: Option<String>,
}

/// TLS-RPT (RFC 8460) as published.
#[derive(Debug, Clone)]
pub struct TlsRpt {
    /// `absent`, `valid`, `invalid`, `multiple`, `lookup-failed`.
    pub record: RecordState,
    /// Report destinations (`mailto:` / `https:` URIs) when valid.
    pub rua: Vec<String>,
}

/// The outcome for the three kinds of sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Uses STARTTLS when offered, accepts any certificate, else sends in
    /// clear text (most MTAs by default).
    pub opportunistic: Outcome,
    /// Enforces the domain's MTA-STS policy (RFC 8461).
    pub mta_sts: Outcome,
    /// Enforces DANE TLSA records (RFC 7672).
    pub dane: Outcome,
}

/// What one kind of sender would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub result: DeliveryResult,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    /// Delivered over TLS. Authenticated for MTA-STS senders and for DANE
    /// senders on hosts with usable TLSA records; otherwise encrypted only
    /// — the reason says which.
    Secure,
    /// Delivered without encryption.
    Cleartext,
    /// Not delivered now; retried, then bounced if it persists.
    Deferred,
    /// This kind of sender has no policy to enforce for the domain and
    /// behaves opportunistically.
    NotApplicable,
}

/// DANE status of one MX address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaneResult {
    /// A usable TLSA record matches: DANE senders deliver.
    Valid,
    /// Usable TLSA records, none matches (or no TLS): DANE senders defer.
    Mismatch,
    /// TLSA records exist but none is usable for SMTP: DANE senders
    /// require TLS but do not authenticate.
    Unusable,
    /// The host's records are not DNSSEC-secure: DANE does not apply.
    Insecure,
    /// Secure, and no TLSA records: DANE does not apply.
    None,
    /// The TLSA lookup failed (SERVFAIL, bogus, timeout): DANE senders defer.
    LookupFailed,
}

/// What one MX address amounts to, for the rubric (`verdict.rs`, which
/// grades: the type is here, with the other outputs, so that the rubric
/// and the outputs do not import each other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressGrade {
    /// Could not be judged: no connection, no banner, refused greeting.
    Unreachable,
    /// Reached, but mail to it would travel in clear text (no STARTTLS,
    /// STARTTLS refused, handshake failed, session unusable).
    NoTls,
    /// Encrypted only with TLS versions or suites smtptls's own client does
    /// not speak (`legacy_tls`): senders on OpenSSL or GnuTLS encrypt,
    /// stricter ones do not; never authenticated.
    LegacyTls,
    /// Encrypted, but the certificate cannot be authenticated.
    Unauthenticated,
    /// Encrypted and authenticated, but a correctly configured sender's
    /// session is not safe: the address runs commands injected before TLS
    /// (STARTTLS command injection). What it merely also accepts is not a
    /// grade: that is the configuration axis.
    Weak,
    /// Encrypted, TLS ≥ 1.2, valid chain, matching name.
    Authenticated,
}

/// The configuration level of an address or a domain, and what set it
/// (`configuration::of_address`, `of_domain`: the rules).
#[derive(Debug, Clone, PartialEq, Eq)]
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
