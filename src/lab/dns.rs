//! An authoritative DNS server for the zone `test.`, built on hickory-server,
//! for end-to-end tests that point `smtptls --resolver` at it.
//!
//! ```ignore
//! let dns = ZoneBuilder::new()
//!     .mx("good.test.", 10, "mx1.good.test.")
//!     .a("mx1.good.test.", Ipv4Addr::LOCALHOST)
//!     .servfail("broken.test.")
//!     .start()
//!     .await;
//! // smtptls --resolver <dns.resolver_arg()> good.test
//! ```
//!
//! The server runs on its own thread with its own Tokio runtime. That is
//! deliberate: end-to-end tests run the CLI with blocking calls
//! (`assert_cmd`), which would starve a server that shared the test's
//! (single-threaded by default) runtime and turn every lookup into a timeout.
//!
//! Behaviour worth knowing when writing tests:
//! - names under `test.` without any record answer NXDOMAIN; names that exist
//!   but lack the asked type answer NOERROR with no answer and the SOA in the
//!   authority section (NODATA);
//! - names outside `test.` answer REFUSED (it is an authoritative server, not
//!   a resolver), except the root itself, which answers NOERROR without
//!   records: smtptls's start-of-run check of `--dnssec trust-resolver`
//!   reads a root that is refused as a resolver that does not serve the
//!   public DNS (a notice on stderr), and the lab stands for a resolver
//!   that does (`DnsProxy`'s `Tamper::Root` makes one that does not);
//! - `servfail`/`blackhole` subtrees win over records at the same names;
//! - [`TestDns::queries`] counts every query that reached the server,
//!   including those a validating resolver makes on its own (DNSKEY, DS, NS),
//!   and, with [`ZoneBuilder::log_arrivals`], [`TestDns::arrivals`] says when
//!   each copy of a question came.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::dnssec::NxProofKind;
use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::proto::dnssec::crypto::EcdsaSigningKey;
use hickory_server::proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG};
use hickory_server::proto::dnssec::{Algorithm, DnssecSigner, SigningKey};
use hickory_server::proto::op::{Edns, Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, SRV, TLSA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use tokio::sync::oneshot;

/// The one zone this server is authoritative for.
const ORIGIN: &str = "test.";
/// TTL of every record, SOA minimum included (so negative answers too).
const TTL: u32 = 300;
/// The zone's name server, given an address so the zone is self-consistent.
const NS_NAME: &str = "ns.test.";

/// Collects the records and failure knobs of the `test.` zone, then starts
/// a server for it.
pub struct ZoneBuilder {
    records: Vec<Record>,
    servfail: Vec<LowerName>,
    flaky: Vec<LowerName>,
    lossy: Vec<LowerName>,
    log_arrivals: bool,
    blackhole: Vec<LowerName>,
    authentic: Vec<LowerName>,
    bogus: Vec<LowerName>,
    rate_limit: Option<usize>,
    signed: bool,
    split_keys: bool,
    fast_negative: bool,
}

impl Default for ZoneBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ZoneBuilder {
    /// An empty `test.` zone: SOA, NS `ns.test.` and its A record only.
    pub fn new() -> Self {
        let origin = name(ORIGIN);
        let ns = name(NS_NAME);
        let soa = SOA::new(
            ns.clone(),
            name("hostmaster.test."),
            1,
            3600,
            600,
            86400,
            TTL,
        );
        Self {
            records: vec![
                Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)),
                Record::from_rdata(origin, TTL, RData::NS(NS(ns.clone()))),
                Record::from_rdata(ns, TTL, RData::A(A(Ipv4Addr::LOCALHOST))),
            ],
            servfail: Vec::new(),
            flaky: Vec::new(),
            lossy: Vec::new(),
            log_arrivals: false,
            blackhole: Vec::new(),
            authentic: Vec::new(),
            bogus: Vec::new(),
            rate_limit: None,
            signed: false,
            split_keys: false,
            fast_negative: false,
        }
    }

    /// Answer names the zone does not have with NXDOMAIN from a hash set
    /// (without the SOA in the authority section), instead of asking the
    /// in-memory zone. hickory-server finds that a name does not exist by
    /// scanning every record of the zone: fine for a test, but with the
    /// fleet benchmark's 100,000 domains (two such names each, `_mta-sts`
    /// and `_smtp._tls`) the lab's DNS, not smtptls, was what took the
    /// time. Unsigned zones only (a signed zone must prove the denial).
    pub fn fast_negative(mut self) -> Self {
        self.fast_negative = true;
        self
    }

    fn push(mut self, owner: &str, rdata: RData) -> Self {
        self.records
            .push(Record::from_rdata(name(owner), TTL, rdata));
        self
    }

    /// An MX record; `exchange` "." makes a null MX (RFC 7505).
    pub fn mx(self, owner: &str, preference: u16, exchange: &str) -> Self {
        // Not `name()`: the null MX target is the root, outside the zone.
        let exchange = Name::from_ascii(absolute(exchange))
            .unwrap_or_else(|e| panic!("bad MX exchange {exchange:?}: {e}"));
        self.push(owner, RData::MX(MX::new(preference, exchange)))
    }

    /// An SRV record (RFC 2782), e.g. `srv("_submission._tcp.good.test.",
    /// 0, 1, 587, "mail.good.test.")`; target "." says the service is not
    /// offered.
    pub fn srv(self, owner: &str, priority: u16, weight: u16, port: u16, target: &str) -> Self {
        let target = Name::from_ascii(absolute(target))
            .unwrap_or_else(|e| panic!("bad SRV target {target:?}: {e}"));
        self.push(owner, RData::SRV(SRV::new(priority, weight, port, target)))
    }

    pub fn a(self, owner: &str, ip: Ipv4Addr) -> Self {
        self.push(owner, RData::A(A(ip)))
    }

    pub fn aaaa(self, owner: &str, ip: Ipv6Addr) -> Self {
        self.push(owner, RData::AAAA(AAAA(ip)))
    }

    /// A CNAME; the target may be outside the zone (it then dangles).
    pub fn cname(self, owner: &str, target: &str) -> Self {
        let target = Name::from_ascii(absolute(target))
            .unwrap_or_else(|e| panic!("bad CNAME target {target:?}: {e}"));
        self.push(owner, RData::CNAME(CNAME(target)))
    }

    /// One TXT record made of several character-strings.
    pub fn txt(self, owner: &str, strings: &[&str]) -> Self {
        let strings = strings.iter().map(|s| s.to_string()).collect();
        self.push(owner, RData::TXT(TXT::new(strings)))
    }

    /// A TLSA record, e.g. `tlsa("_25._tcp.mx1.good.test.", 3, 1, 1, &sha256)`.
    pub fn tlsa(self, owner: &str, usage: u8, selector: u8, matching: u8, data: &[u8]) -> Self {
        let tlsa = TLSA::new(
            CertUsage::from(usage),
            Selector::from(selector),
            Matching::from(matching),
            data.to_vec(),
        );
        self.push(owner, RData::TLSA(tlsa))
    }

    /// Names at or below `owner` answer SERVFAIL for every query.
    pub fn servfail(mut self, owner: &str) -> Self {
        self.servfail.push(LowerName::new(&name(owner)));
        self
    }

    /// Names at or below `owner` answer SERVFAIL to the first query of each
    /// name and type, then normally: a transient failure, as from an
    /// authoritative server applying response rate limiting.
    pub fn flaky(mut self, owner: &str) -> Self {
        self.flaky.push(LowerName::new(&name(owner)));
        self
    }

    /// Answers for names at or below `owner` carry the AD bit when the
    /// query has DO set, as a validating resolver's would: for testing
    /// `--dnssec trust-resolver`.
    pub fn authentic(mut self, owner: &str) -> Self {
        self.authentic.push(LowerName::new(&name(owner)));
        self
    }

    /// Names at or below `owner` get no answer to the first query of each
    /// name and type (dropped, as a lost packet), then normal answers.
    pub fn lossy(mut self, owner: &str) -> Self {
        self.lossy.push(LowerName::new(&name(owner)));
        self
    }

    /// Answer at most `per_second` questions in each second (a fixed
    /// window from the first question), SERVFAIL to the rest: what a
    /// validating resolver tells its client when the authoritative
    /// server's response rate limiting drops its questions. Counted by
    /// [`TestDns::rate_limited`].
    pub fn rate_limited(mut self, per_second: usize) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// Log every query's name, type and arrival for [`TestDns::arrivals`].
    /// Off by default: the log grows with every query, and the soak asks
    /// millions.
    pub fn log_arrivals(mut self) -> Self {
        self.log_arrivals = true;
        self
    }

    /// Names at or below `owner` never get an answer (the query is dropped).
    pub fn blackhole(mut self, owner: &str) -> Self {
        self.blackhole.push(LowerName::new(&name(owner)));
        self
    }

    /// Sign the zone (ECDSA P-256, algorithm 13, NSEC) with a key made now.
    /// A validating resolver trusts it through [`TestDns::trust_anchor`].
    pub fn signed(mut self) -> Self {
        self.signed = true;
        self
    }

    /// Sign as operators usually do: a key-signing key (flags 257) and a
    /// separate zone-signing key (flags 256) in the DNSKEY RRset, with
    /// only the key-signing key in [`TestDns::trust_anchor`]. Implies
    /// [`Self::signed`].
    pub fn signed_with_zsk(mut self) -> Self {
        self.signed = true;
        self.split_keys = true;
        self
    }

    /// Names at or below `owner` come with RRSIGs that do not verify, so a
    /// validating resolver sees them as bogus. Implies [`Self::signed`].
    pub fn bogus(mut self, owner: &str) -> Self {
        self.bogus.push(LowerName::new(&name(owner)));
        self.signed = true;
        self
    }

    /// Bind 127.0.0.1:<random port> (UDP and TCP on the same port) and serve
    /// the zone until the returned [`TestDns`] is dropped.
    pub async fn start(self) -> TestDns {
        self.start_on(Ipv4Addr::LOCALHOST).await
    }

    /// [`ZoneBuilder::start`] on `ip`: loopback, or the address of a
    /// network namespace the caller made and runs in (the WAN benchmark).
    pub async fn start_on(self, ip: Ipv4Addr) -> TestDns {
        if let Err(e) = super::server::may_listen_on(ip.into()) {
            panic!("lab DNS: {e}");
        }
        let (zone, trust_anchor) = self.build_zone();
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&name(ORIGIN)), vec![Arc::new(zone)]);
        let queries = Arc::new(AtomicUsize::new(0));
        let limited = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        // Every owner name and its ancestors down to the origin: the names
        // that exist (empty non-terminals included).
        let existing = (self.fast_negative && !self.signed).then(|| {
            let origin = LowerName::new(&name(ORIGIN));
            let mut names = std::collections::HashSet::new();
            for record in &self.records {
                let mut owner = LowerName::new(&record.name);
                while origin.zone_of(&owner) && names.insert(owner.clone()) {
                    owner = owner.base_name();
                }
            }
            names
        });
        let handler = LabHandler {
            existing,
            catalog,
            servfail: self.servfail,
            flaky: self.flaky,
            failed_once: std::sync::Mutex::new(std::collections::HashSet::new()),
            lossy: self.lossy,
            dropped_once: std::sync::Mutex::new(std::collections::HashSet::new()),
            log: self.log_arrivals.then(|| Arc::clone(&log)),
            blackhole: self.blackhole,
            authentic: self.authentic,
            queries: Arc::clone(&queries),
            rate_limit: self.rate_limit.map(|per_second| RateLimit {
                per_second,
                window: std::sync::Mutex::new((std::time::Instant::now(), 0)),
                limited: Arc::clone(&limited),
            }),
        };

        let (addr_tx, addr_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lab-dns".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("lab DNS: build runtime");
                runtime.block_on(async move {
                    let (udp, tcp) = bind_udp_and_tcp(ip).await;
                    let addr = udp.local_addr().expect("lab DNS: local_addr");
                    let mut server = Server::new(handler);
                    server.register_socket(udp);
                    server.register_listener(tcp, Duration::from_secs(10), 64);
                    // If the TestDns is already gone nobody needs the address.
                    let _ = addr_tx.send(addr);
                    // Resolves on an explicit stop or when TestDns is dropped.
                    let _ = stop_rx.await;
                    server.shutdown_token().cancel();
                    // Dropping `server` and then the runtime aborts what is left.
                });
            })
            .expect("lab DNS: spawn thread");

        let addr = addr_rx
            .await
            .expect("lab DNS: server thread died while starting");
        TestDns {
            addr,
            queries,
            limited,
            log,
            trust_anchor,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The in-memory zone, signed if asked, plus the trust anchor text.
    fn build_zone(&self) -> (InMemoryZoneHandler, Option<String>) {
        let origin = name(ORIGIN);
        let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
            // NSEC rather than NSEC3: simpler, and hickory validates both.
            self.signed.then_some(NxProofKind::Nsec),
        );
        for record in &self.records {
            // upsert refuses e.g. a CNAME next to other data: a test bug.
            assert!(
                zone.upsert_mut(record.clone(), 1),
                "lab DNS: zone refused record {record}"
            );
        }
        if !self.signed {
            return (zone, None);
        }

        let pkcs8 = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256)
            .expect("lab DNS: generate key");
        let key = EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256)
            .expect("lab DNS: load key");
        let public = key.to_public_key().expect("lab DNS: public key");
        // Flags 257 (zone key + SEP): one key serves as KSK and ZSK.
        let dnskey = DNSKEY::from_key(&public);
        let trust_anchor = format!("{ORIGIN} {TTL} IN DNSKEY {dnskey}\n");
        // A day of validity: far beyond any test run, and the inception is
        // "now", so no clock games are needed.
        let signer = DnssecSigner::new(dnskey, Box::new(key), origin, Duration::from_secs(86_400));
        zone.add_zone_signing_key_mut(signer)
            .expect("lab DNS: add signing key");
        if self.split_keys {
            let pkcs8 = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256)
                .expect("lab DNS: generate ZSK");
            let zsk = EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256)
                .expect("lab DNS: load ZSK");
            let public = zsk.to_public_key().expect("lab DNS: ZSK public key");
            // Flags 256: a zone key without the SEP bit. hickory-server
            // signs every RRset with every key, so the DNSKEY RRset holds a
            // key that is not an anchor: what matters for the validator.
            let dnskey = DNSKEY::with_flags(256, public);
            let origin = name(ORIGIN);
            let signer =
                DnssecSigner::new(dnskey, Box::new(zsk), origin, Duration::from_secs(86_400));
            zone.add_zone_signing_key_mut(signer)
                .expect("lab DNS: add ZSK");
        }
        zone.secure_zone_mut().expect("lab DNS: sign zone");
        corrupt_signatures(&mut zone, &self.bogus);
        (zone, Some(trust_anchor))
    }
}

