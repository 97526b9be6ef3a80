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
use smtptls::input::{self, Entry, ListSource};
use smtptls::mta_config::{self, AuditFacts};
use smtptls::options::{
    AddressFamilies, AuditOptions, ConnectRules, DnsServers, DnssecMode, EhloName, Timeouts,
    TrustStore,
};
use smtptls::report::{DomainReport, Report};
use smtptls::vocabulary::Threshold;

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

/// The domain list: arguments and `--file`, validated, de-duplicated,
/// sharded and minus `--resume`'s done rows. Any problem that must stop
/// the run does so here, before any network work.
fn jobs(args: &AuditArgs) -> anyhow::Result<Vec<Job>> {
    let list = args.file.clone().map(ListSource::from_arg);
    let mut inputs = input::read(&args.domains, list)?;
    // Bad arguments are always fatal; bad list lines only with --strict.
    let fatal: Vec<String> = inputs
        .invalid()
        .filter(|bad| args.strict || matches!(bad.origin, input::Origin::Argument(_)))
        .map(ToString::to_string)
        .collect();
    if !fatal.is_empty() {
        anyhow::bail!("invalid DOMAIN input:\n  {}", fatal.join("\n  "));
    }
    if let Some(shard) = &args.shard {
        inputs.retain_shard(shard);
    }
    if let Some(path) = &args.resume {
        let done = input::resume_set(path)?;
        let skipped = inputs.skip_done(&done);
        if !args.quiet {
            eprintln!(
                "smtptls: --resume: {skipped} domain(s) already in {}",
                path.display()
            );
        }
    }
    if inputs.duplicates > 0 && !args.quiet {
        eprintln!(
            "smtptls: {} duplicate domain(s) audited once",
            inputs.duplicates
        );
    }
    let jobs: Vec<Job> = inputs
        .entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Domain(d) => Job::Audit(d.domain),
            Entry::Invalid(bad) => Job::Done(Box::new(input::invalid_report(&bad))),
        })
        .collect();
    if jobs.is_empty() && args.shard.is_none() && args.resume.is_none() {
        anyhow::bail!("no domain to audit: give DOMAIN arguments or --file PATH (see --help)");
    }
    Ok(jobs)
}

/// The library's options from the shared audit flags.
fn audit_options(args: &AuditArgs, threshold: Threshold) -> anyhow::Result<AuditOptions> {
    if !args.trust_anchor.is_empty() && args.dnssec == DnssecMode::TrustResolver {
        anyhow::bail!(
            "--trust-anchor is for --dnssec validate; with trust-resolver the resolver's own anchors apply"
        );
    }
    let trust = if args.ca_file.is_empty() {
        TrustStore::webpki()
    } else {
        TrustStore::with_ca_files(&args.ca_file)?
    };
    Ok(AuditOptions {
        port: args.port,
        connect_to: ConnectRules(args.connect_to.clone()),
        timeouts: Timeouts::new(
            Duration::from_secs_f64(args.timeout),
            Duration::from_secs_f64(args.banner_timeout),
        ),
        ehlo_name: args.ehlo_name.clone().unwrap_or_else(EhloName::from_system),
        families: match (args.ipv4_only, args.ipv6_only) {
            (true, _) => AddressFamilies::V4Only,
            (_, true) => AddressFamilies::V6Only,
            _ => AddressFamilies::Both,
        },
        trust,
        dns: if args.resolver.is_empty() {
            DnsServers::System
        } else {
            DnsServers::Explicit(args.resolver.clone())
        },
        dnssec: args.dnssec,
        trust_anchors: args.trust_anchor.clone(),
        expiry_warn_days: args.expiry_warn_days,
        threshold,
        concurrency: usize::from(args.concurrency),
        per_address: usize::from(args.per_address),
        retries: args.retries,
        scan: if args.deep {
            smtptls::prober::scan::ScanMode::Deep
        } else {
            args.scan
        },
    })
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let options = audit_options(&args.audit, Threshold(args.fail_below))?;
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
    let deadline = args.deadline.map(Duration::from_secs_f64);
    let report = runtime.block_on(auditor.run(jobs, stop_signal(deadline), |domain| {
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
    let (facts, early) = match &args.from {
        Some(path) => {
            if !args.audit.domains.is_empty() || args.audit.file.is_some() {
                anyhow::bail!(
                    "--from builds policies from a report: give no DOMAIN or --file with it"
                );
            }
            (AuditFacts::from_file(path)?, None)
        }
        None => {
            let options = audit_options(&args.audit, Threshold::default())?;
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
