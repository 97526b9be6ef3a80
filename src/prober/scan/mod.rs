//! The protocol scan: what else, besides the main rustls handshake, a
//! server still accepts. Each question is one hand-built ClientHello on its
//! own SMTP connection (EHLO, STARTTLS, 220, then raw bytes), answered by
//! the server's first flight; the connection is then dropped. rustls stays
//! the only TLS stack that ever completes a handshake.
//!
//! - [`client_hello`] builds the hellos, [`server_hello`] reads the
//!   answers, [`suites`] knows the suites, groups and their NCSC-NL levels.
//! - [`run`] decides which hellos to send for a [`ScanMode`] and gathers the
//!   answers into a [`TlsScan`]. It opens connections through a
//!   [`Connector`], which the audit implements so that every scan
//!   connection obeys `--per-address` and the 421 back-off.
//! - [`attempt`] is the network side of one hello, with the run's timeouts.
//!
//! `light` (the default) sends a fixed set of at most [`LIGHT_MAX`] hellos;
//! `deep` enumerates every suite of every accepted version and every group.

pub mod client_hello;
pub mod server_hello;
pub mod suites;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use super::{ProbeError, ProbeSettings, ProbeTarget, TlsSession};
pub use crate::vocabulary::NcscLevel;
pub use client_hello::HelloSpec;
pub use server_hello::{FlightError, KeyExchange, Reply, ServerHello};
pub use suites::{Version, Weakness};

pub use crate::vocabulary::ScanMode;

/// The TLS ≤ 1.2 suites of OpenSSL 3.0's `DEFAULT` list, in its order
/// (`openssl ciphers -V DEFAULT`, PSK and SRP suites left out: an MTA
/// never configures them): what Postfix, Exim on OpenSSL and most senders
/// offer. GnuTLS's `NORMAL` offers a subset of the same.
pub const OPENSSL_DEFAULT_SUITES: &[u16] = &[
    0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f, 0x009e, 0xc024, 0xc028, 0x006b,
    0xc023, 0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009, 0xc013, 0x0033, 0x009d, 0x009c, 0x003d,
    0x003c, 0x0035, 0x002f,
];

/// OpenSSL 3.0's default `supported_groups`: X25519, P-256, X448, P-521,
/// P-384, then the RFC 7919 finite-field groups.
const OPENSSL_DEFAULT_GROUPS: &[u16] = &[
    0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104,
];

/// The hello of a sender on OpenSSL with its defaults, up to TLS 1.2: sent
/// once, in every `--scan` mode, when smtptls's own TLS 1.2/1.3 client got
/// no session, to see what such a sender gets instead (the audit calls it
/// the fallback hello). The server's answer decides `legacy_tls`.
pub fn openssl_default_hello() -> HelloSpec {
    HelloSpec {
        version: Version::Tls12,
        suites: OPENSSL_DEFAULT_SUITES.to_vec(),
        groups: OPENSSL_DEFAULT_GROUPS.to_vec(),
        x25519_share: false,
        offer_compression: false,
    }
}

/// What the fallback hello got: the server's answer, and the certificate
/// chain of its TLS ≤ 1.2 flight (leaf first; empty when none came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub result: HelloResult,
    pub chain: Vec<CertificateDer<'static>>,
}

impl From<HelloResult> for Fallback {
    fn from(result: HelloResult) -> Self {
        let chain = match &result {
            Ok(Reply::Hello(h)) => h
                .chain
                .iter()
                .map(|c| CertificateDer::from(c.clone()))
                .collect(),
            _ => Vec::new(),
        };
        Fallback { result, chain }
    }
}

impl Fallback {
    /// The ServerHello, when the server chose something.
    pub fn hello(&self) -> Option<&ServerHello> {
        match &self.result {
            Ok(Reply::Hello(h)) if !h.retry_request => Some(h),
            _ => None,
        }
    }
}