/// Breaks the RRSIGs of every RRset owned at or below a `bogus` name.
/// Done once in the stored zone rather than per response: the answers then
/// look exactly like a zone whose signatures went bad, NSEC proofs included.
fn corrupt_signatures(zone: &mut InMemoryZoneHandler, bogus: &[LowerName]) {
    if bogus.is_empty() {
        return;
    }
    for (key, rrset) in zone.records_get_mut().iter_mut() {
        if !bogus.iter().any(|owner| owner.zone_of(&key.name)) {
            continue;
        }
        let rrset = Arc::make_mut(rrset);
        let broken: Vec<Record> = rrset
            .rrsigs()
            .iter()
            .map(|record| {
                let mut record = record.clone();
                if let RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) = &record.data {
                    // Flipping bits keeps the signature well-formed (same
                    // length, key tag, validity) but makes it not verify.
                    let sig = rrsig.sig().iter().map(|b| b ^ 0x5a).collect();
                    let broken = RRSIG::from_sig(rrsig.input().clone(), sig);
                    record.data = RData::DNSSEC(DNSSECRData::RRSIG(broken));
                }
                record
            })
            .collect();
        rrset.clear_rrsigs();
        for rrsig in broken {
            rrset.insert_rrsig(rrsig);
        }
    }
}

