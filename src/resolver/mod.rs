//! Stage 1: DNS. Finds a domain's mail hosts (MX, null MX, implicit MX) and
//! each host's addresses, and says precisely what went wrong when it cannot.
//!
//! Every query goes through one [`Resolver`] built from the run's
//! [`DnsServers`], with absolute names (no search list) and without the
//! hosts file, so answers come only from the servers the user named.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::client::Client;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::DnsHandle;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::{Proof, PublicKeyBuf};
use hickory_resolver::proto::op::{
    DnsRequest, DnsRequestOptions, DnsResponse, Query, ResponseCode,
};
use hickory_resolver::proto::rr::{LowerName, Name, RData, Record, RecordType};
use serde::Serialize;
use tokio::time::Instant;

use crate::domain::DomainName;
use crate::options::{AddressFamilies, DnsServers, DnssecMode};

/// The wait before a transient failure (SERVFAIL, timeout) is asked
/// again; doubled before each next attempt (100, 200, 400, 800 ms …) while
/// the question's budget (`--timeout`) lasts. The doubling is also what
/// bounds the attempts: no attempt starts once its wait would reach the
/// end of the budget, so a server that SERVFAILs at once is asked at most
/// 1 + log2(budget / 100 ms) times (6 with `--timeout 5`, 7 with 10), a
/// silent one 1 + log2(budget / [`ASK_AGAIN_AFTER`]) times (3 with 5).
pub const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// How long a question may go unanswered before it is asked afresh (a
/// new attempt beside the one still waiting); doubled each time (1, 2,
/// 4 s …). By then hickory has sent its three copies (333 ms apart) and
/// an answer on any sane path would be back.
pub const ASK_AGAIN_AFTER: Duration = Duration::from_secs(1);

/// One TLSA record's fields (RFC 6698 §2.1), as published; which records
/// an SMTP client can use and what they match is DANE's business
/// (`protection::dane`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

/// Why a DNS question got no usable answer (other than "no such name" and
/// "no such record", which are answers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsFailure {
    #[error("timed out")]
    Timeout,
    /// DNSSEC validation failed: a validating sender sees SERVFAIL.
    #[error("DNSSEC validation failed (bogus)")]
    Bogus,
    #[error("SERVFAIL")]
    ServFail,
    #[error("REFUSED")]
    Refused,
    #[error("error response {0}")]
    ResponseCode(String),
    /// The answer did not fit in UDP (TC bit) and could not be had in
    /// full over TCP. Never read as "no records": a truncated TLSA RRset
    /// read as empty would turn a DANE mismatch into `secure`.
    #[error("answer truncated over UDP and not completed over TCP: {0}")]
    Truncated(String),
    /// A transient failure (SERVFAIL, timeout) that was still one when the
    /// question's budget was spent: `failure` is the last attempt's.
    #[error("{failure} ({attempts} {})", if *attempts == 1 { "attempt" } else { "attempts" })]
    Retried {
        failure: Box<DnsFailure>,
        attempts: u32,
    },
    #[error("{0}")]
    Other(String),
}

impl DnsFailure {
    /// The failure itself, without the count of attempts.
    pub fn cause(&self) -> &DnsFailure {
        match self {
            DnsFailure::Retried { failure, .. } => failure.cause(),
            other => other,
        }
    }

    /// How many times the question was asked (1 unless it was retried).
    pub fn attempts(&self) -> u32 {
        match self {
            DnsFailure::Retried { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// Worth asking again: a server that was busy or a packet that was
    /// lost (SERVFAIL from rate limiting, a timeout). A bogus, refused or
    /// truncated answer says the same the next time.
    pub fn is_transient(&self) -> bool {
        matches!(self.cause(), DnsFailure::ServFail | DnsFailure::Timeout)
    }
}

impl From<&NetError> for DnsFailure {
    fn from(err: &NetError) -> Self {
        match err {
            NetError::Timeout => DnsFailure::Timeout,
            NetError::Dns(DnsError::DnssecBogus) => DnsFailure::Bogus,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => DnsFailure::ServFail,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => DnsFailure::Refused,
            NetError::Dns(DnsError::ResponseCode(code)) => {
                DnsFailure::ResponseCode(code.to_string())
            }
            NetError::Truncated => DnsFailure::Truncated("hickory gave up".into()),
            other => DnsFailure::Other(other.to_string()),
        }
    }
}

/// Whether an answer (or a denial) is DNSSEC-authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dnssec {
    /// Validated (or, with `--dnssec trust-resolver`, the AD bit was set).
    Secure,
    /// Provably unsigned, or not authenticated by the trusted resolver.
    Insecure,
    /// Signed, but the signatures do not validate.
    Bogus,
    /// Not decided (no answer to judge, e.g. after a failure).
    Indeterminate,
}

impl Dnssec {
    /// Secure only if both are: an RRset and its neighbours.
    pub fn and(self, other: Dnssec) -> Dnssec {
        use Dnssec::*;
        match (self, other) {
            (Bogus, _) | (_, Bogus) => Bogus,
            (Secure, Secure) => Secure,
            (Indeterminate, x) | (x, Indeterminate) => x,
            _ => Insecure,
        }
    }
}

/// The answer to one question, in the terms the report needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    Records(T),
    /// The name exists but has no record of this type (NOERROR, empty answer).
    NoData,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    Failed(DnsFailure),
}

/// What the MX lookup says about a domain's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxResolution {
    /// Mail hosts to probe, sorted by preference.
    Hosts {
        hosts: Vec<MxRecord>,
        /// No MX records: the domain itself is the mail host (RFC 5321 §5.1).
        implicit: bool,
        /// A null MX stood beside real MX records (RFC 7505 §3 forbids it);
        /// senders ignore the null MX, so the others are still audited.
        null_mx_mixed: bool,
        /// DNSSEC status of the MX RRset (of the A/AAAA for an implicit MX).
        dnssec: Dnssec,
    },
    /// A null MX (`0 .`, RFC 7505): the domain says it accepts no mail.
    NoMail,
    /// Neither MX nor address records: mail to this domain cannot be delivered.
    NoMailHost,
    /// NXDOMAIN.
    DomainNotFound,
    /// The MX (or, for an implicit MX, the address) lookup failed.
    Failed { query: String, failure: DnsFailure },
}

