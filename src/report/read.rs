//! Reading a report back: the one reader of NDJSON reports (`check
//! --format ndjson`, one [`DomainReport`] per line), for `check --resume`
//! and `policy --from`.
//!
//! It is bounded: a line is read with a limit ([`MAX_ROW_BYTES`]) and never
//! held whole when it is longer, so a wrong file (a binary, a log without
//! line ends) costs at most that much memory and ends in an error naming
//! the line. Blank lines are skipped. Every error names the file and the
//! line, and says what is wrong: I/O, a line too long, not JSON, a whole
//! `--format json` report instead of its rows, or which field of a row is
//! missing or mistyped (``mx[0].addresses[1]: missing field `dane` ``).
//!
//! A row is read as any `Deserialize` type: [`DomainReport`] for policies,
//! or [`RowHead`], the least a row has, for `--resume`, which accepts the
//! rows of every version of the report and of hand-written files.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{DeserializeOwned, IgnoredAny, IntoDeserializer};
use serde::{Deserialize, Deserializer};

use crate::vocabulary::{ErrorKind, ErrorPhase};

#[cfg(doc)]
use super::DomainReport;

/// Longest line read, without its line end: 4 MiB.
///
/// The longest rows smtptls writes are a domain with many MX addresses
/// and `--scan deep`: measured against the test lab, an address whose
/// server accepts every suite the scan offers at every version (343
/// suites) takes 43 KB, with `--scan light` 6 KB. 4 MiB holds about 95 such
/// worst-case deep addresses (big providers publish 10 to 30), or 700
/// light ones, and still refuses a file without line ends before it
/// costs real memory.
pub const MAX_ROW_BYTES: usize = 4 * 1024 * 1024;

/// Why a report could not be read. Each message starts with the file (and
/// the line, 1-based, where there is one).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {file}: {error}")]
    Io {
        file: String,
        #[source]
        error: io::Error,
    },
    #[error(
        "{file}:{line}: line longer than {} MiB, more than any report row; is this an NDJSON report (check --format ndjson)?",
        MAX_ROW_BYTES / (1024 * 1024)
    )]
    LineTooLong { file: String, line: usize },
    #[error(
        "{file}:{line}: a value longer than {} MiB in a JSON report, more than any report row",
        MAX_ROW_BYTES / (1024 * 1024)
    )]
    ValueTooLong { file: String, line: usize },
    #[error("{file}:{line}: not a line of an NDJSON report: {problem}")]
    BadLine {
        file: String,
        line: usize,
        problem: LineProblem,
    },
}

impl ReadError {
    /// The 1-based line the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ReadError::Io { .. } => None,
            ReadError::LineTooLong { line, .. }
            | ReadError::ValueTooLong { line, .. }
            | ReadError::BadLine { line, .. } => Some(*line),
        }
    }
}

/// What is wrong with a line that was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineProblem {
    /// Not JSON at all, or not one JSON value.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The whole `--format json` report (or its first line), not a row.
    #[error(
        "this is a whole JSON report (check --format json); write the report with --format ndjson, one row per line"
    )]
    WholeReport,
    /// JSON, but not a row: which field, where, and what is wrong with it.
    #[error("not a report row: {0}")]
    NotARow(String),
}

/// The least a report row has, for `--resume`: the domain and, if the row
/// is an error, its phase. Every other field may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RowHead {
    pub domain: String,
    #[serde(default)]
    error: Option<HeadError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct HeadError {
    /// `None` for a phase this version does not know (a newer report's):
    /// such a row is still a finished one.
    #[serde(deserialize_with = "lenient_name")]
    phase: Option<ErrorPhase>,
    /// `None` when absent or unknown to this version: not transient.
    #[serde(default, deserialize_with = "lenient_name")]
    kind: Option<ErrorKind>,
}

impl RowHead {
    /// The run that wrote the row stopped before the domain was done
    /// (error phase `run`: `--deadline`, Ctrl-C, SIGTERM).
    pub fn unfinished(&self) -> bool {
        self.error
            .as_ref()
            .is_some_and(|e| e.phase == Some(ErrorPhase::Run))
    }

    /// The row is not worth keeping: the domain was not finished, or its
    /// error may be gone on the next try ([`ErrorKind::is_transient`]:
    /// a DNS timeout or SERVFAIL that outlasted the retries, an unusable
    /// resolver). `--resume` audits such domains again.
    pub fn needs_audit(&self) -> bool {
        self.unfinished()
            || self
                .error
                .as_ref()
                .and_then(|e| e.kind)
                .is_some_and(ErrorKind::is_transient)
    }
}

/// A phase or kind name, or `None` for a string that names none (a newer
/// report's).
fn lenient_name<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let name = String::deserialize(d)?;
    let value: Result<T, serde::de::value::Error> =
        T::deserialize(name.as_str().into_deserializer());
    Ok(value.ok())
}

