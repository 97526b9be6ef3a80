//! `--format junit`: JUnit XML for CI dashboards. One `<testsuite
//! name="smtptls">`, one `<testcase classname="smtptls" name="DOMAIN">` per
//! domain in input order. A domain whose verdict is below `--fail-below`
//! (or, with `--fail-level`, whose configuration level is at or below it)
//! fails, with the verdict and every warn/fail finding (domain, MX and
//! address level, each prefixed with where it was seen) as the failure
//! text, after the verdict and the configuration level (the NCSC-NL axis);
//! a passing domain carries the same lines in `<system-out>`.
//!
//! Escaping is quick-xml's; characters XML 1.0 does not allow at all
//! (control characters from a hostile banner, U+FFFE, U+FFFF) are replaced
//! by U+FFFD first, since no escape can represent them, and so are the
//! characters XML allows but a reader's screen would obey (C1 controls,
//! DEL, bidirectional controls, U+2028/U+2029).

use std::borrow::Cow;
use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::Reporter;
use crate::report::{DomainReport, Report};
use crate::vocabulary::{Finding, LevelThreshold, Severity, Threshold};

pub struct JunitReporter;

impl Reporter for JunitReporter {
    fn finish(&mut self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let gates = Gates {
            verdict: Threshold(report.settings.fail_below),
            level: report.settings.fail_level.map(LevelThreshold),
        };
        let failures = report
            .domains
            .iter()
            .filter(|d| gates.failure(d).is_some())
            .count();
        let mut w = Writer::new_with_indent(&mut *out, b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;

        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", "smtptls"));
        suite.push_attribute(("tests", report.domains.len().to_string().as_str()));
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", "0"));
        suite.push_attribute(("skipped", "0"));
        suite.push_attribute(("timestamp", xml_chars(&report.generated_at).as_ref()));
        w.write_event(Event::Start(suite))?;

        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for (name, value) in [
            ("fail_below", report.settings.fail_below.as_str()),
            ("smtptls_version", &report.tool.version),
        ] {
            let mut property = BytesStart::new("property");
            property.push_attribute(("name", name));
            property.push_attribute(("value", xml_chars(value).as_ref()));
            w.write_event(Event::Empty(property))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;

        for domain in &report.domains {
            testcase(&mut w, domain, &gates)?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
        w.get_mut().write_all(b"\n")
    }
}

/// What makes a testcase fail: the verdict below `--fail-below`, or the
/// configuration level at or below `--fail-level`.
struct Gates {
    verdict: Threshold,
    level: Option<LevelThreshold>,
}

impl Gates {
    /// The failure's `(message, type)`, if the domain fails.
    fn failure(&self, d: &DomainReport) -> Option<(String, String)> {
        if self.verdict.fails(d.verdict) {
            return Some((
                format!("verdict {} below {}", d.verdict, self.verdict.0),
                d.verdict.as_str().to_string(),
            ));
        }
        let level = d.configuration.as_ref()?.level;
        let gate = self.level?;
        gate.fails(level).then(|| {
            (
                format!("configuration {level} at or below --fail-level {}", gate.0),
                "configuration".to_string(),
            )
        })
    }
}

fn testcase<W: Write>(w: &mut Writer<W>, d: &DomainReport, gates: &Gates) -> io::Result<()> {
    let mut case = BytesStart::new("testcase");
    case.push_attribute(("classname", "smtptls"));
    case.push_attribute(("name", xml_chars(&d.domain).as_ref()));
    w.write_event(Event::Start(case))?;

    let mut text = format!("verdict {}: {}", d.verdict, d.verdict_reason);
    if let Some(c) = &d.configuration {
        // The second axis, on its own line: never part of the verdict.
        let bound = if c.lower_bound { " (lower bound)" } else { "" };
        text.push_str(&format!("\nconfiguration {}{bound}", c.level));
    }
    for line in problems(d) {
        text.push('\n');
        text.push_str(&line);
    }
    let text = xml_chars(&text);
    let element = if let Some((message, kind)) = gates.failure(d) {
        let mut failure = BytesStart::new("failure");
        failure.push_attribute(("message", message.as_str()));
        failure.push_attribute(("type", kind.as_str()));
        w.write_event(Event::Start(failure))?;
        "failure"
    } else {
        w.write_event(Event::Start(BytesStart::new("system-out")))?;
        "system-out"
    };
    w.write_event(Event::Text(BytesText::new(&text)))?;
    w.write_event(Event::End(BytesEnd::new(element)))?;
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

/// Warn and fail findings, `WHERE: ID: MESSAGE`, where WHERE is the
/// domain, the MX host, or `HOST [ADDRESS]`.
fn problems(d: &DomainReport) -> Vec<String> {
    let mut lines = Vec::new();
    let mut add = |place: &str, findings: &[Finding]| {
        for f in findings.iter().filter(|f| f.severity >= Severity::Warn) {
            lines.push(format!("{place}: {}: {}", f.id, f.message));
        }
    };
    add(&d.domain, &d.findings);
    for mx in &d.mx {
        add(&mx.host, &mx.findings);
        for a in &mx.addresses {
            add(&format!("{} [{}]", mx.host, a.ip), &a.findings);
        }
    }
    lines
}

/// `s` with every character XML 1.0 does not allow, and every unsafe one
/// ([`super::text::is_unsafe`]) but tab and line ends, replaced by U+FFFD.
fn xml_chars(s: &str) -> Cow<'_, str> {
    fn allowed(c: char) -> bool {
        let xml = matches!(c,
            '\t' | '\n' | '\r'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'..);
        xml && (matches!(c, '\t' | '\n' | '\r') || !super::text::is_unsafe(c))
    }
    if s.chars().all(allowed) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.chars()
                .map(|c| if allowed(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::fixture;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        JunitReporter.finish(report, &mut out).expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn exact_output() {
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="smtptls" tests="4" failures="2" errors="0" skipped="0" timestamp="2025-06-01T12:00:00Z">
  <properties>
    <property name="fail_below" value="encrypted"/>
    <property name="smtptls_version" value="VERSION"/>
  </properties>
  <testcase classname="smtptls" name="good.example">
    <system-out>verdict secure: STARTTLS with a valid, matching certificate on every reachable MX address
configuration sufficient (lower bound)
good.example: mta-sts.mode: MTA-STS policy in testing mode: failures are reported, mail is still delivered</system-out>
  </testcase>
  <testcase classname="smtptls" name="plain.example">
    <failure message="verdict plaintext below encrypted" type="plaintext">verdict plaintext: no reachable MX address has working STARTTLS
{HOSTILE}: mx.invalid-name: the MX target is not a valid host name
{HOSTILE} [2001:db8::25]: starttls.offered: STARTTLS not offered: 220 {HOSTILE}
{HOSTILE} [192.0.2.2]: smtp.connect: connection refused</failure>
  </testcase>
  <testcase classname="smtptls" name="nx.example">
    <failure message="verdict error below encrypted" type="error">verdict error: nx.example does not exist (NXDOMAIN)
nx.example: dns.nxdomain: the domain does not exist</failure>
  </testcase>
  <testcase classname="smtptls" name="null.example">
    <system-out>verdict no-mail: null MX: the domain accepts no mail</system-out>
  </testcase>
</testsuite>
"#
        .replace("VERSION", env!("CARGO_PKG_VERSION"))
        // Quote, markup and CR escaped; LF and tab kept; NUL, ESC and
        // U+FFFE replaced.
        .replace(
            "{HOSTILE}",
            "mx&quot;&lt;&amp;&gt;&apos;\\\n&#13;\t\u{FFFD}\u{FFFD}\u{FFFD}.evil.example",
        );
        assert_eq!(render(&fixture::report()), expected);
    }

    #[test]
    fn hostile_text_stays_well_formed_and_round_trips() {
        let text = render(&fixture::report());
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("plain.example"))
            .and_then(|c| c.children().find(|n| n.has_tag_name("failure")))
            .expect("plain.example fails");
        // Everything but the characters XML cannot carry comes back as sent.
        let hostile = xml_chars(fixture::HOSTILE);
        assert!(hostile.contains('\u{FFFD}') && hostile.contains("\"<&>'\\\n\r\t"));
        let body = failure.text().expect("failure text");
        assert!(
            body.contains(&format!("{hostile} [192.0.2.2]: smtp.connect")),
            "{body:?}"
        );
    }

    #[test]
    fn peer_text_is_escaped_and_unsafe_characters_replaced() {
        // fixture::PEER as the failure text carries it.
        const X: &str = "=cmd|&apos; /C calc&apos;!A0\u{FFFD}[2J\u{FFFD}]0;T\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}31m\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}&quot;q&quot;&lt;/script&gt;&#13;\nX";
        let text = render(&fixture::peer_report());
        let expected = format!(
            "  <testcase classname=\"smtptls\" name=\"peer.example\">\n    \
             <failure message=\"verdict broken below encrypted\" type=\"broken\">\
             verdict broken: because {X}\n\
             peer.example: mta-sts.policy: policy: {X}\n\
             {X}: mx.invalid-name: MX {X}\n\
             {X} [192.0.2.7]: cert.chain.valid: self-signed certificate (CN={X})</failure>\n  \
             </testcase>\n"
        );
        assert!(text.contains(&expected), "{text}");
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::reporter::text::is_unsafe(c))
        );
        roxmltree::Document::parse(&text).expect("well-formed XML");
    }

    #[test]
    fn attributes_with_hostile_domain_names_are_escaped() {
        let mut report = fixture::report();
        report.domains[0].domain = fixture::HOSTILE.to_string();
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let name = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .find_map(|n| n.attribute("name"))
            .expect("a testcase");
        assert_eq!(name, xml_chars(fixture::HOSTILE));
    }

    #[test]
    fn fail_level_fails_a_domain_on_the_configuration_axis() {
        let mut report = fixture::report();
        report.settings.fail_below = crate::vocabulary::Verdict::Error;
        report.settings.fail_level = Some(crate::vocabulary::NcscLevel::Sufficient);
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("good.example"))
            .and_then(|n| n.children().find(|c| c.has_tag_name("failure")))
            .expect("good.example fails on its configuration level");
        assert_eq!(failure.attribute("type"), Some("configuration"));
        assert_eq!(
            failure.attribute("message"),
            Some("configuration sufficient at or below --fail-level sufficient")
        );
        report.settings.fail_level = Some(crate::vocabulary::NcscLevel::PhaseOut);
        assert!(!render(&report).contains("<failure"));
    }

    #[test]
    fn counts_follow_the_threshold() {
        let mut report = fixture::report();
        report.settings.fail_below = crate::vocabulary::Verdict::Error;
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let suite = doc.root_element();
        assert_eq!(suite.attribute("tests"), Some("4"));
        assert_eq!(suite.attribute("failures"), Some("0"));
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("failure"))
                .count(),
            0
        );
    }

    #[test]
    fn empty_run_is_a_valid_empty_suite() {
        let mut report = fixture::report();
        report.domains.clear();
        let text = render(&report);
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        assert_eq!(doc.root_element().attribute("tests"), Some("0"));
    }
}