/// Most hellos a `light` scan sends to one address: SSLv3, TLS 1.0, 1.1,
/// 1.2, the reversed TLS 1.2 order, the weak suites, the DHE suites, and
/// TLS 1.3 when the main handshake did not complete.
pub const LIGHT_MAX: usize = 8;

/// Why one hello got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    /// The SMTP part (connect, banner, EHLO, STARTTLS) failed.
    #[error("{0}")]
    Smtp(ProbeError),
    #[error("no answer to the ClientHello within {}", super::secs(*.0))]
    Timeout(Duration),
    /// Closed without an alert: how many servers refuse an old version.
    #[error("connection closed without a reply")]
    Closed,
    #[error("connection closed in the middle of a reply")]
    Truncated,
    #[error("{0}")]
    Flight(#[from] FlightError),
    #[error("{0}")]
    Network(String),
}

/// The outcome of one hello.
pub type HelloResult = Result<Reply, AttemptError>;

/// Opens scan connections. `None` means the address may not be contacted
/// any more in this run (it timed out, or asked us to go away with 421):
/// the scan stops there and says so.
pub trait Connector: Send + Sync {
    fn hello<'a>(
        &'a self,
        spec: &'a HelloSpec,
    ) -> Pin<Box<dyn Future<Output = Option<HelloResult>> + Send + 'a>>;
}

/// What the scan learnt about one protocol version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionScan {
    /// `None` when it could not be told (the probe failed or was not sent).
    pub accepted: Option<bool>,
    /// The suite the server chose from the full offer (strong first).
    pub preferred: Option<u16>,
    /// Suites seen accepted: every one with `deep`, in the order the server
    /// chose them; with `light`, those the probes happened to see.
    pub suites: Vec<u16>,
    /// Why `accepted` is unknown.
    pub error: Option<String>,
}

/// Everything the scan learnt about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsScan {
    pub mode: ScanMode,
    /// One entry per version, SSLv3 first.
    pub versions: Vec<(Version, VersionScan)>,
    /// The server chose the same suite when offered the same suites in
    /// opposite orders (`None`: not tested).
    pub server_order: Option<bool>,
    /// Per weak category: accepted, not accepted, or unknown (`light` tells
    /// only what its one weak-suites probe saw).
    pub weak: Vec<(Weakness, Option<bool>)>,
    /// The DHE prime the server used, when a probe got a DHE suite.
    pub dhe: Option<(u32, Option<u16>)>,
    /// ECDHE/TLS 1.3 groups seen accepted.
    pub groups: BTreeSet<u16>,
    /// Whether a hybrid post-quantum group was accepted over TLS 1.3
    /// (`deep` asks; `None`: not asked).
    pub post_quantum_accepted: Option<bool>,
    /// DEFLATE chosen when offered (TLS ≤ 1.2); `None`: no TLS ≤ 1.2 answer.
    pub compression: Option<bool>,
    /// `renegotiation_info` in a TLS ≤ 1.2 ServerHello; `None`: no answer.
    pub secure_renegotiation: Option<bool>,
    /// Hellos sent.
    pub connections: usize,
    /// Set when the scan stopped early (the address went away).
    pub stopped: Option<String>,
    /// The first certificate chain a TLS ≤ 1.2 probe was sent (leaf first).
    pub chain: Vec<CertificateDer<'static>>,
}

impl TlsScan {
    pub fn version(&self, v: Version) -> Option<&VersionScan> {
        self.versions.iter().find(|(x, _)| *x == v).map(|(_, s)| s)
    }

    fn version_mut(&mut self, v: Version) -> &mut VersionScan {
        let i = self
            .versions
            .iter()
            .position(|(x, _)| *x == v)
            .unwrap_or_else(|| {
                self.versions.push((v, VersionScan::default()));
                self.versions.len() - 1
            });
        &mut self.versions[i].1
    }

