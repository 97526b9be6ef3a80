//! Downgrade protection: what a domain publishes so that senders insist on
//! TLS — DANE (RFC 7672, TLSA records under DNSSEC), MTA-STS (RFC 8461,
//! an HTTPS-published policy) — and where it asks for failure reports
//! (TLS-RPT, RFC 8460).
//!
//! Each file parses and evaluates one mechanism as pure functions over the
//! records, policy text and certificates it is given (plus, for MTA-STS,
//! the HTTPS fetch). The audit gathers the inputs; the inspector turns the
//! results into findings and per-sender delivery outcomes.

pub mod dane;
pub mod mta_sts;
pub mod tls_rpt;
