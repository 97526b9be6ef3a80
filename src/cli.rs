//! The command line: its clap definition (in the library so the man page
//! and shell completions are generated from the same definition), and what
//! the arguments mean for the library, next to them: the [`AuditOptions`]
//! of the audit flags ([`AuditArgs::options`]), the jobs of the domain
//! flags ([`AuditArgs::jobs`]), where `policy` reads from
//! ([`PolicyArgs::report`]). Errors are [`CliError`]s; nothing here prints.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::audit::Job;
use crate::diff::FailOn;
use crate::domain::DomainName;
use crate::input::{self, Entry, InputError, ListSource, Shard};
pub use crate::mta_config::PolicyFormat;
use crate::options::{
    AddressFamilies, AuditOptions, ConnectRules, ConnectTo, DnsServers, DnssecMode, EhloName,
    Timeouts, TrustStore, TrustStoreError,
};
use crate::report::tlsrpt::TlsRptRun;
use crate::reporter::diff::DiffFormat;
use crate::reporter::tlsrpt::TlsRptFormat;
use crate::reporter::{ColorChoice, Format};
use crate::vocabulary::{FindingId, ScanMode, Threshold, Verdict};

/// Check whether mail to a domain travels encrypted: STARTTLS, TLS version
/// and cipher, certificate chain, name and expiry, for every MX address.
#[derive(Debug, Parser)]
#[command(name = "smtptls", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit the mail servers of one or more domains.
    Check(Box<CheckArgs>),
    /// Write sender-side TLS policies (Postfix, Exim, MTA-STS) from an
    /// audit: never an enforcing level the audit shows would fail.
    Policy(Box<PolicyArgs>),
    /// Read TLS-RPT reports (RFC 8460) that senders mailed you: failures
    /// per domain, policy, result type, MX and IP; with --audit, probe the
    /// failing MX hosts now and say whether each cause is still there.
    Tlsrpt(Box<TlsRptArgs>),
    /// Compare two reports of `check` (NDJSON or JSON) and say what changed
    /// per domain, worst first; exit 1 when a change is a regression by
    /// --fail-on.
    Diff(Box<DiffArgs>),
    /// Render saved rows of `check` (NDJSON or JSON, any number of files,
    /// e.g. the shards of a run) as one run: the last row per domain wins,
    /// in every format of check, with check's exit codes.
    Report(Box<ReportArgs>),
    /// Explain a finding id: what it means, why it matters and its usual
    /// fix. Without an ID, list every id with its meaning.
    Explain(ExplainArgs),
    /// Show every verdict, offline: audit ten made-up `.test` domains on
    /// a lab this command starts on loopback (DNS with DNSSEC, SMTP,
    /// MTA-STS over HTTPS, a private CA). With --serve, keep the lab up and
    /// print the command lines that reach it.
    #[cfg(feature = "lab")]
    Demo(DemoArgs),
    /// A Prometheus exporter: scrape /probe?target=DOMAIN for the metrics
    /// of `check --format prometheus DOMAIN`, each result reused for
    /// --min-interval. Until Ctrl-C or SIGTERM.
    Serve(Box<ServeArgs>),
    /// Print a shell completion script to stdout.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

const EXIT_CODES: &str = "Exit codes: 0 every domain at or above --fail-below (and better than --fail-level); \
1 at least one domain below it (or --deadline passed); 2 usage or input error (nothing probed), \
or set-up: no domain could be audited because of the resolver (every one resolver-unusable); \
130 interrupted.";

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES, args_override_self = true)]
pub struct CheckArgs {
    #[command(flatten)]
    pub audit: AuditArgs,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub gate: GateArgs,
}

/// Where and how a run's report is written: the flags `check`, `report`
/// and `demo` share, so that each means the same in all three.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format. The report goes to stdout only; diagnostics go to stderr.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Colour the table: auto (terminal and NO_COLOR unset), always, never.
    /// Colour only repeats what the words say; the layout is the same.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Table: list every finding of every address (id, severity, NCSC-NL
    /// level, message, fix), not only the problems.
    #[arg(short, long)]
    pub verbose: bool,

    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// What makes a run fail (exit 1): the flags `check` and `report` share.
#[derive(Debug, Args)]
pub struct GateArgs {
    /// Exit 1 if any domain's verdict is below this: protected, secure,
    /// encrypted, partial, plaintext, broken, error. Default encrypted (fail
    /// on partial, plaintext, broken, error); secure for --service
    /// submission and submissions (a mail client verifies). no-mail never
    /// fails.
    #[arg(long, value_name = "VERDICT", value_parser = parse_threshold)]
    pub fail_below: Option<Verdict>,

    /// Also exit 1 if any domain's configuration level (the NCSC-NL level
    /// of what its servers accept: good, sufficient, phase-out,
    /// insufficient) is LEVEL or worse. Off by default: the configuration
    /// axis never changes the verdict.
    #[arg(long, value_name = "LEVEL")]
    pub fail_level: Option<crate::vocabulary::NcscLevel>,
}

impl GateArgs {
    /// `--fail-below`, or the default of the service audited.
    pub fn threshold(&self, service: crate::vocabulary::Service) -> Threshold {
        self.fail_below
            .map_or_else(|| Threshold::default_for(service), Threshold)
    }

    /// The gate rows of `service` are counted against.
    pub fn gate(&self, service: crate::vocabulary::Service) -> crate::report::view::Gate {
        crate::report::view::Gate {
            verdict: self.threshold(service),
            level: self.fail_level.map(crate::vocabulary::LevelThreshold),
        }
    }
}
#[cfg(feature = "lab")]
const DEMO_AFTER_HELP: &str = "The demo takes no audit flags (--resolver, --connect-to, --ca-file, …): \
it audits its own lab and nothing else. `smtptls demo --serve` prints the `check` command lines \
that reach the lab, to add your own flags to.\n\n\
Exit codes: 0 every domain showed the verdict it is there to show; 1 one did not (a bug: \
stderr says which); 2 the lab could not start (no loopback, no temporary directory).";

/// `smtptls demo`: the output flags of `check`, and `--serve`.
#[cfg(feature = "lab")]
#[derive(Debug, Args)]
#[command(after_help = DEMO_AFTER_HELP, args_override_self = true)]
pub struct DemoArgs {
    /// Keep the lab running until Ctrl-C or SIGTERM, and print the command
    /// lines (check, policy, diff, the HTML page, serve) that reach it.
    #[arg(long, conflicts_with_all = ["format", "verbose", "output"])]
    pub serve: bool,

    #[command(flatten)]
    pub out: OutputArgs,
}