/// The rows of an NDJSON report, in file order, each as a `T`. An
/// iterator of `Result`s that ends after the first error.
pub struct Rows<R, T> {
    reader: R,
    file: String,
    line: usize,
    buf: Vec<u8>,
    truncated_end_ok: bool,
    done: bool,
    row: PhantomData<fn() -> T>,
}

/// Opens the report at `path`.
pub fn open<T: DeserializeOwned>(path: &Path) -> Result<Rows<BufReader<File>, T>, ReadError> {
    let file = path.display().to_string();
    match File::open(path) {
        Ok(f) => Ok(rows(BufReader::new(f), file)),
        Err(error) => Err(ReadError::Io { file, error }),
    }
}

/// Reads a report from `reader`; `file` names it in errors.
pub fn rows<R: BufRead, T: DeserializeOwned>(reader: R, file: impl Into<String>) -> Rows<R, T> {
    Rows {
        reader,
        file: file.into(),
        line: 0,
        buf: Vec::new(),
        truncated_end_ok: false,
        done: false,
        row: PhantomData,
    }
}

impl<R: BufRead, T: DeserializeOwned> Rows<R, T> {
    /// A last line without a line end that does not parse is taken as
    /// the end of the report instead of an error: the run writing it was
    /// killed in the middle of a row (what `--resume` is for).
    pub fn truncated_end_ok(mut self) -> Self {
        self.truncated_end_ok = true;
        self
    }

    /// The 1-based number of the last line read.
    pub fn line(&self) -> usize {
        self.line
    }

    fn io(&self, error: io::Error) -> ReadError {
        ReadError::Io {
            file: self.file.clone(),
            error,
        }
    }

    /// Reads the next line into `buf`, without its line end. `Some(true)`
    /// when it had a line end.
    fn next_line(&mut self) -> Result<Option<bool>, ReadError> {
        self.buf.clear();
        self.line += 1;
        // At most the limit, a `\r\n`, and one byte to see that it is longer.
        let n = (&mut self.reader)
            .take(MAX_ROW_BYTES as u64 + 3)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| self.io(e))?;
        if n == 0 {
            return Ok(None);
        }
        let ended = self.buf.last() == Some(&b'\n');
        if ended {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if self.buf.len() > MAX_ROW_BYTES {
            return Err(ReadError::LineTooLong {
                file: self.file.clone(),
                line: self.line,
            });
        }
        Ok(Some(ended))
    }

    fn next_row(&mut self) -> Result<Option<T>, ReadError> {
        loop {
            let Some(ended) = self.next_line()? else {
                return Ok(None);
            };
            if self.buf.trim_ascii().is_empty() {
                continue;
            }
            return match parse::<T>(&self.buf) {
                Ok(row) => Ok(Some(row)),
                Err(_) if !ended && self.truncated_end_ok => Ok(None),
                Err(problem) => Err(ReadError::BadLine {
                    file: self.file.clone(),
                    line: self.line,
                    problem: if self.is_whole_report() {
                        LineProblem::WholeReport
                    } else {
                        problem
                    },
                }),
            };
        }
    }

    /// A compact `--format json` report on one line, or the first line of
    /// a pretty-printed one.
    fn is_whole_report(&self) -> bool {
        #[derive(Deserialize)]
        struct Whole {
            #[allow(dead_code)] // only its presence counts
            schema_version: IgnoredAny,
            #[allow(dead_code)]
            domains: IgnoredAny,
        }
        (self.line == 1 && self.buf.trim_ascii() == b"{")
            || serde_json::from_slice::<Whole>(&self.buf).is_ok()
    }
}

impl<R: BufRead, T: DeserializeOwned> Iterator for Rows<R, T> {
    type Item = Result<T, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let row = self.next_row().transpose();
        if !matches!(row, Some(Ok(_))) {
            self.done = true;
        }
        row
    }
}

/// One line as a `T`, with the path of the field that is wrong.
fn parse<T: DeserializeOwned>(line: &[u8]) -> Result<T, LineProblem> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let what = describe(e.inner());
        match e.inner().classify() {
            serde_json::error::Category::Data if e.path().iter().next().is_some() => {
                LineProblem::NotARow(format!("{}: {what}", e.path()))
            }
            serde_json::error::Category::Data => LineProblem::NotARow(what),
            _ => LineProblem::NotJson(what),
        }
    })?;
    // Nothing but white space may follow the row.
    de.end().map_err(|e| LineProblem::NotJson(describe(&e)))?;
    Ok(value)
}

/// serde_json's message, with the position as a column of the line (the
/// row is the line: "line 1" of it would mislead).
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&position) {
        Some(message) if e.line() == 1 => format!("{message} at column {}", e.column()),
        _ => text,
    }
}

