//! The `smtptls` binary: only wiring. It parses the arguments, asks the
//! library what they mean (`cli`: options and jobs; `exit`: the exit code;
//! `mta_config::write`: the policies), runs the audit on a Tokio runtime
//! with the progress bar, `--deadline` and the signals, opens the output
//! and prints to stderr. Its errors are `anyhow`, printed once, exit 2.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, Parser};

use indicatif::{ProgressBar, ProgressStyle};
use smtptls::audit::{Auditor, Job, Rows, StopReason};
use smtptls::cli::{
    AuditArgs, CheckArgs, Cli, Command, DiffArgs, ExplainArgs, PolicyArgs, ReportArgs, ServeArgs,
    TlsRptArgs,
};
use smtptls::exit::{self, ExitCode};
use smtptls::mta_config::{self, AuditFacts};
use smtptls::options::AuditOptions;
use smtptls::report::{DomainReport, Report};
use smtptls::reporter::text::terminal;
use smtptls::vocabulary::Service;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    raise_open_files_limit();
    match run(cli) {
        Ok(code) => code.into(),
        // A reader that stopped reading (`smtptls explain | head`) wants
        // no more output and no complaint about it, as with other tools.
        Err(err) if closed_pipe(&err) => ExitCode::Ok.into(),
        Err(err) => {
            eprintln!("smtptls: error: {}", shown(&message(&err)));
            ExitCode::Usage.into()
        }
    }
}

/// True when the error is a write to a pipe whose reader has gone.
fn closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Raises the soft limit of open files to the hard one (at most 65,536).
/// The default `--concurrency` (256 domains in flight, each with its DNS
/// sockets and up to `--per-address` connections per address it probes)
/// can outgrow the 1,024 files many systems allow by default, and a probe
/// that cannot open a socket would report a network error that is the
/// machine's, not the server's. Go programs do the same at start-up. Best
/// effort: where the limit cannot be raised, the run goes on under it.
#[cfg(unix)]
fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    const ENOUGH: u64 = 65_536;
    let limit = getrlimit(Resource::Nofile);
    // `None` is "unlimited".
    let want = limit.maximum.map_or(ENOUGH, |hard| hard.min(ENOUGH));
    if limit.current.is_some_and(|soft| soft < want) {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(want),
                maximum: limit.maximum,
            },
        );
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit() {}