/// The hosts of a submission service: an [`MxResolution`] (see
/// [`Resolver::service_hosts`]) and each host's port (`None`: the
/// service's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceResolution {
    /// The hosts came from SRV records (or the SRV lookup failed); `false`
    /// when the name given is the host.
    pub from_srv: bool,
    pub resolution: MxResolution,
    /// One per host of `resolution`, in its order.
    pub ports: Vec<Option<u16>>,
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxRecord {
    pub preference: u16,
    pub exchange: Exchange,
}

/// The target of an MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    Host(DomainName),
    /// The exchange is written as an IP address (`192.0.2.1.`): not a host
    /// name, so RFC-conforming senders will not use it as an address.
    IpLiteral(String),
    /// Not a usable host name at all.
    Invalid(String),
}

impl Exchange {
    /// The exchange as written, without trailing dot.
    pub fn name(&self) -> &str {
        match self {
            Exchange::Host(h) => h.as_str(),
            Exchange::IpLiteral(s) | Exchange::Invalid(s) => s,
        }
    }
}

/// The addresses of one mail host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddresses {
    /// `None` when `-6` skipped the question.
    pub v4: Option<Answer<Vec<Ipv4Addr>>>,
    /// `None` when `-4` skipped the question.
    pub v6: Option<Answer<Vec<Ipv6Addr>>>,
    /// Set when the host name is an alias (CNAME) for this name.
    pub cname: Option<String>,
    /// DNSSEC status of the address RRsets (or their denial) together.
    pub dnssec: Dnssec,
}

impl HostAddresses {
    /// Every address found, IPv4 first, in answer order.
    pub fn all(&self) -> Vec<IpAddr> {
        let v4 = match &self.v4 {
            Some(Answer::Records(v)) => v.iter().map(|a| IpAddr::V4(*a)).collect(),
            _ => Vec::new(),
        };
        let v6 = match &self.v6 {
            Some(Answer::Records(v)) => v.iter().map(|a| IpAddr::V6(*a)).collect(),
            _ => Vec::new(),
        };
        [v4, v6].concat()
    }

    /// At most `max` of [`all`](Self::all) addresses, and the rest: the
    /// two families take turns (IPv4 first), so a cap does not drop one
    /// family whole; each part keeps the order of `all`.
    pub fn split(&self, max: usize) -> (Vec<IpAddr>, Vec<IpAddr>) {
        let n4 = match &self.v4 {
            Some(Answer::Records(v)) => v.len(),
            _ => 0,
        };
        let n6 = match &self.v6 {
            Some(Answer::Records(v)) => v.len(),
            _ => 0,
        };
        let (mut k4, mut k6) = (0, 0);
        while k4 + k6 < max && (k4 < n4 || k6 < n6) {
            if k4 < n4 && (k4 <= k6 || k6 >= n6) {
                k4 += 1;
            } else {
                k6 += 1;
            }
        }
        let all = self.all();
        let (v4, v6) = all.split_at(n4);
        let kept = [&v4[..k4], &v6[..k6]].concat();
        let rest = [&v4[k4..], &v6[k6..]].concat();
        (kept, rest)
    }
}

/// A resolver could not be set up (e.g. unreadable `/etc/resolv.conf`).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up DNS resolution: {0}")]
pub struct ResolverSetupError(String);

/// The run's DNS client.
#[derive(Clone)]
pub struct Resolver {
    backend: Backend,
    /// The zones whose keys validation starts from: the root, or the
    /// owners of the `--trust-anchor` keys ([`Resolver::check`]).
    anchor_zones: Vec<Name>,
    /// The servers, as the user would name them in a message.
    servers: String,
    /// How it was set up, for a plain second look in [`Resolver::check`].
    settings: ResolverSettings,
    /// Attempts beyond the first, over every question this resolver (and
    /// its clones) asked: the report's `summary.dns_retries`.
    retries: Arc<AtomicUsize>,
}

/// How questions are asked, by `--dnssec` mode.
#[derive(Clone)]
enum Backend {
    /// hickory's resolver, validating DNSSEC itself.
    Validating(Box<TokioResolver>),
    /// Plain queries with the DO bit to each configured server in turn;
    /// the answer's AD bit is the DNSSEC verdict.
    TrustAd {
        clients: Arc<Vec<(SocketAddr, Client<TokioRuntimeProvider>)>>,
        timeout: Duration,
    },
}

/// How the resolver is set up.
#[derive(Debug, Clone)]
pub struct ResolverSettings {
    pub servers: DnsServers,
    pub timeout: Duration,
    pub dnssec: DnssecMode,
    pub trust_anchors: Vec<PathBuf>,
}