#[cfg(feature = "lab")]
impl DemoArgs {
    /// The `check` arguments (after `check`) that give this demo's output
    /// for the lab reached by `lab_args`.
    pub fn check_args(&self, lab_args: Vec<String>, domains: &[&str]) -> Vec<String> {
        use clap::ValueEnum;
        let mut args = lab_args;
        if let Some(value) = self.out.format.to_possible_value() {
            args.extend(["--format".to_string(), value.get_name().to_string()]);
        }
        if let Some(value) = self.out.color.to_possible_value() {
            args.extend(["--color".to_string(), value.get_name().to_string()]);
        }
        if self.out.verbose {
            args.push("--verbose".to_string());
        }
        if let Some(path) = &self.out.output {
            args.extend(["--output".to_string(), path.display().to_string()]);
        }
        args.push("--".to_string());
        args.extend(domains.iter().map(|d| d.to_string()));
        args
    }
}

const REPORT_EXIT_CODES: &str = "Exit codes: 0 every domain at or above --fail-below (and better \
than --fail-level); 1 at least one domain below it (unfinished rows count as errors); 2 usage or \
input error (an unreadable file, a line that is not a report row: the message names the file and \
line), or every row a set-up error.";

/// `smtptls report FILE…`: saved rows rendered like a run.
#[derive(Debug, Args)]
#[command(after_help = REPORT_EXIT_CODES, args_override_self = true)]
pub struct ReportArgs {
    /// Reports of `check` (`--format ndjson` rows or a `--format json`
    /// report), read in this order; `-` reads stdin. The last row of a
    /// domain wins, except that a row the run did not finish (error
    /// phase run) never replaces a finished one.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub gate: GateArgs,
}

impl ReportArgs {
    /// The inputs, in order; stdin at most once (it cannot be read twice).
    pub fn inputs(&self) -> Result<Vec<crate::report::merge::Input>, CliError> {
        inputs(&self.files)
    }

    /// The gate rows of `service` are counted against: `--fail-below`,
    /// `--fail-level`.
    pub fn gate(&self, service: crate::vocabulary::Service) -> crate::report::view::Gate {
        self.gate.gate(service)
    }
}

/// Report files from the command line; `-` (stdin) at most once.
fn inputs(paths: &[PathBuf]) -> Result<Vec<crate::report::merge::Input>, CliError> {
    use crate::report::merge::Input;
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
        return Err(CliError::StdinTwice);
    }
    Ok(inputs)
}

const EXPLAIN_EXIT_CODES: &str =
    "Exit codes: 0 explained; 2 an unknown ID (stderr lists the known ones).";

#[derive(Debug, Args)]
#[command(after_help = EXPLAIN_EXIT_CODES)]
pub struct ExplainArgs {
    /// A finding id, as in the JSON `id` and the table's `-v` lines
    /// (e.g. cert.expiry, tls.cipher-order).
    #[arg(value_name = "ID")]
    pub id: Option<String>,
}

impl ExplainArgs {
    /// The finding id asked for: `None` to list them all, an error naming
    /// an id that does not exist.
    pub fn finding(&self) -> Result<Option<FindingId>, CliError> {
        let Some(id) = &self.id else {
            return Ok(None);
        };
        FindingId::from_id(id.trim())
            .map(Some)
            .ok_or_else(|| CliError::UnknownFindingId(id.clone()))
    }
}

const DIFF_EXIT_CODES: &str = "Exit codes: 0 no change is a regression by --fail-on; \
1 at least one is; 2 usage or input error (unreadable file, a line that is not a report row: \
the message names the file and line).";

#[derive(Debug, Args)]
#[command(after_help = DIFF_EXIT_CODES, args_override_self = true)]
pub struct DiffArgs {
    /// The earlier report: `check --format ndjson` or `--format json`
    /// output; `-` reads stdin. For several files per side (shards), use
    /// --old and --new instead.
    #[arg(value_name = "OLD", required_unless_present = "old_files", conflicts_with_all = ["old_files", "new_files"])]
    pub old: Option<PathBuf>,

    /// The later report, in either format; `-` reads stdin.
    #[arg(value_name = "NEW", required_unless_present = "old_files")]
    pub new: Option<PathBuf>,

    /// The earlier side as several reports (e.g. the shards of a run),
    /// merged as `smtptls report` merges them (the last row of a domain
    /// wins; an unfinished row never replaces a finished one). Takes one
    /// or more files, and may be repeated.
    #[arg(long = "old", value_name = "FILE", num_args = 1.., requires = "new_files")]
    pub old_files: Vec<PathBuf>,

    /// The later side as several reports, as --old.
    #[arg(long = "new", value_name = "FILE", num_args = 1.., requires = "old_files")]
    pub new_files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,

    /// Change ids that are regressions (exit 1), comma-separated; `default`
    /// for the default set, `problems` for the changes only time reveals,
    /// `none` to never fail. Default: verdict-down, starttls-lost,
    /// dane-broken, mta-sts-broken, dane-rollover-broke,
    /// mta-sts-policy-changed-same-id.
    #[arg(
        long,
        value_name = "IDS",
        value_delimiter = ',',
        default_value = "default"
    )]
    pub fail_on: Vec<String>,

    /// Days left below which an unrenewed certificate is a problem
    /// (certificate-expiring). Default: the NEW report's own setting
    /// (JSON), else 30.
    #[arg(long, value_name = "DAYS")]
    pub expiry_warn_days: Option<u32>,

    /// Colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Write the output to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl DiffArgs {
    /// The files of each side: the two positionals, or `--old`/`--new`;
    /// stdin on one side at most.
    #[allow(clippy::type_complexity)]
    pub fn sides(
        &self,
    ) -> Result<
        (
            Vec<crate::report::merge::Input>,
            Vec<crate::report::merge::Input>,
        ),
        CliError,
    > {
        let (old, new): (Vec<PathBuf>, Vec<PathBuf>) = match (&self.old, &self.new) {
            (Some(old), Some(new)) => (vec![old.clone()], vec![new.clone()]),
            _ => (self.old_files.clone(), self.new_files.clone()),
        };
        let all: Vec<PathBuf> = old.iter().chain(&new).cloned().collect();
        inputs(&all)?;
        Ok((inputs(&old)?, inputs(&new)?))
    }

    /// The `--fail-on` rule.
    pub fn fail_on(&self) -> Result<FailOn, CliError> {
        FailOn::parse(&self.fail_on).map_err(CliError::FailOn)
    }
}

const POLICY_EXIT_CODES: &str = "Exit codes: 0 policies written; 1 written, but some \
domains are below --min-level (listed on stderr and at the end of the output); 2 usage or \
input error; 130 interrupted.";

