//! `smtptls demo`: a small world of made-up mail domains on loopback,
//! built from the lab ([`crate::lab`]), that between them show every
//! verdict. The demo audits it with the real auditor, through the same
//! `check` arguments it prints for `--serve`, so what it shows is what
//! the tool does, not a picture of it.
//!
//! The world: one signed zone `test.` (its key is the run's trust
//! anchor), a private CA, an SMTP server per MX host and an HTTPS server
//! per MTA-STS policy host. Every host has an address of its own in
//! 127.0.0.0/8, and all SMTP servers share one port (all HTTPS servers
//! another), so that two `--connect-to` rules reach the whole world and
//! the printed command lines stay short. The keys are made at start and
//! live in memory; the root certificate and the zone's trust anchor go to
//! the PKI's temporary directory, removed when the [`Demo`] is dropped.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::lab::dns::{TestDns, ZoneBuilder};
use crate::lab::https::{HttpsServer, POLICY_PATH, Response};
use crate::lab::pki::{Issuer, LeafSpec, TestPki};
use crate::lab::smtp::{Behaviour, SmtpServer};
use crate::protection::dane::suggest;
use crate::vocabulary::Verdict;

/// How one MX host of the demo serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serves {
    /// STARTTLS with a certificate from the demo CA for its name.
    Good,
    /// STARTTLS with a self-signed certificate: encrypted, never
    /// authenticated.
    SelfSigned,
    /// No STARTTLS.
    Plain,
    /// Nothing listens: the connection is refused.
    Nothing,
}

/// What a domain publishes besides its MX records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Publishes {
    Nothing,
    /// TLSA `3 1 1` for the MX's key (`true`), or for a key the MX does
    /// not have (`false`).
    Dane {
        matching: bool,
    },
    /// An MTA-STS policy in enforce mode that lists the MX (`true`), or
    /// only a host the domain no longer uses (`false`).
    MtaSts {
        lists_mx: bool,
    },
    /// A null MX (RFC 7505): the domain takes no mail.
    NullMx,
}

/// One domain of the demo world and the verdict it is there to show.
#[derive(Debug, Clone, Copy)]
pub struct DemoDomain {
    pub name: &'static str,
    pub shows: Verdict,
    /// What is set up, in a few words.
    pub setup: &'static str,
    mx: &'static [(&'static str, Serves)],
    publishes: Publishes,
}

/// The world, in the order the table's reader meets the verdicts: every
/// verdict at least once, `protected` and `broken` both by DANE and by
/// MTA-STS.
pub const DOMAINS: [DemoDomain; 10] = [
    DemoDomain {
        name: "dane.test",
        shows: Verdict::Protected,
        setup: "signed zone, TLSA 3 1 1 for the MX's key",
        mx: &[("mx.dane.test", Serves::Good)],
        publishes: Publishes::Dane { matching: true },
    },
    DemoDomain {
        name: "sts.test",
        shows: Verdict::Protected,
        setup: "MTA-STS enforce policy listing the MX",
        mx: &[("mx.sts.test", Serves::Good)],
        publishes: Publishes::MtaSts { lists_mx: true },
    },
    DemoDomain {
        name: "secure.test",
        shows: Verdict::Secure,
        setup: "valid certificate, no DANE or MTA-STS",
        mx: &[("mx.secure.test", Serves::Good)],
        publishes: Publishes::Nothing,
    },
    DemoDomain {
        name: "encrypted.test",
        shows: Verdict::Encrypted,
        setup: "self-signed certificate",
        mx: &[("mx.encrypted.test", Serves::SelfSigned)],
        publishes: Publishes::Nothing,
    },
    DemoDomain {
        name: "partial.test",
        shows: Verdict::Partial,
        setup: "two MX hosts, the backup without STARTTLS",
        mx: &[
            ("mx1.partial.test", Serves::Good),
            ("mx2.partial.test", Serves::Plain),
        ],
        publishes: Publishes::Nothing,
    },
    DemoDomain {
        name: "plaintext.test",
        shows: Verdict::Plaintext,
        setup: "no STARTTLS",
        mx: &[("mx.plaintext.test", Serves::Plain)],
        publishes: Publishes::Nothing,
    },
    DemoDomain {
        name: "dane-broken.test",
        shows: Verdict::Broken,
        setup: "TLSA records for a key the MX no longer has",
        mx: &[("mx.dane-broken.test", Serves::Good)],
        publishes: Publishes::Dane { matching: false },
    },
    DemoDomain {
        name: "sts-broken.test",
        shows: Verdict::Broken,
        setup: "MTA-STS enforce policy naming an old MX",
        mx: &[("mx.sts-broken.test", Serves::Good)],
        publishes: Publishes::MtaSts { lists_mx: false },
    },
    DemoDomain {
        name: "error.test",
        shows: Verdict::Error,
        setup: "the MX refuses connections",
        mx: &[("mx.error.test", Serves::Nothing)],
        publishes: Publishes::Nothing,
    },
    DemoDomain {
        name: "no-mail.test",
        shows: Verdict::NoMail,
        setup: "null MX (RFC 7505)",
        mx: &[],
        publishes: Publishes::NullMx,
    },
];

