//! The `smtptls` binary: parses arguments into library options, runs the
//! audit, writes the report. Everything else lives in the library.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser};

use smtptls::audit::Auditor;
use smtptls::cli::{CheckArgs, Cli, Command};
use smtptls::exit::ExitCode;
use smtptls::inspector::Threshold;
use smtptls::options::{
    AddressFamilies, AuditOptions, ConnectRules, DnsServers, EhloName, Timeouts, TrustStore,
};

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
        Command::Check(args) => check(args),
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

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let trust = if args.ca_file.is_empty() {
        TrustStore::webpki()
    } else {
        TrustStore::with_ca_files(&args.ca_file)?
    };
    let options = AuditOptions {
        port: args.port,
        connect_to: ConnectRules(args.connect_to),
        timeouts: Timeouts::new(
            Duration::from_secs_f64(args.timeout),
            Duration::from_secs_f64(args.banner_timeout),
        ),
        ehlo_name: args.ehlo_name.unwrap_or_else(EhloName::from_system),
        families: match (args.ipv4_only, args.ipv6_only) {
            (true, _) => AddressFamilies::V4Only,
            (_, true) => AddressFamilies::V6Only,
            _ => AddressFamilies::Both,
        },
        trust,
        dns: if args.resolver.is_empty() {
            DnsServers::System
        } else {
            DnsServers::Explicit(args.resolver)
        },
        dnssec: args.dnssec,
        trust_anchors: args.trust_anchor,
        expiry_warn_days: args.expiry_warn_days,
        threshold: Threshold(args.fail_below),
        concurrency: usize::from(args.concurrency),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // The resolver spawns its background tasks on the runtime.
    let _runtime_context = runtime.enter();
    let auditor = Auditor::new(options)?;
    let stdout = std::io::stdout();
    let color = args.color.enabled(stdout.is_terminal());
    let mut reporter = smtptls::reporter::reporter(args.format, color);
    let mut out = stdout.lock();
    // Streaming formats write each domain as it completes; keep the first
    // write error (a closed pipe) to report after the run.
    let mut write_error = None;
    let report = runtime.block_on(auditor.run(args.domains, |domain| {
        if write_error.is_none() {
            write_error = reporter.domain_done(domain, &mut out).err();
        }
    }));
    if let Some(e) = write_error {
        return Err(e).context("cannot write the report");
    }
    reporter
        .finish(&report, &mut out)
        .context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    Ok(if report.summary.below_threshold > 0 {
        ExitCode::BelowThreshold
    } else {
        ExitCode::Ok
    })
}