#[derive(Debug, Args)]
#[command(after_help = POLICY_EXIT_CODES, args_override_self = true)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub audit: AuditArgs,

    /// What to write.
    #[arg(long, value_enum)]
    pub format: PolicyFormat,

    /// Require at least this level (may, encrypt, secure, dane-only): domains
    /// below it get no enforcing line, are listed, and the exit code is 1.
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<crate::mta_config::PolicyLevel>,

    /// Route the domains below --min-level, or with an MX without working
    /// STARTTLS, to this relay (`HOST`, `HOST:PORT`, `[IPv6]:PORT`) instead of
    /// sending them in clear text: for instance a secure-message gateway.
    /// For the MTA formats and list.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub fallback_relay: Option<crate::mta_config::FallbackRelay>,

    /// Build the policies from an earlier report of `check` (NDJSON or
    /// JSON; `-` reads stdin) instead of probing again. Repeatable: the
    /// reports are merged as `smtptls report` merges them (the last row of
    /// a domain wins; an unfinished row never replaces a finished one).
    #[arg(long, value_name = "REPORT")]
    pub from: Vec<PathBuf>,

    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

const TLSRPT_EXIT_CODES: &str = "Exit codes: 0 no failed sessions in the reports; 1 failures \
present (with --audit: only failures whose cause is still present); 2 unreadable input (a \
file, message or report that could not be read; the rest is still reported) or usage error.";

/// `smtptls tlsrpt PATH…`: the audit flags of `check` (for `--audit`),
/// with the positional arguments being the report inputs.
#[derive(Debug, Args)]
#[command(
    after_help = TLSRPT_EXIT_CODES,
    args_override_self = true,
    mut_arg("domains", |a| a
        .value_name("PATH")
        .required(true)
        .help("Report inputs, each recognised by its content: a report (.json, .json.gz), an \
email message carrying one (.eml), an mbox file, a Maildir, or any other folder (every file \
in it, recursively, in path order); `-` for stdin")),
    mut_arg("file", |a| a.hide(true)),
    mut_arg("strict", |a| a.hide(true)),
    mut_arg("shard", |a| a.hide(true)),
    mut_arg("resume", |a| a.hide(true)),
)]
pub struct TlsRptArgs {
    /// The audit flags (`--resolver`, `--ca-file`, `--connect-to`, …),
    /// used by `--audit`; the DOMAIN arguments are the PATHs here.
    #[command(flatten)]
    pub audit: AuditArgs,

    /// Probe each failing receiving MX/IP now, with the normal audit of
    /// the policy domain, and say for each failure whether its cause is
    /// still present, gone, or not reproducible from here.
    #[arg(long = "audit")]
    pub live: bool,

    /// Output format. The summary goes to stdout only; diagnostics to stderr.
    #[arg(long, value_enum, default_value_t = TlsRptFormat::Table)]
    pub format: TlsRptFormat,

    /// Colour the table: auto (terminal and NO_COLOR unset), always, never.
    /// Colour only repeats what the words say; the layout is the same.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Write the summary to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl TlsRptArgs {
    /// The report inputs, as given.
    pub fn paths(&self) -> Result<&[String], CliError> {
        if self.audit.file.is_some()
            || self.audit.strict
            || self.audit.shard.is_some()
            || self.audit.resume.is_some()
        {
            return Err(CliError::DomainListFlagWithTlsRpt);
        }
        Ok(&self.audit.domains)
    }

    /// Reads every PATH into the run (no network): the per-file problems
    /// are in the run, never an `Err`.
    pub fn read(&self) -> Result<TlsRptRun, CliError> {
        let paths = self.paths()?;
        let mut aggregator = crate::report::tlsrpt::Aggregator::new();
        let inputs = crate::tlsrpt_input::collect(paths, &mut aggregator);
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Ok(TlsRptRun::new(inputs, aggregator, now))
    }

    /// The audit options of `--audit` (the default threshold: the exit
    /// code comes from the reports).
    pub fn options(&self) -> Result<AuditOptions, CliError> {
        self.audit.options(Threshold::default())
    }

    /// `--audit`: one job per policy domain with failures; a name that is
    /// not a valid domain is not audited (its failures say so).
    pub fn audit_jobs(run: &TlsRptRun) -> Vec<Job> {
        run.failing_domains()
            .into_iter()
            .filter_map(|d| d.parse::<DomainName>().ok())
            .map(Job::Audit)
            .collect()
    }
}

