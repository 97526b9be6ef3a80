//! Command-line interface definition (clap). Lives in the library so the
//! man page and shell completions are generated from the same definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::input::Shard;
pub use crate::mta_config::PolicyFormat;
use crate::options::{ConnectTo, DnssecMode, EhloName};
use crate::reporter::{ColorChoice, Format};
use crate::vocabulary::Verdict;

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
    /// Print a shell completion script to stdout.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

const EXIT_CODES: &str = "Exit codes: 0 every domain at or above --fail-below; \
1 at least one domain below it (or --deadline passed); 2 usage or input error (nothing probed); \
130 interrupted.";

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES, args_override_self = true)]
pub struct CheckArgs {
    #[command(flatten)]
    pub audit: AuditArgs,

    /// Output format. The report goes to stdout only; diagnostics go to stderr.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Colour the table: auto (terminal and NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Exit 1 if any domain's verdict is below this: protected, secure,
    /// encrypted, partial, plaintext, broken, error. Default encrypted (fail
    /// on partial, plaintext, broken, error). no-mail never fails.
    #[arg(long, value_name = "VERDICT", default_value = "encrypted", value_parser = parse_threshold)]
    pub fail_below: Verdict,

    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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

    /// Build the policies from an earlier NDJSON report (`check --format
    /// ndjson`) instead of probing again.
    #[arg(long, value_name = "REPORT.ndjson")]
    pub from: Option<PathBuf>,

    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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

    /// SMTP port to probe.
    #[arg(long, default_value_t = 25)]
    pub port: u16,

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
    /// handshake, each DNS query).
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

    /// Domains audited at the same time.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// Connections to one IP address at the same time, at most (big
    /// providers host many domains' MX; be polite).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub per_address: u16,

    /// Extra attempts for an MX address that timed out. With 0 (the
    /// default) an address that timed out is not contacted again in the run.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,

    /// The protocol scan after the main handshake, each probe on its own
    /// connection: light (default: at most 8 hand-built ClientHellos plus
    /// the STARTTLS injection test per address), deep (every suite of every
    /// version and every group: dozens of connections) or off (one
    /// connection per address, for monitoring).
    #[arg(long, value_name = "MODE", default_value = "light")]
    pub scan: crate::prober::scan::ScanMode,

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
