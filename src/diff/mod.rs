//! `smtptls diff OLD NEW`: what changed between two reports of the same
//! partners. Layer 4, next to the report contract it reads: each side is
//! read with the one bounded reader ([`crate::report::read::each_row`],
//! NDJSON or whole JSON) into compact [`DomainView`]s keyed by domain, the
//! rules of [`change`] compare the two views of each domain, and the
//! result is a [`DiffRun`] — the JSON contract of `diff`
//! (`schema/diff.schema.json`), which the reporters render.
//!
//! A change is typed ([`ChangeId`], stable ids), says which way it goes
//! ([`Direction`]), whether only time reveals it ([`ChangeId::is_problem`])
//! and whether it is a regression by the `--fail-on` rule ([`FailOn`]),
//! which decides the exit code.

pub mod change;
pub mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use serde::{Deserialize, Serialize};

pub use change::{Change, ChangeId, Direction, SenderKind, compare};
pub use view::DomainView;

use crate::report::merge;
use crate::report::read::{Header, ReadError, Shape};
use crate::report::{ToolInfo, Verdict};

/// Major version of the diff's JSON schema.
pub const DIFF_SCHEMA_VERSION: u32 = 1;

/// The expiry warning when neither `--expiry-warn-days` nor the new
/// report's settings give one: `check`'s default.
pub const DEFAULT_EXPIRY_WARN_DAYS: u32 = 30;

/// One side of a diff, read: its views by domain and what the file said
/// about itself.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub file: String,
    pub header: Header,
    pub views: BTreeMap<String, DomainView>,
    /// Rows for a domain that already had one: the later row is used
    /// (a `--resume`d report appends the re-audited rows).
    pub duplicates: usize,
}

impl Snapshot {
    /// Reads a report (NDJSON or JSON) from `reader`; `file` names it in
    /// errors.
    pub fn read<R: BufRead>(reader: R, file: &str) -> Result<Snapshot, ReadError> {
        // The rule of `smtptls report` within one file too.
        let mut merger = merge::Merger::new();
        let header = merge::read_reader(reader, file, 0, |row, id| {
            merger.offer(&row.domain, merge::unfinished(&row), id, || {
                DomainView::from(&row)
            });
        })?;
        let duplicates = merger.counts().duplicates;
        let views = merger
            .into_kept()
            .map(|(domain, _, view)| (domain, view))
            .collect();
        Ok(Snapshot {
            file: file.to_string(),
            header,
            views,
            duplicates,
        })
    }

    /// Reads several reports as one side (`--old`/`--new`), merged by the
    /// rule of `smtptls report` ([`merge`]): the last row of a domain
    /// wins, an unfinished row never replaces a finished one. The header
    /// is the first input's, dated by the earliest of them.
    pub fn read_merged(inputs: &[merge::Input]) -> Result<Snapshot, ReadError> {
        let merged = merge::merge(inputs, |_, row| DomainView::from(&row))?;
        let duplicates = merged.merger.counts().duplicates;
        let file = merged
            .inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let earliest = merged
            .inputs
            .iter()
            .filter_map(|i| i.header.generated_at.clone())
            .min();
        let mut header = merged
            .inputs
            .first()
            .map(|i| i.header.clone())
            .unwrap_or(Header {
                shape: Shape::Ndjson,
                generated_at: None,
                expiry_warn_days: None,
                settings: None,
                tool: None,
                summary: None,
            });
        header.generated_at = earliest;
        let views = merged
            .merger
            .into_kept()
            .map(|(domain, _, view)| (domain, view))
            .collect();
        Ok(Snapshot {
            file,
            header,
            views,
            duplicates,
        })
    }
}

/// The `--fail-on` rule: which change ids are regressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailOn(pub BTreeSet<ChangeId>);

impl FailOn {
    /// The documented default: the verdict went down, an address lost
    /// STARTTLS, DANE or MTA-STS senders now defer (or a rollover broke
    /// DANE), or the MTA-STS policy changed under an unchanged id.
    pub const DEFAULT: [ChangeId; 6] = [
        ChangeId::VerdictDown,
        ChangeId::StarttlsLost,
        ChangeId::DaneBroken,
        ChangeId::MtaStsBroken,
        ChangeId::DaneRolloverBroke,
        ChangeId::MtaStsPolicyChangedSameId,
    ];

    pub fn default_rule() -> FailOn {
        FailOn(Self::DEFAULT.into_iter().collect())
    }

    /// The `--fail-on` values: change ids, `default`, `problems` (every id
    /// only time reveals) or `none`. An unknown word is an error that
    /// lists the valid ones.
    pub fn parse(words: &[String]) -> Result<FailOn, String> {
        let mut ids = BTreeSet::new();
        for word in words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
            match word {
                "none" => {}
                "default" => ids.extend(Self::DEFAULT),
                "problems" => ids.extend(ChangeId::all().iter().filter(|id| id.is_problem())),
                _ => match ChangeId::all().iter().find(|id| id.as_str() == word) {
                    Some(id) => {
                        ids.insert(*id);
                    }
                    None => {
                        let known: Vec<&str> =
                            ChangeId::all().iter().map(|id| id.as_str()).collect();
                        return Err(format!(
                            "unknown change id `{word}`; use default, problems, none or: {}",
                            known.join(", ")
                        ));
                    }
                },
            }
        }
        Ok(FailOn(ids))
    }

    pub fn matches(&self, change: &Change) -> bool {
        self.0.contains(&change.id)
    }
}

impl Default for FailOn {
    fn default() -> Self {
        FailOn::default_rule()
    }
}