/// What to audit and how: shared by `check` and `policy`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Domains to audit (IDN allowed; a trailing dot is accepted). An
    /// invalid argument exits 2 before any network work.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,

    /// Read domains from FILE (`-` for stdin): one per line, `#` comments
    /// and blank lines skipped, duplicates audited once. An invalid line is
    /// reported as an input error in its place (see --strict).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Exit 2 before any network work if the --file list has an invalid line.
    #[arg(long)]
    pub strict: bool,

    /// Audit only shard K of N (1-based): a stable hash partition of the
    /// domain list, so N machines can split it without coordinating.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,

    /// Skip domains already present in this earlier NDJSON report (rows
    /// that the earlier run did not finish are audited again).
    #[arg(long, value_name = "FILE.ndjson")]
    pub resume: Option<PathBuf>,

    /// DNS server for every lookup, ADDR or ADDR:PORT ([V6]:PORT); repeatable.
    /// Default: the system's configuration.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = crate::options::parse_resolver)]
    pub resolver: Vec<std::net::SocketAddr>,

    /// How DNSSEC status is decided: validate (locally, from the root trust
    /// anchor plus --trust-anchor) or trust-resolver (the AD bit of
    /// --resolver, as Postfix and Exim do with a local validating resolver).
    #[arg(long, value_enum, default_value_t = DnssecMode::Validate, value_name = "MODE")]
    pub dnssec: DnssecMode,

    /// File of DNSKEY records (zone-file syntax) trusted in addition to the
    /// root anchor, for private and test zones. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Vec<PathBuf>,

    /// The service to audit: smtp (MX hosts on port 25, for senders),
    /// submission (STARTTLS on 587) or submissions (implicit TLS on 465),
    /// graded by what a mail client needs. For submission each NAME is a
    /// host name, or a domain with `_submission._tcp` / `_submissions._tcp`
    /// SRV records (RFC 6186). Only `check` audits submission.
    #[arg(long, value_name = "SERVICE", default_value = "smtp")]
    pub service: crate::vocabulary::Service,

    /// Port to probe. Default: the service's (25, 587, 465); an SRV
    /// record's port wins.
    #[arg(long)]
    pub port: Option<u16>,

    /// Connect to ADDR:PORT instead when probing HOST:PORT (as in curl); the
    /// MX name is still used for SNI and name checks. Empty fields match any
    /// host/port or keep the original. Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR:PORT")]
    pub connect_to: Vec<ConnectTo>,

    /// PEM file of extra trust anchors, added to Mozilla's roots. Repeatable.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Vec<PathBuf>,

    /// Name to send in EHLO. Default: /etc/mailname or the host's FQDN,
    /// else an address literal of the local address.
    #[arg(long, value_name = "NAME")]
    pub ehlo_name: Option<EhloName>,

    /// Seconds each network step may take (connect, each command, TLS
    /// handshake); each DNS question has this in all, its retries included.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_secs)]
    pub timeout: f64,

    /// Seconds to wait for the complete 220 greeting; long by default for
    /// greet delays (postscreen).
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse_secs)]
    pub banner_timeout: f64,

    /// Probe IPv4 addresses only.
    #[arg(short = '4', conflicts_with = "ipv6_only")]
    pub ipv4_only: bool,

    /// Probe IPv6 addresses only.
    #[arg(short = '6')]
    pub ipv6_only: bool,

    /// Warn when a certificate expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_warn_days: u32,

    /// Domains audited at the same time. Most of a domain's time is
    /// waiting for round trips (DNS, SMTP), so many in flight cost little
    /// (docs/scale.md, the WAN benchmark).
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// Connections to one IP address at the same time, at most (big
    /// providers host many domains' MX; be polite).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub per_address: u16,

    /// Extra attempts for an MX address that timed out. With 0 (the
    /// default) an address that timed out is not contacted again in the run.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,

    /// The protocol scan after the main handshake (the configuration axis),
    /// each probe on its own connection: light (default: at most 8
    /// hand-built ClientHellos per address), deep (every suite of every
    /// version and every group: dozens of connections) or off. The
    /// verdict is the same in every mode: the STARTTLS injection test and,
    /// when the main handshake fails, one OpenSSL-default fallback hello
    /// are made in every mode (off: 2 connections per address, 3 when the
    /// main handshake fails).
    #[arg(long, value_name = "MODE", default_value = "light")]
    pub scan: ScanMode,

    /// Also probe MX addresses that are loopback (127/8, ::1) or link-local
    /// (169.254/16, fe80::/10), for test labs on this machine. No sender on
    /// the internet reaches them, and a finding says so. Unspecified
    /// (0.0.0.0, ::), broadcast and multicast addresses are never probed.
    #[arg(long)]
    pub allow_local_addresses: bool,

    /// Probe at most N MX hosts per domain, lowest preference first (ties
    /// by name); the rest are listed in the report, not probed.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_mx_hosts: u16,

    /// Probe at most N addresses per MX host, IPv4 and IPv6 taking turns
    /// (real senders try 5 in all: Postfix smtp_mx_address_limit, Exim
    /// hosts_max_try); the rest are listed in the report, not probed.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_addresses_per_host: u16,

    /// Seconds all connections to one MX address may take, added up (main
    /// probe, fallback hello, injection test, scan; waiting behind other
    /// connections to a shared address does not count): once spent, no
    /// further connection starts and one that would overspend it is
    /// dropped (the scan is then incomplete). Default: --banner-timeout
    /// plus 6 x --timeout (90 s).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub address_budget: Option<f64>,

    /// Shorthand for --scan deep.
    #[arg(long, conflicts_with = "scan")]
    pub deep: bool,

    /// Stop the whole run after this many seconds; unfinished domains are
    /// reported as errors (never dropped).
    #[arg(long, value_name = "SECS", value_parser = parse_deadline)]
    pub deadline: Option<f64>,

    /// No progress bar (it is shown only when stderr is a terminal anyway).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

const SERVE_AFTER_HELP: &str = "Endpoints: GET /probe?target=DOMAIN[&scan=off|light|deep] (the metrics \
of `check --format prometheus DOMAIN` plus probe_success, probe_duration_seconds, \
smtptls_probe_cached, smtptls_probe_age_seconds; 400 for what is not a mail domain: an IP address, \
a port, a URL; 403 for a domain not allowed), GET /metrics (the exporter's own), GET / (help). \
The audit flags set how every probe runs (--concurrency: audits at once over all scrapes). \
X-Prometheus-Scrape-Timeout-Seconds less --timeout-offset bounds a fresh audit; when it runs out \
the answer is probe_success 0 (with the previous result, if any) and the audit finishes for the \
next scrape. The bound address is printed on stderr at start.\n\n\
Exit codes: 0 stopped by Ctrl-C or SIGTERM (requests in flight answered); 2 usage or set-up \
error (a listener not on loopback without --allow-target or --allow-any-target, an address in use).";

/// `smtptls serve`: the audit flags of `check` and the exporter's own.
#[derive(Debug, Args)]
#[command(after_help = SERVE_AFTER_HELP, args_override_self = true)]
pub struct ServeArgs {
    #[command(flatten)]
    pub audit: AuditArgs,

    /// smtptls_domain_below_threshold is 1 for a verdict below this, as
    /// `check --fail-below`.
    #[arg(long, value_name = "VERDICT", default_value = "encrypted", value_parser = parse_threshold)]
    pub fail_below: Verdict,

    /// Address and port to listen on. The default port, 9612, was free in
    /// Prometheus's list of default exporter ports. On an address other
    /// than loopback, --allow-target or --allow-any-target is required.
    #[arg(long, value_name = "ADDR:PORT", default_value_t = std::net::SocketAddr::from(([127, 0, 0, 1], crate::exporter::DEFAULT_PORT)))]
    pub listen: std::net::SocketAddr,

    /// Answer a target from the cache for this long after its audit
    /// (30s, 15m, 1h, or seconds). Default 1h: a partner's MX hosts are
    /// not ours to probe on every scrape (every 15 s or so), and what is
    /// measured (certificates, DANE, MTA-STS) changes in hours or days.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_interval)]
    pub min_interval: Duration,

    /// Targets (per scan mode) whose results are kept; the least recently
    /// scraped goes first.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_targets: u32,

    /// Seconds taken off X-Prometheus-Scrape-Timeout-Seconds for a fresh
    /// audit, so the answer reaches Prometheus before it gives up.
    #[arg(long, value_name = "SECS", default_value_t = 0.5, value_parser = parse_offset)]
    pub timeout_offset: f64,

    /// Probe only domains this matches (others get 403): a domain
    /// (`example.com`), or `*.example.com` for every name below it (not
    /// example.com itself). Repeatable; `@FILE` reads one pattern per line
    /// (`#` comments).
    #[arg(long, value_name = "PATTERN")]
    pub allow_target: Vec<String>,

    /// Probe any domain even when listening on an address other than
    /// loopback (whoever reaches the port then chooses what it probes).
    #[arg(long, conflicts_with = "allow_target")]
    pub allow_any_target: bool,
}

