//! Everything a run is configured with, as typed values.
//!
//! The CLI parses strings into these types; the pipeline stages only ever see
//! these, so a bad `--connect-to` or `--ca-file` is a usage error before any
//! network work starts.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::vocabulary::Threshold;

/// How long each network step may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// Waiting for the complete 220 greeting. Longer than the others by
    /// default, since postscreen-style greet delays hold it back on purpose.
    pub banner: Duration,
    /// Each SMTP command's complete reply.
    pub command: Duration,
    /// The TLS handshake.
    pub handshake: Duration,
    /// Each DNS query (per attempt).
    pub dns: Duration,
}

impl Timeouts {
    /// Every step `step`, the banner `banner`.
    pub fn new(step: Duration, banner: Duration) -> Self {
        Timeouts {
            connect: step,
            banner,
            command: step,
            handshake: step,
            dns: step,
        }
    }
}

impl Timeouts {
    /// The default whole-address budget (`--address-budget`): one
    /// complete banner wait and six steps, enough for a slow server's main
    /// probe and its further connections, not for a server that makes
    /// each of a dozen connections crawl (see [`AuditOptions::address_budget`]).
    pub fn default_address_budget(&self) -> Duration {
        self.banner + self.command * 6
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::new(Duration::from_secs(10), Duration::from_secs(30))
    }
}

/// Which address families to probe (`-4` / `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressFamilies {
    #[default]
    Both,
    V4Only,
    V6Only,
}

impl AddressFamilies {
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            AddressFamilies::Both => true,
            AddressFamilies::V4Only => ip.is_ipv4(),
            AddressFamilies::V6Only => ip.is_ipv6(),
        }
    }
}

/// The name we give in EHLO/HELO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EhloName {
    /// A fully qualified domain name.
    Fqdn(String),
    /// No FQDN is known: RFC 5321 §4.1.4 says to use an address literal of
    /// the client's own address (`[192.0.2.1]`, `[IPv6:…]`), which is known
    /// only once connected.
    AddressLiteral,
}

impl EhloName {
    /// This machine's mail name: `/etc/mailname` (Debian's convention for
    /// exactly this), else the host name if it is fully qualified, else an
    /// address literal. Never a bare word: strict servers reject those
    /// (Postfix `reject_non_fqdn_helo_hostname`).
    pub fn from_system() -> Self {
        let candidates = [
            std::fs::read_to_string("/etc/mailname").ok(),
            gethostname::gethostname().into_string().ok(),
        ];
        candidates
            .into_iter()
            .flatten()
            .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
            .find(|s| s.contains('.') && s.parse::<crate::domain::DomainName>().is_ok())
            .map(EhloName::Fqdn)
            .unwrap_or(EhloName::AddressLiteral)
    }

    /// The EHLO argument for a connection whose local address is `local`.
    pub fn for_local_addr(&self, local: IpAddr) -> String {
        match self {
            EhloName::Fqdn(name) => name.clone(),
            EhloName::AddressLiteral => match local {
                IpAddr::V4(v4) => format!("[{v4}]"),
                IpAddr::V6(v6) => format!("[IPv6:{v6}]"),
            },
        }
    }
}

impl FromStr for EhloName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(inner) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let ip = inner.strip_prefix("IPv6:").unwrap_or(inner);
            return match ip.parse::<IpAddr>() {
                Ok(_) => Ok(EhloName::Fqdn(s.to_string())),
                Err(_) => Err(format!("{s:?} is not a valid address literal")),
            };
        }
        let name: crate::domain::DomainName = s.parse().map_err(|e| format!("{e}"))?;
        Ok(EhloName::Fqdn(name.to_string()))
    }
}

/// One `--connect-to HOST:PORT:ADDR:PORT` rule, as in curl: a connection
/// meant for (HOST, PORT) goes to (ADDR, PORT) instead. Empty fields match
/// anything (left side) or keep the original (right side). The MX name is
/// still what SNI and the certificate name check use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub addr: Option<IpAddr>,
    pub to_port: Option<u16>,
}

impl ConnectTo {
    fn matches(&self, host: &str, port: u16) -> bool {
        self.host.as_deref().is_none_or(|h| h == host) && self.port.is_none_or(|p| p == port)
    }
}

