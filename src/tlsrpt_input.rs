//! The inputs of `smtptls tlsrpt`: each PATH (or `-`, stdin) read with
//! bounds and recognised by its content, never by its name alone — a
//! report (JSON, or gzip of it: RFC 8460 §5.1/§5.3), an email message
//! carrying one (`application/tlsrpt+gzip` / `+json`, any transfer
//! encoding, via `mail-parser`), an mbox of such messages, a Maildir
//! folder of them, or a plain folder of any of these (read file by file,
//! recursively, in sorted path order). Every report found goes to the
//! [`Aggregator`]; every problem becomes an [`InputProblem`] naming the
//! part, and the rest of the input is still read.
//!
//! Limits: a file is read up to [`MAX_FILE_BYTES`], a report up to
//! [`MAX_REPORT_BYTES`] once decompressed (the gzip stream is cut there:
//! a gzip bomb is an error for its file, never an allocation), a Maildir
//! up to [`MAX_MAILDIR_MESSAGES`], a plain folder up to
//! [`MAX_FOLDER_FILES`] files [`MAX_FOLDER_DEPTH`] folders deep, and a
//! message's nesting to [`MAX_NESTING`].

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, MimeHeaders};

use crate::protection::tls_rpt_report::{self, Added, Aggregator, ParsedReport, ReportError};
use crate::report::tlsrpt::{InputErrorKind, InputProblem, InputReport};

/// A file (an mbox, a message, a report) is read up to this size.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// One report's JSON, decompressed, at most.
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;
/// Messages read from one Maildir, at most.
pub const MAX_MAILDIR_MESSAGES: usize = 100_000;
/// Files read from one plain folder (all its subfolders together), at
/// most: as many as from a Maildir.
pub const MAX_FOLDER_FILES: usize = MAX_MAILDIR_MESSAGES;
/// Subfolders of a plain folder followed this deep (a bound of its own,
/// besides the file count, so that a deep chain of empty folders is not
/// walked without end).
pub const MAX_FOLDER_DEPTH: usize = 16;
/// Messages inside messages (forwards) followed this deep.
pub const MAX_NESTING: usize = 3;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why part of an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("decompresses to more than {limit} bytes")]
    DecompressedTooLarge { limit: u64 },
    #[error("not valid gzip: {0}")]
    BadGzip(String),
    #[error(
        "not a TLS-RPT report, an email message, an mbox or a Maildir (it does not start like any)"
    )]
    NotRecognised,
    #[error("more than {limit} files in the folder; the first {limit} in path order were read")]
    TooManyFiles { limit: usize },
    #[error("folders deeper than {limit} levels were not read")]
    TooDeep { limit: usize },
    #[error("no TLS-RPT report in this message (no application/tlsrpt+gzip or +json part)")]
    NoReport,
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl InputError {
    /// The stable id of the problem.
    pub fn kind(&self) -> InputErrorKind {
        match self {
            InputError::Io(_) => InputErrorKind::Unreadable,
            InputError::TooLarge { .. }
            | InputError::TooManyFiles { .. }
            | InputError::TooDeep { .. } => InputErrorKind::TooLarge,
            InputError::DecompressedTooLarge { .. } => InputErrorKind::DecompressedTooLarge,
            InputError::BadGzip(_) => InputErrorKind::BadGzip,
            InputError::NotRecognised => InputErrorKind::NotRecognised,
            InputError::NoReport => InputErrorKind::NoReport,
            InputError::Report(_) => InputErrorKind::MalformedReport,
        }
    }
}

/// What a PATH argument turned out to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Gzip,
    Json,
    Mbox,
    Message,
}

/// Reads every PATH (`-`: stdin) into `aggregator`; one [`InputReport`]
/// per PATH, in order.
pub fn collect(paths: &[String], aggregator: &mut Aggregator) -> Vec<InputReport> {
    paths
        .iter()
        .map(|path| {
            let mut reader = Collector {
                aggregator: &mut *aggregator,
                report: InputReport {
                    source: path.clone(),
                    reports: 0,
                    duplicates: 0,
                    skipped: 0,
                    errors: Vec::new(),
                },
            };
            reader.path(path);
            reader.report
        })
        .collect()
}

/// The reports in `bytes` read as one PATH's content (a report, gzip,
/// a message or an mbox, recognised as [`collect`] does), added to
/// `aggregator`; `source` names it in the result. For the fuzz target,
/// which feeds this exactly the path a file takes.
pub fn collect_bytes(source: &str, bytes: &[u8], aggregator: &mut Aggregator) -> InputReport {
    let mut reader = Collector {
        aggregator,
        report: InputReport {
            source: source.to_string(),
            reports: 0,
            duplicates: 0,
            skipped: 0,
            errors: Vec::new(),
        },
    };
    reader.bytes(bytes, None);
    reader.report
}