/// Binds UDP on a random port, then TCP on the same one. Another process
/// may hold that TCP port, hence the retries with fresh ports.
async fn bind_udp_and_tcp(ip: Ipv4Addr) -> (tokio::net::UdpSocket, tokio::net::TcpListener) {
    let mut last_error = None;
    for _ in 0..20 {
        let udp = tokio::net::UdpSocket::bind((ip, 0))
            .await
            .expect("lab DNS: bind UDP");
        let addr = udp.local_addr().expect("lab DNS: local_addr");
        match tokio::net::TcpListener::bind(addr).await {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_error = Some(e),
        }
    }
    panic!("lab DNS: no port free for both UDP and TCP: {last_error:?}");
}

/// Every query's name, type and arrival, shared with [`TestDns`].
type QueryLog = Arc<std::sync::Mutex<Vec<(String, u16, std::time::Instant)>>>;

/// Wraps the Catalog to add what a well-behaved zone cannot do: answer
/// SERVFAIL or stay silent for chosen subtrees. Also counts queries.
struct LabHandler {
    catalog: Catalog,
    /// [`ZoneBuilder::fast_negative`]: the names of the zone.
    existing: Option<std::collections::HashSet<LowerName>>,
    servfail: Vec<LowerName>,
    flaky: Vec<LowerName>,
    /// `(name, type)` of the flaky queries already failed once.
    failed_once: std::sync::Mutex<std::collections::HashSet<(String, u16)>>,
    lossy: Vec<LowerName>,
    /// `(name, type)` of the lossy queries already dropped once.
    dropped_once: std::sync::Mutex<std::collections::HashSet<(String, u16)>>,
    /// Every query's name, type and arrival, when asked for.
    log: Option<QueryLog>,
    blackhole: Vec<LowerName>,
    authentic: Vec<LowerName>,
    queries: Arc<AtomicUsize>,
    rate_limit: Option<RateLimit>,
}

