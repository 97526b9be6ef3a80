//! The inputs of `smtptls tlsrpt`: each PATH (or `-`, stdin) read with
//! bounds and recognised by its content, never by its name alone — a
//! report (JSON, or gzip of it: RFC 8460 §5.1/§5.3), an email message
//! carrying one (`application/tlsrpt+gzip` / `+json`, any transfer
//! encoding, via `mail-parser`), an mbox of such messages, or a Maildir
//! folder of them. Every report found goes to the [`Aggregator`]; every
//! problem becomes an [`InputProblem`] naming the part, and the rest of
//! the input is still read.
//!
//! Limits: a file is read up to [`MAX_FILE_BYTES`], a report up to
//! [`MAX_REPORT_BYTES`] once decompressed (the gzip stream is cut there:
//! a gzip bomb is an error for its file, never an allocation), a Maildir
//! up to [`MAX_MAILDIR_MESSAGES`] and a message's nesting to
//! [`MAX_NESTING`].

use std::io::{BufReader, Read};
use std::path::Path;

use mail_parser::{MessageParser, MimeHeaders};

use crate::protection::tls_rpt_report::{self, Added, Aggregator, ParsedReport, ReportError};
use crate::report::tlsrpt::{InputErrorKind, InputProblem, InputReport};

/// A file (an mbox, a message, a report) is read up to this size.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// One report's JSON, decompressed, at most.
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;
/// Messages read from one Maildir, at most.
pub const MAX_MAILDIR_MESSAGES: usize = 100_000;
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
    #[error("a directory that is not a Maildir (no cur/ or new/)")]
    NotAMaildir,
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
            InputError::TooLarge { .. } => InputErrorKind::TooLarge,
            InputError::DecompressedTooLarge { .. } => InputErrorKind::DecompressedTooLarge,
            InputError::BadGzip(_) => InputErrorKind::BadGzip,
            InputError::NotRecognised | InputError::NotAMaildir => InputErrorKind::NotRecognised,
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
            self.maildir(p);
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
            Some(Content::Mbox) => self.mbox(bytes),
            Some(Content::Message) => self.message(bytes, part, true),
            None => self.problem(part, InputError::NotRecognised),
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

    fn mbox(&mut self, bytes: &[u8]) {
        let messages = mail_parser::mailbox::mbox::MessageIterator::new(BufReader::new(bytes));
        for (n, message) in messages.enumerate() {
            let part = Some(format!("message {}", n + 1));
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
        if !subdirs.iter().any(|s| dir.join(s).is_dir()) {
            self.problem(None, InputError::NotAMaildir);
            return;
        }
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
