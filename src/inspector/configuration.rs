//! The second axis: configuration quality. The NCSC-NL level (good,
//! sufficient, phase-out, insufficient) of what an address *accepts* —
//! versions, suites, key exchange, compression, certificate key and hash —
//! from its findings that carry a level. It never changes the verdict
//! (that says what senders get); `--fail-level` makes it a CI threshold of
//! its own.

use super::assessment::{AddressAssessment, MxAssessment};
use crate::vocabulary::{Finding, NcscLevel, ScanMode};

/// The configuration level of an address or a domain, and what set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// The worst level of what was graded.
    pub level: NcscLevel,
    /// What set the level, worst first: `finding id: message`, prefixed
    /// with `host [address]: ` at the domain level. Empty at good and
    /// sufficient.
    pub items: Vec<String>,
    /// Not everything was tried (`--scan off` or `light`, or the scan was
    /// cut short), so the true level may be worse: the reported one is a
    /// lower bound. `deep` and a level of `insufficient` are certain.
    pub lower_bound: bool,
}

/// An address's level, from its leveled findings; `None` when nothing
/// carrying a level was graded (no TLS and no certificate).
pub fn of_address(a: &AddressAssessment<'_>) -> Option<Configuration> {
    let level = worst(&a.findings)?;
    let items = items_at(&a.findings, level, "");
    let complete_scan = a
        .probe
        .scan
        .as_ref()
        .is_some_and(|s| s.mode == ScanMode::Deep && s.stopped.is_none());
    Some(Configuration {
        level,
        items,
        lower_bound: level != NcscLevel::Insufficient && !complete_scan,
    })
}

/// A domain's level: the worst of its addresses'.
pub fn of_domain(mx: &[MxAssessment<'_>]) -> Option<Configuration> {
    let graded = || {
        mx.iter().flat_map(|m| {
            m.addresses
                .iter()
                .filter_map(move |a| a.configuration.as_ref().map(|c| (m, a, c)))
        })
    };
    let level = graded().map(|(_, _, c)| c.level).max()?;
    let items = graded()
        .filter(|(_, _, c)| c.level == level)
        .flat_map(|(m, a, _)| {
            let at = format!("{} [{}]: ", m.host, a.addr.ip());
            items_at(&a.findings, level, &at)
        })
        .collect();
    Some(Configuration {
        level,
        items,
        lower_bound: level != NcscLevel::Insufficient && graded().any(|(_, _, c)| c.lower_bound),
    })
}

/// The worst level among findings that carry one.
fn worst(findings: &[Finding]) -> Option<NcscLevel> {
    findings.iter().filter_map(|f| f.level).max()
}

/// The findings at `level`, as items, when it is below sufficient.
fn items_at(findings: &[Finding], level: NcscLevel, prefix: &str) -> Vec<String> {
    if level <= NcscLevel::Sufficient {
        return Vec::new();
    }
    findings
        .iter()
        .filter(|f| f.level == Some(level))
        .map(|f| format!("{prefix}{}: {}", f.id, f.message))
        .collect()
}