impl FromStr for ConnectTo {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("--connect-to {s:?}: {why} (expected HOST:PORT:ADDR:PORT)");
        // HOST has no colon; PORT has none; ADDR may be a bracketed IPv6.
        let (host, rest) = s.split_once(':').ok_or_else(|| bad("too few fields"))?;
        let (port, rest) = rest.split_once(':').ok_or_else(|| bad("too few fields"))?;
        let (addr, to_port) = if let Some(after) = rest.strip_prefix('[') {
            let (v6, tail) = after.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            let tail = tail
                .strip_prefix(':')
                .ok_or_else(|| bad("missing port after address"))?;
            (v6, tail)
        } else {
            rest.rsplit_once(':').ok_or_else(|| bad("too few fields"))?
        };
        let port_of = |p: &str| -> Result<Option<u16>, String> {
            if p.is_empty() {
                Ok(None)
            } else {
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .map(Some)
                    .ok_or_else(|| bad(&format!("{p:?} is not a port")))
            }
        };
        let host = if host.is_empty() {
            None
        } else {
            let name: crate::domain::DomainName =
                crate::domain::DomainName::from_dns(host).map_err(|e| bad(&e.to_string()))?;
            Some(name.to_string())
        };
        let addr = if addr.is_empty() {
            None
        } else {
            Some(
                addr.parse::<IpAddr>()
                    .map_err(|_| bad(&format!("{addr:?} is not an IP address")))?,
            )
        };
        Ok(ConnectTo {
            host,
            port: port_of(port)?,
            addr,
            to_port: port_of(to_port)?,
        })
    }
}

/// Where a connection for one MX host actually goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Connect to the resolved addresses, on this port.
    Resolved { port: u16 },
    /// A `--connect-to` rule names the address: no address lookup.
    Fixed(SocketAddr),
}

/// The `--connect-to` rules of a run. The first matching rule wins, as in curl.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectRules(pub Vec<ConnectTo>);

impl ConnectRules {
    pub fn route(&self, host: &str, port: u16) -> Route {
        match self.0.iter().find(|rule| rule.matches(host, port)) {
            None => Route::Resolved { port },
            Some(rule) => {
                let to_port = rule.to_port.unwrap_or(port);
                match rule.addr {
                    Some(ip) => Route::Fixed(SocketAddr::new(ip, to_port)),
                    None => Route::Resolved { port: to_port },
                }
            }
        }
    }
}

/// Trust anchors for grading certificate chains: webpki-roots (Mozilla's
/// set) plus whatever `--ca-file` adds.
#[derive(Clone)]
pub struct TrustStore {
    roots: Arc<RootCertStore>,
    extra: usize,
}

/// A `--ca-file` that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustStoreError {
    #[error("cannot read CA file {path}: {source}")]
    Read {
        path: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("CA file {path}: certificate #{index} is not a usable trust anchor: {reason}")]
    BadCertificate {
        path: String,
        index: usize,
        reason: String,
    },
    #[error("CA file {path} holds no PEM certificate")]
    Empty { path: String },
}

impl TrustStore {
    /// Mozilla's roots only.
    pub fn webpki() -> Self {
        TrustStore {
            roots: Arc::new(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            }),
            extra: 0,
        }
    }

    /// Mozilla's roots plus every certificate in each PEM file.
    pub fn with_ca_files<P: AsRef<Path>>(files: &[P]) -> Result<Self, TrustStoreError> {
        let mut store = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut extra = 0;
        for file in files {
            let path = file.as_ref().display().to_string();
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|source| TrustStoreError::Read {
                    path: path.clone(),
                    source,
                })?;
            if certs.is_empty() {
                return Err(TrustStoreError::Empty { path });
            }
            for (index, cert) in certs.into_iter().enumerate() {
                store
                    .add(cert)
                    .map_err(|e| TrustStoreError::BadCertificate {
                        path: path.clone(),
                        index: index + 1,
                        reason: e.to_string(),
                    })?;
                extra += 1;
            }
        }
        Ok(TrustStore {
            roots: Arc::new(store),
            extra,
        })
    }

    pub fn roots(&self) -> &RootCertStore {
        &self.roots
    }

    /// How many anchors came from `--ca-file`.
    pub fn extra_anchors(&self) -> usize {
        self.extra
    }
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("anchors", &self.roots.len())
            .field("extra", &self.extra)
            .finish()
    }
}