    /// Every suite seen accepted, at any version.
    pub fn all_suites(&self) -> BTreeSet<u16> {
        self.versions
            .iter()
            .flat_map(|(_, v)| v.suites.iter().copied())
            .collect()
    }

    /// Versions seen accepted, oldest first.
    pub fn accepted_versions(&self) -> Vec<Version> {
        self.versions
            .iter()
            .filter(|(_, s)| s.accepted == Some(true))
            .map(|(v, _)| *v)
            .collect()
    }
}

/// Runs the scan for `mode` (never `Off`). `main` is the main handshake's
/// session, when it completed: it already answers TLS 1.3 (rustls offers
/// 1.3 first) and its key-exchange group is the post-quantum signal.
///
/// The order of the hellos is chosen for round trips (issue 15, the WAN
/// benchmark in docs/scale.md): every hello that does not need another's
/// answer is sent side by side with the others, and the connector's
/// `--per-address` gate decides how many run at once. Only the hellos at
/// the best legacy version (order, weak suites, DHE) need an answer first,
/// and only TLS 1.2's: when the server accepts it, it is the best legacy
/// version whatever the older versions answer, so a light scan sends them
/// right after it, beside the older versions' hellos. Results are recorded
/// in a fixed order whatever order the answers came in, so the scan reads
/// the same on any network.
pub async fn run(mode: ScanMode, main: Option<&TlsSession>, connector: &dyn Connector) -> TlsScan {
    let mut scan = TlsScan {
        mode,
        versions: Version::ALL
            .iter()
            .map(|v| (*v, VersionScan::default()))
            .collect(),
        server_order: None,
        weak: Weakness::ALL.iter().map(|w| (*w, None)).collect(),
        dhe: None,
        groups: BTreeSet::new(),
        post_quantum_accepted: None,
        compression: None,
        secure_renegotiation: None,
        connections: 0,
        stopped: None,
        chain: Vec::new(),
    };
    if let Err(stop) = scan_all(&mut scan, main, connector).await {
        scan.stopped = Some(stop);
    }
    scan
}

/// The scan stopped early: why.
type Stop = String;

/// Sends one hello; `Err` when the connector says stop.
async fn send(
    scan: &mut TlsScan,
    connector: &dyn Connector,
    spec: &HelloSpec,
) -> Result<HelloResult, Stop> {
    let result = connector.hello(spec).await.ok_or_else(stop_message)?;
    record(scan, &result);
    Ok(result)
}

/// Why the scan stopped when the connector refuses a hello.
fn stop_message() -> Stop {
    "the address may not be contacted again in this run (timeout or 421): scan incomplete"
        .to_string()
}

/// Counts a hello that was sent and keeps what any answer shows.
fn record(scan: &mut TlsScan, result: &HelloResult) {
    scan.connections += 1;
    if let Ok(Reply::Hello(h)) = result {
        record_extras(scan, h);
    }
}

/// Facts any ServerHello shows, whatever the probe asked.
fn record_extras(scan: &mut TlsScan, h: &ServerHello) {
    if h.version <= Version::Tls12 {
        let compressed = h.compression != 0;
        scan.compression = Some(scan.compression.unwrap_or(false) || compressed);
        if h.version > Version::Ssl3 {
            scan.secure_renegotiation =
                Some(scan.secure_renegotiation.unwrap_or(true) && h.secure_renegotiation);
        }
    }
    if scan.chain.is_empty() && !h.chain.is_empty() {
        scan.chain = h
            .chain
            .iter()
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
    }
    match h.key_exchange {
        // Keep the weakest prime seen.
        Some(KeyExchange::Dhe { bits, named }) if scan.dhe.is_none_or(|(b, _)| bits < b) => {
            scan.dhe = Some((bits, named));
        }
        Some(KeyExchange::Ecdhe { group }) => {
            scan.groups.insert(group);
        }
        _ => {}
    }
    if h.version == Version::Tls13
        && let Some(g) = h.group
    {
        scan.groups.insert(g);
    }
}

