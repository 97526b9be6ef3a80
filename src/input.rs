//! Stage 0 for fleet runs: which domains to audit.
//!
//! Domains come from command-line arguments and/or a list (`--file PATH`,
//! `-` for stdin). The result is typed: valid names (canonical, each once),
//! and the lines that are not domain names, each with where it came from,
//! so that the report can show them instead of silently dropping them.
//!
//! List syntax: one domain per line; `#` starts a comment (a whole line or
//! the rest of one); blank lines are skipped; surrounding white space is
//! trimmed; LF and CRLF line ends are accepted, as is a UTF-8 byte order
//! mark. The list must be UTF-8, at most [`MAX_LIST_BYTES`] long, with lines
//! of at most [`MAX_LINE_BYTES`].
//!
//! Also here: [`Shard`] (`--shard K/N`, a stable partition of a list across
//! machines), [`resume_set`] (`--resume`, the domains an earlier NDJSON
//! report already has, read with [`crate::report::read`]) and [`select`],
//! which puts them together into the list a run audits: which invalid
//! inputs stop the run (`--strict`), the shard, the resume, and the
//! notices for stderr (the library prints nothing).

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::digest;

use crate::domain::{DomainError, DomainName};
use crate::report::DomainReport;
use crate::report::read::{self, ReadError, RowHead};
use crate::vocabulary::{ErrorKind, ErrorPhase, Failure};

/// Largest domain list accepted (64 MiB, a few million domains).
pub const MAX_LIST_BYTES: u64 = 64 * 1024 * 1024;
/// Longest line accepted in a domain list, without its line end. A domain
/// name has at most 253 characters; a line this long is not a domain list.
pub const MAX_LINE_BYTES: usize = 4096;

/// Where a domain came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The N-th domain argument (1-based).
    Argument(usize),
    /// Line `line` (1-based) of a list; `source` is its path or `stdin`.
    Line { source: Arc<str>, line: usize },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Argument(n) => write!(f, "argument {n}"),
            Origin::Line { source, line } => write!(f, "{source}:{line}"),
        }
    }
}

/// A valid domain and where it (first) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDomain {
    pub domain: DomainName,
    pub origin: Origin,
}

/// An argument or list line that is not a domain name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub origin: Origin,
    /// The text as given (trimmed, without comment).
    pub text: String,
    pub error: DomainError,
}

impl fmt::Display for InvalidInput {
    /// `FILE:LINE: "text" is not a valid domain name: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.error)
    }
}

/// One input, valid or not, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Domain(InputDomain),
    Invalid(InvalidInput),
}

/// Everything that was read, in input order (arguments first, then the
/// list). Each domain appears once, at its first occurrence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    pub entries: Vec<Entry>,
    /// Occurrences dropped because the same canonical domain came earlier.
    pub duplicates: usize,
}

impl Inputs {
    /// The valid domains, in input order, each once.
    pub fn domains(&self) -> impl Iterator<Item = &InputDomain> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Domain(d) => Some(d),
            Entry::Invalid(_) => None,
        })
    }

    /// The inputs that are not domain names, in input order.
    pub fn invalid(&self) -> impl Iterator<Item = &InvalidInput> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Invalid(bad) => Some(bad),
            Entry::Domain(_) => None,
        })
    }

    /// Keeps only this shard's part. Invalid inputs have no canonical name
    /// to hash; they are kept by shard 1 only, so that across all shards
    /// each is reported exactly once.
    pub fn retain_shard(&mut self, shard: &Shard) {
        self.entries.retain(|e| match e {
            Entry::Domain(d) => shard.contains(&d.domain),
            Entry::Invalid(_) => shard.index == 1,
        });
    }

    /// Drops the entries an earlier report already has (see
    /// [`resume_set`]): valid domains by canonical name, invalid inputs by
    /// their text (which is what [`invalid_report`] puts in `domain`).
    /// Returns how many were dropped.
    pub fn skip_done(&mut self, done: &HashSet<String>) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| match e {
            Entry::Domain(d) => !done.contains(d.domain.as_str()),
            Entry::Invalid(bad) => !done.contains(&bad.text),
        });
        before - self.entries.len()
    }
}

/// Where the domain list comes from.
pub enum ListSource {
    /// A file.
    Path(PathBuf),
    /// An open reader (stdin), with the name to use in messages.
    Reader(Box<dyn BufRead>, String),
}