/// What a report file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// `check --format ndjson`: one row per line.
    Ndjson,
    /// `check --format json`: one document whose `domains` holds the rows.
    Json,
}

impl Shape {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Ndjson => "ndjson",
            Shape::Json => "json",
        }
    }
}

/// What a whole JSON report says about its run (an NDJSON report carries
/// no header: every field is `None`).
#[derive(Debug, Clone)]
pub struct Header {
    pub shape: Shape,
    pub generated_at: Option<String>,
    /// `settings.expiry_warn_days` of the run.
    pub expiry_warn_days: Option<u32>,
    /// The run's settings, when they read as this version's (`None` for a
    /// report whose settings do not: its rows are still read).
    pub settings: Option<super::RunSettings>,
    pub tool: Option<super::ToolInfo>,
    /// The run's summary, when it reads as this version's.
    pub summary: Option<super::Summary>,
}

/// Keys that only the top level of a whole JSON report has (a row starts
/// with `domain`).
const WHOLE_REPORT_KEYS: [&str; 6] = [
    "schema_version",
    "tool",
    "generated_at",
    "settings",
    "domains",
    "summary",
];

/// Reads every row of a report, NDJSON or whole JSON (told apart by the
/// first key of the first object), and hands each to `each` with the line
/// it starts on. Bounded the same way for both: a row (or, in a JSON
/// report, any top-level value) longer than [`MAX_ROW_BYTES`] is an
/// error, so memory stays at one row however large the file is.
pub fn each_row<R: BufRead, T: DeserializeOwned>(
    mut reader: R,
    file: &str,
    mut each: impl FnMut(T, usize),
) -> Result<Header, ReadError> {
    let shape = sniff(&mut reader).map_err(|error| ReadError::Io {
        file: file.to_string(),
        error,
    })?;
    match shape {
        Shape::Ndjson => {
            let mut rows = rows::<_, T>(reader, file);
            while let Some(row) = rows.next() {
                each(row?, rows.line());
            }
            Ok(Header {
                shape,
                generated_at: None,
                expiry_warn_days: None,
                settings: None,
                tool: None,
                summary: None,
            })
        }
        Shape::Json => whole::read(reader, file, &mut each),
    }
}

/// NDJSON unless the first object's first key is one of a whole report's.
fn sniff<R: BufRead>(reader: &mut R) -> io::Result<Shape> {
    // Skip white space (a pretty report starts "{\n  \"schema_version\"").
    let mut start = Vec::new();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(Shape::Ndjson);
        }
        let skip = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if skip < buf.len() {
            // Look at up to 64 bytes from the first non-space one without
            // consuming them.
            start.extend(buf[skip..].iter().take(64));
            reader.consume(skip);
            break;
        }
        let n = buf.len();
        reader.consume(n);
    }
    let rest = match start.strip_prefix(b"{") {
        Some(rest) => rest,
        None => return Ok(Shape::Ndjson),
    };
    let rest = rest.trim_ascii_start();
    let is_whole = WHOLE_REPORT_KEYS.iter().any(|k| {
        rest.strip_prefix(b"\"")
            .and_then(|r| r.strip_prefix(k.as_bytes()))
            .is_some_and(|r| r.starts_with(b"\""))
    }) || (rest.is_empty() && start.len() < 64);
    Ok(if is_whole { Shape::Json } else { Shape::Ndjson })
}

/// The streaming reader of a whole `--format json` report.
mod whole {
    use std::cell::Cell;
    use std::fmt;
    use std::io::{self, BufRead, Read};
    use std::rc::Rc;

    use serde::Deserialize;
    use serde::de::{
        self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };
    use serde_json::value::RawValue;

    use super::{Header, LineProblem, MAX_ROW_BYTES, ReadError, Shape, parse};
    use crate::report::SCHEMA_VERSION;

    /// Bytes and line ends read so far, and the bytes since the last mark.
    #[derive(Default)]
    struct Count {
        newlines: Cell<usize>,
        since_mark: Cell<usize>,
    }

    /// Counts what serde_json reads, and refuses more than
    /// [`MAX_ROW_BYTES`] since the last mark (one value).
    struct Counting<R> {
        inner: R,
        count: Rc<Count>,
    }

