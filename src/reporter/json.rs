//! `--format json`: the whole report as one JSON document, described by
//! `schema/report.schema.json`. Characters serde_json writes raw but a
//! terminal or viewer would obey (DEL, C1, bidirectional controls) are
//! written as `\uXXXX` escapes ([`super::text::json`]): the same document
//! to a parser, harmless to `cat`.

//!
//! [`document`] and [`line`] are the one JSON writer of every subcommand
//! (`check`, `diff`, `tlsrpt`): whole documents and NDJSON lines are
//! written, and made inert, in one place.

use std::io::{self, Write};

use serde::Serialize;

use super::Reporter;
use crate::report::Report;

pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        document(report, out)
    }
}

/// `value` as one pretty-printed JSON document and a newline. serde_json
/// leaves DEL, C1 and bidirectional controls raw, which a terminal (or an
/// editor) would obey: [`super::text::json`] escapes them.
pub fn document<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    out.write_all(super::text::json(&text).as_bytes())?;
    writeln!(out)
}

/// `value` as one NDJSON line. Compact serde_json escapes every C0
/// control in strings, so peer text cannot break the one-object-per-line
/// framing; [`super::text::json`] escapes the rest a terminal would obey.
pub fn line<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let text = serde_json::to_string(value)?;
    out.write_all(super::text::json(&text).as_bytes())?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixture;
    use crate::reporter::text::is_unsafe;

    /// `fixture::PEER` as JSON writes it.
    pub const ESCAPED: &str = r#"=cmd|' /C calc'!A0\u001b[2J\u001b]0;T\u0007\u0000\u007f\u009b31m\u0085\u202e\u2066\u2028\"q\"</script>\r\nX"#;

    #[test]
    fn peer_text_is_escaped_and_reads_back_unchanged() {
        let report = fixture::peer_report();
        let mut out = Vec::new();
        JsonReporter.finish(&report, &mut out).expect("write");
        let text = String::from_utf8(out).expect("UTF-8");
        let raw: Vec<char> = text
            .chars()
            .filter(|&c| c != '\n' && is_unsafe(c))
            .collect();
        assert!(raw.is_empty(), "raw {raw:?}");
        for line in [
            format!(r#"      "verdict_reason": "because {ESCAPED}","#),
            format!(r#"          "host": "{ESCAPED}","#),
            format!(r#"              "banner": "220 {ESCAPED}","#),
            format!(r#"                "{ESCAPED}","#),
            format!(r#"                "subject": "CN={ESCAPED}, O={ESCAPED}","#),
            format!(r#"                "issuer": "CN={ESCAPED}, O={ESCAPED}","#),
            format!(r#"                  "{ESCAPED}""#),
            format!(r#"                "reply": "250 {ESCAPED}","#),
            format!(r#"                "message": "454 {ESCAPED}""#),
            format!(r#"        "fetch_error": "{ESCAPED}""#),
            format!(r#"          "mailto:{ESCAPED}""#),
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line}\n{text}");
        }
        let back: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(back, serde_json::to_value(&report).expect("serialize"));
    }
}