impl ListSource {
    /// `--file PATH`: `-` means stdin.
    pub fn from_arg(path: PathBuf) -> ListSource {
        if path.as_os_str() == "-" {
            ListSource::Reader(Box::new(io::stdin().lock()), "stdin".to_string())
        } else {
            ListSource::Path(path)
        }
    }
}

impl fmt::Debug for ListSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListSource::Path(p) => f.debug_tuple("Path").field(p).finish(),
            ListSource::Reader(_, name) => f.debug_tuple("Reader").field(name).finish(),
        }
    }
}

/// Why the inputs could not be read. Each message names the file (and the
/// line where there is one).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {source_name}: {error}")]
    Read {
        source_name: String,
        #[source]
        error: io::Error,
    },
    #[error("{source_name}:{line}: not UTF-8 text (save the list as UTF-8)")]
    NotUtf8 { source_name: String, line: usize },
    #[error(
        "{source_name} is larger than {} MiB; split it, e.g. with --shard",
        MAX_LIST_BYTES / (1024 * 1024)
    )]
    TooLarge { source_name: String },
    #[error("{source_name}:{line}: line longer than {limit} bytes; is this the right file?")]
    LineTooLong {
        source_name: String,
        line: usize,
        limit: usize,
    },
    /// The `--resume` report could not be read.
    #[error(transparent)]
    Report(#[from] ReadError),
    /// Invalid domain arguments, or invalid list lines with `--strict`;
    /// each as `ORIGIN: "text" is not a valid domain name: reason`.
    #[error("invalid DOMAIN input:\n  {}", .0.join("\n  "))]
    InvalidDomains(Vec<String>),
    #[error("no domain to audit: give DOMAIN arguments or --file PATH (see --help)")]
    NoDomain,
}

/// Reads the domains: `args` first (in order), then the list, if any.
///
/// Inputs that are not domain names do not make this fail; they are
/// returned as [`Entry::Invalid`] (for `--strict` to refuse, or for the
/// report via [`invalid_report`]). Duplicates are detected after
/// normalisation (IDN to A-labels, case, trailing dot): the first
/// occurrence is kept, the others are counted in [`Inputs::duplicates`].
pub fn read(args: &[String], list: Option<ListSource>) -> Result<Inputs, InputError> {
    let mut entries = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        entries.push(entry(arg.trim(), Origin::Argument(i + 1)));
    }
    match list {
        None => {}
        Some(ListSource::Path(path)) => {
            let name = path.display().to_string();
            let read_err = |error| InputError::Read {
                source_name: name.clone(),
                error,
            };
            let file = File::open(&path).map_err(read_err)?;
            let meta = file.metadata().map_err(read_err)?;
            if meta.is_file() && meta.len() > MAX_LIST_BYTES {
                return Err(InputError::TooLarge { source_name: name });
            }
            read_list(&mut BufReader::new(file), &name, &mut entries)?;
        }
        Some(ListSource::Reader(mut reader, name)) => {
            read_list(&mut reader, &name, &mut entries)?;
        }
    }
    Ok(dedup(entries))
}

fn entry(text: &str, origin: Origin) -> Entry {
    match text.parse::<DomainName>() {
        Ok(domain) => Entry::Domain(InputDomain { domain, origin }),
        Err(error) => Entry::Invalid(InvalidInput {
            origin,
            text: text.to_string(),
            error,
        }),
    }
}

fn read_list(
    reader: &mut dyn BufRead,
    name: &str,
    entries: &mut Vec<Entry>,
) -> Result<(), InputError> {
    let source: Arc<str> = Arc::from(name);
    let mut total: u64 = 0;
    let mut buf = Vec::new();
    for line_no in 1.. {
        let Some(raw) = next_line(reader, &mut buf, MAX_LINE_BYTES, name, line_no)? else {
            break;
        };
        total += raw as u64;
        if total > MAX_LIST_BYTES {
            return Err(InputError::TooLarge {
                source_name: name.to_string(),
            });
        }
        let text = std::str::from_utf8(&buf).map_err(|_| InputError::NotUtf8 {
            source_name: name.to_string(),
            line: line_no,
        })?;
        let text = if line_no == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let text = match text.find('#') {
            Some(i) => &text[..i],
            None => text,
        }
        .trim();
        if text.is_empty() {
            continue;
        }
        let origin = Origin::Line {
            source: source.clone(),
            line: line_no,
        };
        entries.push(entry(text, origin));
    }
    Ok(())
}

