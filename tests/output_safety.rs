//! Peer text is inert in every output format (issue 11, point 2). One lab
//! server whose banner, EHLO reply and certificate (subject CN and O,
//! issuer, a DNS name) carry terminal escapes, NUL, DEL, a C1 CSI, a bidi
//! override, a spreadsheet formula, quotes, a bare CR and `</script>`, and
//! DNS records (MTA-STS, TLS-RPT) carrying the same; the real binary runs
//! once per format and the test asserts the exact text each format makes
//! of them, so a regression in any neutraliser fails here.
//!
//! What rcgen allows: the subject attributes are UTF8String, which carries
//! anything (NUL, ESC, line ends); DNS names are IA5String, ASCII only, so
//! the hostile SAN has the ASCII part (ESC, NUL, quotes, formula, markup)
//! but no C1 or bidi character. SMTP lines cannot carry a line feed (it
//! ends the line), so the banner and EHLO text carry a bare CR instead;
//! the certificate's O carries a real CR LF.

mod lab;

use lab::pki::{DnType, Issuer, LeafSpec};
use lab::run::{Lab, Run};
use lab::scenario::LabBuilder;
use lab::smtp::{Behaviour, Ehlo};
use serde_json::Value;

/// In the banner (the server's host name) and the EHLO greeting line.
const BANNER_TEXT: &str =
    "=cmd|' /C calc'!A0\u{1b}[2J\u{1b}]0;T\u{7}\u{0}\u{7f}\u{9b}31m\u{202e}\"q\"\r</script>";
/// One more EHLO line (a keyword a client would show).
const EHLO_LINE: &str = "X-EVIL \u{1b}[31m\u{85}\u{2066}@SUM(1)\u{0}'</script>";
/// The certificate's CN (and, self-signed, its issuer's).
const CN: &str = "mx.peer.test \u{1b}[2J\u{9b}0m\u{202e}=cmd|' /C calc'!A0 \"</script>";
/// The certificate's O, with a real line end.
const ORG: &str = "-Org\u{0}\r\n+forged line\u{2028}";
/// A DNS name in the certificate: IA5String, ASCII only.
const SAN: &str = "=evil\u{1b}[2J\u{0}\"</script>.peer.test";

async fn lab() -> Lab {
    LabBuilder::new()
        .mx("peer.test", 10, "mx.peer.test", |pki, mx| {
            let cert = pki.leaf(&LeafSpec {
                names: vec![mx.to_string(), SAN.to_string()],
                issuer: Issuer::SelfSigned,
                subject: vec![
                    (DnType::CommonName, CN.to_string()),
                    (DnType::OrganizationName, ORG.to_string()),
                ],
                ..LeafSpec::valid_for(mx)
            });
            Behaviour {
                hostname: format!("{mx} {BANNER_TEXT}"),
                ehlo: Ehlo::ExtraLines(vec![EHLO_LINE.to_string()]),
                ..Behaviour::good(mx, cert)
            }
        })
        .zone(|zone| {
            zone.txt(
                "_mta-sts.peer.test",
                &["v=STSv1; id=\u{1b}[2J=cmd|'</script>;"],
            )
            .txt(
                "_smtp._tls.peer.test",
                &["v=TLSRPTv1; rua=mailto:\u{1b}]0;T\u{7}@x\"</script>"],
            )
        })
        .start()
        .await
}

async fn run(lab: &Lab, format: &str) -> Run {
    let run = lab
        .smtptls(&["check", "--format", format], &["peer.test"], &["-4"])
        .await;
    assert_eq!(
        run.code, 0,
        "{format}: encrypted is not below the default threshold: {run:?}"
    );
    assert_eq!(run.stderr, "", "{format}");
    run
}

/// Characters software may act on instead of showing (the library's
/// `reporter::text::is_unsafe`, written out again so the test does not
/// trust the code it checks): C0, DEL, C1, bidi controls, U+2028/9.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// The unsafe characters of `text` other than the format's own line ends.
fn raw(text: &str, line_ends: &[char]) -> Vec<char> {
    text.chars()
        .filter(|c| unsafe_char(*c) && !line_ends.contains(c))
        .collect()
}