fn spec(version: Version, suites: Vec<u16>) -> HelloSpec {
    HelloSpec {
        version,
        suites,
        groups: suites::GROUPS.to_vec(),
        x25519_share: true,
        offer_compression: true,
    }
}

/// The hello was accepted at exactly `version`, with one of `offered`.
fn accepted_suite(result: &HelloResult, version: Version, offered: &[u16]) -> Option<u16> {
    match result {
        Ok(Reply::Hello(h)) if h.version == version && offered.contains(&h.suite) => Some(h.suite),
        _ => None,
    }
}

/// One version hello: the version, and every suite of it offered.
struct VersionHello {
    version: Version,
    offered: Vec<u16>,
    spec: HelloSpec,
}

impl VersionHello {
    fn new(version: Version) -> Self {
        let offered = suites::for_version(version);
        VersionHello {
            version,
            spec: spec(version, offered.clone()),
            offered,
        }
    }

    /// The server answered at exactly this version with an offered suite.
    fn accepted(&self, result: &HelloResult) -> bool {
        accepted_suite(result, self.version, &self.offered).is_some()
    }
}

/// The version hellos (one per legacy version, each offering every suite
/// of it), TLS 1.3, then the later hellos at the best legacy version.
async fn scan_all(
    scan: &mut TlsScan,
    main: Option<&TlsSession>,
    connector: &dyn Connector,
) -> Result<(), Stop> {
    let mode = scan.mode;
    // TLS 1.2 first: it takes the first free lane of the address's gate,
    // and its answer alone can start the later hellos.
    let tls12 = VersionHello::new(Version::Tls12);
    // Without a main session TLS 1.3 is asked too, beside the others.
    let tls13 = main.is_none().then(|| VersionHello::new(Version::Tls13));
    let older: Vec<VersionHello> = [Version::Tls11, Version::Tls10, Version::Ssl3]
        .into_iter()
        .map(VersionHello::new)
        .chain(tls13)
        .collect();
    let tls12_then_later = async {
        let result = connector.hello(&tls12.spec).await;
        // Deep enumerates every accepted version before its order hello:
        // only a light scan starts early.
        let later = match &result {
            Some(r) if mode == ScanMode::Light && tls12.accepted(r) => Some(
                send_later(
                    connector,
                    Version::Tls12,
                    &later_plan(mode, Version::Tls12, used_dhe(r)),
                )
                .await,
            ),
            _ => None,
        };
        (result, later)
    };
    let ((tls12_result, early_later), older_results) = tokio::join!(
        tls12_then_later,
        futures_util::future::join_all(older.iter().map(|h| connector.hello(&h.spec))),
    );

    // Recorded oldest first: the scan keeps the first certificate chain a
    // legacy hello was sent, so the order must not depend on the network.
    // The versions whose answer used DHE, for the plan of the later hellos.
    let mut dhe_at = Vec::new();
    let mut stopped = None;
    let mut in_order: Vec<(&VersionHello, Option<HelloResult>)> = older
        .iter()
        .zip(older_results)
        .chain(std::iter::once((&tls12, tls12_result)))
        .collect();
    in_order.sort_by_key(|(hello, _)| hello.version);
    for (hello, result) in in_order {
        match result {
            Some(result) => {
                record(scan, &result);
                record_version(scan, hello.version, &result, &hello.offered);
                if used_dhe(&result) {
                    dhe_at.push(hello.version);
                }
            }
            None => stopped = Some(stop_message()),
        }
    }
    if let Some(later) = &early_later {
        // Everything that came back is kept, even when the scan stops.
        let outcome = record_later(scan, Version::Tls12, later);
        stopped = stopped.or(outcome.err());
    }
    if let Some(stop) = stopped {
        return Err(stop);
    }

    // rustls offers TLS 1.3 first: the main handshake is the answer.
    if let Some(session) = main {
        let v = scan.version_mut(Version::Tls13);
        v.accepted = Some(session.version == Version::Tls13);
        if session.version == Version::Tls13 {
            let id = tls_parser::TlsCipherSuite::from_name(&session.cipher).map(|s| s.id.0);
            v.preferred = id;
            v.suites = id.into_iter().collect();
        }
        if let Some(g) = session.key_exchange_group.as_deref().and_then(group_id) {
            scan.groups.insert(g);
        }
    }
    if early_later.is_some() {
        return Ok(());
    }

    let legacy_top = [
        Version::Tls12,
        Version::Tls11,
        Version::Tls10,
        Version::Ssl3,
    ]
    .into_iter()
    .find(|v| scan.version(*v).is_some_and(|s| s.accepted == Some(true)));
    if mode == ScanMode::Deep {
        deep(scan, connector, legacy_top).await?;
    }
    let Some(top) = legacy_top else {
        // Nothing below TLS 1.3: no weak suite can be accepted.
        if scan
            .versions
            .iter()
            .all(|(v, s)| *v == Version::Tls13 || s.accepted == Some(false))
        {
            for (_, w) in &mut scan.weak {
                *w = Some(false);
            }
        }
        return Ok(());
    };
    let plan = later_plan(mode, top, dhe_at.contains(&top));
    let later = send_later(connector, top, &plan).await;
    record_later(scan, top, &later)?;
    if mode == ScanMode::Deep {
        // Every suite of every version is known: the categories are exact.
        let all = scan.all_suites();
        for (w, accepted) in &mut scan.weak {
            *accepted = Some(all.iter().any(|&s| suites::weaknesses(s).contains(w)));
        }
    }
    Ok(())
}