/// Reads one line into `buf`, without its `\n` or `\r\n`, reading at most
/// `limit + 2` bytes of it (a longer line is an error, not read further). Returns the number of bytes consumed (line end
/// included), or `None` at the end of input.
fn next_line(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
    name: &str,
    line_no: usize,
) -> Result<Option<usize>, InputError> {
    buf.clear();
    let n = reader
        .take(limit as u64 + 2) // the line, and `\r\n`
        .read_until(b'\n', buf)
        .map_err(|error| InputError::Read {
            source_name: name.to_string(),
            error,
        })?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    if buf.len() > limit {
        return Err(InputError::LineTooLong {
            source_name: name.to_string(),
            line: line_no,
            limit,
        });
    }
    Ok(Some(n))
}

/// Keeps the first occurrence of each canonical domain. Done after reading
/// so that the set borrows the names instead of copying them.
fn dedup(mut entries: Vec<Entry>) -> Inputs {
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(entries.len());
        entries
            .iter()
            .map(|e| match e {
                Entry::Domain(d) => seen.insert(d.domain.as_str()),
                Entry::Invalid(_) => true,
            })
            .collect()
    };
    let duplicates = keep.iter().filter(|k| !**k).count();
    let mut keep = keep.into_iter();
    entries.retain(|_| keep.next().unwrap_or(true));
    Inputs {
        entries,
        duplicates,
    }
}

/// `--shard K/N`: one of N stable parts of a domain list, so that N
/// machines given the same list audit each domain exactly once.
///
/// A domain belongs to shard K (1-based) iff `h mod N == K - 1`, where `h`
/// is the first 8 bytes, read as a big-endian unsigned 64-bit integer, of
/// the SHA-256 digest of the domain's canonical name (A-labels, lower case,
/// no trailing dot, as ASCII bytes). For `example.com`, `h` is
/// `0xa379a6f6eeafb9a5`. The function does not depend on the list's order
/// or on the machine, and will not change between versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, 1-based.
    pub index: u32,
    /// N, at least 1.
    pub count: u32,
}