/// An error message for the terminal. Errors can quote files and peers (a
/// bad line of --file, a reply, a certificate name): each line is escaped
/// like the table's peer text, so nothing in it can drive the terminal;
/// the line breaks our own messages contain (one invalid input per line)
/// are kept.
fn shown(text: &str) -> String {
    text.split('\n')
        .map(terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The error and its causes, each said once: a library error's message
/// often includes its source already ("cannot read FILE: REASON").
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(*args),
        Command::Policy(args) => policy(*args),
        Command::Tlsrpt(args) => tlsrpt(*args),
        Command::Diff(args) => diff(*args),
        Command::Report(args) => report(*args),
        Command::Explain(args) => explain(&args),
        #[cfg(feature = "lab")]
        Command::Demo(args) => demo(&args),
        Command::Serve(args) => serve(&args),
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
    check_each(args, |_| {})
}

/// `check`, with `seen` shown each domain as it completes.
fn check_each(args: CheckArgs, mut seen: impl FnMut(&DomainReport)) -> anyhow::Result<ExitCode> {
    let options = args.options()?;
    let jobs = jobs(&args.audit)?;
    let mut out = output(args.out.output.as_deref())?;
    let layout = table_layout(args.out.output.as_deref(), args.out.color, args.out.verbose);
    let mut reporter = smtptls::reporter::reporter(args.out.format, layout);
    // Streaming formats write each domain as it completes; keep the first
    // write error (a closed pipe) to report after the run.
    let mut write_error = None;
    // Formats written row by row keep no rows: memory is bounded by
    // --concurrency, not by the length of the list.
    let rows = if reporter.streams() {
        Rows::Stream
    } else {
        Rows::Keep
    };
    let report = audit(&args.audit, options, jobs, rows, |domain| {
        seen(domain);
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
    notice(exit::stop_notice(report.summary.stopped));
    Ok(exit::check(&report.summary))
}

/// `smtptls demo`. The world's servers run on a runtime of their own,
/// which keeps serving while `check` runs its audit on its own runtime:
/// the demo is `check` with the world's flags, word for word the line
/// `--serve` prints, so the two cannot disagree.
#[cfg(feature = "lab")]
fn demo(args: &smtptls::cli::DemoArgs) -> anyhow::Result<ExitCode> {
    use smtptls::demo::{DOMAINS, Demo};
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let world = runtime
        .block_on(Demo::start())
        .context("cannot start the demo lab on loopback")?;
    if args.serve {
        return serve_demo(&runtime, &world);
    }
    let domains: Vec<&str> = Demo::domains().collect();
    let line = std::iter::once("smtptls".to_string())
        .chain(std::iter::once("check".to_string()))
        .chain(args.check_args(world.lab_args(), &domains));
    let check_args = match Cli::try_parse_from(line)?.command {
        Command::Check(check_args) => *check_args,
        _ => anyhow::bail!("the demo's check line did not parse as `check`"),
    };
    // The intro and the closing hint go with a table on the terminal or
    // a pipe; anything else (JSON, a file) stays what `check` writes.
    let beside_table =
        args.out.output.is_none() && args.out.format == smtptls::reporter::Format::Table;
    if beside_table {
        writeln!(std::io::stdout(), "{}\n", smtptls::demo::INTRO)?;
    }
    let mut shown = Vec::new();
    let code = check_each(check_args, |d| shown.push((d.domain.clone(), d.verdict)))?;
    if code == ExitCode::Setup {
        return Ok(code);
    }
    if beside_table {
        writeln!(std::io::stdout(), "\n{}", smtptls::demo::OUTRO)?;
    }
    let mut missed = 0;
    for domain in &DOMAINS {
        let got = shown.iter().find(|(name, _)| name == domain.name);
        if got.map(|(_, v)| *v) != Some(domain.shows) {
            missed += 1;
            notice(Some(&format!(
                "demo: {} showed {}, not {} ({}): please report this",
                domain.name,
                got.map_or("nothing", |(_, v)| v.as_str()),
                domain.shows.as_str(),
                domain.setup,
            )));
        }
    }
    drop(world);
    Ok(if missed == 0 {
        ExitCode::Ok
    } else {
        ExitCode::BelowThreshold
    })
}

/// `smtptls demo --serve`: the command lines that reach the world, then
/// the world keeps serving until Ctrl-C or SIGTERM. Dropping it removes
/// its temporary directory.
#[cfg(feature = "lab")]
fn serve_demo(
    runtime: &tokio::runtime::Runtime,
    world: &smtptls::demo::Demo,
) -> anyhow::Result<ExitCode> {
    use smtptls::demo::{Demo, shell_line};
    let program = program_name();
    let mut out = std::io::stdout().lock();
    let domains: Vec<&str> = Demo::domains().collect();
    writeln!(
        out,
        "smtptls demo: the lab is up on loopback until Ctrl-C (or `kill {}`).\n\
         Its domains: {}.\n\
         Its CA and the zone's trust anchor are in {}, removed when it stops.",
        std::process::id(),
        domains.join(" "),
        world.dir().display(),
    )?;
    for example in world.examples() {
        writeln!(
            out,
            "\n# {}\n{}",
            example.what,
            shell_line(&program, &example.args)
        )?;
    }
    out.flush()?;
    drop(out);
    runtime.block_on(stop_signal(None));
    eprintln!("smtptls demo: stopped; {} removed", world.dir().display());
    Ok(ExitCode::Ok)
}

/// How the printed command lines name this program: `smtptls` when that
/// is what PATH finds, else the path it was run by.
#[cfg(feature = "lab")]
fn program_name() -> String {
    let Ok(me) = std::env::current_exe().and_then(std::fs::canonicalize) else {
        return "smtptls".to_string();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .any(|dir| std::fs::canonicalize(dir.join("smtptls")).is_ok_and(|found| found == me))
    });
    if on_path {
        "smtptls".to_string()
    } else {
        me.display().to_string()
    }
}

/// The jobs of the run, after saying what the list came to.
fn jobs(args: &AuditArgs) -> anyhow::Result<Vec<Job>> {
    let jobs = args.jobs()?;
    for n in &jobs.notices {
        notice(Some(n));
    }
    Ok(jobs.jobs)
}

/// One line on stderr, in the program's name. Notices quote input lines
/// and domain names; escaped for the terminal like the table's peer text
/// (and a line end cannot forge a second notice).
fn notice(text: Option<&str>) {
    if let Some(text) = text {
        eprintln!("smtptls: {}", terminal(text));
    }
}

/// How a table is laid out where it goes: colour only on a terminal
/// (and as `--color` says); the width from where the table goes, never
/// from the colour choice: a terminal's own width, else `COLUMNS`, else 100.
fn table_layout(
    output: Option<&std::path::Path>,
    color: smtptls::reporter::ColorChoice,
    verbose: bool,
) -> smtptls::reporter::TableLayout {
    let terminal = match output {
        None => terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0)),
        Some(_) => None,
    };
    let columns = std::env::var("COLUMNS").ok();
    smtptls::reporter::TableLayout {
        color: output.is_none() && color.enabled(std::io::stdout().is_terminal()),
        width: smtptls::reporter::table_width(terminal, columns.as_deref()),
        verbose,
    }
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
    rows: Rows,
    mut on_done: impl FnMut(&DomainReport),
) -> anyhow::Result<Report> {
    let gate = smtptls::report::view::Gate::of_options(&options);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // The resolver spawns its background tasks on the runtime.
    let _runtime_context = runtime.enter();
    let auditor = runtime.block_on(Auditor::connect(options))?;
    notice(auditor.resolver_notice().as_deref());
    let progress = progress_bar(jobs.len(), args.quiet);
    let mut failing = 0usize;
    let stop = stop_signal(args.deadline());
    let report = runtime.block_on(auditor.run_with(jobs, stop, rows, |domain| {
        if gate.check(domain).is_some() {
            failing += 1;
            progress.set_message(format!("{failing} failing the gate"));
        }
        progress.inc(1);
        on_done(domain);
    }));
    progress.finish_and_clear();
    Ok(report)
}

