//! A hand-built diff for the outputs' unit tests (table, HTML).

use super::*;
use crate::report::Verdict;

/// A run whose domain name, MX name and message carry markup, script,
/// quotes and control characters, as a hostile report could.
pub(crate) fn hostile_run() -> DiffRun {
    let hostile = "<script>alert(1)</script>\"'&\u{1b}[2J\u{0}=cmd|";
    let mut change = Change::new(
        ChangeId::StarttlsLost,
        Direction::Worse,
        format!("{hostile} no longer offers STARTTLS"),
    );
    change.regression = true;
    change.mx = Some(format!("mx.{hostile}"));
    change.address = Some("192.0.2.1".parse().expect("IP"));
    let better = Change::new(ChangeId::VerdictUp, Direction::Better, "verdict up");
    let side = |file: &str| SideInfo {
        file: file.into(),
        format: crate::report::read::Shape::Ndjson,
        generated_at: None,
        domains: 2,
        duplicates: 0,
    };
    let mut summary = DiffSummary {
        compared: 2,
        changed: 2,
        regressions: 1,
        worse: 1,
        better: 1,
        ..Default::default()
    };
    summary.by_id.insert(ChangeId::StarttlsLost, 1);
    summary.by_id.insert(ChangeId::VerdictUp, 1);
    DiffRun {
        schema_version: 1,
        tool: Default::default(),
        generated_at: "2026-12-02T00:00:00Z".into(),
        old: side("old.ndjson"),
        new: side("new</title>.ndjson"),
        fail_on: crate::diff::FailOn::DEFAULT.to_vec(),
        expiry_warn_days: 30,
        summary,
        domains: vec![
            DomainDiff {
                domain: format!("{hostile}.example"),
                status: DomainStatus::Changed,
                old_verdict: Some(Verdict::Secure),
                new_verdict: Some(Verdict::Plaintext),
                regression: true,
                changes: vec![change],
            },
            DomainDiff {
                domain: "up.example".into(),
                status: DomainStatus::Changed,
                old_verdict: Some(Verdict::Partial),
                new_verdict: Some(Verdict::Secure),
                regression: false,
                changes: vec![better],
            },
        ],
    }
}