/// Which DNS servers to ask.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DnsServers {
    /// The system's configuration (`/etc/resolv.conf`).
    #[default]
    System,
    /// `--resolver ADDR[:PORT]`, in order.
    Explicit(Vec<SocketAddr>),
}

/// How DNSSEC status is decided (`--dnssec`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DnssecMode {
    /// Validate locally from the root trust anchor (plus `--trust-anchor`),
    /// so the result does not depend on the resolver's honesty.
    #[default]
    Validate,
    /// Trust the AD bit of the configured resolver, as Postfix and Exim do
    /// with a local validating resolver.
    TrustResolver,
}

impl DnssecMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DnssecMode::Validate => "validate",
            DnssecMode::TrustResolver => "trust-resolver",
        }
    }
}

/// Parses `--resolver ADDR[:PORT]`: `192.0.2.53`, `192.0.2.53:5353`,
/// `::1`, `[::1]:5353`.
pub fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| {
            format!(
                "--resolver {s:?}: expected ADDR or ADDR:PORT (e.g. 127.0.0.1:5353 or [::1]:53)"
            )
        })
}

/// The whole configuration of an audit run.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// `--service`: MX hosts on port 25 (the default), or a mail client's
    /// submission service on 587 or 465.
    pub service: crate::vocabulary::Service,
    /// The port to probe: the service's (25, 587, 465) unless `--port`
    /// says otherwise; an SRV record's port wins for submission.
    pub port: u16,
    pub connect_to: ConnectRules,
    pub timeouts: Timeouts,
    pub ehlo_name: EhloName,
    pub families: AddressFamilies,
    pub trust: TrustStore,
    pub dns: DnsServers,
    pub dnssec: DnssecMode,
    /// `--trust-anchor` files (DNSKEY records in zone-file syntax), added
    /// to the root anchor in `validate` mode.
    pub trust_anchors: Vec<std::path::PathBuf>,
    /// A certificate expiring within this many days is a warning.
    pub expiry_warn_days: u32,
    /// Verdicts below this make the run exit 1.
    pub threshold: Threshold,
    /// `--fail-level`: configuration levels at or below this make the run
    /// exit 1; `None` (the default) leaves the configuration axis alone.
    pub fail_level: Option<crate::vocabulary::LevelThreshold>,
    /// Domains audited at the same time.
    pub concurrency: usize,
    /// Connections to one IP address at the same time, at most.
    pub per_address: usize,
    /// Extra attempts for an address that timed out (0: none; a timed-out
    /// address is then not contacted again in the run).
    pub retries: u32,
    /// `--scan`: the protocol scan and injection test after the main
    /// handshake (`off` keeps one connection per address).
    pub scan: crate::vocabulary::ScanMode,
    /// `--allow-local-addresses`: probe loopback and link-local addresses
    /// too (test labs). Unspecified, broadcast and multicast addresses are
    /// never probed.
    pub allow_local: bool,
    /// `--max-mx-hosts`: MX hosts probed per domain, lowest preference
    /// first; the rest are listed in the report as left out.
    pub max_mx_hosts: usize,
    /// `--max-addresses-per-host`: addresses probed per MX host, the two
    /// families taking turns; the rest are listed as left out.
    pub max_addresses: usize,
    /// `--address-budget`: the time all connections to one address of one
    /// MX host may take, added up, the main probe's first (waits for a
    /// `--per-address` permit do not count). The main probe is bounded by
    /// its own step timeouts; once the budget is spent no further
    /// connection (fallback hello, injection test, scan) starts, and each
    /// runs at most for what is left when it starts.
    pub address_budget: Duration,
}

/// At most this many MX hosts per domain by default. Real senders stop
/// sooner (Postfix `smtp_mx_address_limit` = 5 addresses in all, Exim
/// `hosts_max_try` = 5), but an auditor wants every host a sender could be
/// made to use when the first ones fail.
pub const DEFAULT_MAX_MX_HOSTS: usize = 10;

