//! The process exit codes, part of the CLI contract for CI pipelines, and
//! the policy that picks one from what a run found: [`check`] from the
//! report's summary, [`policy`] from the domains below `--min-level`,
//! [`tlsrpt`] from the TLS-RPT summary; with the notices that go with them
//! on stderr ([`stop_notice`]).

use crate::mta_config::Choice;
use crate::report::tlsrpt::TlsRptRun;
use crate::report::{StopReason, Summary};

/// What `smtptls` exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Every domain is at or above the `--fail-below` threshold.
    Ok,
    /// At least one domain is below the threshold (`--fail-below`, or
    /// `--fail-level` for the configuration axis).
    BelowThreshold,
    /// Bad arguments or input (invalid domain, unreadable `--ca-file`,
    /// an unknown `explain` id, …); nothing was probed.
    Usage,
    /// No domain could be audited because of the local set-up: the
    /// resolver was unusable for every one (`resolver-unusable`). The
    /// same number as [`ExitCode::Usage`]: both say "fix how smtptls is
    /// run", and neither says anything about a partner.
    Setup,
    /// Interrupted (Ctrl-C, SIGTERM): what finished is reported, the rest
    /// as errors. 128 + SIGINT, as shells do.
    Interrupted,
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::BelowThreshold => 1,
            ExitCode::Usage | ExitCode::Setup => 2,
            ExitCode::Interrupted => 130,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// The exit code of a run that stopped early: 130 when interrupted (the
/// run did not end on its own), 1 when `--deadline` passed (the run was
/// meant to end then, but not every domain was audited).
pub fn stopped(reason: StopReason) -> ExitCode {
    match reason {
        StopReason::Interrupted => ExitCode::Interrupted,
        StopReason::Deadline => ExitCode::BelowThreshold,
    }
}

/// What to say on stderr when a run stopped early.
pub fn stop_notice(reason: Option<StopReason>) -> Option<&'static str> {
    match reason? {
        StopReason::Interrupted => Some("interrupted; unfinished domains are reported as errors"),
        StopReason::Deadline => {
            Some("the --deadline passed; unfinished domains are reported as errors")
        }
    }
}

/// `smtptls check`: the early stop decides; then a run in which no domain
/// could be audited because of the local set-up (every row a set-up
/// error, `Summary::setup_errors`) is 2, not a partner's failure; then
/// any domain below `--fail-below` (or, with `--fail-level`, a
/// configuration level at or below it) makes it 1.
pub fn check(summary: &Summary) -> ExitCode {
    match summary.stopped {
        Some(reason) => stopped(reason),
        None if summary.setup_failed() => ExitCode::Setup,
        None if summary.below_threshold > 0 || summary.below_level > 0 => ExitCode::BelowThreshold,
        None => ExitCode::Ok,
    }
}

/// `smtptls diff`: 1 when any change is a regression by `--fail-on`.
pub fn diff(run: &crate::diff::DiffRun) -> ExitCode {
    if run.has_regression() {
        ExitCode::BelowThreshold
    } else {
        ExitCode::Ok
    }
}

/// How `smtptls policy` ends: its exit code and the lines for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEnd {
    pub code: ExitCode,
    pub notices: Vec<String>,
}

/// `smtptls policy`, after writing `below_min` ([`crate::mta_config::write`]):
/// an audit that stopped early decides (its notice was given when it
/// stopped); otherwise each domain below `--min-level` is named and makes
/// it 1.
pub fn policy(stopped_early: Option<StopReason>, below_min: &[(String, Choice)]) -> PolicyEnd {
    if let Some(reason) = stopped_early {
        return PolicyEnd {
            code: stopped(reason),
            notices: Vec::new(),
        };
    }
    let notices: Vec<String> = below_min
        .iter()
        .map(|(domain, choice)| {
            format!(
                "{domain} is below --min-level: {} ({})",
                choice.level, choice.reason
            )
        })
        .collect();
    PolicyEnd {
        code: if notices.is_empty() {
            ExitCode::Ok
        } else {
            ExitCode::BelowThreshold
        },
        notices,
    }
}

