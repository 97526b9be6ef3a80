//! The test lab: the crate's in-process peers (`smtptls::lab`: DNS, SMTP,
//! HTTPS, PKI, the same ones `smtptls demo` runs), and what only tests
//! need on top of them.
//!
//! - [`run`]: running the real binary against a [`run::Lab`].
//! - [`report`]: reading its JSON report.
//! - [`scenario`]: a lab put together from mail domains and how their
//!   servers behave.
//! - [`schema`]: the rules every JSON schema of the project keeps.
#![allow(dead_code)]

// Each test crate uses some of them.
#[allow(unused_imports)]
pub use smtptls::lab::{dns, dns_proxy, https, pki, server, smtp};

pub mod report;
pub mod run;
pub mod scenario;
pub mod schema;