impl Resolver {
    /// A resolver for `settings`. DS records in `--trust-anchor` files need
    /// DNS to find their keys: use [`Resolver::build`] for those.
    pub fn new(settings: &ResolverSettings) -> Result<Self, ResolverSetupError> {
        Self::with_keys(settings, Vec::new())
    }

    /// Like [`Resolver::new`], but completes the `--trust-anchor` set the way
    /// a validator does, which needs DNS:
    ///
    /// - each DS anchor becomes the DNSKEY it names: the zone's DNSKEY
    ///   RRset is fetched (unvalidated — the DS digest is what
    ///   authenticates it) and the key whose digest matches is trusted;
    /// - each anchored zone's DNSKEY RRset, when an anchored key signs it,
    ///   makes every key in it trusted. Operators publish the key-signing
    ///   key as the anchor (as for unbound's `trust-anchor-file`), while
    ///   the records are signed by a zone-signing key; hickory's validator
    ///   only stops at an anchor when *every* key of the RRset is one, and
    ///   otherwise asks the parent for a DS record that a private zone
    ///   does not have, which made every answer bogus.
    pub async fn build(settings: &ResolverSettings) -> Result<Self, ResolverSetupError> {
        if settings.dnssec != DnssecMode::Validate || settings.trust_anchors.is_empty() {
            return Self::with_keys(settings, Vec::new());
        }
        let plain = Resolver::with_keys(
            &ResolverSettings {
                dnssec: DnssecMode::TrustResolver,
                trust_anchors: Vec::new(),
                ..settings.clone()
            },
            Vec::new(),
        )?;
        let mut keys = Vec::new();
        let mut owners = Vec::new();
        for path in &settings.trust_anchors {
            let text = read_anchor_file(path)?;
            for ds in ds_anchors(&text).map_err(|e| {
                ResolverSetupError(format!("trust anchor file {}: {e}", path.display()))
            })? {
                keys.push(plain.key_for_ds(&ds).await?);
            }
            owners.extend(dnskey_anchor_owners(&text));
        }
        owners.extend(keys.iter().map(|(owner, _)| Name::from(owner)));
        owners.sort();
        owners.dedup();
        let anchors = trust_anchors(&settings.trust_anchors, &keys)?;
        for owner in &owners {
            keys.extend(plain.keys_signed_by_anchor(owner, &anchors).await);
        }
        let mut resolver = Self::with_keys(settings, keys)?;
        resolver.anchor_zones = owners;
        Ok(resolver)
    }