/// [`ZoneBuilder::rate_limited`]: the current one-second window's start
/// and how many questions it answered.
struct RateLimit {
    per_second: usize,
    window: std::sync::Mutex<(std::time::Instant, usize)>,
    limited: Arc<AtomicUsize>,
}

impl RateLimit {
    /// Whether this question is over the rate (and so counted).
    fn over(&self) -> bool {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        if window.1 >= self.per_second {
            self.limited.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        window.1 += 1;
        false
    }
}

impl LabHandler {
    async fn handle<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        self.queries.fetch_add(1, Ordering::SeqCst);
        let key = request
            .queries
            .queries()
            .first()
            .map(|q| (q.name().to_string(), u16::from(q.query_type())));
        if let (Some(log), Some((name, rtype))) = (&self.log, &key) {
            log.lock().unwrap_or_else(|e| e.into_inner()).push((
                name.clone(),
                *rtype,
                std::time::Instant::now(),
            ));
        }
        let qname = request.queries.queries().first().map(|q| q.name());
        let under = |owners: &[LowerName]| {
            qname.is_some_and(|qname| owners.iter().any(|owner| owner.zone_of(qname)))
        };

        // Whether this name and type is asked for the first time, by the
        // set of those seen.
        let first_time = |seen: &std::sync::Mutex<std::collections::HashSet<(String, u16)>>| {
            key.as_ref().is_some_and(|key| {
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone())
            })
        };
        let lost = under(&self.lossy) && first_time(&self.dropped_once);
        if under(&self.blackhole) || lost {
            // Nothing is sent; the server only wants a summary back.
            return unsent(request);
        }
        if under(&self.servfail)
            || (under(&self.flaky) && first_time(&self.failed_once))
            || self.rate_limit.as_ref().is_some_and(RateLimit::over)
        {
            return error_response(request, response_handle, ResponseCode::ServFail).await;
        }
        // Only names inside the zone: the others get what the zone says
        // (REFUSED), as without the fast path.
        if let (Some(existing), Some(qname)) = (&self.existing, qname)
            && LowerName::new(&name(ORIGIN)).zone_of(qname)
            && !existing.contains(qname)
            && !under(&self.authentic)
        {
            return error_response(request, response_handle, ResponseCode::NXDomain).await;
        }
        if qname.is_some_and(|qname| qname.is_root()) {
            return error_response(request, response_handle, ResponseCode::NoError).await;
        }
        let dnssec_ok = request.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok);
        if under(&self.authentic) && dnssec_ok {
            let handle = Authentic(response_handle);
            return self
                .catalog
                .handle_request::<Authentic<R>, T>(request, handle)
                .await;
        }
        self.catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