fn record_version(scan: &mut TlsScan, version: Version, result: &HelloResult, offered: &[u16]) {
    let v = scan.version_mut(version);
    match (result, accepted_suite(result, version, offered)) {
        (_, Some(suite)) => {
            v.accepted = Some(true);
            v.preferred = Some(suite);
            if !v.suites.contains(&suite) {
                v.suites.push(suite);
            }
        }
        // An alert, a lower version, a suite we did not offer, a close:
        // all mean "not at this version".
        (Ok(_) | Err(AttemptError::Closed), None) => v.accepted = Some(false),
        // A reset after the hello is a refusal too (some stacks do that).
        (Err(AttemptError::Network(_)) | Err(AttemptError::Truncated), None) => {
            v.accepted = Some(false);
        }
        (Err(e), None) => {
            v.accepted = None;
            v.error = Some(e.to_string());
        }
    }
}

/// The rustls spelling of a group back to its code point.
fn group_id(name: &str) -> Option<u16> {
    [
        0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x11ec, 0x11eb, 0x11ed, 0x0100, 0x0101, 0x0102,
        0x0103, 0x0104,
    ]
    .into_iter()
    .find(|&g| suites::group_name(g) == name)
}

/// What a hello at the best legacy version asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Later {
    /// The same suites, reversed: a server that follows its own preference
    /// picks the same one.
    Order,
    /// Light: every weak suite at once.
    Weak,
    /// Light: only DHE suites, for the prime's size (most servers prefer
    /// ECDHE, so the forward hello rarely shows it).
    Dhe,
}

/// The answer used a DHE key exchange (its prime is then known).
fn used_dhe(result: &HelloResult) -> bool {
    matches!(
        result,
        Ok(Reply::Hello(ServerHello {
            key_exchange: Some(KeyExchange::Dhe { .. }),
            ..
        }))
    )
}