/// What the demo says before its table.
pub const INTRO: &str = "smtptls demo: ten made-up mail domains (.test) on this machine's loopback:\n\
DNS with DNSSEC, SMTP servers, MTA-STS over HTTPS, a private CA. The real prober\n\
audits them; between them they show every verdict.";

/// What the demo says after its table.
pub const OUTRO: &str = "`smtptls demo --serve` keeps the lab up and prints the commands that\n\
reach it: check, policy, diff, the HTML page.";

/// The MX host whose key `--serve`'s second state rotates, and the
/// domain it serves.
pub const ROTATED_HOST: &str = "mx.dane.test";

/// The MTA-STS policy id (any stable string does).
const STS_ID: &str = "20261206T000000";

/// The running demo world. Dropping it stops every server and removes
/// the temporary directory.
pub struct Demo {
    pki: TestPki,
    dns: TestDns,
    smtp: Vec<SmtpServer>,
    https: Vec<HttpsServer>,
    /// [`ROTATED_HOST`] with a new key under the unchanged TLSA records,
    /// on a port of its own: the world after a careless key rollover.
    rotated: SmtpServer,
    smtp_port: u16,
    https_port: u16,
    trust_anchor: PathBuf,
}

/// The address of the `index`th host of the world: 127.0.0.10 onwards,
/// so that the demo keeps off 127.0.0.1, where other local services
/// listen.
fn host_ip(index: usize) -> Ipv4Addr {
    // The world has a dozen hosts; 127.0.0.255 is where a bigger one
    // would stop (no overflow).
    let index = u8::try_from(index.min(245)).unwrap_or(245);
    Ipv4Addr::new(127, 0, 0, 10 + index)
}

/// The policy host of an MTA-STS domain (RFC 8461 §3.3).
fn policy_host(domain: &str) -> String {
    format!("mta-sts.{domain}")
}

/// Starts one server per address on one shared port: the first binds a
/// free port, the others take the same one; when another process holds
/// it on one of the addresses, all start again on a fresh port.
async fn on_one_port<T, F, Fut>(
    ips: &[Ipv4Addr],
    port_of: fn(&T) -> u16,
    mut start: F,
) -> io::Result<(u16, Vec<T>)>
where
    F: FnMut(SocketAddr, usize) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last = None;
    'attempt: for _ in 0..20 {
        let mut started: Vec<T> = Vec::new();
        let mut port = 0;
        for (i, ip) in ips.iter().enumerate() {
            match start(SocketAddr::from((*ip, port)), i).await {
                Ok(server) => {
                    if port == 0 {
                        port = port_of(&server);
                    }
                    started.push(server);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    last = Some(e);
                    continue 'attempt;
                }
                Err(e) => return Err(e),
            }
        }
        return Ok((port, started));
    }
    Err(last.unwrap_or_else(|| io::Error::other("no port free on every demo address")))
}

/// An MTA-STS policy in enforce mode for one MX pattern.
fn sts_policy(mx: &str) -> String {
    format!("version: STSv1\r\nmode: enforce\r\nmx: {mx}\r\nmax_age: 86400\r\n")
}