/// The whole diff: the JSON contract of `smtptls diff --format json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffRun {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub old: SideInfo,
    pub new: SideInfo,
    /// The change ids that count as regressions (`--fail-on`).
    pub fail_on: Vec<ChangeId>,
    /// `--expiry-warn-days` used for `certificate-expiring`.
    pub expiry_warn_days: u32,
    pub summary: DiffSummary,
    /// Domains with at least one change, worst first.
    pub domains: Vec<DomainDiff>,
}

/// What one side's file was.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SideInfo {
    pub file: String,
    /// `ndjson` or `json`.
    pub format: Shape,
    /// The report's `generated_at` (JSON reports only).
    pub generated_at: Option<String>,
    /// Distinct domains read.
    pub domains: usize,
    /// Rows for a domain seen before (the later row counts).
    pub duplicates: usize,
}

impl SideInfo {
    fn of(s: &Snapshot) -> SideInfo {
        SideInfo {
            file: s.file.clone(),
            format: s.header.shape,
            generated_at: s.header.generated_at.clone(),
            domains: s.views.len(),
            duplicates: s.duplicates,
        }
    }
}

/// Counts over the whole diff.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSummary {
    /// Domains in both reports.
    pub compared: usize,
    /// Domains in both with no change.
    pub unchanged: usize,
    /// Domains in both with at least one change.
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
    /// Domains with at least one change matching `--fail-on`.
    pub regressions: usize,
    /// Changes that only time reveals ([`ChangeId::is_problem`]).
    pub problems: usize,
    /// Changes by direction.
    pub worse: usize,
    pub better: usize,
    /// Change id → number of changes; only ids that occurred.
    pub by_id: BTreeMap<ChangeId, usize>,
}

/// Whether a domain is in both reports or only one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DomainStatus {
    Changed,
    Added,
    Removed,
}

/// The changes of one domain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainDiff {
    pub domain: String,
    pub status: DomainStatus,
    pub old_verdict: Option<Verdict>,
    pub new_verdict: Option<Verdict>,
    /// At least one change matches `--fail-on`.
    pub regression: bool,
    pub changes: Vec<Change>,
}

impl DomainDiff {
    /// The sort key that puts the worst first: regressions, then
    /// problems, then anything worse, then by the new verdict (worst
    /// first), then by name.
    fn rank(&self) -> (bool, bool, bool, u8, &str) {
        // `Verdict::rank`: error lowest; no-mail (no rank) last.
        let verdict = self.new_verdict.or(self.old_verdict);
        (
            !self.regression,
            !self.changes.iter().any(|c| c.problem),
            !self.changes.iter().any(|c| c.direction == Direction::Worse),
            verdict.and_then(Verdict::rank).unwrap_or(u8::MAX),
            &self.domain,
        )
    }
}

/// Compares two snapshots. `generated_at`: now, RFC 3339.
pub fn diff(
    old: &Snapshot,
    new: &Snapshot,
    fail_on: &FailOn,
    warn_days: u32,
    generated_at: String,
) -> DiffRun {
    let mut summary = DiffSummary::default();
    let mut domains = Vec::new();
    for (domain, n) in &new.views {
        let Some(o) = old.views.get(domain) else {
            summary.added += 1;
            domains.push(one_sided(domain, DomainStatus::Added, n, fail_on));
            continue;
        };
        summary.compared += 1;
        let mut changes = compare(o, n, warn_days);
        if changes.is_empty() {
            summary.unchanged += 1;
            continue;
        }
        summary.changed += 1;
        for c in &mut changes {
            c.regression = fail_on.matches(c);
        }
        domains.push(DomainDiff {
            domain: domain.clone(),
            status: DomainStatus::Changed,
            old_verdict: Some(o.verdict),
            new_verdict: Some(n.verdict),
            regression: changes.iter().any(|c| c.regression),
            changes,
        });
    }
    for (domain, o) in &old.views {
        if !new.views.contains_key(domain) {
            summary.removed += 1;
            domains.push(one_sided(domain, DomainStatus::Removed, o, fail_on));
        }
    }
    domains.sort_by(|a, b| a.rank().cmp(&b.rank()));
    for d in &domains {
        summary.regressions += usize::from(d.regression);
        for c in &d.changes {
            *summary.by_id.entry(c.id).or_default() += 1;
            summary.problems += usize::from(c.problem);
            match c.direction {
                Direction::Worse => summary.worse += 1,
                Direction::Better => summary.better += 1,
                Direction::Neutral => {}
            }
        }
    }
    DiffRun {
        schema_version: DIFF_SCHEMA_VERSION,
        tool: ToolInfo::default(),
        generated_at,
        old: SideInfo::of(old),
        new: SideInfo::of(new),
        fail_on: fail_on.0.iter().copied().collect(),
        expiry_warn_days: warn_days,
        summary,
        domains,
    }
}

fn one_sided(
    domain: &str,
    status: DomainStatus,
    view: &DomainView,
    fail_on: &FailOn,
) -> DomainDiff {
    let (id, message, old_verdict, new_verdict) = match status {
        DomainStatus::Added => (
            ChangeId::DomainAdded,
            format!("only in the new report (verdict {})", view.verdict.as_str()),
            None,
            Some(view.verdict),
        ),
        _ => (
            ChangeId::DomainRemoved,
            format!("only in the old report (verdict {})", view.verdict.as_str()),
            Some(view.verdict),
            None,
        ),
    };
    let mut change = Change::new(id, Direction::Neutral, message);
    change.regression = fail_on.matches(&change);
    DomainDiff {
        domain: domain.to_string(),
        status,
        old_verdict,
        new_verdict,
        regression: change.regression,
        changes: vec![change],
    }
}

impl DiffRun {
    /// At least one change is a regression by the `--fail-on` rule.
    pub fn has_regression(&self) -> bool {
        self.summary.regressions > 0
    }
}

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod tests;
