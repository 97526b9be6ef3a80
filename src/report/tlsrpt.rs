//! The contract of `smtptls tlsrpt`: what its JSON and NDJSON carry
//! (`schema/tlsrpt.schema.json`, [`TLSRPT_SCHEMA_VERSION`]). The inputs
//! that were read and what went wrong with each, the per-domain summaries
//! of the reports ([`crate::protection::tls_rpt_report`], used as they
//! are), the disagreements between reports, and the totals; with
//! `--audit`, each failure group's [`Explanation`]
//! ([`super::tlsrpt_explain`]).

use serde::Serialize;

use super::{DomainReport, ToolInfo};
use crate::domain::DomainName;
pub use crate::protection::tls_rpt_report::{
    Aggregator, CauseStatus, Conflict, ConflictKind, DomainSummary, Explanation, ExplanationId,
    FailureGroup, InconsistentReport, OrganisationSummary, PolicySummary, PolicyType, ResultType,
    Sessions, Window,
};

/// Major version of `schema/tlsrpt.schema.json`.
pub const TLSRPT_SCHEMA_VERSION: u32 = 1;

/// One `smtptls tlsrpt` run.
#[derive(Debug, Clone, Serialize)]
pub struct TlsRptRun {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// Whether `--audit` probed the failing MX hosts.
    pub audited: bool,
    /// Every PATH argument, in order.
    pub inputs: Vec<InputReport>,
    /// Per policy domain, by name.
    pub domains: Vec<DomainSummary>,
    /// Reports that disagree with each other.
    pub conflicts: Vec<Conflict>,
    pub totals: Totals,
}

/// One PATH argument (a file, a Maildir, `-`).
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// As given (`-` for stdin).
    pub source: String,
    /// Reports read and counted.
    pub reports: usize,
    /// Reports whose `report-id` was already counted.
    pub duplicates: usize,
    /// Messages of an mbox or Maildir without a report (someone's mail).
    pub skipped: usize,
    /// What could not be read; the rest of the input was still used.
    pub errors: Vec<InputProblem>,
}

/// Something in an input that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct InputProblem {
    /// Where in the input: `message 3`, `new/1700000000.eml`, an
    /// attachment's name; null for the input as a whole.
    pub part: Option<String>,
    pub kind: InputErrorKind,
    pub message: String,
}

/// What was wrong with an input, as a stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputErrorKind {
    /// It could not be opened or read.
    Unreadable,
    /// Larger than the size limit for its kind.
    TooLarge,
    /// Decompressed, larger than the limit (a gzip bomb, or a huge report).
    DecompressedTooLarge,
    /// Not valid gzip.
    BadGzip,
    /// Neither a report, a message, an mbox nor a Maildir.
    NotRecognised,
    /// A message without a TLS-RPT report in it.
    NoReport,
    /// JSON that is not an RFC 8460 report.
    MalformedReport,
}

/// What the run adds up to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Reports counted (each `report-id` once).
    pub reports: usize,
    pub duplicates: usize,
    /// Input problems (files, messages, attachments) that were skipped.
    pub unreadable: usize,
    pub sessions: Sessions,
    pub failure_groups: usize,
    /// Reports whose summary disagrees with their failure details, once
    /// per policy domain they disagree about.
    pub inconsistent_reports: usize,
    /// With `--audit`: failure groups per status; null without it.
    pub still_present: Option<usize>,
    pub gone: Option<usize>,
    pub not_reproducible: Option<usize>,
}

impl TlsRptRun {
    /// The run from what was read: the aggregator's summaries and
    /// conflicts, the inputs' counts and problems.
    pub fn new(inputs: Vec<InputReport>, aggregator: Aggregator, generated_at: String) -> Self {
        let (domains, conflicts) = aggregator.finish();
        let mut run = TlsRptRun {
            schema_version: TLSRPT_SCHEMA_VERSION,
            tool: ToolInfo::default(),
            generated_at,
            audited: false,
            inputs,
            domains,
            conflicts,
            totals: Totals::default(),
        };
        run.count();
        run
    }

    /// The policy domains whose reports have failure groups: what
    /// `--audit` probes.
    pub fn failing_domains(&self) -> Vec<&str> {
        self.domains
            .iter()
            .filter(|d| !d.failures.is_empty())
            .map(|d| d.policy_domain.as_str())
            .collect()
    }

    /// `--audit`: explains each failure group with the audit of its
    /// policy domain (`audits`, by domain name); a domain without a row
    /// gets [`ExplanationId::DomainNotAudited`].
    pub fn explain_with(&mut self, audits: &[DomainReport]) {
        for domain in &mut self.domains {
            // The audit's rows carry the canonical name (A-labels).
            let name = domain
                .policy_domain
                .parse::<DomainName>()
                .map(|n| n.as_str().to_string())
                .unwrap_or_else(|_| domain.policy_domain.clone());
            let audit = audits.iter().find(|a| a.domain == name);
            for group in &mut domain.failures {
                group.audit = Some(super::tlsrpt_explain::explain(group, audit));
            }
        }
        self.audited = true;
        self.count();
    }

    /// Whether any report counted a failed session.
    pub fn has_failures(&self) -> bool {
        self.totals.sessions.failed > 0 || self.totals.failure_groups > 0
    }

    fn count(&mut self) {
        let mut t = Totals {
            reports: self.inputs.iter().map(|i| i.reports).sum(),
            duplicates: self.inputs.iter().map(|i| i.duplicates).sum(),
            unreadable: self.inputs.iter().map(|i| i.errors.len()).sum(),
            ..Totals::default()
        };
        for d in &self.domains {
            t.sessions.successful = t.sessions.successful.saturating_add(d.sessions.successful);
            t.sessions.failed = t.sessions.failed.saturating_add(d.sessions.failed);
            t.failure_groups += d.failures.len();
            t.inconsistent_reports += d.inconsistent_reports.len();
        }
        if self.audited {
            let status = |s: CauseStatus| {
                self.domains
                    .iter()
                    .flat_map(|d| &d.failures)
                    .filter(|g| g.audit.as_ref().is_some_and(|e| e.status == s))
                    .count()
            };
            t.still_present = Some(status(CauseStatus::StillPresent));
            t.gone = Some(status(CauseStatus::Gone));
            t.not_reproducible = Some(status(CauseStatus::NotReproducible));
        }
        self.totals = t;
    }
}