struct Collector<'a> {
    aggregator: &'a mut Aggregator,
    report: InputReport,
}

impl Collector<'_> {
    fn problem(&mut self, part: Option<String>, error: InputError) {
        self.report.errors.push(InputProblem {
            part,
            kind: error.kind(),
            message: error.to_string(),
        });
    }

    fn path(&mut self, path: &str) {
        if path == "-" {
            match read_bounded(std::io::stdin().lock(), MAX_FILE_BYTES) {
                Ok(bytes) => self.bytes(&bytes, None),
                Err(e) => self.problem(None, e),
            }
            return;
        }
        let p = Path::new(path);
        if p.is_dir() {
            if ["new", "cur"].iter().any(|s| p.join(s).is_dir()) {
                self.maildir(p);
            } else {
                self.folder(p);
            }
            return;
        }
        match std::fs::File::open(p)
            .map_err(InputError::from)
            .and_then(|f| read_bounded(f, MAX_FILE_BYTES))
        {
            Ok(bytes) => self.bytes(&bytes, None),
            Err(e) => self.problem(None, e),
        }
    }

    /// A whole file or stdin, recognised by its content.
    fn bytes(&mut self, bytes: &[u8], part: Option<String>) {
        match sniff(bytes) {
            Some(Content::Gzip) | Some(Content::Json) => {
                let result = decode_report(bytes);
                self.add(result, part);
            }
            Some(Content::Mbox) => self.mbox(bytes, part.as_deref()),
            Some(Content::Message) => self.message(bytes, part, true),
            None => self.problem(part, InputError::NotRecognised),
        }
    }

    /// A plain folder: every file in it and its subfolders, in sorted path
    /// order, each read as a PATH is, and named by its path inside the
    /// folder. A message without a report is skipped, as in a Maildir (a
    /// folder of saved mail holds other mail too); anything else that is
    /// not a report is a problem of its file.
    fn folder(&mut self, dir: &Path) {
        let listing = list_folder(dir, MAX_FOLDER_FILES, MAX_FOLDER_DEPTH);
        for (name, error) in listing.problems {
            self.problem(name, error);
        }
        for (name, path) in listing.files {
            match std::fs::File::open(&path)
                .map_err(InputError::from)
                .and_then(|f| read_bounded(f, MAX_FILE_BYTES))
            {
                Ok(bytes) if sniff(&bytes) == Some(Content::Message) => {
                    self.message(&bytes, Some(name), false)
                }
                Ok(bytes) => self.bytes(&bytes, Some(name)),
                Err(e) => self.problem(Some(name), e),
            }
        }
    }

    fn add(&mut self, result: Result<ParsedReport, InputError>, part: Option<String>) {
        match result {
            Ok(parsed) => match self.aggregator.add(&parsed) {
                Added::Counted => self.report.reports += 1,
                Added::Duplicate => self.report.duplicates += 1,
            },
            Err(e) => self.problem(part, e),
        }
    }

    /// An mbox; `file` names it inside a folder.
    fn mbox(&mut self, bytes: &[u8], file: Option<&str>) {
        let messages = mail_parser::mailbox::mbox::MessageIterator::new(BufReader::new(bytes));
        for (n, message) in messages.enumerate() {
            let part = Some(match file {
                Some(f) => format!("{f}, message {}", n + 1),
                None => format!("message {}", n + 1),
            });
            match message {
                Ok(m) => self.message(m.contents(), part, false),
                Err(e) => {
                    self.problem(part, InputError::Io(e));
                    break;
                }
            }
        }
    }

    fn maildir(&mut self, dir: &Path) {
        let subdirs = ["new", "cur"];
        let mut files = Vec::new();
        for sub in subdirs {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                // Maildir files starting with a dot are not messages.
                if !name.starts_with('.') && entry.path().is_file() {
                    files.push((format!("{sub}/{name}"), entry.path()));
                }
            }
        }
        files.sort();
        if files.len() > MAX_MAILDIR_MESSAGES {
            self.problem(
                None,
                InputError::TooLarge {
                    limit: MAX_MAILDIR_MESSAGES as u64,
                },
            );
            files.truncate(MAX_MAILDIR_MESSAGES);
        }
        for (name, path) in files {
            match std::fs::File::open(&path)
                .map_err(InputError::from)
                .and_then(|f| read_bounded(f, MAX_FILE_BYTES))
            {
                Ok(bytes) => self.message(&bytes, Some(name), false),
                Err(e) => self.problem(Some(name), e),
            }
        }
    }

    /// One RFC 5322 message: every report in it. In a mailbox (`required`
    /// false) a message without one is someone's mail, skipped; a message
    /// given as a PATH must carry one.
    fn message(&mut self, bytes: &[u8], part: Option<String>, required: bool) {
        let mut found = Vec::new();
        match MessageParser::default().parse(bytes) {
            Some(message) => reports_in(&message, 0, &mut found),
            None => {
                self.problem(part, InputError::NotRecognised);
                return;
            }
        }
        if found.is_empty() {
            if required {
                self.problem(part, InputError::NoReport);
            } else {
                self.report.skipped += 1;
            }
            return;
        }
        for (name, result) in found {
            let where_ = match (&part, name) {
                (Some(p), Some(n)) => Some(format!("{p}, {n}")),
                (Some(p), None) => Some(p.clone()),
                (None, n) => n,
            };
            self.add(result, where_);
        }
    }
}