    fn with_keys(
        settings: &ResolverSettings,
        ds_keys: Vec<(LowerName, PublicKeyBuf)>,
    ) -> Result<Self, ResolverSetupError> {
        let backend = match settings.dnssec {
            DnssecMode::Validate => Backend::Validating(Box::new(validating(settings, ds_keys)?)),
            DnssecMode::TrustResolver => {
                let servers = server_addresses(&settings.servers)?;
                let mut clients = Vec::new();
                for addr in servers {
                    let stream = UdpClientStream::builder(addr, TokioRuntimeProvider::default())
                        .with_timeout(Some(settings.timeout))
                        .build();
                    let (client, background) = Client::from_sender(stream);
                    tokio::spawn(background);
                    clients.push((addr, client));
                }
                Backend::TrustAd {
                    clients: Arc::new(clients),
                    timeout: settings.timeout,
                }
            }
        };
        Ok(Resolver {
            backend,
            settings: settings.clone(),
            retries: Arc::new(AtomicUsize::new(0)),
            anchor_zones: vec![Name::root()],
            servers: match &settings.servers {
                DnsServers::System => "system resolver".to_string(),
                DnsServers::Explicit(addrs) => addrs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        })
    }

    /// MX records of `domain`, null MX and implicit MX included.
    pub async fn mail_hosts(&self, domain: &DomainName, families: AddressFamilies) -> MxResolution {
        let fqdn = domain.to_fqdn();
        let (answer, dnssec) = self.query(&fqdn, RecordType::MX).await;
        match answer {
            Answer::Records(records) => match mx_records(records) {
                MxRecords::Null => MxResolution::NoMail,
                // Answers that were only CNAMEs: treat as no MX.
                MxRecords::None => self.implicit_mx(domain, families).await,
                MxRecords::Hosts { hosts, null_mixed } => MxResolution::Hosts {
                    hosts,
                    implicit: false,
                    null_mx_mixed: null_mixed,
                    dnssec,
                },
            },
            Answer::NoData => self.implicit_mx(domain, families).await,
            Answer::NxDomain => MxResolution::DomainNotFound,
            Answer::Failed(failure) => MxResolution::Failed {
                query: format!("MX {fqdn}"),
                failure,
            },
        }
    }

    /// The hosts of a submission service at `name` (RFC 6186 §3): the
    /// `LABEL.NAME` SRV records when there are any (a single target `.`
    /// says the service is not offered), else `name` itself on the
    /// service's port, as a mail client configured by hand uses it. The
    /// resolution reads like an MX lookup's (an SRV priority is a
    /// preference, `.` a null MX, the name itself an implicit MX), so the
    /// audit and the inspector take both the same way.
    pub async fn service_hosts(
        &self,
        name: &DomainName,
        label: &str,
        families: AddressFamilies,
    ) -> ServiceResolution {
        let fqdn = format!("{label}.{}", name.to_fqdn());
        let (answer, dnssec) = self.query(&fqdn, RecordType::SRV).await;
        match map_answer(answer, srv_record) {
            Answer::Records(records) => {
                let (hosts, ports) = srv_hosts(records);
                let resolution = if hosts.is_empty() {
                    MxResolution::NoMail
                } else {
                    MxResolution::Hosts {
                        hosts,
                        implicit: false,
                        null_mx_mixed: false,
                        dnssec,
                    }
                };
                ServiceResolution {
                    from_srv: true,
                    resolution,
                    ports,
                }
            }
            // No SRV records, or not even the name: the name given is the
            // host, if it has addresses.
            Answer::NoData | Answer::NxDomain => {
                let resolution = self.implicit_mx(name, families).await;
                let ports = match &resolution {
                    MxResolution::Hosts { hosts, .. } => vec![None; hosts.len()],
                    _ => Vec::new(),
                };
                ServiceResolution {
                    from_srv: false,
                    resolution,
                    ports,
                }
            }
            Answer::Failed(failure) => ServiceResolution {
                from_srv: true,
                resolution: MxResolution::Failed {
                    query: format!("SRV {fqdn}"),
                    failure,
                },
                ports: Vec::new(),
            },
        }
    }

    /// RFC 5321 §5.1: without MX records, the domain's own A/AAAA records
    /// make it its own mail host.
    async fn implicit_mx(&self, domain: &DomainName, families: AddressFamilies) -> MxResolution {
        let addrs = self.addresses(domain, families).await;
        for (answer_failed, rtype) in [
            (addrs.v4.as_ref().and_then(failed), "A"),
            (addrs.v6.as_ref().and_then(failed), "AAAA"),
        ] {
            if let Some(failure) = answer_failed
                && addrs.all().is_empty()
            {
                return MxResolution::Failed {
                    query: format!("{rtype} {} (implicit MX)", domain.to_fqdn()),
                    failure,
                };
            }
        }
        // With -4 or -6 the other family was not asked; ask it before
        // concluding there is no mail host at all.
        let exists = !addrs.all().is_empty()
            || (families != AddressFamilies::Both
                && !self
                    .addresses(domain, AddressFamilies::Both)
                    .await
                    .all()
                    .is_empty());
        if exists {
            MxResolution::Hosts {
                hosts: vec![MxRecord {
                    preference: 0,
                    exchange: Exchange::Host(domain.clone()),
                }],
                implicit: true,
                null_mx_mixed: false,
                dnssec: addrs.dnssec,
            }
        } else {
            MxResolution::NoMailHost
        }
    }

    /// A and AAAA records of a mail host (the families `families` allows).
    pub async fn addresses(&self, host: &DomainName, families: AddressFamilies) -> HostAddresses {
        let fqdn = host.to_fqdn();
        let want_v4 = families != AddressFamilies::V6Only;
        let want_v6 = families != AddressFamilies::V4Only;
        let (v4, v6) = tokio::join!(
            async {
                if want_v4 {
                    Some(self.query_with_cname(&fqdn, RecordType::A).await)
                } else {
                    None
                }
            },
            async {
                if want_v6 {
                    Some(self.query_with_cname(&fqdn, RecordType::AAAA).await)
                } else {
                    None
                }
            }
        );
        let mut cname = None;
        let mut dnssec: Option<Dnssec> = None;
        let mut note = |d: Dnssec| dnssec = Some(dnssec.map_or(d, |x: Dnssec| x.and(d)));
        let v4 = v4.map(|(answer, alias, d)| {
            note(d);
            cname = cname.take().or(alias);
            map_answer(answer, ipv4)
        });
        let v6 = v6.map(|(answer, alias, d)| {
            note(d);
            cname = cname.take().or(alias);
            map_answer(answer, ipv6)
        });
        HostAddresses {
            v4,
            v6,
            cname,
            dnssec: dnssec.unwrap_or(Dnssec::Indeterminate),
        }
    }

    async fn query(&self, fqdn: &str, rtype: RecordType) -> (Answer<Vec<RData>>, Dnssec) {
        let (answer, _, dnssec) = self.query_with_cname(fqdn, rtype).await;
        (answer, dnssec)
    }

    /// TXT records of `fqdn` (each record's strings concatenated).
    pub async fn txt(&self, fqdn: &str) -> (Answer<Vec<String>>, Dnssec) {
        let (answer, dnssec) = self.query(fqdn, RecordType::TXT).await;
        let answer = map_answer(answer, txt_string);
        (answer, dnssec)
    }

    /// TLSA records at `_PORT._tcp.HOST.` (RFC 7672 §2.2.1).
    pub async fn tlsa(&self, host: &DomainName, port: u16) -> (Answer<Vec<Tlsa>>, Dnssec) {
        let fqdn = format!("_{port}._tcp.{}", host.to_fqdn());
        let (answer, dnssec) = self.query(&fqdn, RecordType::TLSA).await;
        let answer = map_answer(answer, tlsa_record);
        (answer, dnssec)
    }

    /// Questions asked again so far (attempts beyond the first), by this
    /// resolver and its clones.
    pub fn retries(&self) -> usize {
        self.retries.load(Ordering::Relaxed)
    }

    /// Returns the answer's records of `rtype`, the CNAME target if the
    /// name was an alias, and the DNSSEC status.
    ///
    /// One question, one budget: `--timeout` from its start, whatever
    /// happens inside, and the first usable answer of any attempt wins.
    ///
    /// - A transient failure (SERVFAIL from a server that rate-limits, an
    ///   attempt's own timeout) is asked again after [`RETRY_BACKOFF`],
    ///   then twice that each time.
    /// - A question left unanswered for [`ASK_AGAIN_AFTER`] is asked
    ///   afresh beside the attempt still waiting (then after twice that):
    ///   hickory's UDP client sends at most three copies, 333 ms apart, so
    ///   when all three are lost one attempt would wait out the budget,
    ///   while an attempt that is only slow is never abandoned.
    /// - No attempt starts once the budget is spent, and each ends with it.
    ///
    /// So a silent server costs one `--timeout`, not one per attempt, and
    /// a server that rate-limits a few times in a row is still answered.
    /// A transient failure that outlasts the budget fails once, with its
    /// count of attempts ([`DnsFailure::Retried`]): a timeout if an
    /// attempt was still waiting, else the last attempt's failure.
    /// Anything else (records, NXDOMAIN, NODATA, bogus, REFUSED) is final
    /// at once.
    async fn query_with_cname(
        &self,
        fqdn: &str,
        rtype: RecordType,
    ) -> (Answer<Vec<RData>>, Option<String>, Dnssec) {
        let deadline = Instant::now() + self.settings.timeout;
        let mut in_flight = FuturesUnordered::new();
        in_flight.push(self.query_once(fqdn, rtype, deadline));
        let mut attempts: u32 = 1;
        let mut backoff = RETRY_BACKOFF;
        let mut next_start = Instant::now() + ASK_AGAIN_AFTER;
        let mut silence = ASK_AGAIN_AFTER * 2;
        let mut last = DnsFailure::Timeout;
        let spent = |failure: DnsFailure, attempts: u32| {
            // The report says how often the question was asked, so a
            // reader can tell noise that persisted from a first miss.
            let failure = DnsFailure::Retried {
                failure: Box::new(failure),
                attempts,
            };
            (Answer::Failed(failure), None, Dnssec::Indeterminate)
        };
        loop {
            let wake = next_start.min(deadline);
            tokio::select! {
                biased;
                Some((answer, cname, dnssec)) = in_flight.next(), if !in_flight.is_empty() => {
                    match answer {
                        Answer::Failed(failure) if failure.is_transient() => {
                            last = failure;
                            if in_flight.is_empty() {
                                next_start = Instant::now() + backoff;
                                backoff *= 2;
                            }
                        }
                        Answer::Failed(failure) if attempts > 1 => {
                            let failure = DnsFailure::Retried {
                                failure: Box::new(failure),
                                attempts,
                            };
                            return (Answer::Failed(failure), cname, dnssec);
                        }
                        answer => return (answer, cname, dnssec),
                    }
                }
                () = tokio::time::sleep_until(wake) => {
                    if wake >= deadline {
                        let cause = if in_flight.is_empty() { last } else { DnsFailure::Timeout };
                        return spent(cause, attempts);
                    }
                    in_flight.push(self.query_once(fqdn, rtype, deadline));
                    attempts += 1;
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    next_start = Instant::now() + silence;
                    silence *= 2;
                }
            }
            if in_flight.is_empty() && next_start >= deadline {
                return spent(last, attempts);
            }
        }
    }

    /// One attempt; the caller bounds it by `deadline` too (hickory's
    /// validating lookup has no deadline of its own to give).
    async fn query_once(
        &self,
        fqdn: &str,
        rtype: RecordType,
        deadline: Instant,
    ) -> (Answer<Vec<RData>>, Option<String>, Dnssec) {
        let name = match Name::from_ascii(fqdn) {
            Ok(n) => n,
            Err(e) => {
                return (
                    Answer::Failed(DnsFailure::Other(format!("bad name: {e}"))),
                    None,
                    Dnssec::Indeterminate,
                );
            }
        };
        match &self.backend {
            // A validated answer takes a chain of questions (DS and DNSKEY
            // up to the anchor), mostly answered from hickory's cache after
            // a run's first domains; the whole chain shares the question's
            // one budget, which also stops a resolver that strips
            // signatures from making hickory ask again and again
            // (thousands of questions a second, measured).
            Backend::Validating(inner) => match inner.lookup(name.clone(), rtype).await {
                Ok(lookup) => {
                    let wanted: Vec<&Record> = lookup
                        .answers()
                        .iter()
                        .filter(|r| r.record_type() == rtype)
                        .collect();
                    let dnssec = wanted
                        .iter()
                        .map(|r| proof_status(r.proof))
                        .reduce(Dnssec::and)
                        .unwrap_or(Dnssec::Indeterminate);
                    let (answer, cname) = records(lookup.answers(), &name, rtype);
                    (answer, cname, dnssec)
                }
                Err(e) => {
                    let dnssec = denial_status(&e);
                    if e.is_nx_domain() {
                        (Answer::NxDomain, None, dnssec)
                    } else if e.is_no_records_found() {
                        (Answer::NoData, None, dnssec)
                    } else {
                        let failure = DnsFailure::from(&e);
                        let dnssec = if failure == DnsFailure::Bogus {
                            Dnssec::Bogus
                        } else {
                            Dnssec::Indeterminate
                        };
                        (Answer::Failed(failure), None, dnssec)
                    }
                }
            },
            Backend::TrustAd { clients, .. } => ad_query(clients, deadline, &name, rtype).await,
        }
    }
}

/// Asks each server in turn (the next only when one fails), with the DO
/// bit so that a validating resolver reports its verdict in AD.
async fn ad_query(
    clients: &[(SocketAddr, Client<TokioRuntimeProvider>)],
    deadline: Instant,
    name: &Name,
    rtype: RecordType,
) -> (Answer<Vec<RData>>, Option<String>, Dnssec) {
    let response = match send_query_until(clients, deadline, name, rtype, false).await {
        Ok(r) => r,
        Err(failure) => return (Answer::Failed(failure), None, Dnssec::Indeterminate),
    };
    let ad = if response.metadata.authentic_data {
        Dnssec::Secure
    } else {
        Dnssec::Insecure
    };
    if response.metadata.response_code == ResponseCode::NXDomain {
        return (Answer::NxDomain, None, ad);
    }
    let (answer, cname) = records(&response.answers, name, rtype);
    (answer, cname, ad)
}

/// [`send_query_until`] with `timeout` from now.
async fn send_query(
    clients: &[(SocketAddr, Client<TokioRuntimeProvider>)],
    timeout: Duration,
    name: &Name,
    rtype: RecordType,
    checking_disabled: bool,
) -> Result<DnsResponse, DnsFailure> {
    send_query_until(
        clients,
        Instant::now() + timeout,
        name,
        rtype,
        checking_disabled,
    )
    .await
}

/// One query with the DO bit (and CD when `checking_disabled`) to each
/// server in turn until one gives a NOERROR or NXDOMAIN response, all
/// before `deadline`. Each server gets an equal share of what is left
/// (all of it when there is one), so a silent first server leaves the
/// next one time to answer.
async fn send_query_until(
    clients: &[(SocketAddr, Client<TokioRuntimeProvider>)],
    deadline: Instant,
    name: &Name,
    rtype: RecordType,
    checking_disabled: bool,
) -> Result<DnsResponse, DnsFailure> {
    let mut last = DnsFailure::Other("no DNS server configured".into());
    for (index, (server, client)) in clients.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let servers_left = u32::try_from(clients.len() - index).unwrap_or(u32::MAX);
        let server_deadline = Instant::now() + left / servers_left;
        let mut options = DnsRequestOptions::default();
        options.use_edns = true;
        options.edns_set_dnssec_ok = true;
        options.recursion_desired = true;
        let mut request = DnsRequest::from_query(Query::query(name.clone(), rtype), options);
        request.metadata.checking_disabled = checking_disabled;
        let question = request.clone();
        let mut responses = client.send(request);
        let mut response = match tokio::time::timeout_at(server_deadline, responses.next()).await {
            Ok(Some(Ok(r))) => r,
            Ok(Some(Err(NetError::Truncated))) => {
                last = DnsFailure::Truncated("the UDP client refused the answer".into());
                continue;
            }
            Ok(Some(Err(e))) => {
                last = DnsFailure::from(&e);
                continue;
            }
            Ok(None) | Err(_) => {
                last = DnsFailure::Timeout;
                continue;
            }
        };
        if response.metadata.truncation {
            // RFC 7766 §5: a truncated UDP answer is asked again over TCP.
            let left = server_deadline.saturating_duration_since(Instant::now());
            match tcp::exchange(*server, &question, left).await {
                Ok(full) => response = full,
                Err(why) => {
                    last = DnsFailure::Truncated(why);
                    continue;
                }
            }
        }
        match response.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => return Ok(response),
            ResponseCode::ServFail => last = DnsFailure::ServFail,
            ResponseCode::Refused => last = DnsFailure::Refused,
            code => last = DnsFailure::ResponseCode(code.to_string()),
        }
    }
    Err(last)
}