    /// The error a [`Counting`] reader gives when a value is too long.
    #[derive(Debug)]
    struct TooLong;
    impl fmt::Display for TooLong {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("value too long")
        }
    }
    impl std::error::Error for TooLong {}

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            let c = &self.count;
            c.newlines
                .set(c.newlines.get() + buf[..n].iter().filter(|&&b| b == b'\n').count());
            c.since_mark.set(c.since_mark.get() + n);
            if c.since_mark.get() > MAX_ROW_BYTES + 64 {
                return Err(io::Error::other(TooLong));
            }
            Ok(n)
        }
    }

    /// What the visitors found that serde cannot carry: the precise error
    /// and the header fields.
    struct State<'a, T, F> {
        file: &'a str,
        count: Rc<Count>,
        each: &'a mut F,
        error: Option<ReadError>,
        generated_at: Option<String>,
        expiry_warn_days: Option<u32>,
        settings: Option<crate::report::RunSettings>,
        tool: Option<crate::report::ToolInfo>,
        summary: Option<crate::report::Summary>,
        row: std::marker::PhantomData<fn() -> T>,
    }

    impl<T: DeserializeOwned, F: FnMut(T, usize)> State<'_, T, F> {
        fn line(&self) -> usize {
            self.count.newlines.get() + 1
        }

        fn mark(&self) {
            self.count.since_mark.set(0);
        }

        /// Keeps the first precise error; returns the serde error that
        /// stops the parse.
        fn fail<E: de::Error>(&mut self, error: ReadError) -> E {
            let message = error.to_string();
            self.error.get_or_insert(error);
            E::custom(message)
        }
    }

    pub(super) fn read<R: BufRead, T: DeserializeOwned, F: FnMut(T, usize)>(
        reader: R,
        file: &str,
        each: &mut F,
    ) -> Result<Header, ReadError> {
        let count = Rc::new(Count::default());
        let counting = Counting {
            inner: reader,
            count: Rc::clone(&count),
        };
        let mut state = State {
            file,
            count,
            each,
            error: None,
            generated_at: None,
            expiry_warn_days: None,
            settings: None,
            tool: None,
            summary: None,
            row: std::marker::PhantomData,
        };
        let mut de = serde_json::Deserializer::from_reader(counting);
        let result = (&mut state).deserialize(&mut de).and_then(|()| de.end());
        if let Err(e) = result {
            if let Some(error) = state.error.take() {
                return Err(error);
            }
            let line = e.line().max(1);
            return Err(if e.is_io() {
                // serde_json hands back the reader's own error.
                let error = io::Error::from(e);
                if error.get_ref().is_some_and(|inner| inner.is::<TooLong>()) {
                    ReadError::ValueTooLong {
                        file: file.to_string(),
                        line: state.line(),
                    }
                } else {
                    ReadError::Io {
                        file: file.to_string(),
                        error,
                    }
                }
            } else {
                ReadError::BadLine {
                    file: file.to_string(),
                    line,
                    problem: LineProblem::NotJson(e.to_string()),
                }
            });
        }
        Ok(Header {
            shape: Shape::Json,
            generated_at: state.generated_at,
            expiry_warn_days: state.expiry_warn_days,
            settings: state.settings,
            tool: state.tool,
            summary: state.summary,
        })
    }

    impl<'de, T: DeserializeOwned, F: FnMut(T, usize)> DeserializeSeed<'de> for &mut State<'_, T, F> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de, T: DeserializeOwned, F: FnMut(T, usize)> Visitor<'de> for &mut State<'_, T, F> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a smtptls JSON report")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            #[derive(Deserialize)]
            struct Settings {
                expiry_warn_days: Option<u32>,
            }
            self.mark();
            while let Some(key) = map.next_key::<String>()? {
                self.mark();
                match key.as_str() {
                    "schema_version" => {
                        let version: u32 = map.next_value()?;
                        if version > SCHEMA_VERSION {
                            let error = ReadError::BadLine {
                                file: self.file.to_string(),
                                line: self.line(),
                                problem: LineProblem::NotARow(format!(
                                    "schema_version {version} is newer than this smtptls reads ({SCHEMA_VERSION}); use a newer smtptls"
                                )),
                            };
                            return Err(self.fail(error));
                        }
                    }
                    "generated_at" => self.generated_at = map.next_value()?,
                    "settings" => {
                        // Read leniently: a report whose settings this
                        // version does not know still has its rows read.
                        let value: serde_json::Value = map.next_value()?;
                        self.expiry_warn_days = Settings::deserialize(&value)
                            .ok()
                            .and_then(|s| s.expiry_warn_days);
                        self.settings = crate::report::RunSettings::deserialize(&value).ok();
                    }
                    "tool" => {
                        let value: serde_json::Value = map.next_value()?;
                        self.tool = crate::report::ToolInfo::deserialize(&value).ok();
                    }
                    "summary" => {
                        let value: serde_json::Value = map.next_value()?;
                        self.summary = crate::report::Summary::deserialize(&value).ok();
                    }
                    "domains" => map.next_value_seed(Domains(&mut *self))?,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                self.mark();
            }
            Ok(())
        }
    }

    /// The `domains` array, one row at a time.
    struct Domains<'s, 'a, T, F>(&'s mut State<'a, T, F>);

    impl<'de, T: DeserializeOwned, F: FnMut(T, usize)> DeserializeSeed<'de> for Domains<'_, '_, T, F> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de, T: DeserializeOwned, F: FnMut(T, usize)> Visitor<'de> for Domains<'_, '_, T, F> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the report's domains")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let state = self.0;
            let mut index = 0usize;
            loop {
                state.mark();
                let Some(raw) = seq.next_element::<Box<RawValue>>()? else {
                    return Ok(());
                };
                let text = raw.get();
                let start = state.line() - text.bytes().filter(|&b| b == b'\n').count();
                match parse::<T>(text.as_bytes()) {
                    Ok(row) => (state.each)(row, start),
                    Err(problem) => {
                        let problem = match problem {
                            LineProblem::NotARow(p) => {
                                LineProblem::NotARow(format!("domains[{index}]: {p}"))
                            }
                            other => other,
                        };
                        let error = ReadError::BadLine {
                            file: state.file.to_string(),
                            line: start,
                            problem,
                        };
                        return Err(state.fail(error));
                    }
                }
                index += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{AddressReport, DomainReport, Failure};
    use crate::vocabulary::{ErrorKind, Verdict};
    use std::io::Cursor;

    fn read<T: DeserializeOwned>(text: &[u8]) -> Result<Vec<T>, ReadError> {
        rows(Cursor::new(text.to_vec()), "r.ndjson").collect()
    }

    fn heads(text: &[u8]) -> Result<Vec<String>, ReadError> {
        rows::<_, RowHead>(Cursor::new(text.to_vec()), "r.ndjson")
            .truncated_end_ok()
            .map(|r| r.map(|h| h.domain))
            .collect()
    }

    fn problem(err: ReadError) -> (usize, LineProblem) {
        match err {
            ReadError::BadLine { line, problem, .. } => (line, problem),
            other => panic!("not a bad line: {other:?}"),
        }
    }

    fn ndjson(rows: &[DomainReport]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            serde_json::to_writer(&mut out, r).expect("serialize");
            out.push(b'\n');
        }
        out
    }

    fn failed(domain: &str, phase: ErrorPhase, kind: ErrorKind) -> DomainReport {
        DomainReport::failed(domain, Failure::new(phase, kind, "it failed"))
    }

    #[test]
    fn rows_round_trip_and_blank_lines_are_skipped() {
        let a = DomainReport {
            verdict: Verdict::NoMail,
            ..DomainReport::empty("a.example")
        };
        let b = failed("b.example", ErrorPhase::Dns, ErrorKind::Nxdomain);
        let mut text = ndjson(&[a]);
        text.extend_from_slice(b"\n  \r\n");
        text.extend(ndjson(&[b]).iter().filter(|&&c| c != b'\n'));
        text.extend_from_slice(b"\r\n\n");
        let got: Vec<DomainReport> = read(&text).expect("read");
        let names: Vec<&str> = got.iter().map(|r| r.domain.as_str()).collect();
        assert_eq!(names, ["a.example", "b.example"]);
        assert_eq!(got[0].verdict, Verdict::NoMail);
        assert_eq!(
            got[1].error.as_ref().map(|e| e.kind),
            Some(ErrorKind::Nxdomain)
        );
        assert!(read::<DomainReport>(b"").expect("empty").is_empty());
    }

    #[test]
    fn rows_with_transient_errors_are_audited_again() {
        let text = ndjson(&[
            failed("slow.example", ErrorPhase::Dns, ErrorKind::DnsTimeout),
            failed("busy.example", ErrorPhase::Dns, ErrorKind::DnsServfail),
            failed(
                "anchor.example",
                ErrorPhase::Dns,
                ErrorKind::ResolverUnusable,
            ),
            failed("bogus.example", ErrorPhase::Dns, ErrorKind::DnssecBogus),
            failed("gone.example", ErrorPhase::Dns, ErrorKind::Nxdomain),
            failed("big.example", ErrorPhase::Dns, ErrorKind::DnsTruncated),
        ]);
        let got: Vec<RowHead> = read(&text).expect("read");
        let again: Vec<bool> = got.iter().map(RowHead::needs_audit).collect();
        assert_eq!(again, [true, true, true, false, false, false]);
        // A kind this version does not know is kept, like a finished row.
        let got: Vec<RowHead> =
            read(b"{\"domain\":\"x\",\"error\":{\"phase\":\"dns\",\"kind\":\"dns-new\"}}\n")
                .expect("read");
        assert!(!got[0].needs_audit());
    }

    #[test]
    fn row_heads_know_unfinished_rows() {
        let text = ndjson(&[
            failed("run.example", ErrorPhase::Run, ErrorKind::Deadline),
            failed("dns.example", ErrorPhase::Dns, ErrorKind::Nxdomain),
        ]);
        let got: Vec<RowHead> = read(&text).expect("read");
        assert!(got[0].unfinished());
        assert!(!got[1].unfinished());
        assert!(got[0].needs_audit());
        assert!(!got[1].needs_audit());
        // The least of a row is enough, and an unknown phase is finished.
        let got: Vec<RowHead> = read(
            b"{\"domain\":\"x.example\"}\n\
              {\"domain\":\"y.example\",\"error\":null}\n\
              {\"domain\":\"z.example\",\"error\":{\"phase\":\"teleport\"}}\n",
        )
        .expect("read");
        assert!(got.iter().all(|h| !h.unfinished()), "{got:?}");
        // But the phase, when there is an error, is a string.
        let err = read::<RowHead>(b"{\"domain\":\"x\",\"error\":{\"phase\":1}}\n").unwrap_err();
        let (line, p) = problem(err);
        assert_eq!(line, 1);
        assert!(
            matches!(&p, LineProblem::NotARow(m) if m.starts_with("error.phase: invalid type: integer `1`")),
            "{p:?}"
        );
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let good = serde_json::to_string(&DomainReport::empty("r.example")).expect("json");
        let mut v: serde_json::Value = serde_json::from_str(&good).expect("json");
        v.as_object_mut().expect("object").remove("verdict");
        let text = format!("{good}\n\n{v}\n{good}\n");
        let err = read::<DomainReport>(text.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.ndjson:3: not a line of an NDJSON report: not a report row: missing field `verdict` at column 268"
                .replace("268", &v.to_string().len().to_string())
        );
        assert_eq!(err.line(), Some(3));

        // A mistyped field deep in a row is named by its path.
        let mut row = DomainReport::empty("r.example");
        row.mx = vec![
            serde_json::from_value(serde_json::json!({
                "host": "mx.r.example", "preference": 10, "cname": null, "dnssec": "secure",
                "tlsa": null, "mta_sts_match": null, "post_quantum": null, "addresses": [],
                "findings": [], "error": null
            }))
            .expect("mx"),
        ];
        let mut v = serde_json::to_value(&row).expect("json");
        v["mx"][0]["preference"] = "ten".into();
        let (line, p) = problem(read::<DomainReport>(format!("{v}\n").as_bytes()).unwrap_err());
        assert_eq!(line, 1);
        assert!(
            matches!(&p, LineProblem::NotARow(m) if m.starts_with("mx[0].preference: invalid type: string \"ten\", expected u16")),
            "{p:?}"
        );
        v["mx"][0].as_object_mut().expect("object").remove("host");
        v["mx"][0]["preference"] = 10.into();
        let (_, p) = problem(read::<DomainReport>(format!("{v}\n").as_bytes()).unwrap_err());
        assert!(
            matches!(&p, LineProblem::NotARow(m) if m.starts_with("mx[0]: missing field `host`")),
            "{p:?}"
        );

        for bad in [&b"[1]\n"[..], b"\"x.example\"\n", b"{}\n"] {
            let (_, p) = problem(read::<RowHead>(bad).unwrap_err());
            assert!(matches!(p, LineProblem::NotARow(_)), "{bad:?}: {p:?}");
        }
    }

    #[test]
    fn not_json_is_said_so() {
        for bad in [
            &b"{\"domain\":\"a\",\"verd\n"[..],
            b"domain=a.example\n",
            b"{\"domain\":\"a\"} {\"domain\":\"b\"}\n",
            b"{\"domain\":\"a\"}}\n",
        ] {
            let (line, p) = problem(read::<RowHead>(bad).unwrap_err());
            assert_eq!(line, 1);
            assert!(matches!(p, LineProblem::NotJson(_)), "{bad:?}: {p:?}");
        }
        let err = read::<RowHead>(b"\n\n<row/>\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.ndjson:3: not a line of an NDJSON report: not JSON: expected value at column 1"
        );
    }

    #[test]
    fn a_whole_json_report_is_recognised() {
        let compact = b"{\"schema_version\":1,\"tool\":{},\"domains\":[]}\n";
        let (_, p) = problem(read::<RowHead>(compact).unwrap_err());
        assert_eq!(p, LineProblem::WholeReport);
        let pretty = b"{\n  \"schema_version\": 1,\n  \"domains\": []\n}\n";
        let (line, p) = problem(read::<DomainReport>(pretty).unwrap_err());
        assert_eq!((line, p), (1, LineProblem::WholeReport));
        assert!(
            ReadError::BadLine {
                file: "r.json".into(),
                line: 1,
                problem: LineProblem::WholeReport
            }
            .to_string()
            .contains("--format ndjson")
        );
    }

    #[test]
    fn a_truncated_last_line_ends_the_report_only_when_allowed() {
        let text = b"{\"domain\":\"a.example\"}\n{\"domain\":\"b.exa";
        assert_eq!(heads(text).expect("read"), ["a.example"]);
        assert!(matches!(
            read::<RowHead>(text),
            Err(ReadError::BadLine { line: 2, .. })
        ));
        // A complete last line without a line end is a row.
        assert_eq!(
            heads(b"{\"domain\":\"a.example\"}").expect("read"),
            ["a.example"]
        );
        // A truncated line in the middle is corruption, not an end.
        let (line, _) = problem(heads(b"{\"domain\":\"a.exa\n\n").unwrap_err());
        assert_eq!(line, 1);
    }

    #[test]
    fn over_long_lines_are_refused_without_reading_them_whole() {
        // Exactly the limit is fine, with either line end.
        let pad = MAX_ROW_BYTES - "{\"domain\":\"a.example\"}".len();
        let row = format!("{{\"domain\":\"a.example\"}}{}", " ".repeat(pad));
        assert_eq!(row.len(), MAX_ROW_BYTES);
        for end in ["\n", "\r\n", ""] {
            let text = format!("{row}{end}");
            assert_eq!(heads(text.as_bytes()).expect("read"), ["a.example"]);
        }
        let long = format!("{{\"domain\":\"b.example\"}}\n{row} \n");
        let err = heads(long.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ReadError::LineTooLong { line: 2, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "r.ndjson:2: line longer than 4 MiB, more than any report row; \
             is this an NDJSON report (check --format ndjson)?"
        );

        // An endless line: the reader stops after the limit.
        struct Endless(u64);
        impl Read for Endless {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                out.fill(b'x');
                self.0 += out.len() as u64;
                Ok(out.len())
            }
        }
        let mut source = BufReader::new(Endless(0));
        let err = rows::<_, RowHead>(&mut source, "endless").next();
        assert!(
            matches!(err, Some(Err(ReadError::LineTooLong { line: 1, .. }))),
            "{err:?}"
        );
        assert!(source.get_ref().0 < 2 * MAX_ROW_BYTES as u64);
    }

    #[test]
    fn io_errors_name_the_file_and_end_the_rows() {
        let err = open::<RowHead>(Path::new("/nonexistent/r.ndjson"))
            .err()
            .expect("no such file");
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/r.ndjson: "),
            "{err}"
        );
        assert_eq!(err.line(), None);

        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut it = rows::<_, RowHead>(BufReader::new(Failing), "f.ndjson");
        let err = it.next();
        assert!(matches!(&err, Some(Err(ReadError::Io { .. }))), "{err:?}");
        assert_eq!(
            err.and_then(Result::err).map(|e| e.to_string()).as_deref(),
            Some("cannot read f.ndjson: disk on fire")
        );
        assert!(it.next().is_none(), "the rows end after an error");
    }

    /// The longest rows: a deep scan that saw every suite of every version
    /// (see [`MAX_ROW_BYTES`]). Ninety such addresses fit and read back.
    #[test]
    fn a_big_deep_scan_row_fits() {
        // The lab's worst-case deep address, findings included, measured
        // from the binary's output.
        const LAB_DEEP_ADDRESS: usize = 43_000;
        const _: () = assert!(90 * LAB_DEEP_ADDRESS < MAX_ROW_BYTES);
        // The fixture's (no findings) is of the same order.
        let deep = fixture::deep_scanned("192.0.2.1");
        let one = serde_json::to_string(&deep).expect("json");
        assert!(
            (20_000..LAB_DEEP_ADDRESS).contains(&one.len()),
            "{} bytes: measure again and revisit MAX_ROW_BYTES",
            one.len()
        );
        let mut row = fixture::report();
        row.mx[0].addresses = (0..90u8)
            .map(|i| AddressReport {
                ip: std::net::Ipv4Addr::new(192, 0, 2, i).into(),
                ..deep.clone()
            })
            .collect();
        let text = ndjson(&[row]);
        assert!(text.len() < MAX_ROW_BYTES, "{}", text.len());
        let back: Vec<DomainReport> = read(&text).expect("read");
        assert_eq!(back[0].mx[0].addresses.len(), 90);
    }
}