/// The files of a plain folder, and what could not be listed.
#[derive(Debug, Default)]
struct FolderListing {
    /// Path inside the folder (`/`-separated) and full path, sorted by
    /// path, at most the limit.
    files: Vec<(String, PathBuf)>,
    /// A subfolder that could not be read (named), the count or the
    /// depth limit reached (unnamed: the folder as a whole).
    problems: Vec<(Option<String>, InputError)>,
}

/// Lists `dir` depth first, each folder's entries in name order, so the
/// files come in sorted path order (component by component, as `Path`
/// sorts) and the walk can stop at `limit` files without having listed
/// the rest. Names starting with a dot are skipped (`.git`, editor and
/// Maildir leftovers, as in a Maildir), and so are links to folders: a
/// link can close a loop.
fn list_folder(dir: &Path, limit: usize, max_depth: usize) -> FolderListing {
    /// One open folder: its path inside `dir`, its depth and the entries
    /// not yet seen.
    struct Level {
        prefix: String,
        depth: usize,
        entries: std::vec::IntoIter<(String, PathBuf)>,
    }
    fn sorted_entries(path: &Path) -> std::io::Result<std::vec::IntoIter<(String, PathBuf)>> {
        let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(path)?
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(name, _)| !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names.into_iter())
    }

    let mut listing = FolderListing::default();
    let mut too_deep = false;
    let mut stack = match sorted_entries(dir) {
        Ok(entries) => vec![Level {
            prefix: String::new(),
            depth: 0,
            entries,
        }],
        Err(e) => {
            listing.problems.push((None, InputError::Io(e)));
            return listing;
        }
    };
    while let Some(level) = stack.last_mut() {
        let Some((name, full)) = level.entries.next() else {
            stack.pop();
            continue;
        };
        let inside = if level.prefix.is_empty() {
            name
        } else {
            format!("{}/{name}", level.prefix)
        };
        let depth = level.depth + 1;
        let is_link = full.symlink_metadata().is_ok_and(|m| m.is_symlink());
        if full.is_dir() {
            if is_link {
                continue;
            }
            if depth > max_depth {
                too_deep = true;
                continue;
            }
            match sorted_entries(&full) {
                Ok(entries) => stack.push(Level {
                    prefix: inside,
                    depth,
                    entries,
                }),
                Err(e) => listing.problems.push((Some(inside), InputError::Io(e))),
            }
        } else if full.is_file() {
            if listing.files.len() == limit {
                listing
                    .problems
                    .push((None, InputError::TooManyFiles { limit }));
                return listing;
            }
            listing.files.push((inside, full));
        }
    }
    if too_deep {
        listing
            .problems
            .push((None, InputError::TooDeep { limit: max_depth }));
    }
    listing
}

/// The reports in a parsed message: each `application/tlsrpt+*` part, and
/// any other application part whose content is a report (some senders
/// label them `application/gzip` or `application/octet-stream`); other
/// parts are skipped.
fn reports_in(
    message: &mail_parser::Message<'_>,
    depth: usize,
    found: &mut Vec<(Option<String>, Result<ParsedReport, InputError>)>,
) {
    for part in &message.parts {
        if let Some(inner) = part.message() {
            if depth < MAX_NESTING {
                reports_in(inner, depth + 1, found);
            }
            continue;
        }
        let Some(ct) = part.content_type() else {
            continue;
        };
        if !ct.ctype().eq_ignore_ascii_case("application") {
            continue;
        }
        let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
        let name = part
            .attachment_name()
            .map(|n| n.chars().take(200).collect::<String>())
            .or_else(|| Some(format!("application/{subtype}")));
        let labelled = subtype == "tlsrpt+gzip" || subtype == "tlsrpt+json";
        let body = part.contents();
        let result = decode_report(body);
        // An unlabelled part that is not a report is some other
        // attachment, not a problem.
        if labelled || result.is_ok() {
            found.push((name, result));
        }
    }
}

