//! smtptls: does mail to a domain travel encrypted, and could a sender that
//! insists on encryption deliver it?
//!
//! A one-way pipeline in layers, each importing only from the layers below
//! (`docs/architecture.md`; `tests/layers.rs` keeps it so):
//!
//! ```text
//! DomainName ─► resolver ─► prober ─► inspector ─────────► report ───────► reporter
//!               (DNS)       (SMTP,    (evidence →          (the JSON       (table, json,
//!               fetch       STARTTLS, DomainAssessment:    contract,       ndjson, csv,
//!               (MTA-STS)   TLS)      findings, delivery,  built from the  junit, prom.)
//!                                     verdict)             assessment)     mta_config
//! ```
//!
//! Beneath them the shared [`vocabulary`] (findings, verdicts, levels,
//! failures), [`domain`] and [`options`]; beside the inspector the pure
//! [`protection`] rules (DANE, MTA-STS, TLS-RPT). [`audit`] wires the
//! stages together for a list of domains; `main.rs` only parses arguments,
//! runs the audit on a Tokio runtime and writes the output.

pub mod audit;
pub mod cli;
pub mod crypto;
#[cfg(feature = "lab")]
pub mod demo;
pub mod diff;
pub mod domain;
pub mod exit;
pub mod exporter;
pub mod fetch;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod inspector;
#[cfg(feature = "lab")]
pub mod lab;
pub mod mta_config;
pub mod options;
pub mod prober;
pub mod protection;
pub mod report;
pub mod reporter;
pub mod resolver;
pub mod tlsrpt_input;
pub mod vocabulary;
