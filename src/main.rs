//! The `smtptls` binary: parses arguments into library options, runs the
//! audit, writes the report. Everything else lives in the library.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser};

use indicatif::{ProgressBar, ProgressStyle};
use smtptls::audit::{Auditor, Job, StopReason};
use smtptls::cli::{AuditArgs, CheckArgs, Cli, Command, PolicyArgs};
use smtptls::exit::ExitCode;
use smtptls::mta_config::{self, AuditFacts};
use smtptls::options::AuditOptions;
use smtptls::report::{DomainReport, Report};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("smtptls: error: {err:#}");
            ExitCode::Usage.into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(*args),
        Command::Policy(args) => policy(*args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "smtptls",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::Ok)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(ExitCode::Ok)
        }
    }
}

/// The jobs of the run, after saying what the list came to.
fn jobs(args: &AuditArgs) -> anyhow::Result<Vec<Job>> {
    let jobs = args.jobs()?;
    for n in &jobs.notices {
        eprintln!("smtptls: {n}");
    }
    Ok(jobs.jobs)
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let options = args.options()?;
    let jobs = jobs(&args.audit)?;
    let mut out = output(args.output.as_deref())?;
    let color = args.output.is_none() && args.color.enabled(std::io::stdout().is_terminal());
    let mut reporter = smtptls::reporter::reporter(args.format, color);
    // Streaming formats write each domain as it completes; keep the first
    // write error (a closed pipe) to report after the run.
    let mut write_error = None;
    let report = audit(&args.audit, options, jobs, |domain| {
        if write_error.is_none() {
            write_error = reporter.domain_done(domain, &mut out).err();
        }
    })?;
    if let Some(e) = write_error {
        return Err(e).context("cannot write the report");
    }
    reporter
        .finish(&report, &mut out)
        .context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    Ok(match stopped(&report) {
        Some(code) => code,
        None if report.summary.below_threshold > 0 => ExitCode::BelowThreshold,
        None => ExitCode::Ok,
    })
}

/// Where the output goes: `--output FILE` or stdout.
fn output(path: Option<&std::path::Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// Runs the audit with a progress bar, `--deadline` and Ctrl-C handling;
/// `on_done` sees each domain as it completes.
fn audit(
    args: &AuditArgs,
    options: AuditOptions,
    jobs: Vec<Job>,
    mut on_done: impl FnMut(&DomainReport),
) -> anyhow::Result<Report> {
    let threshold = options.threshold;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // The resolver spawns its background tasks on the runtime.
    let _runtime_context = runtime.enter();
    let auditor = runtime.block_on(Auditor::connect(options))?;
    let progress = progress_bar(jobs.len(), args.quiet);
    let mut failing = 0usize;
    let report = runtime.block_on(auditor.run(jobs, stop_signal(args.deadline()), |domain| {
        if threshold.fails(domain.verdict) {
            failing += 1;
            progress.set_message(format!("{failing} below threshold"));
        }
        progress.inc(1);
        on_done(domain);
    }));
    progress.finish_and_clear();
    Ok(report)
}

/// The exit code of a run that stopped early, after saying so.
fn stopped(report: &Report) -> Option<ExitCode> {
    match report.summary.stopped {
        Some(StopReason::Interrupted) => {
            eprintln!("smtptls: interrupted; unfinished domains are reported as errors");
            Some(ExitCode::Interrupted)
        }
        Some(StopReason::Deadline) => {
            eprintln!("smtptls: the --deadline passed; unfinished domains are reported as errors");
            Some(ExitCode::BelowThreshold)
        }
        None => None,
    }
}

fn policy(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    let (facts, early) = match args.report()? {
        Some(path) => (AuditFacts::from_file(path)?, None),
        None => {
            let options = args.options()?;
            let jobs = jobs(&args.audit)?;
            let report = audit(&args.audit, options, jobs, |_| {})?;
            let early = stopped(&report);
            (AuditFacts::from_audit(&report), early)
        }
    };
    let mut out = output(args.output.as_deref())?;
    let below_min = mta_config::write(args.format, &facts, args.min_level, &mut out)
        .context("cannot write the policy")?;
    out.flush().context("cannot write the policy")?;
    if let Some(code) = early {
        return Ok(code);
    }
    if below_min.is_empty() {
        return Ok(ExitCode::Ok);
    }
    for (domain, choice) in &below_min {
        eprintln!(
            "smtptls: {domain} is below --min-level: {} ({})",
            choice.level, choice.reason
        );
    }
    Ok(ExitCode::BelowThreshold)
}

/// Resolves when the run must stop: the deadline, Ctrl-C or SIGTERM.
async fn stop_signal(deadline: Option<Duration>) -> StopReason {
    let deadline = async {
        match deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = deadline => StopReason::Deadline,
        _ = tokio::signal::ctrl_c() => StopReason::Interrupted,
        _ = terminate => StopReason::Interrupted,
    }
}

/// Progress on stderr, only for a person watching a terminal.
fn progress_bar(total: usize, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {pos}/{len} domains {per_sec} ETA {eta} {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