/// The records of `rtype` in an answer section, and the CNAME target of
/// `name` if it is an alias.
pub(crate) fn records(
    answers: &[Record],
    name: &Name,
    rtype: RecordType,
) -> (Answer<Vec<RData>>, Option<String>) {
    let cname = answers.iter().find_map(|r| match &r.data {
        RData::CNAME(target) if r.name == *name => {
            Some(target.0.to_ascii().trim_end_matches('.').to_string())
        }
        _ => None,
    });
    let wanted: Vec<RData> = answers
        .iter()
        .filter(|r| r.record_type() == rtype)
        .map(|r| r.data.clone())
        .collect();
    if wanted.is_empty() {
        (Answer::NoData, cname)
    } else {
        (Answer::Records(wanted), cname)
    }
}

fn proof_status(proof: Proof) -> Dnssec {
    match proof {
        Proof::Secure => Dnssec::Secure,
        Proof::Insecure => Dnssec::Insecure,
        Proof::Bogus => Dnssec::Bogus,
        Proof::Indeterminate => Dnssec::Indeterminate,
    }
}

/// DNSSEC status of a negative answer: that of the SOA that came with it.
fn denial_status(err: &NetError) -> Dnssec {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(no)) => no
            .soa
            .as_ref()
            .map(|soa| proof_status(soa.proof))
            .unwrap_or(Dnssec::Indeterminate),
        _ => Dnssec::Indeterminate,
    }
}