/// The hellos at `top` after the version hellos, each with its offer.
/// `forward_was_dhe`: the version hello at `top` already got a DHE key
/// exchange, so the DHE hello would tell nothing more. (Only that answer
/// counts, not the other versions', so that the plan does not depend on
/// which answers happen to have come back first.)
fn later_plan(mode: ScanMode, top: Version, forward_was_dhe: bool) -> Vec<(Later, Vec<u16>)> {
    let offer = suites::for_version(top);
    let mut reversed = offer.clone();
    reversed.reverse();
    let mut plan = vec![(Later::Order, reversed)];
    if mode == ScanMode::Deep {
        // Deep knows every suite already: the categories are exact.
        return plan;
    }
    let weak: Vec<u16> = offer
        .iter()
        .copied()
        .filter(|&s| !suites::weaknesses(s).is_empty())
        .collect();
    plan.push((Later::Weak, weak));
    let dhe: Vec<u16> = offer
        .iter()
        .copied()
        .filter(|&s| suites::is_dhe(s))
        .collect();
    if !dhe.is_empty() && !forward_was_dhe {
        plan.push((Later::Dhe, dhe));
    }
    plan
}

/// The plan's hellos, side by side (none needs another's answer); each
/// answer beside its plan entry, `None` where the connector refused.
async fn send_later(
    connector: &dyn Connector,
    top: Version,
    plan: &[(Later, Vec<u16>)],
) -> Vec<(Later, Vec<u16>, Option<HelloResult>)> {
    let specs: Vec<HelloSpec> = plan
        .iter()
        .map(|(_, offer)| spec(top, offer.clone()))
        .collect();
    let results = futures_util::future::join_all(specs.iter().map(|s| connector.hello(s))).await;
    plan.iter()
        .zip(results)
        .map(|((later, offer), result)| (*later, offer.clone(), result))
        .collect()
}

/// Records the later hellos' answers at `top`, in plan order.
fn record_later(
    scan: &mut TlsScan,
    top: Version,
    answers: &[(Later, Vec<u16>, Option<HelloResult>)],
) -> Result<(), Stop> {
    let mut stopped = None;
    for (later, offer, result) in answers {
        let Some(result) = result else {
            stopped = Some(stop_message());
            continue;
        };
        record(scan, result);
        let suite = accepted_suite(result, top, offer);
        match later {
            Later::Order => {
                let preferred = scan.version(top).and_then(|v| v.preferred);
                if let (Some(first), Some(second)) = (preferred, suite) {
                    scan.server_order = Some(first == second);
                }
            }
            // Rejected: no category is accepted. Accepted: the chosen
            // suite's categories are, the others are unknown (`--scan
            // deep` tells).
            Later::Weak => match (suite, result) {
                (Some(suite), _) => {
                    let hit = suites::weaknesses(suite);
                    for (w, accepted) in &mut scan.weak {
                        if hit.contains(w) {
                            *accepted = Some(true);
                        }
                    }
                }
                (None, Ok(_) | Err(AttemptError::Closed)) => {
                    for (_, accepted) in &mut scan.weak {
                        *accepted = Some(false);
                    }
                }
                (None, Err(_)) => {}
            },
            Later::Dhe => {}
        }
        if let Some(suite) = suite {
            let v = scan.version_mut(top);
            if !v.suites.contains(&suite) {
                v.suites.push(suite);
            }
        }
    }
    stopped.map_or(Ok(()), Err)
}

