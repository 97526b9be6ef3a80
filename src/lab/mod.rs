//! The lab: in-process peers that stand for the rest of the Internet, on
//! loopback. `smtptls demo` audits a world built from them, and the
//! end-to-end tests aim the real binary at them (`tests/lab/` adds how to
//! run it and read its JSON). One lab, so the demo shows exactly what the
//! tests prove.
//!
//! - [`pki`]: a throw-away PKI (root, intermediate, leaf certificates) made
//!   at start with rcgen; its keys live in memory, and only the root
//!   certificate and trust anchors go to its temporary directory.
//! - [`smtp`]: an SMTP server with knobs for every behaviour the prober must
//!   survive (good STARTTLS, no STARTTLS, stalls, garbage, ...). It never
//!   accepts mail: MAIL, RCPT and DATA are refused.
//! - [`https`]: an HTTPS server for MTA-STS policy files.
//! - [`server`]: what those servers share (port, accept loop, log).
//! - [`dns`]: an authoritative DNS server (hickory-server) for the zone
//!   `test.`, signed on request, with names that answer SERVFAIL or never
//!   answer.
//! - [`dns_proxy`]: a DNS server in front of it that truncates, loses,
//!   strips RRSIGs or denies everything, over UDP and TCP.
//!
//! Everything here listens on 127.0.0.0/8 only (each server checks the
//! address it is given), except [`smtp::SmtpServer::start_in_netns`] and
//! [`dns::ZoneBuilder::start_on`] inside a network namespace of the
//! caller's own, which the WAN benchmark builds.
//!
//! This is test and demo code: setting a lab up panics where the machine
//! cannot (no free port, no temporary directory), with a message saying
//! which; what peers send it never does.

pub mod dns;
pub mod dns_proxy;
pub mod https;
pub mod pki;
pub mod server;
pub mod smtp;
