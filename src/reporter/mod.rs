//! Stage 4: output. Each format is one file implementing [`Reporter`]; a
//! new format is a new file plus a [`Format`] variant, nothing else.
//!
//! Reporters write only the report to the writer they are given (stdout in
//! the CLI); progress and diagnostics go to stderr elsewhere, so piped
//! output stays machine-clean.

mod json;
mod table;

use std::io::{self, Write};

pub use json::JsonReporter;
pub use table::TableReporter;

use crate::report::{DomainReport, Report};

/// Writes a report in one format.
pub trait Reporter {
    /// Called as each domain finishes, in completion order. Streaming
    /// formats write here; the others wait for [`Reporter::finish`].
    fn domain_done(&mut self, _domain: &DomainReport, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    /// Called once at the end with the whole report, domains in input order.
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// Output formats of `smtptls check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables (the default).
    Table,
    /// One JSON document (schema/report.schema.json).
    Json,
}

/// Whether to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// The reporter for a format.
pub fn reporter(format: Format, color: bool) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(TableReporter { color }),
        Format::Json => Box::new(JsonReporter),
    }
}
