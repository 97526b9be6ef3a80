//! `--format ndjson`: one JSON object per line, one line per domain,
//! written and flushed as each domain finishes (completion order, not input
//! order), so a long run can be followed with `tail -f` or piped into `jq`.
//!
//! Each line is exactly the domain object of `--format json` (it validates
//! against `schema/report.schema.json#/$defs/domain`); the run envelope
//! (settings, summary) is not written.

use std::io::{self, Write};

use super::Reporter;
use crate::report::{DomainReport, Report};

pub struct NdjsonReporter;

impl Reporter for NdjsonReporter {
    fn domain_done(&mut self, domain: &DomainReport, out: &mut dyn Write) -> io::Result<()> {
        super::json::line(domain, out)?;
        out.flush()
    }

    fn finish(&mut self, _report: &Report, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn streams(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixture;

    fn render() -> String {
        let report = fixture::report();
        let mut out = Vec::new();
        let mut reporter = NdjsonReporter;
        for d in &report.domains {
            reporter.domain_done(d, &mut out).expect("write");
        }
        let streamed = out.len();
        reporter.finish(&report, &mut out).expect("write");
        assert_eq!(out.len(), streamed, "finish writes nothing");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn one_compact_line_per_domain() {
        let report = fixture::report();
        let text = render();
        assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), report.domains.len());
        for (line, domain) in lines.iter().zip(&report.domains) {
            assert!(!line.contains(char::is_control), "{line:?}");
            let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON");
            assert_eq!(parsed, serde_json::to_value(domain).expect("serialize"));
        }
    }

    #[test]
    fn hostile_strings_round_trip() {
        let text = render();
        let line = text
            .lines()
            .find(|l| l.contains("plain.example"))
            .expect("plain.example line");
        let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert_eq!(parsed["mx"][0]["host"], fixture::HOSTILE);
        assert_eq!(
            parsed["mx"][0]["addresses"][0]["banner"],
            format!("220 {}", fixture::HOSTILE)
        );
    }

    #[test]
    fn peer_text_is_escaped_on_one_line_and_reads_back_unchanged() {
        use crate::reporter::text::is_unsafe;
        const ESCAPED: &str = r#"=cmd|' /C calc'!A0\u001b[2J\u001b]0;T\u0007\u0000\u007f\u009b31m\u0085\u202e\u2066\u2028\"q\"</script>\r\nX"#;
        let report = fixture::peer_report();
        let mut out = Vec::new();
        NdjsonReporter
            .domain_done(&report.domains[0], &mut out)
            .expect("write");
        let text = String::from_utf8(out).expect("UTF-8");
        assert_eq!(text.lines().count(), 1);
        assert!(
            !text.trim_end_matches('\n').chars().any(is_unsafe),
            "{text}"
        );
        for field in [
            format!(
                r#""banner":"220 {ESCAPED}","extensions":["{ESCAPED}","STARTTLS"],"extensions_after_tls":["{ESCAPED}"],"#
            ),
            format!(
                r#""subject":"CN={ESCAPED}, O={ESCAPED}","issuer":"CN={ESCAPED}, O={ESCAPED}","subject_alt_names":["{ESCAPED}"],"#
            ),
            format!(r#""message":"self-signed certificate (CN={ESCAPED})""#),
        ] {
            assert!(text.contains(&field), "no {field}\n{text}");
        }
        let back: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            back,
            serde_json::to_value(&report.domains[0]).expect("serialize")
        );
    }

    #[test]
    fn lines_match_the_schema_domain_definition() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/report.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read schema"))
                .expect("schema is JSON");
        let domain_schema = serde_json::json!({
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "$ref": "#/$defs/domain",
        });
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&domain_schema)
            .expect("schema compiles");
        for line in render().lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{}: {e}", e.instance_path().as_str()))
                .collect();
            assert!(errors.is_empty(), "{line}\n{}", errors.join("\n"));
        }
    }
}