impl Demo {
    /// Builds the world and starts its servers on the current Tokio
    /// runtime (the DNS server runs on a thread of its own).
    pub async fn start() -> io::Result<Demo> {
        let pki = TestPki::new();
        let mut zone = ZoneBuilder::new().signed();
        // Every host of the world gets an address of its own: first the MX
        // hosts, then the MTA-STS policy hosts.
        let mx_hosts: Vec<(&str, Serves)> =
            DOMAINS.iter().flat_map(|d| d.mx.iter().copied()).collect();
        let policy_hosts: Vec<(String, String)> = DOMAINS
            .iter()
            .filter_map(|d| match d.publishes {
                Publishes::MtaSts { lists_mx } => {
                    let mx = d.mx.first().map_or("", |(host, _)| *host);
                    let listed = if lists_mx {
                        mx.to_string()
                    } else {
                        // The host the domain used before its move.
                        format!("mail.{}", d.name)
                    };
                    Some((policy_host(d.name), sts_policy(&listed)))
                }
                _ => None,
            })
            .collect();
        let ip_of = |host: &str| -> Option<Ipv4Addr> {
            mx_hosts
                .iter()
                .map(|(h, _)| *h)
                .chain(policy_hosts.iter().map(|(h, _)| h.as_str()))
                .position(|h| h == host)
                .map(host_ip)
        };

        for domain in &DOMAINS {
            for (i, (host, _)) in domain.mx.iter().enumerate() {
                let preference = u16::try_from(10 * (i + 1)).unwrap_or(u16::MAX);
                zone = zone.mx(domain.name, preference, host);
            }
            match domain.publishes {
                Publishes::NullMx => zone = zone.mx(domain.name, 0, "."),
                Publishes::MtaSts { .. } => {
                    zone = zone.txt(
                        &format!("_mta-sts.{}", domain.name),
                        &[&format!("v=STSv1; id={STS_ID}")],
                    );
                }
                Publishes::Nothing | Publishes::Dane { .. } => {}
            }
            // Who publishes a downgrade protection asks senders to report
            // its failures (RFC 8460).
            if matches!(
                domain.publishes,
                Publishes::Dane { .. } | Publishes::MtaSts { .. }
            ) {
                zone = zone.txt(
                    &format!("_smtp._tls.{}", domain.name),
                    &[&format!("v=TLSRPTv1; rua=mailto:tlsrpt@{}", domain.name)],
                );
            }
        }
        for host in mx_hosts
            .iter()
            .map(|(h, _)| *h)
            .chain(policy_hosts.iter().map(|(h, _)| h.as_str()))
        {
            if let Some(ip) = ip_of(host) {
                zone = zone.a(host, ip);
            }
        }

        // The certificates first: DANE's records are made from them.
        let served: Vec<(Ipv4Addr, Behaviour)> = mx_hosts
            .iter()
            .filter_map(|(host, serves)| {
                let behaviour = match serves {
                    Serves::Good => Behaviour::good(host, pki.leaf(&LeafSpec::valid_for(host))),
                    Serves::SelfSigned => Behaviour::good(
                        host,
                        pki.leaf(&LeafSpec {
                            issuer: Issuer::SelfSigned,
                            ..LeafSpec::valid_for(host)
                        }),
                    ),
                    Serves::Plain => Behaviour::plain(host),
                    Serves::Nothing => return None,
                };
                Some((ip_of(host)?, behaviour))
            })
            .collect();
        for domain in &DOMAINS {
            let Publishes::Dane { matching } = domain.publishes else {
                continue;
            };
            for (host, _) in domain.mx {
                let chain = if matching {
                    served
                        .iter()
                        .find(|(_, b)| b.hostname == *host)
                        .and_then(|(_, b)| b.cert.as_ref())
                        .map(|cert| cert.chain.clone())
                        .unwrap_or_default()
                } else {
                    // The certificate the MX had before its key changed.
                    pki.leaf(&LeafSpec::valid_for(host)).chain
                };
                if let Some(ee) = suggest(&chain).first() {
                    zone = zone.tlsa(
                        &format!("_25._tcp.{host}"),
                        ee.usage,
                        ee.selector,
                        ee.matching,
                        &ee.data,
                    );
                }
            }
        }

        let smtp_ips: Vec<Ipv4Addr> = served.iter().map(|(ip, _)| *ip).collect();
        let (smtp_port, smtp) = on_one_port(&smtp_ips, SmtpServer::port, |addr, i| {
            let behaviour = served.get(i).map(|(_, b)| b.clone());
            async move {
                let behaviour = behaviour.ok_or_else(|| io::Error::other("no such demo host"))?;
                SmtpServer::start_on(addr, behaviour).await
            }
        })
        .await?;
        let policy_ips: Vec<Ipv4Addr> = policy_hosts
            .iter()
            .filter_map(|(host, _)| ip_of(host))
            .collect();
        let (https_port, https) = on_one_port(&policy_ips, HttpsServer::port, |addr, i| {
            let site = policy_hosts
                .get(i)
                .map(|(host, policy)| (pki.leaf(&LeafSpec::valid_for(host)), policy.clone()));
            async move {
                let (cert, policy) = site.ok_or_else(|| io::Error::other("no such demo host"))?;
                HttpsServer::start_on(
                    addr,
                    cert,
                    vec![(POLICY_PATH.to_string(), Response::policy(&policy))],
                )
                .await
            }
        })
        .await?;
        let rotated_ip = ip_of(ROTATED_HOST).unwrap_or(Ipv4Addr::LOCALHOST);
        let rotated = SmtpServer::start_on(
            SocketAddr::from((rotated_ip, 0)),
            Behaviour::good(ROTATED_HOST, pki.leaf(&LeafSpec::valid_for(ROTATED_HOST))),
        )
        .await?;

        let dns = zone.start().await;
        let trust_anchor = pki.dir().join("demo-zone.anchor");
        std::fs::write(&trust_anchor, dns.trust_anchor().unwrap_or_default())?;
        Ok(Demo {
            pki,
            dns,
            smtp,
            https,
            rotated,
            smtp_port,
            https_port,
            trust_anchor,
        })
    }