/// Sets the AD bit on every response it sends.
#[derive(Clone)]
struct Authentic<R>(R);

#[async_trait::async_trait]
impl<R: ResponseHandler> ResponseHandler for Authentic<R> {
    async fn send_response<'a>(
        &mut self,
        mut response: hickory_server::zone_handler::MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, hickory_server::net::NetError> {
        response.metadata_mut().authentic_data = true;
        self.0.send_response(response).await
    }
}

/// What the server is told about a query that got no response on the wire.
/// An answer of `code` with no records.
async fn error_response<R: ResponseHandler>(
    request: &Request,
    mut response_handle: R,
    code: ResponseCode,
) -> ResponseInfo {
    // Echo EDNS as the Catalog would (RFC 6891 wants an OPT back).
    let edns = request.edns.as_ref().map(|asked| {
        let mut edns = Edns::new();
        edns.set_max_payload(asked.max_payload().max(512));
        edns.set_dnssec_ok(asked.flags().dnssec_ok);
        edns
    });
    let response = MessageResponseBuilder::new(&request.queries, edns.as_ref())
        .error_msg(&request.metadata, code);
    // A send error means the client went away: nothing to do.
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(_) => unsent(request),
    }
}

fn unsent(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

// Written out by hand: this is exactly the signature `#[async_trait]`
// generates for `async fn handle_request`.
impl RequestHandler for LabHandler {
    fn handle_request<'life0, 'life1, 'async_trait, R, T>(
        &'life0 self,
        request: &'life1 Request,
        response_handle: R,
    ) -> Pin<Box<dyn Future<Output = ResponseInfo> + Send + 'async_trait>>
    where
        R: 'async_trait + ResponseHandler,
        T: 'async_trait + Time,
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.handle::<R, T>(request, response_handle))
    }
}