/// `--scan deep`: every suite per accepted version (offer all, take away
/// the chosen one, repeat), then every group.
async fn deep(
    scan: &mut TlsScan,
    connector: &dyn Connector,
    legacy_top: Option<Version>,
) -> Result<(), Stop> {
    for version in Version::ALL {
        if scan
            .version(version)
            .is_none_or(|v| v.accepted != Some(true))
        {
            continue;
        }
        let mut offered = suites::for_version(version);
        let mut found = Vec::new();
        // Bounded: each round removes one suite.
        while !offered.is_empty() {
            let result = send(scan, connector, &spec(version, offered.clone())).await?;
            let Some(suite) = accepted_suite(&result, version, &offered) else {
                break;
            };
            found.push(suite);
            offered.retain(|&s| s != suite);
        }
        let v = scan.version_mut(version);
        for s in found {
            if !v.suites.contains(&s) {
                v.suites.push(s);
            }
        }
    }
    if scan
        .version(Version::Tls13)
        .is_some_and(|v| v.accepted == Some(true))
    {
        let mut pq = false;
        for &group in suites::GROUPS_TLS13 {
            // An empty key share: the server names the group it wants in a
            // HelloRetryRequest, or refuses.
            let hello = HelloSpec {
                groups: vec![group],
                x25519_share: false,
                ..spec(Version::Tls13, suites::for_version(Version::Tls13))
            };
            let result = send(scan, connector, &hello).await?;
            if let Ok(Reply::Hello(h)) = &result
                && h.version == Version::Tls13
                && h.group == Some(group)
            {
                scan.groups.insert(group);
                pq |= suites::is_post_quantum(group);
            }
        }
        scan.post_quantum_accepted = Some(pq);
    }
    if let Some(top) = legacy_top {
        let ecdhe: Vec<u16> = suites::for_version(top)
            .into_iter()
            .filter(|&s| suites::is_ecdhe(s))
            .collect();
        let uses_ecdhe = scan
            .version(top)
            .is_some_and(|v| v.suites.iter().any(|&s| suites::is_ecdhe(s)));
        if uses_ecdhe {
            for &curve in suites::CURVES_TLS12 {
                let hello = HelloSpec {
                    groups: vec![curve],
                    ..spec(top, ecdhe.clone())
                };
                // record_extras notes the curve from the ServerKeyExchange.
                let _answer = send(scan, connector, &hello).await?;
            }
        }
    }
    Ok(())
}

/// One hello on a fresh connection: SMTP up to STARTTLS's 220, the hello,
/// the server's first flight (bounded in bytes and by `--timeout`), then
/// the connection is dropped.
pub async fn attempt(
    target: &ProbeTarget,
    settings: &ProbeSettings,
    spec: &HelloSpec,
) -> HelloResult {
    let conn = super::open_starttls(target, settings, "STARTTLS")
        .await
        .map_err(AttemptError::Smtp)?;
    if conn.buffered() > 0 {
        return Err(AttemptError::Smtp(ProbeError {
            phase: super::Phase::Starttls,
            kind: super::ProbeErrorKind::PlaintextAfterStarttls(conn.buffered()),
        }));
    }
    let mut tcp = conn.into_inner();
    let random = random_bytes();
    let hello = client_hello::build(spec, Some(target.host.as_str()), &random);
    let limit = settings.timeouts.handshake;
    let exchange = async {
        tcp.write_all(&hello).await.map_err(|e| network(&e))?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            let n = tcp.read(&mut chunk).await.map_err(|e| network(&e))?;
            if n == 0 {
                return Err(if buf.is_empty() {
                    AttemptError::Closed
                } else {
                    AttemptError::Truncated
                });
            }
            buf.extend_from_slice(&chunk[..n]);
            match server_hello::parse_flight(&buf)? {
                server_hello::Progress::Done(reply) => return Ok(reply),
                server_hello::Progress::NeedMore => {}
            }
        }
    };
    let result = match timeout(limit, exchange).await {
        Ok(r) => r,
        Err(_) => Err(AttemptError::Timeout(limit)),
    };
    // Hang up: a fatal user_canceled alert would be politer in theory, but
    // no real server cares, and the handshake can go no further anyway.
    drop(tcp);
    result
}

fn network(e: &std::io::Error) -> AttemptError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::UnexpectedEof => AttemptError::Closed,
        _ => AttemptError::Network(e.to_string()),
    }
}

fn random_bytes() -> [u8; 32] {
    let mut r = [0u8; 32];
    // aws-lc-rs's system RNG; should it ever fail, a fixed random is still
    // a well-formed hello (nothing is ever encrypted with it).
    let _ = aws_lc_rs::rand::fill(&mut r);
    r
}

#[cfg(test)]
mod tests;