/// `smtptls tlsrpt`: 130 when `--audit` was interrupted; 2 when any input
/// could not be read (the rest is still reported); else 1 when the reports
/// count failed sessions — with `--audit`, only when a failure's cause is
/// still present — else 0. A `--deadline` that cut the audit short leaves
/// the unfinished domains `domain-not-audited`, which do not fail.
pub fn tlsrpt(run: &TlsRptRun, audit_stopped: Option<StopReason>) -> ExitCode {
    if audit_stopped == Some(StopReason::Interrupted) {
        return ExitCode::Interrupted;
    }
    if run.totals.unreadable > 0 {
        return ExitCode::Usage;
    }
    let failing = match run.totals.still_present {
        Some(still_present) => still_present > 0,
        None => run.has_failures(),
    };
    if failing {
        ExitCode::BelowThreshold
    } else {
        ExitCode::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mta_config::PolicyLevel;

    fn summary(below_threshold: usize, stopped: Option<StopReason>) -> Summary {
        Summary {
            domains: 3,
            below_threshold,
            stopped,
            ..Summary::default()
        }
    }

    #[test]
    fn codes_are_the_documented_numbers() {
        let codes = [
            ExitCode::Ok,
            ExitCode::BelowThreshold,
            ExitCode::Usage,
            ExitCode::Setup,
            ExitCode::Interrupted,
        ];
        assert_eq!(codes.map(ExitCode::code), [0, 1, 2, 2, 130]);
    }

    #[test]
    fn check_exit_codes() {
        assert_eq!(check(&summary(0, None)), ExitCode::Ok);
        assert_eq!(check(&summary(2, None)), ExitCode::BelowThreshold);
        for below in [0, 2] {
            assert_eq!(
                check(&summary(below, Some(StopReason::Interrupted))),
                ExitCode::Interrupted
            );
            assert_eq!(
                check(&summary(below, Some(StopReason::Deadline))),
                ExitCode::BelowThreshold
            );
        }
    }

    /// Every domain `resolver-unusable`: 2, although each row is an
    /// `error` below the threshold; one audited domain among them makes
    /// it a partner's run again.
    #[test]
    fn a_run_that_audited_nothing_for_its_set_up_exits_2() {
        let all_setup = Summary {
            setup_errors: 3,
            ..summary(3, None)
        };
        assert_eq!(check(&all_setup), ExitCode::Setup);
        assert_eq!(check(&all_setup).code(), 2);
        let one_audited = Summary {
            setup_errors: 2,
            ..summary(3, None)
        };
        assert_eq!(check(&one_audited), ExitCode::BelowThreshold);
        // The stop still decides: what was not reached is not the set-up's.
        let stopped = Summary {
            setup_errors: 3,
            ..summary(3, Some(StopReason::Interrupted))
        };
        assert_eq!(check(&stopped), ExitCode::Interrupted);
        // An empty run audited nothing, but not because of the set-up.
        let empty = Summary {
            domains: 0,
            ..Summary::default()
        };
        assert_eq!(check(&empty), ExitCode::Ok);
    }

    #[test]
    fn tlsrpt_exit_codes() {
        use crate::report::tlsrpt::{InputErrorKind, InputProblem, InputReport, TlsRptRun};
        let run = |unreadable: bool, failed: u64, still_present: Option<usize>| {
            let mut run = TlsRptRun::new(
                vec![InputReport {
                    source: "r.json".into(),
                    reports: 1,
                    duplicates: 0,
                    skipped: 0,
                    errors: if unreadable {
                        vec![InputProblem {
                            part: None,
                            kind: InputErrorKind::Unreadable,
                            message: "gone".into(),
                        }]
                    } else {
                        Vec::new()
                    },
                }],
                crate::report::tlsrpt::Aggregator::new(),
                String::new(),
            );
            run.totals.sessions.failed = failed;
            run.totals.still_present = still_present;
            run
        };
        assert_eq!(tlsrpt(&run(false, 0, None), None), ExitCode::Ok);
        assert_eq!(tlsrpt(&run(false, 3, None), None), ExitCode::BelowThreshold);
        assert_eq!(tlsrpt(&run(true, 0, None), None), ExitCode::Usage);
        assert_eq!(tlsrpt(&run(true, 3, None), None), ExitCode::Usage);
        // --audit: only a cause still present fails.
        assert_eq!(tlsrpt(&run(false, 3, Some(0)), None), ExitCode::Ok);
        assert_eq!(
            tlsrpt(&run(false, 3, Some(1)), None),
            ExitCode::BelowThreshold
        );
        assert_eq!(
            tlsrpt(&run(false, 3, Some(1)), Some(StopReason::Interrupted)),
            ExitCode::Interrupted
        );
    }

    #[test]
    fn stop_notices() {
        assert_eq!(stop_notice(None), None);
        assert_eq!(
            stop_notice(Some(StopReason::Interrupted)),
            Some("interrupted; unfinished domains are reported as errors")
        );
        assert_eq!(
            stop_notice(Some(StopReason::Deadline)),
            Some("the --deadline passed; unfinished domains are reported as errors")
        );
    }

    #[test]
    fn policy_exit_codes_and_notices() {
        let ok = policy(None, &[]);
        assert_eq!(ok.code, ExitCode::Ok);
        assert!(ok.notices.is_empty());
        let below = vec![(
            "self.example".to_string(),
            Choice {
                level: PolicyLevel::Encrypt,
                reason: "self-signed".into(),
                match_names: Vec::new(),
            },
        )];
        let end = policy(None, &below);
        assert_eq!(end.code, ExitCode::BelowThreshold);
        assert_eq!(
            end.notices,
            ["self.example is below --min-level: encrypt (self-signed)"]
        );
        // An interrupted audit says so, not which domains are below.
        let end = policy(Some(StopReason::Interrupted), &below);
        assert_eq!(end.code, ExitCode::Interrupted);
        assert!(end.notices.is_empty());
        assert_eq!(
            policy(Some(StopReason::Deadline), &[]).code,
            ExitCode::BelowThreshold
        );
    }
}