/// hickory's validating resolver for the configured servers.
fn validating(
    settings: &ResolverSettings,
    ds_keys: Vec<(LowerName, PublicKeyBuf)>,
) -> Result<TokioResolver, ResolverSetupError> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = match &settings.servers {
        DnsServers::System => TokioResolver::builder(provider)
            .map_err(|e| ResolverSetupError(format!("system configuration: {e}")))?,
        DnsServers::Explicit(addrs) => {
            let name_servers = addrs
                .iter()
                .map(|sa| {
                    let mut ns = NameServerConfig::udp_and_tcp(sa.ip());
                    for conn in &mut ns.connections {
                        conn.port = sa.port();
                    }
                    ns
                })
                .collect();
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(name_servers),
                provider,
            )
        }
    };
    let opts = builder.options_mut();
    opts.timeout = settings.timeout;
    // One retry: hickory counts retries, not tries.
    opts.attempts = 1;
    opts.use_hosts_file = ResolveHosts::Never;
    // Every name we ask is absolute; never let a search list rewrite it.
    opts.ndots = 0;
    // Keep CNAME records in answers: an MX target that is an alias is a finding.
    opts.preserve_intermediates = true;
    opts.validate = true;
    if !settings.trust_anchors.is_empty() {
        let anchors = trust_anchors(&settings.trust_anchors, &ds_keys)?;
        builder = builder.with_trust_anchor(Arc::new(anchors));
    }
    builder
        .build()
        .map_err(|e| ResolverSetupError(e.to_string()))
}