    /// The domains, in the table's order.
    pub fn domains() -> impl Iterator<Item = &'static str> {
        DOMAINS.iter().map(|d| d.name)
    }

    /// The directory holding the trust material (removed on drop).
    pub fn dir(&self) -> &Path {
        self.pki.dir()
    }

    /// The audit flags that reach the world: its resolver and the zone's
    /// trust anchor, its CA, loopback addresses allowed, and the two
    /// `--connect-to` rules (every SMTP host on its port, every policy
    /// host on its).
    pub fn lab_args(&self) -> Vec<String> {
        let mut args = vec![
            "--resolver".to_string(),
            self.dns.resolver_arg(),
            "--trust-anchor".to_string(),
            self.trust_anchor.display().to_string(),
            "--ca-file".to_string(),
            self.pki.ca_file().display().to_string(),
            "--allow-local-addresses".to_string(),
        ];
        args.extend(self.connect_rules());
        args
    }

    /// [`Demo::lab_args`] after [`ROTATED_HOST`] got a new key under its
    /// old TLSA records: one more rule, first because the first matching
    /// rule wins.
    pub fn rotated_args(&self) -> Vec<String> {
        let mut args = self.lab_args();
        let at = args
            .iter()
            .position(|a| a == "--connect-to")
            .unwrap_or(args.len());
        args.splice(
            at..at,
            [
                "--connect-to".to_string(),
                format!("{ROTATED_HOST}:25::{}", self.rotated.port()),
            ],
        );
        args
    }

    fn connect_rules(&self) -> Vec<String> {
        vec![
            "--connect-to".to_string(),
            format!(":25::{}", self.smtp_port),
            "--connect-to".to_string(),
            format!(":443::{}", self.https_port),
        ]
    }

    /// How many connections the world's servers (SMTP and HTTPS) accepted so far.
    pub fn connections(&self) -> usize {
        self.smtp.iter().map(SmtpServer::connections).sum::<usize>()
            + self.rotated.connections()
            + self
                .https
                .iter()
                .map(HttpsServer::connections)
                .sum::<usize>()
    }
}

/// One command line `demo --serve` prints: what it shows, and its
/// arguments after the program name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub what: &'static str,
    pub args: Vec<String>,
}

