//! `--format json`: the whole report as one JSON document, described by
//! `schema/report.schema.json`.

use std::io::{self, Write};

use super::Reporter;
use crate::report::Report;

pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report)?;
        writeln!(out)
    }
}