/// `text` with the lab server's port, which the outputs name beside the
/// address (it is not the run's port 25), written `PORT`.
fn port_named(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("PORT");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// What the inspector says of the self-signed leaf, as each format shows
/// it: the subject exactly as x509-parser prints it (`CN=…, O=…`).
const FINDING_TABLE: &str = r#"self-signed certificate (CN=mx.peer.test \x1b[2J\u{9b}0m\u{202e}=cmd|' /C calc'!A0 "</script>, O=-Org\x00\r\n+forged line\u{2028})"#;
const FINDING_REPLACED: &str = "self-signed certificate (CN=mx.peer.test \u{fffd}[2J\u{fffd}0m\u{fffd}=cmd|' /C calc'!A0 \"</script>, O=-Org\u{fffd}\r\n+forged line\u{fffd})";

/// The two DNS records' findings (the record parsers quote the bad part
/// with Rust's `{:?}`, already escaped).
const STS_FINDING: &str = r#"the _mta-sts.peer.test record is invalid: id "\u{1b}[2J=cmd|'</script>" is not 1 to 32 letters and digits"#;
const RPT_FINDING: &str = r#"the TLS-RPT record is invalid: bad rua= destination: "mailto:\u{1b}]0": '\u{1b}' is not allowed in a URI"#;

#[tokio::test(flavor = "multi_thread")]
async fn table_shows_peer_text_escaped() {
    let lab = lab().await;
    let out = run(&lab, "table").await.stdout;
    assert_eq!(raw(&out, &['\n']), [] as [char; 0], "{out}");
    // The problems are prose, wrapped at spaces (peer text's included):
    // read as words, each is there whole, escaped, naming its host (the
    // host's one address is in the row above).
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = words(&out);
    for expected in [
        format!("FAIL {STS_FINDING}"),
        format!("FAIL {RPT_FINDING}"),
        format!("FAIL mx.peer.test: {FINDING_TABLE}"),
    ] {
        assert!(text.contains(&words(&expected)), "no {expected} in:\n{out}");
    }
}

/// `key` in `format!("\"{key}\": \"{value}\"")` form, pretty or compact.
fn json_field(key: &str, escaped: &str, pretty: bool) -> String {
    if pretty {
        format!("\"{key}\": \"{escaped}\"")
    } else {
        format!("\"{key}\":\"{escaped}\"")
    }
}

/// The peer text as JSON writes it: `\uXXXX` for every unsafe character.
const BANNER_JSON: &str = r#"220 mx.peer.test =cmd|' /C calc'!A0\u001b[2J\u001b]0;T\u0007\u0000\u007f\u009b31m\u202e\"q\"\r</script> ESMTP lab"#;
const EHLO_JSON: &str = r#""X-EVIL \u001b[31m\u0085\u2066@SUM(1)\u0000'</script>""#;
const SUBJECT_JSON: &str = r#"CN=mx.peer.test \u001b[2J\u009b0m\u202e=cmd|' /C calc'!A0 \"</script>, O=-Org\u0000\r\n+forged line\u2028"#;
const SAN_JSON: &str = r#""=evil\u001b[2J\u0000\"</script>.peer.test""#;

/// The JSON text carries every peer string as `\uXXXX` escapes, and a
/// parser gets the exact bytes the server sent back.
fn check_json(text: &str, domain: &Value, pretty: bool) {
    assert_eq!(raw(text, &['\n']), [] as [char; 0], "{text}");
    for expected in [
        json_field("banner", BANNER_JSON, pretty),
        json_field("subject", SUBJECT_JSON, pretty),
        json_field("issuer", SUBJECT_JSON, pretty),
        EHLO_JSON.to_string(),
        SAN_JSON.to_string(),
    ] {
        assert!(text.contains(&expected), "no {expected} in {text}");
    }
    let a = &domain["mx"][0]["addresses"][0];
    assert_eq!(
        a["banner"],
        format!("220 mx.peer.test {BANNER_TEXT} ESMTP lab")
    );
    assert_eq!(a["extensions"][0], EHLO_LINE);
    assert_eq!(a["extensions_after_tls"][0], EHLO_LINE);
    let cert = &a["certificate"];
    assert_eq!(cert["subject"], format!("CN={CN}, O={ORG}"));
    assert_eq!(cert["issuer"], cert["subject"]);
    assert_eq!(cert["subject_alt_names"][1], SAN);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_ndjson_escape_peer_text_losslessly() {
    let lab = lab().await;
    let json = run(&lab, "json").await.stdout;
    let doc: Value = serde_json::from_str(&json).expect("JSON");
    check_json(&json, &doc["domains"][0], true);
    let ndjson = run(&lab, "ndjson").await.stdout;
    assert_eq!(ndjson.lines().count(), 1, "{ndjson}");
    let line: Value = serde_json::from_str(&ndjson).expect("JSON");
    check_json(&ndjson, &line, false);
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_replaces_unsafe_characters() {
    let lab = lab().await;
    let out = run(&lab, "csv").await.stdout;
    assert_eq!(raw(&out, &['\r', '\n']), [] as [char; 0], "{out}");
    let mut reader = ::csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("CSV")).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(&rows[0][2], "mx.peer.test");
    assert_eq!(
        &rows[0][21],
        format!("cert.chain.valid: {FINDING_REPLACED}")
    );
    // As written: quoted, the quote doubled, the line end kept inside
    // (then the columns appended after it: requiretls, ocsp,
    // ocsp_freshness, must_staple).
    assert!(out.ends_with(&format!(
        ",\"cert.chain.valid: {}\",false,none,,false\r\n",
        FINDING_REPLACED.replace('"', "\"\"")
    )));
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_escapes_markup_and_replaces_what_xml_cannot_carry() {
    let lab = lab().await;
    let out = run(&lab, "junit").await.stdout;
    assert_eq!(raw(&out, &['\n']), [] as [char; 0], "{out}");
    let x = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
            .replace('\r', "&#13;")
    };
    let expected = format!(
        "<system-out>verdict encrypted: STARTTLS everywhere, but 1 of 1 certificates cannot be authenticated\n\
         configuration sufficient (lower bound)\n\
         peer.test: mta-sts.record: {}\n\
         peer.test: tls-rpt.record: {}\n\
         mx.peer.test [127.0.0.1:PORT]: cert.chain.valid: {}</system-out>",
        x(STS_FINDING),
        x(RPT_FINDING),
        x(FINDING_REPLACED)
    );
    assert!(
        port_named(&out).contains(&expected),
        "no {expected}\nin {out}"
    );
    assert!(out.contains("&lt;/script&gt;") && !out.contains("</script>"));
    let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
    let text = doc
        .descendants()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .expect("system-out");
    assert!(text.ends_with(&format!(": {FINDING_REPLACED}")), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_carries_no_peer_text() {
    let lab = lab().await;
    let out = run(&lab, "prometheus").await.stdout;
    assert_eq!(raw(&out, &['\n']), [] as [char; 0], "{out}");
    // Metric names, label names and values are the tool's words, the
    // domain, the MX name and the address; nothing the server said.
    for peer in ["cmd", "script", "EVIL", "Org", "\u{fffd}"] {
        assert!(!out.contains(peer), "{peer} in {out}");
    }
    assert!(out.lines().any(|l| l
        == r#"smtptls_mx_certificate_valid{domain="peer.test",mx="mx.peer.test",address="127.0.0.1"} 0"#));
}

/// stderr is a terminal too: an error quoting a path (or a reply, or a
/// list line) shows its control characters escaped. The output file
/// cannot be created, so the run stops before any network work.
#[tokio::test(flavor = "multi_thread")]
async fn stderr_messages_are_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir
        .path()
        .join("missing")
        .join("\u{1b}]0;T\u{7}\u{1b}[2J\u{9b}\u{202e}.csv");
    let run = lab::run::smtptls([
        "check".to_string(),
        "example.test".to_string(),
        "--output".to_string(),
        path.display().to_string(),
    ])
    .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "smtptls: error: cannot create {}/missing/\\x1b]0;T\\x07\\x1b[2J\\u{{9b}}\\u{{202e}}.csv: \
             No such file or directory (os error 2)\n",
            dir.path().display()
        )
    );
}

/// The peer text as an HTML reader sees it: the terminal's escapes of
/// the control characters, markup and quotes as characters.
const BANNER_HTML: &str = r#"220 mx.peer.test =cmd|' /C calc'!A0\x1b[2J\x1b]0;T\x07\x00\x7f\u{9b}31m\u{202e}"q"\r</script> ESMTP lab"#;
const EHLO_HTML: &str = r#"X-EVIL \x1b[31m\u{85}\u{2066}@SUM(1)\x00'</script>"#;
const SUBJECT_HTML: &str = r#"CN=mx.peer.test \x1b[2J\u{9b}0m\u{202e}=cmd|' /C calc'!A0 "</script>, O=-Org\x00\r\n+forged line\u{2028}"#;
const SAN_HTML: &str = r#"=evil\x1b[2J\x00"</script>.peer.test"#;

/// The elements the HTML page is made of: markup from a peer would add
/// one (or a second `script`).
const HTML_ELEMENTS: &[&str] = &[
    "a", "body", "br", "button", "caption", "code", "dd", "details", "div", "dl", "dt", "footer",
    "form", "g", "h1", "h2", "h3", "h4", "h5", "head", "header", "html", "input", "label", "li",
    "main", "meta", "nav", "option", "p", "rect", "script", "section", "select", "span", "strong",
    "style", "summary", "svg", "table", "tbody", "td", "text", "th", "thead", "time", "title",
    "tr", "ul",
];

#[tokio::test(flavor = "multi_thread")]
async fn html_shows_peer_text_as_text_never_as_markup() {
    use scraper::{ElementRef, Html, Selector};
    let lab = lab().await;
    let out = run(&lab, "html").await.stdout;
    assert_eq!(raw(&out, &['\n']), [] as [char; 0], "{out}");
    // As written: the page's own closing tag is the only `</script>`;
    // the peer's are character references.
    assert_eq!(out.matches("</script>").count(), 1);
    assert!(out.contains("&lt;/script&gt;"));
    let doc = Html::parse_document(&out);
    let errors: Vec<String> = doc.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    let sel = |s: &str| Selector::parse(s).expect("selector");
    // Exactly the page's script, holding nothing the server sent.
    let scripts: Vec<String> = doc
        .select(&sel("script"))
        .map(|s| s.text().collect())
        .collect();
    assert_eq!(scripts.len(), 1);
    for peer in ["cmd", "EVIL", "forged", "peer.test"] {
        assert!(!scripts[0].contains(peer), "{peer} in the script");
    }
    // No element or event-handler attribute the page does not write.
    for e in doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let name = e.value().name();
        assert!(HTML_ELEMENTS.contains(&name), "<{name}>");
        for (attr, _) in e.value().attrs() {
            assert!(!attr.starts_with("on"), "{attr} on <{name}>");
        }
    }
    // The hostile text is there, as text.
    let codes: Vec<String> = doc
        .select(&sel("details code"))
        .map(|c| c.text().collect())
        .collect();
    for expected in [BANNER_HTML, EHLO_HTML, SUBJECT_HTML, SAN_HTML] {
        assert!(
            codes.iter().any(|c| c == expected),
            "no {expected} in {codes:#?}"
        );
    }
    let findings: Vec<String> = doc
        .select(&sel("details ul.findings li"))
        .map(|li| li.text().collect())
        .collect();
    for expected in [
        format!("FAIL cert.chain.valid {FINDING_TABLE}"),
        format!("FAIL mta-sts.record {STS_FINDING}"),
        format!("FAIL tls-rpt.record {RPT_FINDING}"),
    ] {
        assert!(
            findings.iter().any(|f| f.starts_with(&expected)),
            "no {expected} in {findings:#?}"
        );
    }
    // The most common problems quote the same message as their example.
    let examples: Vec<String> = doc
        .select(&sel("table.problems tbody tr td:nth-child(4)"))
        .map(|td| port_named(&td.text().collect::<String>()))
        .collect();
    assert!(
        examples.contains(&format!(
            "peer.test, mx.peer.test [127.0.0.1:PORT]: {FINDING_TABLE}"
        )),
        "{examples:#?}"
    );
}
