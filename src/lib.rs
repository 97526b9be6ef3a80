//! smtptls: does mail to a domain travel encrypted, and could a sender that
//! insists on encryption deliver it?
//!
//! The library is a one-way pipeline; each stage is one module with a small
//! typed interface (see `docs/architecture.md`):
//!
//! ```text
//! DomainName ──► resolver ──► MxResolution ──► prober ──► Probe ──► inspector ──► DomainReport ──► reporter
//!               (DNS: MX,      (hosts, prefs,   (SMTP,     (TLS facts,  (grades:       (findings,       (table,
//!                A/AAAA)        addresses)       STARTTLS)  chain)       chain, name…)  verdict)         json)
//! ```
//!
//! [`audit`] wires the stages together for a list of domains; `main.rs`
//! only turns command-line arguments into an [`options::AuditOptions`] and
//! a reporter.

pub mod audit;
pub mod cli;
pub mod crypto;
pub mod domain;
pub mod exit;
pub mod fetch;
pub mod input;
pub mod inspector;
pub mod mta_config;
pub mod options;
pub mod prober;
pub mod protection;
pub mod report;
pub mod reporter;
pub mod resolver;
pub mod vocabulary;