impl ServeArgs {
    /// The audit options of the flags; the domain-list flags are refused.
    pub fn options(&self) -> Result<AuditOptions, CliError> {
        let a = &self.audit;
        if !a.domains.is_empty()
            || a.file.is_some()
            || a.strict
            || a.shard.is_some()
            || a.resume.is_some()
            || a.deadline.is_some()
        {
            return Err(CliError::DomainListFlagWithServe);
        }
        a.mx_only("serve")?;
        a.options(Threshold(self.fail_below))
    }

    /// The exporter's settings: the allow-list (which refuses an open
    /// listener without one), the cache, the timeout offset.
    pub fn settings(&self) -> Result<crate::exporter::Settings, CliError> {
        let allow = crate::exporter::allow::AllowList::from_flags(
            &self.allow_target,
            self.allow_any_target,
            self.listen,
        )?;
        let mut settings = crate::exporter::Settings::new(allow);
        settings.min_interval = self.min_interval;
        settings.max_targets = self.max_targets as usize;
        settings.timeout_offset = Duration::from_secs_f64(self.timeout_offset);
        settings.concurrency = usize::from(self.audit.concurrency);
        Ok(settings)
    }
}

/// `--min-interval`: `90`, `90s`, `15m`, `1h`, `1d`.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("{s:?}: use seconds, or a number with s, m, h or d")),
    };
    match number.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * scale <= 366.0 * 86_400.0 => {
            Ok(Duration::from_secs_f64(v * scale))
        }
        _ => Err(format!("{s:?} is not a duration between 0 and a year")),
    }
}

fn parse_offset(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=60.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds between 0 and 60")),
    }
}

/// Arguments that the parser accepts but that do not fit together.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "--trust-anchor is for --dnssec validate; with trust-resolver the resolver's own anchors apply"
    )]
    TrustAnchorWithTrustResolver,
    #[error("--from builds policies from a report: give no DOMAIN or --file with it")]
    FromWithDomains,
    #[error("--fallback-relay routes mail: it is for the MTA formats and list, not mta-sts")]
    FallbackRelayWithMtaSts,
    /// `-` given twice among report files.
    #[error("stdin (-) can be read once: give - at most once")]
    StdinTwice,
    #[error(
        "tlsrpt reads its PATH arguments: --file, --strict, --shard and --resume are for domain lists"
    )]
    DomainListFlagWithTlsRpt,
    #[error(
        "serve audits the targets Prometheus names: DOMAIN, --file, --strict, --shard, --resume and --deadline are for check"
    )]
    DomainListFlagWithServe,
    /// `--service submission|submissions` outside `check`: policies,
    /// TLS-RPT and the exporter are about MX hosts.
    #[error("--service {0} is for check: {1} is about MX hosts, where senders deliver (port 25)")]
    ServiceIsForCheck(crate::vocabulary::Service, &'static str),
    /// `serve`'s allow-list: a bad pattern or file, or an open listener
    /// without one.
    #[error(transparent)]
    AllowList(#[from] crate::exporter::allow::AllowListError),
    /// `explain` with an id that does not exist; the message lists the
    /// known ones, on one line.
    #[error("unknown finding id {0:?}; the known ids are: {ids}", ids = known_finding_ids())]
    UnknownFindingId(String),
    /// An unknown `--fail-on` value.
    #[error("--fail-on: {0}")]
    FailOn(String),
    /// An unusable `--ca-file`.
    #[error(transparent)]
    TrustStore(#[from] TrustStoreError),
    /// The domain list: invalid inputs, `--file`, `--resume`.
    #[error(transparent)]
    Input(#[from] InputError),
}

fn known_finding_ids() -> String {
    FindingId::ALL
        .iter()
        .map(|id| id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a run audits: each job in input order, and the notices about the
/// list for stderr (none with `--quiet`).
#[derive(Debug)]
pub struct Jobs {
    pub jobs: Vec<Job>,
    pub notices: Vec<String>,
}

impl AuditArgs {
    /// Refuses `--service` other than smtp for a subcommand about MX hosts.
    pub fn mx_only(&self, subcommand: &'static str) -> Result<(), CliError> {
        if self.service.is_submission() {
            return Err(CliError::ServiceIsForCheck(self.service, subcommand));
        }
        Ok(())
    }

    /// The library's options from the audit flags; `threshold` is
    /// `--fail-below` (`check`) or the default (`policy`). Reads the
    /// `--ca-file`s.
    pub fn options(&self, threshold: Threshold) -> Result<AuditOptions, CliError> {
        if !self.trust_anchor.is_empty() && self.dnssec == DnssecMode::TrustResolver {
            return Err(CliError::TrustAnchorWithTrustResolver);
        }
        let trust = if self.ca_file.is_empty() {
            TrustStore::webpki()
        } else {
            TrustStore::with_ca_files(&self.ca_file)?
        };
        let timeouts = Timeouts::new(
            Duration::from_secs_f64(self.timeout),
            Duration::from_secs_f64(self.banner_timeout),
        );
        Ok(AuditOptions {
            service: self.service,
            port: self.port.unwrap_or(self.service.default_port()),
            connect_to: ConnectRules(self.connect_to.clone()),
            timeouts,
            ehlo_name: self.ehlo_name.clone().unwrap_or_else(EhloName::from_system),
            families: self.families(),
            trust,
            dns: self.dns_servers(),
            dnssec: self.dnssec,
            trust_anchors: self.trust_anchor.clone(),
            expiry_warn_days: self.expiry_warn_days,
            threshold,
            fail_level: None,
            concurrency: usize::from(self.concurrency),
            per_address: usize::from(self.per_address),
            retries: self.retries,
            scan: self.scan_mode(),
            allow_local: self.allow_local_addresses,
            max_mx_hosts: usize::from(self.max_mx_hosts),
            max_addresses: usize::from(self.max_addresses_per_host),
            address_budget: self.address_budget.map_or_else(
                || timeouts.default_address_budget(),
                Duration::from_secs_f64,
            ),
        })
    }

    /// `-4`, `-6` or both (clap refuses `-4 -6`).
    pub fn families(&self) -> AddressFamilies {
        match (self.ipv4_only, self.ipv6_only) {
            (true, _) => AddressFamilies::V4Only,
            (_, true) => AddressFamilies::V6Only,
            _ => AddressFamilies::Both,
        }
    }

    /// `--deep` is `--scan deep` (clap refuses both together).
    pub fn scan_mode(&self) -> ScanMode {
        if self.deep { ScanMode::Deep } else { self.scan }
    }

    /// `--resolver`s, or the system's configuration.
    pub fn dns_servers(&self) -> DnsServers {
        if self.resolver.is_empty() {
            DnsServers::System
        } else {
            DnsServers::Explicit(self.resolver.clone())
        }
    }

    /// `--deadline`, from the run's start.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline.map(Duration::from_secs_f64)
    }

    /// The jobs of the run: the DOMAIN arguments and `--file` (`-`:
    /// stdin), validated, de-duplicated, sharded and minus `--resume`'s
    /// done rows ([`input::select`]); an invalid list line becomes a row.
    /// Any problem that must stop the run does so here, before any network
    /// work.
    pub fn jobs(&self) -> Result<Jobs, CliError> {
        let selection = input::select(input::Request {
            domains: &self.domains,
            list: self.file.clone().map(ListSource::from_arg),
            strict: self.strict,
            shard: self.shard,
            resume: self.resume.as_deref(),
        })?;
        let jobs = selection
            .entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Domain(d) => Job::Audit(d.domain),
                Entry::Invalid(bad) => Job::Done(Box::new(input::invalid_report(&bad))),
            })
            .collect();
        let notices = if self.quiet {
            Vec::new()
        } else {
            selection.notices
        };
        Ok(Jobs { jobs, notices })
    }
}

impl CheckArgs {
    /// The audit options, with `--fail-below` as the threshold.
    pub fn options(&self) -> Result<AuditOptions, CliError> {
        let mut options = self
            .audit
            .options(self.gate.threshold(self.audit.service))?;
        options.fail_level = self.gate.fail_level.map(crate::vocabulary::LevelThreshold);
        Ok(options)
    }
}

impl PolicyArgs {
    /// The audit options (the default threshold: policies have their own
    /// minimum, `--min-level`).
    pub fn options(&self) -> Result<AuditOptions, CliError> {
        self.audit.mx_only("policy")?;
        self.audit.options(Threshold::default())
    }

    /// `--fallback-relay`, for a format that routes mail.
    pub fn fallback(&self) -> Result<Option<&crate::mta_config::FallbackRelay>, CliError> {
        match &self.fallback_relay {
            Some(_) if !self.format.routes() => Err(CliError::FallbackRelayWithMtaSts),
            relay => Ok(relay.as_ref()),
        }
    }

    /// `--from FILE…`: the reports to write from instead of an audit,
    /// which then takes no domains; `None` without `--from`.
    pub fn report(&self) -> Result<Option<Vec<crate::report::merge::Input>>, CliError> {
        if self.from.is_empty() {
            return Ok(None);
        }
        if !self.audit.domains.is_empty() || self.audit.file.is_some() {
            return Err(CliError::FromWithDomains);
        }
        inputs(&self.from).map(Some)
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 3600"
        )),
    }
}