/// Report rows for tests: here and in `mta_config`'s.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::prober::scan::{Version, suites};
    use crate::report::*;

    /// An address with TLS 1.3 and a valid certificate for
    /// `mx1.r.example`, DANE-valid, not scanned.
    pub fn address(ip: &str) -> AddressReport {
        AddressReport {
            starttls: true,
            banner: Some("220 mx ESMTP".into()),
            extensions: vec!["STARTTLS".into()],
            extensions_after_tls: Some(Vec::new()),
            tls: Some(TlsReport {
                version: TlsVersion::Tls13,
                cipher: "TLS13_AES_256_GCM_SHA384".into(),
                key_exchange_group: Some("X25519".into()),
                ocsp_stapled: false,
                requiretls: false,
                ocsp: None,
                signature_verified: true,
            }),
            certificate: Some(certificate("mx1.r.example", 1000)),
            dane: DaneResult::Valid,
            post_quantum: Some(false),
            ..AddressReport::unprobed(ip.parse().expect("IP"), 25)
        }
    }

    /// A valid EC P-256 leaf for `host`, issued by the lab CA, with
    /// `days_left` (the other reporters' fixtures use it too).
    pub fn certificate(host: &str, days_left: i64) -> CertificateReport {
        CertificateReport {
            subject: format!("CN={host}"),
            issuer: "CN=Lab CA".into(),
            subject_alt_names: vec![host.into()],
            serial: "01".into(),
            not_before: "2025-01-01T00:00:00Z".into(),
            not_after: "2030-01-01T00:00:00Z".into(),
            days_left,
            not_yet_valid: false,
            key: KeyInfo {
                kind: "EC".into(),
                bits: 256,
                curve: Some("P-256".into()),
            },
            signature_algorithm: "ecdsa-with-SHA256".into(),
            sha256: "00".repeat(32),
            spki_sha256: "11".repeat(32),
            chain_length: 2,
            chain_valid: true,
            chain_error: None,
            hostname_match: true,
            must_staple: false,
        }
    }

    /// [`address`] with a deep scan that saw every suite the scan offers
    /// accepted at every version (the lab's worst case).
    pub fn deep_scanned(ip: &str) -> AddressReport {
        let version = |v: Version| VersionReport {
            version: v.into(),
            accepted: Some(true),
            preferred_suite: Some(suites::name(suites::for_version(v)[0])),
            suites: suites::for_version(v)
                .into_iter()
                .map(|id| SuiteReport {
                    name: suites::name(id),
                    level: suites::level(id),
                })
                .collect(),
            error: None,
        };
        let groups = suites::GROUPS
            .iter()
            .map(|&g| GroupReport {
                name: suites::group_name(g),
                level: suites::group_level(g),
            })
            .collect();
        AddressReport {
            scan: Some(ScanReport {
                mode: ScanMode::Deep,
                connections: 400,
                complete: true,
                stopped: None,
                versions: Version::ALL.into_iter().map(version).collect(),
                accepted_versions: TlsVersion::ALL.to_vec(),
                server_order: Some(true),
                weak_suites: WeakSuitesReport {
                    null: Some(true),
                    anonymous: Some(true),
                    export: Some(true),
                    rc4: Some(true),
                    des: Some(true),
                    triple_des: Some(true),
                    static_rsa: Some(true),
                    cbc: Some(true),
                },
                dhe: Some(DheReport {
                    bits: 1024,
                    group: None,
                    level: NcscLevel::Insufficient,
                }),
                groups,
                post_quantum_accepted: Some(true),
                compression: Some(false),
                secure_renegotiation: Some(true),
            }),
            starttls_injection: Some(InjectionReport {
                result: InjectionResult::Discarded,
                reply: None,
                error: None,
            }),
            ..address(ip)
        }
    }

    /// Two MX hosts with signed TLSA records, DANE-valid; a third address
    /// refused the connection.
    pub fn report() -> DomainReport {
        let mut refused = address("192.0.2.3");
        refused.tls = None;
        refused.certificate = None;
        refused.dane = DaneResult::Mismatch;
        refused.error = Some(Failure {
            phase: ErrorPhase::Connect,
            kind: ErrorKind::ConnectionRefused,
            message: "connection refused".into(),
        });
        let tlsa = || TlsaReport {
            status: TlsaStatus::Found,
            dnssec: Dnssec::Secure,
            records: vec!["3 1 1 00".into()],
        };
        let host = |name: &str, addresses| MxReport {
            host: name.to_string(),
            preference: 10,
            cname: None,
            dnssec: Dnssec::Secure,
            tlsa: Some(tlsa()),
            mta_sts_match: None,
            post_quantum: None,
            addresses,
            addresses_left_out: Vec::new(),
            findings: Vec::new(),
            error: None,
        };
        DomainReport {
            verdict: Verdict::Protected,
            verdict_reason: "DANE".into(),
            mx_source: MxSource::Mx,
            dnssec: Dnssec::Secure,
            mx: vec![
                host("mx1.r.example", vec![address("192.0.2.1"), refused]),
                host("mx2.r.example", vec![address("2001:db8::2")]),
            ],
            tls_rpt: Some(TlsRptReport {
                record: RecordState::Valid,
                rua: vec!["mailto:tls@r.example".into()],
            }),
            ..DomainReport::empty("r.example")
        }
    }
}