impl Demo {
    /// The command lines that reach the running world, in the order a
    /// newcomer would try them.
    pub fn examples(&self) -> Vec<Example> {
        let domains = || Self::domains().map(str::to_string);
        let with = |head: &[&str], lab: Vec<String>, tail: &mut dyn Iterator<Item = String>| {
            head.iter()
                .map(|s| s.to_string())
                .chain(lab)
                .chain(tail)
                .collect::<Vec<_>>()
        };
        vec![
            Example {
                what: "Every domain, as `smtptls demo` shows them:",
                args: with(&["check"], self.lab_args(), &mut domains()),
            },
            Example {
                what: "One domain, with every finding and its fix:",
                args: with(
                    &["check", "-v"],
                    self.lab_args(),
                    &mut std::iter::once("dane-broken.test".to_string()),
                ),
            },
            Example {
                what: "The HTML page:",
                args: with(
                    &["check", "--format", "html", "-o", "demo.html"],
                    self.lab_args(),
                    &mut domains(),
                ),
            },
            Example {
                what: "Sender policies for Postfix (TLS enforced only where it works):",
                args: with(
                    &["policy", "--format", "postfix"],
                    self.lab_args(),
                    &mut domains(),
                ),
            },
            Example {
                what: "Today's state, saved:",
                args: with(
                    &["check", "--format", "ndjson", "-o", "before.ndjson"],
                    self.lab_args(),
                    &mut domains(),
                ),
            },
            Example {
                what: "The state after mx.dane.test got a new key and its TLSA records did not:",
                args: with(
                    &["check", "--format", "ndjson", "-o", "after.ndjson"],
                    self.rotated_args(),
                    &mut domains(),
                ),
            },
            Example {
                what: "What changed:",
                args: ["diff", "before.ndjson", "after.ndjson"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
            Example {
                what: "A Prometheus exporter for the lab's domains (then curl 'http://127.0.0.1:9612/probe?target=dane.test'):",
                args: with(
                    &["serve", "--listen", "127.0.0.1:9612"],
                    self.lab_args(),
                    &mut std::iter::empty(),
                ),
            },
        ]
    }
}

/// `program ARGS…` as a POSIX shell line: words with nothing a shell
/// reads specially stay bare, the rest go in single quotes.
pub fn shell_line(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_world_shows_every_verdict() {
        for verdict in Verdict::ALL {
            assert!(
                DOMAINS.iter().any(|d| d.shows == verdict),
                "no demo domain shows {verdict:?}"
            );
        }
        let protected: Vec<_> = DOMAINS
            .iter()
            .filter(|d| d.shows == Verdict::Protected)
            .map(|d| d.publishes)
            .collect();
        assert!(protected.contains(&Publishes::Dane { matching: true }));
        assert!(protected.contains(&Publishes::MtaSts { lists_mx: true }));
        let broken: Vec<_> = DOMAINS
            .iter()
            .filter(|d| d.shows == Verdict::Broken)
            .map(|d| d.publishes)
            .collect();
        assert!(broken.contains(&Publishes::Dane { matching: false }));
        assert!(broken.contains(&Publishes::MtaSts { lists_mx: false }));
    }

    #[test]
    fn every_name_is_under_the_reserved_test_tld() {
        for d in &DOMAINS {
            assert!(d.name.ends_with(".test"), "{}", d.name);
            for (host, _) in d.mx {
                assert!(host.ends_with(&format!(".{}", d.name)), "{host}");
            }
        }
        assert!(
            DOMAINS
                .iter()
                .any(|d| d.mx.iter().any(|(h, _)| *h == ROTATED_HOST))
        );
    }

    #[test]
    fn every_host_has_its_own_loopback_address() {
        let hosts = DOMAINS.iter().map(|d| d.mx.len()).sum::<usize>() + 2;
        let ips: std::collections::BTreeSet<_> = (0..hosts).map(host_ip).collect();
        assert_eq!(ips.len(), hosts);
        assert!(
            ips.iter()
                .all(|ip| ip.is_loopback() && *ip != Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn shell_lines_quote_only_what_a_shell_would_read() {
        let args = vec![
            "--connect-to".to_string(),
            ":25::4000".to_string(),
            "/tmp/with space/ca.pem".to_string(),
            "it's".to_string(),
            String::new(),
        ];
        assert_eq!(
            shell_line("smtptls", &args),
            r"smtptls --connect-to :25::4000 '/tmp/with space/ca.pem' 'it'\''s' ''"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_world_listens_on_loopback_only_and_its_files_go_with_it() {
        let demo = Demo::start().await.expect("the demo starts");
        let dir = demo.dir().to_path_buf();
        assert!(dir.join("demo-zone.anchor").is_file());
        for server in &demo.smtp {
            assert!(server.addr.ip().is_loopback(), "{}", server.addr);
        }
        for server in &demo.https {
            assert!(server.addr.ip().is_loopback(), "{}", server.addr);
        }
        assert!(demo.rotated.addr.ip().is_loopback());
        assert!(demo.dns.addr.ip().is_loopback());
        let args = demo.lab_args();
        assert!(args.contains(&"--allow-local-addresses".to_string()));
        let rotated = demo.rotated_args();
        assert_eq!(rotated.len(), args.len() + 2);
        // The rotation rule comes before the catch-all one.
        let first_rule = rotated
            .iter()
            .position(|a| a == "--connect-to")
            .map(|i| i + 1);
        assert!(
            first_rule
                .and_then(|i| rotated.get(i))
                .is_some_and(|r| r.starts_with(ROTATED_HOST))
        );
        drop(demo);
        assert!(!dir.exists(), "{} outlived the demo", dir.display());
    }
}