/// `smtptls serve`: the exporter until Ctrl-C or SIGTERM. The flags are
/// checked (allow-list, the loopback rule) before anything listens; the
/// bound address goes to stderr, for whoever started it with port 0.
fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    use smtptls::exporter::{self, Exporter};
    let options = args.options()?;
    let settings = args.settings()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // The resolver spawns its background tasks on the runtime.
    let _runtime_context = runtime.enter();
    let auditor = runtime.block_on(Auditor::connect(options))?;
    notice(auditor.resolver_notice().as_deref());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.listen))
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // The handlers are in place before the line that says it listens:
    // whoever reads it may signal at once.
    let stop = stop_signals().context("cannot watch for Ctrl-C and SIGTERM")?;
    eprintln!("smtptls serve: listening on http://{bound}/ (Ctrl-C or SIGTERM stops it)");
    let exporter = Exporter::new(auditor, settings);
    runtime.block_on(exporter::serve(listener, exporter, stop));
    eprintln!("smtptls serve: stopped");
    Ok(ExitCode::Ok)
}

fn policy(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    let fallback = args.fallback()?;
    let (facts, stopped) = match args.report()? {
        Some(inputs) => (AuditFacts::from_reports(&inputs)?, None),
        None => {
            let options = args.options()?;
            let jobs = jobs(&args.audit)?;
            let report = audit(&args.audit, options, jobs, Rows::Keep, |_| {})?;
            notice(exit::stop_notice(report.summary.stopped));
            (AuditFacts::from_audit(&report), report.summary.stopped)
        }
    };
    let mut out = output(args.output.as_deref())?;
    let below_min =
        mta_config::write_routed(args.format, &facts, args.min_level, fallback, &mut out)
            .context("cannot write the policy")?;
    out.flush().context("cannot write the policy")?;
    let end = exit::policy(stopped, &below_min);
    for n in &end.notices {
        notice(Some(n));
    }
    Ok(end.code)
}

fn tlsrpt(args: TlsRptArgs) -> anyhow::Result<ExitCode> {
    // Refused with or without --audit: the reports are about MX hosts.
    args.audit.mx_only("tlsrpt")?;
    let mut run = args.read()?;
    for line in smtptls::reporter::tlsrpt::problem_lines(&run) {
        notice(Some(&line));
    }
    let mut stopped = None;
    if args.live {
        let options = args.options()?;
        let jobs = TlsRptArgs::audit_jobs(&run);
        let report = audit(&args.audit, options, jobs, Rows::Keep, |_| {})?;
        notice(exit::stop_notice(report.summary.stopped));
        stopped = report.summary.stopped;
        run.explain_with(&report.domains);
    }
    let mut out = output(args.output.as_deref())?;
    let layout = table_layout(args.output.as_deref(), args.color, false);
    smtptls::reporter::tlsrpt::write(args.format, &run, layout, &mut out)
        .context("cannot write the summary")?;
    out.flush().context("cannot write the summary")?;
    Ok(exit::tlsrpt(&run, stopped))
}

fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    use smtptls::diff::{self, Snapshot};
    let fail_on = args.fail_on()?;
    let (old, new) = args.sides()?;
    let old = Snapshot::read_merged(&old)?;
    let new = Snapshot::read_merged(&new)?;
    for side in [&old, &new] {
        if side.duplicates > 0 {
            notice(Some(&format!(
                "{}: {} domains have more than one row; the later row of each is used",
                side.file, side.duplicates
            )));
        }
    }
    // A submission row and an MX row of one domain are graded by
    // different rubrics: their differences would be no change at all.
    if let Some((domain, was, is)) = old.views.iter().find_map(|(d, v)| {
        new.views
            .get(d)
            .filter(|w| w.service != v.service)
            .map(|w| (d, v.service, w.service))
    }) {
        anyhow::bail!(
            "{domain} was audited with --service {was} in {} and with --service {is} in {}: compare reports of one service",
            old.file,
            new.file
        );
    }
    let warn_days = args
        .expiry_warn_days
        .or(new.header.expiry_warn_days)
        .unwrap_or(diff::DEFAULT_EXPIRY_WARN_DAYS);
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let run = diff::diff(&old, &new, &fail_on, warn_days, now);
    let mut out = output(args.output.as_deref())?;
    let layout = table_layout(args.output.as_deref(), args.color, false);
    smtptls::reporter::diff::write(args.format, &run, layout, &mut out)
        .context("cannot write the diff")?;
    out.flush().context("cannot write the diff")?;
    Ok(exit::diff(&run))
}

/// `smtptls report FILE…`: the saved rows merged (`report::merge`) and
/// handed to `check`'s reporters as a run, counted by `check`'s summary
/// and exit rule. A streaming format keeps only each domain's winning
/// position and reads the files again; the others keep the winning rows,
/// in domain-name order (the list's order is not in the rows, and a name
/// order makes the report of shards equal to that of one run).
fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    use smtptls::report::{Report, Tally, merge};
    let inputs = args.inputs()?;
    let layout = table_layout(args.out.output.as_deref(), args.out.color, args.out.verbose);
    let mut reporter = smtptls::reporter::reporter(args.out.format, layout);
    // The rows first, so that an unreadable input exits 2 before any output.
    let streaming = reporter.streams();
    let (positions, kept, infos, counts) = if streaming {
        let merged = merge::merge_positions(&inputs)?;
        let counts = merged.merger.counts();
        let infos = merged.inputs.clone();
        (Some(merged), Vec::new(), infos, counts)
    } else {
        let merged = merge::merge(&inputs, |_, row| row)?;
        let counts = merged.merger.counts();
        let kept: Vec<DomainReport> = merged.merger.into_kept().map(|(_, _, r)| r).collect();
        (None, kept, merged.inputs, counts)
    };
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let base = smtptls::report::RunSettings {
        fail_below: args.gate.threshold(Service::Smtp).0,
        fail_level: args.gate.fail_level,
        ..smtptls::report::RunSettings::defaults()
    };
    let mut header = merge::header(&infos, base, now);
    // The gate's default is the service's the rows were audited for
    // (secure for submission), as it was in `check`.
    header.settings.fail_below = args.gate.threshold(header.settings.service).0;
    let mut tally = Tally::new(args.gate(header.settings.service));
    for line in merge::notices(counts) {
        notice(Some(&line));
    }
    for line in &header.notices {
        notice(Some(line));
    }
    let mut out = output(args.out.output.as_deref())?;
    let mut write_error = None;
    let mut each = |row: &DomainReport| {
        tally.add(row);
        if write_error.is_none() {
            write_error = reporter.domain_done(row, &mut out).err();
        }
    };
    match positions {
        Some(merged) => merged.stream(&inputs, &mut each)?,
        None => kept.iter().for_each(&mut each),
    }
    if let Some(e) = write_error {
        return Err(e).context("cannot write the report");
    }
    let report = Report {
        schema_version: smtptls::report::SCHEMA_VERSION,
        tool: header.tool,
        generated_at: header.generated_at,
        settings: header.settings,
        domains: kept,
        summary: smtptls::report::Summary {
            probes: header.counters.probes,
            mx_reused: header.counters.mx_reused,
            dns_retries: header.counters.dns_retries,
            ..tally.summary()
        },
    };
    reporter
        .finish(&report, &mut out)
        .context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    Ok(exit::check(&report.summary))
}

/// `smtptls explain [ID]`, wrapped to the terminal (else `COLUMNS`, else
/// 100). An unknown id is a usage error: one line on stderr, exit 2.
fn explain(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let id = args.finding()?;
    let layout = table_layout(None, smtptls::reporter::ColorChoice::Never, false);
    let mut out = std::io::stdout().lock();
    match id {
        Some(id) => smtptls::reporter::explain::write_one(id, layout.width, &mut out),
        None => smtptls::reporter::explain::write_list(layout.width, &mut out),
    }
    .and_then(|()| out.flush())
    .context("cannot write the explanation")?;
    Ok(ExitCode::Ok)
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

/// Resolves at Ctrl-C (SIGINT) or SIGTERM; unlike [`stop_signal`], the
/// handlers are installed when this is called, not when first polled.
#[cfg(unix)]
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
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