/// The servers of the configuration, for the AD-trusting backend.
fn server_addresses(servers: &DnsServers) -> Result<Vec<SocketAddr>, ResolverSetupError> {
    match servers {
        DnsServers::Explicit(addrs) => Ok(addrs.clone()),
        DnsServers::System => {
            let (config, _) = hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| ResolverSetupError(format!("system configuration: {e}")))?;
            let mut addrs: Vec<SocketAddr> = Vec::new();
            for ns in config.name_servers() {
                let port = ns.connections.first().map_or(53, |c| c.port);
                let sa = SocketAddr::new(ns.ip, port);
                if !addrs.contains(&sa) {
                    addrs.push(sa);
                }
            }
            Ok(addrs)
        }
    }
}

fn failed<T>(answer: &Answer<T>) -> Option<DnsFailure> {
    match answer {
        Answer::Failed(f) => Some(f.clone()),
        _ => None,
    }
}

pub(crate) fn map_answer<T>(
    answer: Answer<Vec<RData>>,
    f: impl Fn(RData) -> Option<T>,
) -> Answer<Vec<T>> {
    match answer {
        Answer::Records(records) => {
            let items: Vec<T> = records.into_iter().filter_map(f).collect();
            if items.is_empty() {
                Answer::NoData
            } else {
                Answer::Records(items)
            }
        }
        Answer::NoData => Answer::NoData,
        Answer::NxDomain => Answer::NxDomain,
        Answer::Failed(e) => Answer::Failed(e),
    }
}

/// What the records of an MX answer say, before any implicit-MX lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MxRecords {
    /// Only a null MX (`0 .`, RFC 7505).
    Null,
    /// No MX record at all (e.g. only CNAMEs answered).
    None,
    /// The mail hosts, by preference then name, without duplicates;
    /// `null_mixed` when a null MX stood beside them.
    Hosts {
        hosts: Vec<MxRecord>,
        null_mixed: bool,
    },
}

/// The MX records of an answer, as [`Resolver::mail_hosts`] reports them.
/// Pure, so that what a DNS server sends can be fuzzed without a network.
pub(crate) fn mx_records(records: Vec<RData>) -> MxRecords {
    let mut mx: Vec<(u16, Name)> = records
        .into_iter()
        .filter_map(|rdata| match rdata {
            RData::MX(mx) => Some((mx.preference, mx.exchange)),
            _ => None,
        })
        .collect();
    let had_null = mx.iter().any(|(_, exchange)| exchange.is_root());
    mx.retain(|(_, exchange)| !exchange.is_root());
    if mx.is_empty() {
        return if had_null {
            MxRecords::Null
        } else {
            MxRecords::None
        };
    }
    // By preference, then by name, so the report does not depend on the
    // order the server happened to answer in.
    mx.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    mx.dedup();
    let hosts = mx
        .into_iter()
        .map(|(preference, name)| MxRecord {
            preference,
            exchange: classify_exchange(&name),
        })
        .collect();
    MxRecords::Hosts {
        hosts,
        null_mixed: had_null,
    }
}

/// One SRV record's fields (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: Name,
}

pub(crate) fn srv_record(rdata: RData) -> Option<SrvRecord> {
    match rdata {
        RData::SRV(srv) => Some(SrvRecord {
            priority: srv.priority,
            weight: srv.weight,
            port: srv.port,
            target: srv.target,
        }),
        _ => None,
    }
}

/// SRV records as mail hosts: by priority, then the heavier weight first
/// (a client picks by weight at random; the report wants a stable order),
/// then by name; each with its port. Targets `.` are left out: alone they
/// say the service is not offered (RFC 2782), so no host is returned.
pub(crate) fn srv_hosts(mut records: Vec<SrvRecord>) -> (Vec<MxRecord>, Vec<Option<u16>>) {
    records.retain(|r| !r.target.is_root());
    records.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then_with(|| b.weight.cmp(&a.weight))
            .then_with(|| a.target.cmp(&b.target))
            .then_with(|| a.port.cmp(&b.port))
    });
    records.dedup_by(|a, b| a.target == b.target && a.port == b.port);
    records
        .into_iter()
        .map(|r| {
            (
                MxRecord {
                    preference: r.priority,
                    exchange: classify_exchange(&r.target),
                },
                Some(r.port),
            )
        })
        .unzip()
}