impl Shard {
    /// Whether `domain` belongs to this shard.
    pub fn contains(&self, domain: &DomainName) -> bool {
        shard_hash(domain) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// The documented hash of [`Shard`]; do not change it.
fn shard_hash(domain: &DomainName) -> u64 {
    let digest = digest::digest(&digest::SHA256, domain.as_str().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// Why a `--shard` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("expected K/N (shard K of N, e.g. 1/4), got {0:?}")]
    Syntax(String),
    #[error("the number of shards must be at least 1, got {0:?}")]
    NoShards(String),
    #[error(
        "the shard must be between 1 and the number of shards (shards are numbered from 1), got {0:?}"
    )]
    OutOfRange(String),
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(syntax)?;
        let number = |t: &str| {
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                t.parse::<u32>().map_err(|_| syntax())
            } else {
                Err(syntax())
            }
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 {
            return Err(ShardError::NoShards(s.to_string()));
        }
        if index == 0 || index > count {
            return Err(ShardError::OutOfRange(s.to_string()));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--resume FILE`: the `domain` of every row of an earlier NDJSON report
/// (one JSON object per line), i.e. the domains not to audit again.
///
/// Rows of domains the earlier run did not finish (error phase `run`:
/// deadline, interrupt) or that failed for a reason that may be gone now
/// (a transient error kind: `dns-timeout`, `dns-servfail`,
/// `resolver-unusable`) are left out, so they are audited again. Only the
/// `domain` (and `error.phase`) of a row is read, so rows of any version
/// count. Blank lines are skipped, and so is a final line without a line
/// end that does not parse (the earlier run was killed while writing it).
/// Any other line that is not a JSON object with a string `domain`, or is
/// longer than [`read::MAX_ROW_BYTES`], is an error naming it.
pub fn resume_set(path: &Path) -> Result<HashSet<String>, InputError> {
    let mut done = HashSet::new();
    for head in read::open::<RowHead>(path)?.truncated_end_ok() {
        let head = head?;
        if !head.needs_audit() {
            done.insert(head.domain);
        }
    }
    Ok(done)
}

/// What a run is asked to audit: the command line's domain flags.
#[derive(Debug, Default)]
pub struct Request<'a> {
    /// The DOMAIN arguments.
    pub domains: &'a [String],
    /// `--file`.
    pub list: Option<ListSource>,
    /// `--strict`: an invalid list line stops the run too.
    pub strict: bool,
    /// `--shard K/N`.
    pub shard: Option<Shard>,
    /// `--resume FILE`.
    pub resume: Option<&'a Path>,
}

/// The inputs a run audits, in input order, and what to tell the user
/// about them (each a sentence for stderr, without the program name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Valid domains, and the invalid list lines that are reported as
    /// rows in their place ([`invalid_report`]).
    pub entries: Vec<Entry>,
    pub notices: Vec<String>,
}

/// The list a run audits, decided before any network work: the inputs
/// ([`read()`]), then this shard's part of them, minus what the `--resume`
/// report already has.
///
/// An invalid DOMAIN argument always stops the run, an invalid list line
/// only with `strict` (otherwise it becomes an error row). Nothing left to
/// audit is an error unless a shard or the resume emptied the list (a
/// finished fleet run is not a usage error).
pub fn select(request: Request<'_>) -> Result<Selection, InputError> {
    let mut inputs = read(request.domains, request.list)?;
    let fatal: Vec<String> = inputs
        .invalid()
        .filter(|bad| request.strict || matches!(bad.origin, Origin::Argument(_)))
        .map(ToString::to_string)
        .collect();
    if !fatal.is_empty() {
        return Err(InputError::InvalidDomains(fatal));
    }
    if let Some(shard) = &request.shard {
        inputs.retain_shard(shard);
    }
    let mut notices = Vec::new();
    if let Some(path) = request.resume {
        let done = resume_set(path)?;
        let skipped = inputs.skip_done(&done);
        notices.push(format!(
            "--resume: {skipped} domain(s) already in {}",
            path.display()
        ));
    }
    if inputs.duplicates > 0 {
        notices.push(format!(
            "{} duplicate domain(s) audited once",
            inputs.duplicates
        ));
    }
    if inputs.entries.is_empty() && request.shard.is_none() && request.resume.is_none() {
        return Err(InputError::NoDomain);
    }
    Ok(Selection {
        entries: inputs.entries,
        notices,
    })
}

/// The report row of an invalid input, so that it shows in the report in
/// its place instead of vanishing: verdict `error`, error phase `input`,
/// kind `invalid-domain`. `domain` is the text as given.
pub fn invalid_report(bad: &InvalidInput) -> DomainReport {
    DomainReport::failed(
        &bad.text,
        Failure {
            phase: ErrorPhase::Input,
            kind: ErrorKind::InvalidDomain,
            message: bad.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn stdin(text: &str) -> Option<ListSource> {
        Some(ListSource::Reader(
            Box::new(Cursor::new(text.as_bytes().to_vec())),
            "stdin".to_string(),
        ))
    }

    fn names(inputs: &Inputs) -> Vec<&str> {
        inputs.domains().map(|d| d.domain.as_str()).collect()
    }

    fn line(origin: &Origin) -> usize {
        match origin {
            Origin::Line { line, .. } => *line,
            Origin::Argument(_) => panic!("not a line: {origin}"),
        }
    }

    fn domain(s: &str) -> DomainName {
        s.parse().unwrap()
    }

    #[test]
    fn comments_blank_lines_whitespace_and_crlf() {
        let list = "# fleet\r\n\
                    \r\n\
                    example.com\r\n\
                    \t  example.org  # trailing comment\n\
                    \n\
                    \x20  \t\n\
                    #example.net\n\
                    mail.example.co.uk";
        let inputs = read(&[], stdin(list)).unwrap();
        assert_eq!(
            names(&inputs),
            ["example.com", "example.org", "mail.example.co.uk"]
        );
        let lines: Vec<usize> = inputs.domains().map(|d| line(&d.origin)).collect();
        assert_eq!(lines, [3, 4, 8]);
        assert_eq!(inputs.invalid().count(), 0);
        assert_eq!(inputs.duplicates, 0);
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let inputs = read(&[], stdin("\u{feff}example.com\n")).unwrap();
        assert_eq!(names(&inputs), ["example.com"]);
    }

    #[test]
    fn duplicates_after_normalisation_keep_the_first() {
        let list = "bücher.example\n\
                    Example.COM\n\
                    xn--bcher-kva.example\n\
                    example.com.\n\
                    BÜCHER.example.\n\
                    example.net\n";
        let inputs = read(&[], stdin(list)).unwrap();
        assert_eq!(
            names(&inputs),
            ["xn--bcher-kva.example", "example.com", "example.net"]
        );
        let lines: Vec<usize> = inputs.domains().map(|d| line(&d.origin)).collect();
        assert_eq!(lines, [1, 2, 6]);
        assert_eq!(inputs.duplicates, 3);
    }

    #[test]
    fn invalid_lines_are_kept_in_place_with_their_line_numbers() {
        let list = "example.com\n\
                    # comment\n\
                    not a domain\n\
                    \n\
                    192.0.2.1 # an address\n\
                    example.org\n\
                    localhost\n";
        let inputs = read(&[], stdin(list)).unwrap();
        let bad: Vec<(usize, &str)> = inputs
            .invalid()
            .map(|b| (line(&b.origin), b.text.as_str()))
            .collect();
        assert_eq!(
            bad,
            [(3, "not a domain"), (5, "192.0.2.1"), (7, "localhost")]
        );
        // In input order, between the valid ones.
        let kinds: Vec<bool> = inputs
            .entries
            .iter()
            .map(|e| matches!(e, Entry::Domain(_)))
            .collect();
        assert_eq!(kinds, [true, false, false, true, false]);
        let first = inputs.invalid().next().unwrap();
        assert_eq!(
            first.to_string(),
            "stdin:3: \"not a domain\" is not a valid domain name: \
             contains white space or control characters"
        );
    }

    #[test]
    fn arguments_come_first_then_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("domains.txt");
        std::fs::write(&path, "example.org\nEXAMPLE.NET\nexample.com\n").unwrap();
        let args = vec!["example.com".to_string(), "bad..name".to_string()];
        let inputs = read(&args, Some(ListSource::Path(path.clone()))).unwrap();
        assert_eq!(
            names(&inputs),
            ["example.com", "example.org", "example.net"]
        );
        assert_eq!(inputs.duplicates, 1);
        let origins: Vec<String> = inputs.domains().map(|d| d.origin.to_string()).collect();
        let file = path.display().to_string();
        assert_eq!(
            origins,
            [
                "argument 1".to_string(),
                format!("{file}:1"),
                format!("{file}:2")
            ]
        );
        let bad = inputs.invalid().next().unwrap();
        assert_eq!(bad.origin, Origin::Argument(2));
        assert!(
            bad.to_string().starts_with("argument 2: \"bad..name\""),
            "{bad}"
        );
    }

    #[test]
    fn arguments_alone_and_nothing_at_all() {
        let inputs = read(&["Example.com".to_string()], None).unwrap();
        assert_eq!(names(&inputs), ["example.com"]);
        assert_eq!(read(&[], None).unwrap(), Inputs::default());
        assert_eq!(read(&[], stdin("")).unwrap(), Inputs::default());
    }

    #[test]
    fn non_utf8_line_is_an_error_with_its_number() {
        let bytes = b"example.com\nexample.org\nbad\xffname.com\n".to_vec();
        let source = ListSource::Reader(Box::new(Cursor::new(bytes)), "stdin".to_string());
        let err = read(&[], Some(source)).unwrap_err();
        assert!(
            matches!(&err, InputError::NotUtf8 { line: 3, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "stdin:3: not UTF-8 text (save the list as UTF-8)"
        );
    }

    #[test]
    fn overlong_line_is_an_error() {
        let ok = format!("example.com  {}\n", " ".repeat(MAX_LINE_BYTES - 13));
        assert_eq!(ok.len(), MAX_LINE_BYTES + 1);
        assert_eq!(names(&read(&[], stdin(&ok)).unwrap()), ["example.com"]);
        let crlf = format!("{}\r\n", &ok[..ok.len() - 1]);
        assert_eq!(names(&read(&[], stdin(&crlf)).unwrap()), ["example.com"]);

        let long = format!("example.com\n{}\n", "a".repeat(MAX_LINE_BYTES + 1));
        let err = read(&[], stdin(&long)).unwrap_err();
        assert!(
            matches!(&err, InputError::LineTooLong { line: 2, .. }),
            "{err:?}"
        );
        let no_newline = "x".repeat(100 * MAX_LINE_BYTES);
        assert!(matches!(
            read(&[], stdin(&no_newline)),
            Err(InputError::LineTooLong { line: 1, .. })
        ));
    }

    /// An endless list of (long) comment lines.
    struct Endless {
        line: Vec<u8>,
        pos: usize,
    }

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.fill_buf()?.read(out)?;
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for Endless {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(&self.line[self.pos..])
        }
        fn consume(&mut self, n: usize) {
            self.pos = (self.pos + n) % self.line.len();
        }
    }

    #[test]
    fn oversized_list_is_an_error() {
        let mut line = vec![b'#'; MAX_LINE_BYTES];
        line.push(b'\n');
        let endless = Endless { line, pos: 0 };
        let source = ListSource::Reader(Box::new(endless), "stdin".to_string());
        let err = read(&[], Some(source)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stdin is larger than 64 MiB; split it, e.g. with --shard"
        );
        // A file is refused by its size, before reading.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.txt");
        File::create(&path)
            .unwrap()
            .set_len(MAX_LIST_BYTES + 1)
            .unwrap();
        let err = read(&[], Some(ListSource::Path(path))).unwrap_err();
        assert!(matches!(err, InputError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let err = read(&[], Some(ListSource::Path("/nonexistent/list.txt".into()))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/list.txt: "),
            "{err}"
        );
    }

    #[test]
    fn invalid_report_row() {
        let inputs = read(&[], stdin("example.com\nexa mple.com\n")).unwrap();
        let bad = inputs.invalid().next().unwrap();
        let row = invalid_report(bad);
        assert_eq!(row.domain, "exa mple.com");
        assert_eq!(row.verdict, crate::vocabulary::Verdict::Error);
        let error = row.error.as_ref().unwrap();
        assert_eq!(error.phase, ErrorPhase::Input);
        assert_eq!(error.kind, ErrorKind::InvalidDomain);
        assert_eq!(
            error.message,
            "stdin:2: \"exa mple.com\" is not a valid domain name: \
             contains white space or control characters"
        );
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["error"]["phase"], "input");
        assert_eq!(json["verdict"], "error");
    }

    fn generated() -> Vec<DomainName> {
        (0..500)
            .map(|i| domain(&format!("host{i}.example{}.com", i % 7)))
            .collect()
    }

    #[test]
    fn every_domain_is_in_exactly_one_shard() {
        let domains = generated();
        for count in 1..=5u32 {
            let shards: Vec<Shard> = (1..=count).map(|index| Shard { index, count }).collect();
            let mut sizes = vec![0usize; count as usize];
            for d in &domains {
                let owners: Vec<usize> = (0..shards.len())
                    .filter(|&i| shards[i].contains(d))
                    .collect();
                assert_eq!(owners.len(), 1, "{d} in shards {owners:?} of {count}");
                sizes[owners[0]] += 1;
            }
            // Roughly even: no shard empty or with more than twice its share.
            let share = domains.len() / count as usize;
            assert!(
                sizes.iter().all(|&s| s > 0 && s < 2 * share),
                "{count}: {sizes:?}"
            );
        }
    }

    #[test]
    fn shard_function_is_pinned() {
        // Changing any of this breaks users who split lists across
        // machines: mixed versions would skip or repeat domains.
        // `printf %s NAME | sha256sum`, first 16 hex digits:
        let pinned = [
            ("example.com", 0xa379a6f6eeafb9a5, [2, 5, 310]),
            ("example.org", 0xbfabc37432958b06, [1, 3, 863]),
            ("bücher.example", 0x970ca6b73eaf2630, [2, 1, 161]),
        ];
        for (name, hash, shards) in pinned {
            let d = domain(name);
            assert_eq!(shard_hash(&d), hash, "{name}");
            for (count, want) in [3, 5, 1000].into_iter().zip(shards) {
                let got: Vec<u32> = (1..=count)
                    .filter(|&index| Shard { index, count }.contains(&d))
                    .collect();
                assert_eq!(got, [want], "{name} in shard ?/{count}");
            }
        }
    }

    #[test]
    fn shard_parsing() {
        assert_eq!("1/1".parse(), Ok(Shard { index: 1, count: 1 }));
        assert_eq!("3/3".parse(), Ok(Shard { index: 3, count: 3 }));
        assert_eq!("2/16".parse::<Shard>().unwrap().to_string(), "2/16");
        for (bad, want) in [
            ("0/3", ShardError::OutOfRange("0/3".into())),
            ("4/3", ShardError::OutOfRange("4/3".into())),
            ("1/0", ShardError::NoShards("1/0".into())),
            ("3", ShardError::Syntax("3".into())),
            ("a/b", ShardError::Syntax("a/b".into())),
            ("1/", ShardError::Syntax("1/".into())),
            ("+1/2", ShardError::Syntax("+1/2".into())),
            (" 1/2", ShardError::Syntax(" 1/2".into())),
            ("1/2/3", ShardError::Syntax("1/2/3".into())),
            ("1/99999999999", ShardError::Syntax("1/99999999999".into())),
        ] {
            assert_eq!(bad.parse::<Shard>(), Err(want), "{bad}");
        }
        assert_eq!(
            "4/3".parse::<Shard>().unwrap_err().to_string(),
            "the shard must be between 1 and the number of shards \
             (shards are numbered from 1), got \"4/3\""
        );
    }

    #[test]
    fn retain_shard_and_skip_done() {
        let list: String = generated()
            .iter()
            .map(|d| format!("{d}\nbad_{d}\n"))
            .collect();
        let all = read(&[], stdin(&list)).unwrap();
        let mut total = 0;
        for index in 1..=3 {
            let mut part = all.clone();
            part.retain_shard(&Shard { index, count: 3 });
            assert_eq!(part.invalid().count(), if index == 1 { 500 } else { 0 });
            total += part.domains().count();
        }
        assert_eq!(total, 500);

        let mut rest = read(&[], stdin("example.com\nexample.org\nbad name\n")).unwrap();
        let done: HashSet<String> = ["example.com", "bad name"].map(String::from).into();
        assert_eq!(rest.skip_done(&done), 2);
        assert_eq!(names(&rest), ["example.org"]);
        assert_eq!(rest.invalid().count(), 0);
    }

    fn resume_file(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("earlier.ndjson");
        File::create(&path).unwrap().write_all(content).unwrap();
        (dir, path)
    }

    fn sorted(set: HashSet<String>) -> Vec<String> {
        let mut v: Vec<String> = set.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn resume_reads_domains() {
        let (_dir, path) = resume_file(
            b"{\"domain\":\"example.com\",\"verdict\":\"secure\",\"error\":null}\n\
              \n\
              {\"domain\":\"example.org\",\"verdict\":\"error\",\"error\":{\"phase\":\"dns\",\"kind\":\"nxdomain\"}}\r\n\
              {\"domain\":\"example.net\",\"verdict\":\"error\",\"error\":{\"phase\":\"run\",\"kind\":\"deadline\"}}\n\
              \x20 \n",
        );
        assert_eq!(
            sorted(resume_set(&path).unwrap()),
            ["example.com", "example.org"]
        );
    }

    #[test]
    fn resume_tolerates_a_truncated_last_line() {
        let (_dir, path) = resume_file(
            b"{\"domain\":\"example.com\",\"verdict\":\"secure\"}\n\
              {\"domain\":\"example.org\",\"verd",
        );
        assert_eq!(sorted(resume_set(&path).unwrap()), ["example.com"]);
        // A complete last line without line end counts.
        let (_dir, path) = resume_file(b"{\"domain\":\"example.com\"}");
        assert_eq!(sorted(resume_set(&path).unwrap()), ["example.com"]);
        let (_dir, path) = resume_file(b"");
        assert!(resume_set(&path).unwrap().is_empty());
    }

    #[test]
    fn resume_rejects_a_bad_line_in_the_middle() {
        let (_dir, path) = resume_file(
            b"{\"domain\":\"example.com\"}\n\
              \n\
              {\"domain\":\"example.org\",\"verd\n\
              {\"domain\":\"example.net\"}\n",
        );
        let err = resume_set(&path).unwrap_err();
        assert!(
            matches!(&err, InputError::Report(ReadError::BadLine { line: 3, .. })),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "{}:3: not a line of an NDJSON report",
                path.display()
            )),
            "{msg}"
        );
        // Valid JSON, but not a report row (e.g. the whole-run JSON report).
        let (_dir, path) = resume_file(b"{\"schema_version\":1,\"domains\":[]}\n");
        assert!(matches!(
            resume_set(&path),
            Err(InputError::Report(ReadError::BadLine {
                line: 1,
                problem: read::LineProblem::WholeReport,
                ..
            }))
        ));
        let (_dir, path) = resume_file(b"{\"verdict\":\"secure\"}\n");
        assert!(matches!(
            resume_set(&path),
            Err(InputError::Report(ReadError::BadLine {
                line: 1,
                problem: read::LineProblem::NotARow(_),
                ..
            }))
        ));
        // A truncated line that is not the last one is corruption too.
        let (_dir, path) = resume_file(b"{\"domain\":\"exa\n\n");
        assert!(matches!(
            resume_set(&path),
            Err(InputError::Report(ReadError::BadLine { line: 1, .. }))
        ));
    }

    #[test]
    fn resume_missing_file_is_an_error() {
        let err = resume_set(Path::new("/nonexistent/earlier.ndjson")).unwrap_err();
        assert!(
            matches!(err, InputError::Report(ReadError::Io { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/earlier.ndjson: "),
            "{err}"
        );
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn selected(selection: &Selection) -> Vec<String> {
        selection
            .entries
            .iter()
            .map(|e| match e {
                Entry::Domain(d) => d.domain.to_string(),
                Entry::Invalid(bad) => format!("invalid {}", bad.text),
            })
            .collect()
    }

    #[test]
    fn select_refuses_bad_arguments_always_and_bad_lines_with_strict() {
        let args = strings(&["example.com", "bad..name", "exa mple.com"]);
        let err = select(Request {
            domains: &args,
            ..Request::default()
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid DOMAIN input:\n  \
             argument 2: \"bad..name\" is not a valid domain name: \
             has an empty label (two dots in a row?)\n  \
             argument 3: \"exa mple.com\" is not a valid domain name: \
             contains white space or control characters"
        );

        let args = strings(&["example.com"]);
        let lenient = select(Request {
            domains: &args,
            list: stdin("example.org\nbad name\n"),
            ..Request::default()
        })
        .unwrap();
        assert_eq!(
            selected(&lenient),
            ["example.com", "example.org", "invalid bad name"]
        );
        assert!(lenient.notices.is_empty());
        let err = select(Request {
            domains: &args,
            list: stdin("example.org\nbad name\n"),
            strict: true,
            ..Request::default()
        })
        .unwrap_err();
        assert!(
            matches!(&err, InputError::InvalidDomains(bad) if bad.len() == 1 && bad[0].starts_with("stdin:2: ")),
            "{err:?}"
        );
    }

    #[test]
    fn select_needs_a_domain_unless_a_shard_or_resume_left_none() {
        let err = select(Request::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no domain to audit: give DOMAIN arguments or --file PATH (see --help)"
        );
        let err = select(Request {
            list: stdin("# only a comment\n"),
            ..Request::default()
        })
        .unwrap_err();
        assert!(matches!(err, InputError::NoDomain), "{err:?}");
        // example.com is in shard 2 of 3 (pinned above): shard 1 is empty.
        let args = strings(&["example.com"]);
        let empty = select(Request {
            domains: &args,
            shard: Some(Shard { index: 1, count: 3 }),
            ..Request::default()
        })
        .unwrap();
        assert!(empty.entries.is_empty());
        let mine = select(Request {
            domains: &args,
            shard: Some(Shard { index: 2, count: 3 }),
            ..Request::default()
        })
        .unwrap();
        assert_eq!(selected(&mine), ["example.com"]);
    }

    #[test]
    fn select_resumes_and_says_what_it_skipped() {
        let (_dir, path) = resume_file(
            b"{\"domain\":\"example.com\"}\n\
              {\"domain\":\"example.net\",\"error\":{\"phase\":\"run\"}}\n",
        );
        let args = strings(&["example.com", "example.net", "EXAMPLE.com", "example.org"]);
        let rest = select(Request {
            domains: &args,
            resume: Some(&path),
            ..Request::default()
        })
        .unwrap();
        assert_eq!(selected(&rest), ["example.net", "example.org"]);
        assert_eq!(
            rest.notices,
            [
                format!("--resume: 1 domain(s) already in {}", path.display()),
                "1 duplicate domain(s) audited once".to_string(),
            ]
        );
        // Everything done: an empty run, not an error.
        let args = strings(&["example.com"]);
        let none = select(Request {
            domains: &args,
            resume: Some(&path),
            ..Request::default()
        })
        .unwrap();
        assert!(none.entries.is_empty());
        // An unreadable report stops the run before any network work.
        let err = select(Request {
            domains: &args,
            resume: Some(Path::new("/nonexistent/earlier.ndjson")),
            ..Request::default()
        })
        .unwrap_err();
        assert!(matches!(err, InputError::Report(ReadError::Io { .. })));
    }

    #[test]
    fn resume_refuses_an_over_long_line() {
        let mut text = b"{\"domain\":\"example.com\"}\n".to_vec();
        text.extend(std::iter::repeat_n(b' ', read::MAX_ROW_BYTES + 1));
        text.extend_from_slice(b"\n");
        let (_dir, path) = resume_file(&text);
        let err = resume_set(&path).unwrap_err();
        assert!(
            matches!(
                err,
                InputError::Report(ReadError::LineTooLong { line: 2, .. })
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{}:2: line longer than 4 MiB", path.display())),
            "{err}"
        );
    }
}
