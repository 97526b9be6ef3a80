//! Putting a lab together: the mail domains, zone records, certificates
//! and lab SMTP servers that most end-to-end tests set up the same way,
//! written once so that a test says only what is special about its case.
//!
//! [`Scenario`] is one domain `NAME.test` with one MX `mx.NAME.test`: the
//! test says how that server behaves (and what records or arguments it
//! adds) and gets the run, its JSON and the server back. [`LabBuilder`]
//! puts several domains into one [`Lab`].
//!
//! A server's behaviour is given as a function of the lab PKI and the host
//! name it serves, such as [`good`], [`plain`] or a closure that turns one
//! knob of either, because the certificate has to come from the lab's PKI
//! and name the host.

use std::net::Ipv4Addr;

use serde_json::Value;
use smtptls::protection::dane::Tlsa;

use super::dns::ZoneBuilder;
use super::pki::{Issuer, LeafSpec, ServerCert, TestPki};
use super::run::{Lab, Run};
use super::smtp::{Behaviour, SmtpServer};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A well-configured server for `host`: STARTTLS offered, with a
/// certificate for `host` from the lab PKI that any verifier accepts.
pub fn good(pki: &TestPki, host: &str) -> Behaviour {
    good_with(pki, host, |leaf| leaf)
}

/// [`good`], but its certificate is `spec` of the valid one (expired,
/// another name, another key, ...).
pub fn good_with(pki: &TestPki, host: &str, spec: impl FnOnce(LeafSpec) -> LeafSpec) -> Behaviour {
    Behaviour::good(host, pki.leaf(&spec(LeafSpec::valid_for(host))))
}

/// [`good`] with a self-signed certificate for `host`: encrypted, never
/// authenticated by PKIX.
pub fn self_signed(pki: &TestPki, host: &str) -> Behaviour {
    good_with(pki, host, |leaf| LeafSpec {
        issuer: Issuer::SelfSigned,
        ..leaf
    })
}

/// A server for `host` that does not offer STARTTLS. It needs no PKI; it
/// takes one to fit where [`good`] does.
pub fn plain(_pki: &TestPki, host: &str) -> Behaviour {
    Behaviour::plain(host)
}

/// The commands that would hand the server mail.
const MAIL_COMMANDS: [&str; 3] = ["MAIL", "RCPT", "DATA"];

/// Asserts that the prober was polite to `server`: it never began a mail
/// transaction (MAIL, RCPT, DATA) and never spoke before the banner.
pub fn assert_polite(server: &SmtpServer) {
    for cmd in server.commands() {
        let verb = cmd
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        assert!(!MAIL_COMMANDS.contains(&verb.as_str()), "sent {cmd:?}");
    }
    assert!(!server.saw_early_talker(), "spoke before the banner");
}

/// A lab being put together: one PKI, one zone, and a lab SMTP server per
/// MX host, all started by [`LabBuilder::start`].
pub struct LabBuilder {
    pub pki: TestPki,
    zone: ZoneBuilder,
    servers: Vec<(String, Behaviour)>,
}

impl Default for LabBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LabBuilder {
    /// A fresh PKI and an empty zone.
    pub fn new() -> Self {
        LabBuilder {
            pki: TestPki::new(),
            zone: ZoneBuilder::new(),
            servers: Vec::new(),
        }
    }

    /// `domain MX preference host`, `host A 127.0.0.1`, and a lab server
    /// for `host` that behaves as `make` says. Once per host: a second MX
    /// pointing at the same host is a [`LabBuilder::zone`] record.
    pub fn mx(
        self,
        domain: &str,
        preference: u16,
        host: &str,
        make: impl FnOnce(&TestPki, &str) -> Behaviour,
    ) -> Self {
        self.zone(|zone| zone.mx(domain, preference, host).a(host, LO))
            .serve(host, make)
    }

    /// A lab server for `host` that behaves as `make` says, reached on the
    /// addresses the zone gives `host` (`--connect-to HOST:25::PORT`).
    pub fn serve(mut self, host: &str, make: impl FnOnce(&TestPki, &str) -> Behaviour) -> Self {
        let behaviour = make(&self.pki, host);
        self.servers.push((host.to_string(), behaviour));
        self
    }

    /// More zone records or failure knobs.
    pub fn zone(mut self, records: impl FnOnce(ZoneBuilder) -> ZoneBuilder) -> Self {
        self.zone = records(self.zone);
        self
    }

    /// Starts the servers and the DNS server: the lab, its servers in the
    /// order they were added.
    pub async fn start(self) -> Lab {
        let mut servers = Vec::new();
        for (host, behaviour) in self.servers {
            servers.push((host, SmtpServer::start(behaviour).await));
        }
        let mut lab = Lab::new(self.zone.start().await, self.pki);
        lab.servers = servers;
        lab
    }
}

/// One mail domain: `NAME.test` with `MX 10 mx.NAME.test`, the MX at
/// 127.0.0.1 and served by one lab server.
pub struct Scenario {
    /// `NAME.test`
    pub domain: String,
    /// `mx.NAME.test`
    pub mx: String,
    lab: LabBuilder,
    args: Vec<String>,
}

impl Scenario {
    pub fn new(name: &str) -> Self {
        let domain = format!("{name}.test");
        let mx = format!("mx.{name}.test");
        let lab = LabBuilder::new().zone(|zone| zone.mx(&domain, 10, &mx).a(&mx, LO));
        Scenario {
            domain,
            mx,
            lab,
            args: Vec::new(),
        }
    }

    /// The lab PKI, for certificates that must exist before the records
    /// or the server that use them.
    pub fn pki(&self) -> &TestPki {
        &self.lab.pki
    }

    /// A certificate for the MX that any verifier accepts (what [`good`]
    /// serves), for tests that derive TLSA records from it.
    pub fn cert(&self) -> ServerCert {
        self.pki().leaf(&LeafSpec::valid_for(&self.mx))
    }

    /// More zone records or failure knobs.
    pub fn zone(mut self, records: impl FnOnce(ZoneBuilder) -> ZoneBuilder) -> Self {
        self.lab = self.lab.zone(records);
        self
    }

    /// The MX's TLSA records, at `_25._tcp.mx.NAME.test` where DANE
    /// senders look (the zone needs signing to make them count).
    pub fn tlsa(self, records: &[Tlsa]) -> Self {
        let owner = format!("_25._tcp.{}", self.mx);
        self.zone(|mut zone| {
            for t in records {
                zone = zone.tlsa(&owner, t.usage, t.selector, t.matching, &t.data);
            }
            zone
        })
    }

    /// Arguments [`Scenario::check`] passes after the lab's.
    pub fn args(mut self, extra: &[&str]) -> Self {
        self.args.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// The started lab, its one server (`lab.servers[0]`) behaving as
    /// `make` says, for tests that run something else than one check.
    pub async fn lab(self, make: impl FnOnce(&TestPki, &str) -> Behaviour) -> Lab {
        self.lab.serve(&self.mx, make).start().await
    }

    /// `smtptls check --format json NAME.test <lab args> ARGS…` against the
    /// MX served as `make` says: the run, its JSON, and the server (whose
    /// transcript tells what the prober said).
    pub async fn check(
        self,
        make: impl FnOnce(&TestPki, &str) -> Behaviour,
    ) -> (Run, Value, SmtpServer) {
        let domain = self.domain.clone();
        let args = self.args.clone();
        let mut lab = self.lab(make).await;
        let extra: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = lab.check_json(&[&domain], &extra).await;
        let json = run.json();
        let (_, server) = lab.servers.pop().expect("the scenario's server");
        (run, json, server)
    }
}