/// At most this many addresses per MX host by default: Postfix's and
/// Exim's per-delivery limit (5), applied to each host.
pub const DEFAULT_MAX_ADDRESSES: usize = 5;

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            service: crate::vocabulary::Service::Smtp,
            port: 25,
            connect_to: ConnectRules::default(),
            timeouts: Timeouts::default(),
            ehlo_name: EhloName::AddressLiteral,
            families: AddressFamilies::Both,
            trust: TrustStore::webpki(),
            dns: DnsServers::System,
            dnssec: DnssecMode::Validate,
            trust_anchors: Vec::new(),
            expiry_warn_days: 30,
            threshold: Threshold::default(),
            fail_level: None,
            concurrency: 256,
            per_address: 2,
            retries: 0,
            scan: crate::vocabulary::ScanMode::Light,
            allow_local: false,
            max_mx_hosts: DEFAULT_MAX_MX_HOSTS,
            max_addresses: DEFAULT_MAX_ADDRESSES,
            address_budget: Timeouts::default().default_address_budget(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_to_forms() {
        let r: ConnectTo = "mx.example.com:25:127.0.0.1:2525".parse().expect("full");
        assert_eq!(r.host.as_deref(), Some("mx.example.com"));
        assert_eq!(r.port, Some(25));
        assert_eq!(r.addr, Some("127.0.0.1".parse().expect("ip")));
        assert_eq!(r.to_port, Some(2525));

        let r: ConnectTo = "mx.example.com:25:[::1]:2525".parse().expect("v6");
        assert_eq!(r.addr, Some("::1".parse().expect("ip")));

        let r: ConnectTo = "::127.0.0.2:".parse().expect("any host, any port");
        assert_eq!((r.host, r.port, r.to_port), (None, None, None));

        let r: ConnectTo = ":::2525".parse().expect("port only");
        assert_eq!((r.addr, r.to_port), (None, Some(2525)));

        for bad in [
            "mx",
            "mx:25",
            "mx:25:nothost:25",
            "mx:x:127.0.0.1:25",
            "mx:25:[::1:25",
            "mx:25:127.0.0.1:0",
        ] {
            assert!(bad.parse::<ConnectTo>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn first_matching_rule_routes() {
        let rules = ConnectRules(vec![
            "mx1.example.com:25:127.0.0.1:2525".parse().expect("rule"),
            ":::2626".parse().expect("rule"),
        ]);
        assert_eq!(
            rules.route("mx1.example.com", 25),
            Route::Fixed("127.0.0.1:2525".parse().expect("sa"))
        );
        assert_eq!(
            rules.route("mx2.example.com", 25),
            Route::Resolved { port: 2626 }
        );
        assert_eq!(
            ConnectRules::default().route("mx", 25),
            Route::Resolved { port: 25 }
        );
    }

    #[test]
    fn resolver_forms() {
        assert_eq!(
            parse_resolver("127.0.0.1"),
            Ok("127.0.0.1:53".parse().expect("sa"))
        );
        assert_eq!(
            parse_resolver("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().expect("sa"))
        );
        assert_eq!(parse_resolver("::1"), Ok("[::1]:53".parse().expect("sa")));
        assert_eq!(
            parse_resolver("[::1]:5353"),
            Ok("[::1]:5353".parse().expect("sa"))
        );
        assert!(parse_resolver("dns.example").is_err());
    }

    #[test]
    fn ehlo_names() {
        assert_eq!(
            EhloName::AddressLiteral.for_local_addr("192.0.2.7".parse().expect("ip")),
            "[192.0.2.7]"
        );
        assert_eq!(
            EhloName::AddressLiteral.for_local_addr("::1".parse().expect("ip")),
            "[IPv6:::1]"
        );
        assert_eq!(
            "Mail.Example.org".parse::<EhloName>(),
            Ok(EhloName::Fqdn("mail.example.org".into()))
        );
        assert!("[IPv6:::1]".parse::<EhloName>().is_ok());
        assert!("bareword".parse::<EhloName>().is_err());
        match EhloName::from_system() {
            EhloName::Fqdn(n) => assert!(n.contains('.')),
            EhloName::AddressLiteral => {}
        }
    }
}