/// What `bytes` start like.
fn sniff(bytes: &[u8]) -> Option<Content> {
    if bytes.starts_with(&GZIP_MAGIC) {
        return Some(Content::Gzip);
    }
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let first = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[first..];
    if text.starts_with(b"{") {
        return Some(Content::Json);
    }
    if text.starts_with(b"From ") {
        return Some(Content::Mbox);
    }
    // A header field: a name of printable characters up to a colon.
    let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
    let line = &text[..line_end];
    let colon = line.iter().position(|&b| b == b':')?;
    (colon > 0 && line[..colon].iter().all(|&b| b.is_ascii_graphic())).then_some(Content::Message)
}

/// A report from its bytes: gzip (decompressed with a bound) or JSON.
pub fn decode_report(bytes: &[u8]) -> Result<ParsedReport, InputError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        let json = gunzip(bytes)?;
        return Ok(tls_rpt_report::parse(&json)?);
    }
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(InputError::TooLarge {
            limit: MAX_REPORT_BYTES,
        });
    }
    Ok(tls_rpt_report::parse(bytes)?)
}

/// Decompresses at most [`MAX_REPORT_BYTES`] (+1, to tell a stream of
/// exactly the limit from a longer one).
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, InputError> {
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    decoder
        .take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| InputError::BadGzip(e.to_string()))?;
    if out.len() as u64 > MAX_REPORT_BYTES {
        return Err(InputError::DecompressedTooLarge {
            limit: MAX_REPORT_BYTES,
        });
    }
    Ok(out)
}

fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, InputError> {
    let mut out = Vec::new();
    reader.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"\x1f\x8b\x08"), Some(Content::Gzip));
        assert_eq!(sniff(b"\xef\xbb\xbf  {\"a\":1}"), Some(Content::Json));
        assert_eq!(
            sniff(b"From a@b Thu Jan  1 00:00:00 2026\n"),
            Some(Content::Mbox)
        );
        assert_eq!(sniff(b"Subject: x\r\n\r\nbody"), Some(Content::Message));
        assert_eq!(sniff(b"hello world\n"), None);
        assert_eq!(sniff(b""), None);
    }

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, b"{}").expect("write");
        }
        dir
    }

    fn names(listing: &FolderListing) -> Vec<&str> {
        listing.files.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_folder_is_listed_in_sorted_path_order_without_hidden_names() {
        let dir = tree(&[
            "b.json",
            "a.json",
            "a/z.json",
            "a/b/c.eml",
            ".git/config",
            "x/.hidden.json",
        ]);
        let listing = list_folder(dir.path(), 10, 4);
        assert_eq!(
            names(&listing),
            ["a/b/c.eml", "a/z.json", "a.json", "b.json"]
        );
        assert!(listing.problems.is_empty());
    }

    #[test]
    fn a_folder_walk_stops_at_the_file_limit_and_the_depth_limit() {
        let dir = tree(&["1.json", "2/2.json", "3.json", "4.json"]);
        let listing = list_folder(dir.path(), 3, 4);
        assert_eq!(names(&listing), ["1.json", "2/2.json", "3.json"]);
        assert!(matches!(
            listing.problems[..],
            [(None, InputError::TooManyFiles { limit: 3 })]
        ));
        let dir = tree(&["top.json", "a/b/c/deep.json", "a/b/shallow.json"]);
        let listing = list_folder(dir.path(), 10, 2);
        assert_eq!(names(&listing), ["a/b/shallow.json", "top.json"]);
        assert!(matches!(
            listing.problems[..],
            [(None, InputError::TooDeep { limit: 2 })]
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_folder_is_not_followed() {
        let dir = tree(&["sub/r.json"]);
        std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/loop")).expect("symlink");
        let listing = list_folder(dir.path(), 10, 16);
        assert_eq!(names(&listing), ["sub/r.json"]);
        assert!(listing.problems.is_empty());
    }

    #[test]
    fn a_gzip_bomb_is_an_error_not_an_allocation() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..(MAX_REPORT_BYTES / zeros.len() as u64 + 2) {
            enc.write_all(&zeros).expect("compress");
        }
        let bomb = enc.finish().expect("compress");
        assert!(bomb.len() < 200 * 1024);
        assert!(matches!(
            decode_report(&bomb),
            Err(InputError::DecompressedTooLarge { .. })
        ));
        assert!(matches!(
            decode_report(&bomb[..bomb.len() / 2]),
            Err(InputError::BadGzip(_)) | Err(InputError::DecompressedTooLarge { .. })
        ));
    }
}
