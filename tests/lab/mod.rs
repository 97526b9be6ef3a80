//! The test lab: in-process peers that the end-to-end tests aim the real
//! `smtptls` binary at. Everything here listens on loopback only.
//!
//! - [`pki`]: a throw-away PKI (root, intermediate, leaf certificates) made
//!   at test time with rcgen.
//! - [`smtp`]: an SMTP server with knobs for every behaviour the prober must
//!   survive (good STARTTLS, no STARTTLS, stalls, garbage, ...).
//! - [`https`]: an HTTPS server for MTA-STS policy files.
//! - [`server`]: what those servers share (port, accept loop, log).
//! - [`dns`]: an authoritative DNS server (hickory-server) for a test zone,
//!   with names that answer SERVFAIL or never answer.
//! - [`dns_proxy`]: a DNS server in front of it that truncates, loses,
//!   strips RRSIGs or denies everything, over UDP and TCP.
//! - [`run`]: running the real binary against a [`run::Lab`].
//! - [`report`]: reading its JSON report.
//! - [`scenario`]: a lab put together from mail domains and how their
//!   servers behave.
//! - [`schema`]: the rules every JSON schema of the project keeps.
#![allow(dead_code)]

pub mod dns;
pub mod dns_proxy;
pub mod https;
pub mod pki;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schema;
pub mod server;
pub mod smtp;