/// A TXT record's strings, concatenated (RFC 7208 §3.3 style, as MTA-STS
/// and TLS-RPT records are read); invalid UTF-8 is replaced.
pub(crate) fn txt_string(rdata: RData) -> Option<String> {
    match rdata {
        RData::TXT(txt) => Some(
            txt.txt_data
                .iter()
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<String>(),
        ),
        _ => None,
    }
}

/// A TLSA record's fields.
pub(crate) fn tlsa_record(rdata: RData) -> Option<Tlsa> {
    match rdata {
        RData::TLSA(t) => Some(Tlsa {
            usage: u8::from(t.cert_usage),
            selector: u8::from(t.selector),
            matching: u8::from(t.matching),
            data: t.cert_data,
        }),
        _ => None,
    }
}

fn ipv4(rdata: RData) -> Option<Ipv4Addr> {
    match rdata {
        RData::A(a) => Some(a.0),
        _ => None,
    }
}

fn ipv6(rdata: RData) -> Option<Ipv6Addr> {
    match rdata {
        RData::AAAA(a) => Some(a.0),
        _ => None,
    }
}

pub(crate) fn classify_exchange(name: &Name) -> Exchange {
    let text = name.to_ascii();
    let bare = text.trim_end_matches('.');
    if bare.parse::<IpAddr>().is_ok() {
        return Exchange::IpLiteral(bare.to_string());
    }
    match DomainName::from_dns(bare) {
        Ok(host) => Exchange::Host(host),
        Err(_) => Exchange::Invalid(bare.to_string()),
    }
}

#[cfg(test)]
mod budget_tests;
mod health;
mod tcp;
pub(crate) mod trust_anchor;
pub use health::{CheckFailure, ResolverHealth};
use trust_anchor::{dnskey_anchor_owners, ds_anchors, read_anchor_file, trust_anchors};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_cap_takes_both_families_in_turn() {
        let host = |n4: u8, n6: u16| HostAddresses {
            v4: Some(Answer::Records(
                (1..=n4).map(|i| Ipv4Addr::new(192, 0, 2, i)).collect(),
            )),
            v6: Some(Answer::Records(
                (1..=n6)
                    .map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i))
                    .collect(),
            )),
            cname: None,
            dnssec: Dnssec::Insecure,
        };
        let count = |v: &[IpAddr]| {
            (
                v.iter().filter(|a| a.is_ipv4()).count(),
                v.iter().filter(|a| a.is_ipv6()).count(),
            )
        };
        for (n4, n6, max, kept, rest) in [
            (3, 3, 5, (3, 2), (0, 1)),
            (8, 8, 5, (3, 2), (5, 6)),
            (1, 8, 5, (1, 4), (0, 4)),
            (8, 0, 5, (5, 0), (3, 0)),
            (0, 2, 5, (0, 2), (0, 0)),
            (20, 20, 1, (1, 0), (19, 20)),
            (2, 2, 10, (2, 2), (0, 0)),
        ] {
            let h = host(n4, n6);
            let (k, r) = h.split(max);
            assert_eq!(
                (count(&k), count(&r)),
                (kept, rest),
                "{n4}+{n6} capped at {max}"
            );
            // Nothing lost, nothing twice, the order of all() in each part.
            let mut both = k.clone();
            both.extend(&r);
            both.sort();
            let mut all = h.all();
            all.sort();
            assert_eq!(both, all);
            let order = |part: &[IpAddr]| {
                let all = h.all();
                let pos: Vec<usize> = part
                    .iter()
                    .filter_map(|a| all.iter().position(|b| b == a))
                    .collect();
                pos.windows(2).all(|w| w[0] < w[1])
            };
            assert!(order(&k) && order(&r));
        }
    }

    #[test]
    fn exchanges_are_classified() {
        let name = |s: &str| Name::from_ascii(s).expect("name");
        assert_eq!(
            classify_exchange(&name("192.0.2.1.")),
            Exchange::IpLiteral("192.0.2.1".into())
        );
        assert!(
            matches!(classify_exchange(&name("MX1.Example.COM.")), Exchange::Host(h) if h.as_str() == "mx1.example.com")
        );
    }

    /// RFC 6186 with RFC 2782's order: priority, then weight (heavier
    /// first), then name; duplicates once; `.` targets never a host.
    #[test]
    fn srv_records_become_hosts_with_ports() {
        let srv = |priority, weight, port, target: &str| SrvRecord {
            priority,
            weight,
            port,
            target: Name::from_ascii(target).expect("name"),
        };
        let (hosts, ports) = srv_hosts(vec![
            srv(10, 0, 587, "b.example."),
            srv(0, 1, 2587, "a.example."),
            srv(0, 5, 587, "c.example."),
            srv(10, 0, 587, "B.example."),
        ]);
        let names: Vec<&str> = hosts.iter().map(|h| h.exchange.name()).collect();
        assert_eq!(names, ["c.example", "a.example", "b.example"]);
        assert_eq!(ports, [Some(587), Some(2587), Some(587)]);
        assert_eq!(hosts[2].preference, 10);
        // "Service decidedly not available" (RFC 2782): no host at all.
        let (none, ports) = srv_hosts(vec![srv(0, 0, 0, ".")]);
        assert!(none.is_empty() && ports.is_empty());
    }
}