/// A running lab DNS server; stops when dropped.
pub struct TestDns {
    /// 127.0.0.1:PORT, UDP and TCP.
    pub addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    limited: Arc<AtomicUsize>,
    log: QueryLog,
    trust_anchor: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestDns {
    /// The value for the CLI's `--resolver`.
    pub fn resolver_arg(&self) -> String {
        self.addr.to_string()
    }

    /// Queries received so far (all of them: answered, SERVFAILed, dropped).
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    /// Questions answered SERVFAIL for being over
    /// [`ZoneBuilder::rate_limited`]'s rate, so far.
    pub fn rate_limited(&self) -> usize {
        self.limited.load(Ordering::SeqCst)
    }

    /// When each query for `name` (absolute, with its final dot) of type
    /// `rtype` came, in order; empty unless the zone was built with
    /// [`ZoneBuilder::log_arrivals`].
    pub fn arrivals(&self, name: &str, rtype: u16) -> Vec<std::time::Instant> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(n, t, _)| n.eq_ignore_ascii_case(name) && *t == rtype)
            .map(|(_, _, at)| *at)
            .collect()
    }

    /// For a signed zone, its DNSKEY in zone-file presentation format
    /// (`test. 300 IN DNSKEY 257 3 13 <base64>`, newline-terminated), as
    /// read by `hickory_proto::dnssec::TrustAnchors::from_file`/`from_str`.
    pub fn trust_anchor(&self) -> Option<String> {
        self.trust_anchor.clone()
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Joining makes the port and tasks go away before the next test
        // starts; the thread only has to cancel and drop its runtime.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// "a.test" and "a.test." both mean the absolute name.
fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// Parses an owner name and insists it lies in the zone: a record elsewhere
/// would silently never be served.
fn name(owner: &str) -> Name {
    let parsed = Name::from_ascii(absolute(owner))
        .unwrap_or_else(|e| panic!("lab DNS: bad name {owner:?}: {e}"));
    let origin = Name::from_ascii(ORIGIN).expect("lab DNS: origin");
    assert!(
        origin.zone_of(&parsed),
        "lab DNS: {owner:?} is outside the zone {ORIGIN}"
    );
    parsed
}
