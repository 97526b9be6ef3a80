//! The process exit codes: part of the CLI contract for CI pipelines.

/// What `smtptls` exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Every domain is at or above the `--fail-below` threshold.
    Ok = 0,
    /// At least one domain is below the threshold.
    BelowThreshold = 1,
    /// Bad arguments or input (invalid domain, unreadable `--ca-file`, …);
    /// nothing was probed.
    Usage = 2,
    /// Interrupted (Ctrl-C, SIGTERM): what finished is reported, the rest
    /// as errors. 128 + SIGINT, as shells do.
    Interrupted = 130,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