fn parse_deadline(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

fn parse_threshold(s: &str) -> Result<Verdict, String> {
    let v: Verdict = s.parse()?;
    if v == Verdict::NoMail {
        return Err("no-mail is not a threshold (it never fails)".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str]) -> CheckArgs {
        let all = ["smtptls", "check"].iter().chain(args);
        match Cli::try_parse_from(all).map(|cli| cli.command) {
            Ok(Command::Check(args)) => *args,
            other => panic!("not check: {other:?}"),
        }
    }

    fn policy(args: &[&str]) -> PolicyArgs {
        let all = ["smtptls", "policy", "--format", "postfix"]
            .iter()
            .chain(args);
        match Cli::try_parse_from(all).map(|cli| cli.command) {
            Ok(Command::Policy(args)) => *args,
            other => panic!("not policy: {other:?}"),
        }
    }

    fn tlsrpt(args: &[&str]) -> Result<TlsRptArgs, clap::Error> {
        let all = ["smtptls", "tlsrpt"].iter().chain(args);
        Cli::try_parse_from(all).map(|cli| match cli.command {
            Command::Tlsrpt(args) => *args,
            other => panic!("not tlsrpt: {other:?}"),
        })
    }

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let all = ["smtptls", "serve"].iter().chain(args);
        Cli::try_parse_from(all).map(|cli| match cli.command {
            Command::Serve(args) => *args,
            other => panic!("not serve: {other:?}"),
        })
    }

    #[test]
    fn serve_defaults_and_flags() {
        let args = serve(&[]).expect("parses");
        assert_eq!(args.listen.to_string(), "127.0.0.1:9612");
        let settings = args.settings().expect("loopback needs no list");
        assert_eq!(settings.min_interval, Duration::from_secs(3600));
        assert_eq!(settings.max_targets, 10_000);
        assert_eq!(settings.timeout_offset, Duration::from_millis(500));
        assert_eq!(settings.allow, crate::exporter::allow::AllowList::Any);
        let args = serve(&[
            "--listen",
            "127.0.0.1:0",
            "--min-interval",
            "15m",
            "--max-targets",
            "50",
            "--timeout-offset",
            "1",
            "--allow-target",
            "*.example.com",
            "--scan",
            "off",
            "--per-address",
            "1",
        ])
        .expect("parses");
        let settings = args.settings().expect("settings");
        assert_eq!(settings.min_interval, Duration::from_secs(900));
        assert_eq!(settings.max_targets, 50);
        assert_eq!(settings.timeout_offset, Duration::from_secs(1));
        assert!(
            settings
                .allow
                .allows(&"mx.example.com".parse().expect("name"))
        );
        assert!(!settings.allow.allows(&"example.org".parse().expect("name")));
        let options = args.options().expect("options");
        assert_eq!(options.scan, ScanMode::Off);
        assert_eq!(options.per_address, 1);
        for bad in ["0", "-1s", "1w", "h", "400d"] {
            assert!(serve(&["--min-interval", bad]).is_err(), "{bad}");
        }
        assert_eq!(parse_interval("90").ok(), Some(Duration::from_secs(90)));
        assert_eq!(parse_interval("1.5h").ok(), Some(Duration::from_secs(5400)));
    }

    #[test]
    fn serve_on_an_open_address_needs_an_allow_list() {
        let args = serve(&["--listen", "0.0.0.0:9612"]).expect("parses");
        assert!(matches!(args.settings(), Err(CliError::AllowList(_))));
        let args = serve(&["--listen", "0.0.0.0:9612", "--allow-any-target"]).expect("parses");
        assert!(args.settings().is_ok());
        let args =
            serve(&["--listen", "[::]:9612", "--allow-target", "a.example"]).expect("parses");
        assert!(args.settings().is_ok());
        assert!(serve(&["--allow-any-target", "--allow-target", "a.example"]).is_err());
        // The domain list is Prometheus's to give.
        for flags in [
            &["a.example"][..],
            &["--file", "list.txt"],
            &["--deadline", "10"],
        ] {
            let args = serve(flags).expect("parses");
            assert!(
                matches!(args.options(), Err(CliError::DomainListFlagWithServe)),
                "{flags:?}"
            );
        }
    }

    #[test]
    fn tlsrpt_takes_paths_and_the_audit_flags() {
        let args = tlsrpt(&[
            "a.json",
            "-",
            "--audit",
            "--format",
            "ndjson",
            "--port",
            "2525",
            "--connect-to",
            "mx.test:25:127.0.0.1:2525",
        ])
        .expect("parses");
        assert_eq!(args.paths().expect("paths"), ["a.json", "-"]);
        assert!(args.live);
        assert_eq!(args.format, TlsRptFormat::Ndjson);
        assert_eq!(args.color, ColorChoice::Auto);
        let options = args.options().expect("options");
        assert_eq!(options.port, 2525);
        assert_eq!(options.connect_to.0.len(), 1);
        let args = tlsrpt(&["a.json", "--color", "never"]).expect("parses");
        assert_eq!(args.color, ColorChoice::Never);
        // Without --audit, and a PATH is required.
        assert!(!tlsrpt(&["a.json"]).expect("parses").live);
        assert!(tlsrpt(&[]).is_err());
        // The domain-list flags make no sense here.
        let args = tlsrpt(&["a.json", "--file", "list.txt"]).expect("parses");
        assert!(matches!(
            args.paths(),
            Err(CliError::DomainListFlagWithTlsRpt)
        ));
    }

    #[test]
    fn options_from_the_flags() {
        let args = check(&[
            "x.test",
            "--port",
            "2525",
            "--timeout",
            "2.5",
            "--banner-timeout",
            "7",
            "--ehlo-name",
            "client.example",
            "--resolver",
            "127.0.0.1:5353",
            "--concurrency",
            "3",
            "--per-address",
            "1",
            "--retries",
            "2",
            "--expiry-warn-days",
            "9",
            "--fail-below",
            "secure",
            "--connect-to",
            "mx.x.test:25::2525",
            "--allow-local-addresses",
            "--max-mx-hosts",
            "3",
            "--max-addresses-per-host",
            "2",
            "--address-budget",
            "12.5",
        ]);
        let o = args.options().expect("options");
        assert!(o.allow_local);
        assert_eq!((o.max_mx_hosts, o.max_addresses), (3, 2));
        assert_eq!(o.address_budget, Duration::from_millis(12500));
        assert_eq!(o.port, 2525);
        assert_eq!(
            o.timeouts,
            Timeouts::new(Duration::from_millis(2500), Duration::from_secs(7))
        );
        assert_eq!(o.ehlo_name, EhloName::Fqdn("client.example".into()));
        assert_eq!(
            o.dns,
            DnsServers::Explicit(vec!["127.0.0.1:5353".parse().expect("addr")])
        );
        assert_eq!(o.concurrency, 3);
        assert_eq!(o.per_address, 1);
        assert_eq!(o.retries, 2);
        assert_eq!(o.expiry_warn_days, 9);
        assert_eq!(o.threshold, Threshold(Verdict::Secure));
        assert_eq!(o.connect_to.0.len(), 1);
        assert_eq!(o.families, AddressFamilies::Both);
        assert_eq!(o.scan, ScanMode::Light);
        assert_eq!(o.dnssec, DnssecMode::Validate);

        let defaults = check(&["x.test", "--ehlo-name", "c.example"])
            .options()
            .expect("options");
        assert_eq!(defaults.threshold, Threshold::default());
        assert_eq!(defaults.dns, DnsServers::System);
        assert_eq!(defaults.port, 25);
        assert!(!defaults.allow_local);
        assert_eq!(
            (defaults.max_mx_hosts, defaults.max_addresses),
            (
                crate::options::DEFAULT_MAX_MX_HOSTS,
                crate::options::DEFAULT_MAX_ADDRESSES
            )
        );
        // --banner-timeout 30 + 6 x --timeout 10.
        assert_eq!(defaults.address_budget, Duration::from_secs(90));
        let derived = check(&["x.test", "--timeout", "2", "--banner-timeout", "3"])
            .options()
            .expect("options");
        assert_eq!(derived.address_budget, Duration::from_secs(15));
        // `policy` has no --fail-below: the default threshold.
        let p = policy(&["x.test", "--ehlo-name", "c.example"]);
        assert_eq!(
            p.options().expect("options").threshold,
            Threshold::default()
        );
    }

    #[test]
    fn families_scan_mode_and_deadline() {
        assert_eq!(check(&["-4"]).audit.families(), AddressFamilies::V4Only);
        assert_eq!(check(&["-6"]).audit.families(), AddressFamilies::V6Only);
        assert_eq!(check(&[]).audit.families(), AddressFamilies::Both);
        assert_eq!(check(&["--deep"]).audit.scan_mode(), ScanMode::Deep);
        assert_eq!(check(&["--scan", "off"]).audit.scan_mode(), ScanMode::Off);
        assert_eq!(check(&[]).audit.scan_mode(), ScanMode::Light);
        assert!(Cli::try_parse_from(["smtptls", "check", "--deep", "--scan", "off"]).is_err());
        assert_eq!(check(&[]).audit.deadline(), None);
        assert_eq!(
            check(&["--deadline", "1.5"]).audit.deadline(),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn trust_anchors_need_validate_and_ca_files_must_be_usable() {
        let args = check(&[
            "x.test",
            "--dnssec",
            "trust-resolver",
            "--trust-anchor",
            "k.key",
        ]);
        let err = args.options().expect_err("refused");
        assert!(matches!(err, CliError::TrustAnchorWithTrustResolver));
        assert!(
            err.to_string()
                .starts_with("--trust-anchor is for --dnssec validate")
        );
        let args = check(&["x.test", "--trust-anchor", "k.key"]);
        assert_eq!(
            args.options().expect("validate").trust_anchors,
            [PathBuf::from("k.key")]
        );

        let dir = tempfile::tempdir().expect("dir");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").expect("write");
        let args = check(&["x.test", "--ca-file", &junk.display().to_string()]);
        let err = args.options().expect_err("refused");
        assert!(matches!(err, CliError::TrustStore(_)), "{err:?}");
        assert!(err.to_string().contains("junk.pem"), "{err}");
    }

    #[test]
    fn jobs_keep_input_order_with_invalid_lines_as_rows() {
        let dir = tempfile::tempdir().expect("dir");
        let list = dir.path().join("list.txt");
        std::fs::write(&list, "b.example\nbad name\nA.example\n").expect("write");
        let args = check(&["a.example", "--file", &list.display().to_string()]);
        let jobs = args.audit.jobs().expect("jobs");
        let shown: Vec<String> = jobs
            .jobs
            .iter()
            .map(|j| match j {
                Job::Audit(d) => d.to_string(),
                Job::Done(row) => format!("row {}", row.domain),
            })
            .collect();
        assert_eq!(shown, ["a.example", "b.example", "row bad name"]);
        assert_eq!(jobs.notices, ["1 duplicate domain(s) audited once"]);
        let quiet = check(&["a.example", "-q", "--file", &list.display().to_string()]);
        assert!(quiet.audit.jobs().expect("jobs").notices.is_empty());

        let strict = check(&["--strict", "--file", &list.display().to_string()]);
        let err = strict.audit.jobs().expect_err("refused");
        assert!(
            err.to_string().starts_with("invalid DOMAIN input:\n  "),
            "{err}"
        );
        let err = check(&[]).audit.jobs().expect_err("refused");
        assert!(
            matches!(err, CliError::Input(InputError::NoDomain)),
            "{err:?}"
        );
    }

    #[test]
    fn report_takes_files_and_checks_gate_and_formats() {
        use crate::report::merge::Input;
        let parse = |args: &[&str]| {
            let all = ["smtptls", "report"].iter().chain(args);
            Cli::try_parse_from(all).map(|cli| match cli.command {
                Command::Report(args) => *args,
                other => panic!("not report: {other:?}"),
            })
        };
        // The batch script's spelling.
        let args = parse(&[
            "--format",
            "html",
            "-o",
            "fleet.html",
            "--fail-below",
            "secure",
            "shard-1.ndjson",
            "shard-2.ndjson",
        ])
        .expect("parses");
        assert_eq!(args.out.format, Format::Html);
        assert_eq!(
            args.out.output.as_deref(),
            Some(std::path::Path::new("fleet.html"))
        );
        assert_eq!(
            args.inputs().expect("inputs"),
            [
                Input::File("shard-1.ndjson".into()),
                Input::File("shard-2.ndjson".into())
            ]
        );
        let gate = args.gate(crate::vocabulary::Service::Smtp);
        assert_eq!(gate.verdict, Threshold(Verdict::Secure));
        assert_eq!(gate.level, None);
        // check's defaults and parsers.
        let args = parse(&["-", "--fail-level", "phase-out"]).expect("parses");
        assert_eq!(args.out.format, Format::Table);
        assert_eq!(
            args.gate(crate::vocabulary::Service::Smtp).verdict,
            Threshold::default()
        );
        assert_eq!(
            args.gate(crate::vocabulary::Service::Smtp).level,
            Some(crate::vocabulary::LevelThreshold(
                crate::vocabulary::NcscLevel::PhaseOut
            ))
        );
        assert_eq!(args.inputs().expect("stdin"), [Input::Stdin]);
        assert!(parse(&["r.ndjson", "--fail-below", "no-mail"]).is_err());
        assert!(parse(&[]).is_err(), "a FILE is required");
        assert!(matches!(
            parse(&["-", "a.ndjson", "-"]).expect("parses").inputs(),
            Err(CliError::StdinTwice)
        ));
    }

    #[test]
    fn diff_takes_two_files_or_old_and_new_lists() {
        use crate::report::merge::Input;
        let parse = |args: &[&str]| {
            let all = ["smtptls", "diff"].iter().chain(args);
            Cli::try_parse_from(all).map(|cli| match cli.command {
                Command::Diff(args) => *args,
                other => panic!("not diff: {other:?}"),
            })
        };
        let file = |p: &str| Input::File(p.into());
        let args = parse(&["old.ndjson", "-"]).expect("parses");
        assert_eq!(
            args.sides().expect("sides"),
            (vec![file("old.ndjson")], vec![Input::Stdin])
        );
        let args = parse(&["--old", "a1", "a2", "--new", "b1", "--new", "b2"]).expect("parses");
        assert_eq!(
            args.sides().expect("sides"),
            (vec![file("a1"), file("a2")], vec![file("b1"), file("b2")])
        );
        // Not both forms, not one side only, not stdin on both sides.
        assert!(parse(&["a", "b", "--old", "c", "--new", "d"]).is_err());
        assert!(parse(&["--old", "a"]).is_err());
        assert!(parse(&["a"]).is_err());
        let args = parse(&["-", "-"]).expect("parses");
        assert!(matches!(args.sides(), Err(CliError::StdinTwice)));
    }

    #[test]
    fn fallback_relay_parses_and_is_refused_for_mta_sts() {
        use crate::mta_config::{FallbackRelay, RelayHost};
        assert_eq!(policy(&["x.test"]).fallback().expect("none"), None);
        let p = policy(&["x.test", "--fallback-relay", "[2001:db8::25]:2525"]);
        assert_eq!(
            p.fallback().expect("relay"),
            Some(&FallbackRelay {
                host: RelayHost::Ipv6("2001:db8::25".parse().expect("v6")),
                port: 2525
            })
        );
        let junk = [
            "smtptls",
            "policy",
            "--format",
            "exim",
            "--fallback-relay",
            "a b:25",
            "x.test",
        ];
        let err = Cli::try_parse_from(junk).expect_err("junk relay");
        assert!(err.to_string().contains("not a host name"), "{err}");
        let sts = [
            "smtptls",
            "policy",
            "--format",
            "mta-sts",
            "--fallback-relay",
            "relay.test",
            "x.test",
        ];
        let args = match Cli::try_parse_from(sts).map(|c| c.command) {
            Ok(Command::Policy(a)) => a,
            other => panic!("not policy: {other:?}"),
        };
        assert!(matches!(
            args.fallback(),
            Err(CliError::FallbackRelayWithMtaSts)
        ));
    }

    #[test]
    fn policy_from_a_report_takes_no_domains() {
        assert_eq!(policy(&["x.test"]).report().expect("audit"), None);
        use crate::report::merge::Input;
        assert_eq!(
            policy(&["--from", "r.ndjson"]).report().expect("report"),
            Some(vec![Input::File("r.ndjson".into())])
        );
        assert_eq!(
            policy(&["--from", "a.ndjson", "--from", "-"])
                .report()
                .expect("report"),
            Some(vec![Input::File("a.ndjson".into()), Input::Stdin])
        );
        assert!(matches!(
            policy(&["--from", "-", "--from", "-"]).report(),
            Err(CliError::StdinTwice)
        ));
        for args in [
            &["--from", "r.ndjson", "x.test"][..],
            &["--from", "r.ndjson", "--file", "l"],
        ] {
            let err = policy(args).report().expect_err("refused");
            assert_eq!(
                err.to_string(),
                "--from builds policies from a report: give no DOMAIN or --file with it"
            );
        }
    }
}
