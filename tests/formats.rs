//! `--format ndjson|junit|prometheus|csv` against the lab: one run per
//! format over the same five domains (secure STARTTLS, plaintext, NXDOMAIN,
//! null MX, and a server that greets with binary junk), checking each
//! output with a parser of its own kind.

mod lab;

use std::collections::BTreeMap;

use lab::run::{Lab, Run};
use lab::scenario::{LabBuilder, good, plain};
use lab::smtp::{Banner, Behaviour};
use serde_json::Value;

/// Input order.
const DOMAINS: [&str; 5] = [
    "tls.test",
    "clear.test",
    "gone.test",
    "null.test",
    "junk.test",
];

/// Verdicts, and which fall below the default `--fail-below encrypted`.
const EXPECTED: [(&str, &str, bool); 5] = [
    ("tls.test", "secure", false),
    ("clear.test", "plaintext", true),
    ("gone.test", "error", true),
    ("null.test", "no-mail", false),
    ("junk.test", "error", true),
];

async fn lab() -> Lab {
    LabBuilder::new()
        .mx("tls.test", 10, "mx.tls.test", good)
        .mx("clear.test", 10, "mx.clear.test", plain)
        .zone(|zone| zone.mx("null.test", 0, "."))
        .mx("junk.test", 10, "mx.junk.test", |_, mx| Behaviour {
            banner: Banner::Garbage,
            ..Behaviour::plain(mx)
        })
        .start()
        .await
}

/// `smtptls check --format FORMAT <the five domains> <lab args> EXTRA…`
async fn check(lab: &Lab, format: &str, extra: &[&str]) -> Run {
    let run = lab
        .smtptls(&["check", "--format", format], &DOMAINS, extra)
        .await;
    assert_eq!(
        run.code, 1,
        "three domains are below the threshold: {run:?}"
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_is_one_schema_valid_domain_per_line() {
    let lab = lab().await;
    let run = check(&lab, "ndjson", &[]).await;
    assert!(run.stdout.ends_with('\n'));

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read schema"))
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

    let mut verdicts = BTreeMap::new();
    for line in run.stdout.lines() {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", run.stdout));
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{}: {e}", e.instance_path().as_str()))
            .collect();
        assert!(errors.is_empty(), "{line}\n{}", errors.join("\n"));
        let name = value["domain"].as_str().expect("domain").to_string();
        let verdict = value["verdict"].as_str().expect("verdict").to_string();
        assert!(
            verdicts.insert(name.clone(), verdict).is_none(),
            "{name} twice"
        );
    }
    let expected: BTreeMap<String, String> = EXPECTED
        .iter()
        .map(|(d, v, _)| (d.to_string(), v.to_string()))
        .collect();
    assert_eq!(verdicts, expected, "one line per domain");
}

/// One `<testcase>`.
struct Case {
    name: String,
    /// The `message` of its `<failure>`, if it has one.
    failure: Option<String>,
    /// The text of the `<failure>` or `<system-out>`.
    text: String,
}

/// The `<testsuite>`'s attributes and its test cases.
fn testcases(xml: &str) -> (BTreeMap<String, String>, Vec<Case>) {
    let doc = roxmltree::Document::parse(xml)
        .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{xml}"));
    let suite = doc.root_element();
    assert!(suite.has_tag_name("testsuite"), "{xml}");
    let attributes = suite
        .attributes()
        .map(|a| (a.name().to_string(), a.value().to_string()))
        .collect();
    let cases = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|case| {
            assert_eq!(case.attribute("classname"), Some("smtptls"));
            let failure = case.children().find(|n| n.has_tag_name("failure"));
            let out = case.children().find(|n| n.has_tag_name("system-out"));
            let text = failure
                .or(out)
                .and_then(|n| n.text())
                .unwrap_or_default()
                .to_string();
            Case {
                name: case.attribute("name").expect("name").to_string(),
                failure: failure.map(|f| f.attribute("message").expect("message").to_string()),
                text,
            }
        })
        .collect();
    (attributes, cases)
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_fails_exactly_the_domains_below_the_threshold() {
    let lab = lab().await;
    let run = check(&lab, "junit", &[]).await;
    let (suite, cases) = testcases(&run.stdout);
    assert_eq!(suite["name"], "smtptls");
    assert_eq!(suite["tests"], "5");
    assert_eq!(suite["failures"], "3");
    assert_eq!(run.stdout.matches("<testcase ").count(), 5);
    assert_eq!(run.stdout.matches("<failure ").count(), 3);

    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, DOMAINS, "input order");
    for (
        Case {
            name,
            failure,
            text,
        },
        (_, verdict, below),
    ) in cases.iter().zip(EXPECTED)
    {
        match failure {
            Some(message) => {
                assert!(below, "{name} should pass: {text}");
                assert_eq!(message, &format!("verdict {verdict} below encrypted"));
            }
            None => assert!(!below, "{name} should fail"),
        }
        assert!(
            text.starts_with(&format!("verdict {verdict}: ")),
            "{name}: {text}"
        );
    }
    // Address findings say where, as the view names an address: with
    // its port, since the lab's servers are not on the run's port 25.
    let at = |text: &str, host: &str, id: &str| {
        text.lines().any(|l| {
            l.strip_prefix(&format!("{host} [127.0.0.1:"))
                .and_then(|rest| rest.split_once("]: "))
                .is_some_and(|(port, rest)| {
                    port.parse::<u16>().is_ok() && rest.starts_with(&format!("{id}: "))
                })
        })
    };
    let clear = &cases[1].text;
    assert!(
        at(clear, "mx.clear.test", "starttls.offered"),
        "address findings say where: {clear}"
    );
    let gone = &cases[2].text;
    assert!(gone.contains("\ngone.test: dns.nxdomain: "), "{gone}");
    let junk = &cases[4].text;
    assert!(at(junk, "mx.junk.test", "smtp.banner"), "{junk}");

    // The threshold is the run's.
    let run = check(&lab, "junit", &["--fail-below", "plaintext"]).await;
    let (suite, cases) = testcases(&run.stdout);
    assert_eq!(suite["failures"], "2");
    let failing: Vec<&str> = cases
        .iter()
        .filter(|c| c.failure.is_some())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failing, ["gone.test", "junk.test"]);
}

/// Whether `line` is `name{labels} value` (labels optional) with a
/// numeric value, the label block well-formed.
fn is_sample(line: &str) -> bool {
    let Some((series, value)) = line.rsplit_once(' ') else {
        return false;
    };
    if value.parse::<f64>().is_err() {
        return false;
    }
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => match rest.strip_suffix('}') {
            Some(labels) => (name, Some(labels)),
            None => return false,
        },
        None => (series, None),
    };
    let name_ok = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    });
    name_ok && !name.is_empty() && labels.is_none_or(labels_ok)
}

/// `k="v",k="v"` with `\\`, `\"`, `\n` the only escapes.
fn labels_ok(mut rest: &str) -> bool {
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once("=\"") else {
            return false;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, '\\' | '"' | 'n')) => {}
                    _ => return false,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                '\n' => return false,
                _ => {}
            }
        }
        let Some(end) = end else { return false };
        rest = &after[end + 1..];
        if let Some(more) = rest.strip_prefix(',') {
            rest = more;
        } else if !rest.is_empty() {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_exposition_has_the_expected_samples() {
    let lab = lab().await;
    let run = check(&lab, "prometheus", &[]).await;
    let text = &run.stdout;
    assert!(text.ends_with('\n'));

    // Every line a comment or a sample; every family together, after its
    // HELP and TYPE.
    let mut families: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().expect("family name").to_string();
            assert!(!families.contains(&name), "{name} split up:\n{text}");
            families.push(name);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let family = families.last().map(|f| format!("{f} gauge"));
            assert_eq!(Some(rest.to_string()), family);
        } else {
            assert!(is_sample(line), "not a sample: {line:?}");
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            assert_eq!(Some(name), families.last().map(String::as_str), "{line}");
        }
    }

    let tls = r#"domain="tls.test",mx="mx.tls.test",address="127.0.0.1""#;
    let clear = r#"domain="clear.test",mx="mx.clear.test",address="127.0.0.1""#;
    for sample in [
        "smtptls_run_domains 5".to_string(),
        "smtptls_run_below_threshold 3".to_string(),
        r#"smtptls_domain_verdict{domain="tls.test",verdict="secure"} 1"#.to_string(),
        r#"smtptls_domain_verdict{domain="tls.test",verdict="plaintext"} 0"#.to_string(),
        r#"smtptls_domain_verdict{domain="clear.test",verdict="plaintext"} 1"#.to_string(),
        r#"smtptls_domain_verdict{domain="null.test",verdict="no-mail"} 1"#.to_string(),
        r#"smtptls_domain_verdict_rank{domain="tls.test"} 5"#.to_string(),
        r#"smtptls_domain_verdict_rank{domain="clear.test"} 2"#.to_string(),
        r#"smtptls_domain_verdict_rank{domain="gone.test"} 0"#.to_string(),
        r#"smtptls_domain_below_threshold{domain="tls.test"} 0"#.to_string(),
        r#"smtptls_domain_below_threshold{domain="clear.test"} 1"#.to_string(),
        r#"smtptls_domain_below_threshold{domain="gone.test"} 1"#.to_string(),
        r#"smtptls_domain_below_threshold{domain="null.test"} 0"#.to_string(),
        r#"smtptls_domain_mta_sts_mode{domain="tls.test",mode="absent"} 1"#.to_string(),
        r#"smtptls_domain_tls_rpt{domain="tls.test"} 0"#.to_string(),
        r#"smtptls_domain_delivery{domain="tls.test",sender="opportunistic",result="secure"} 1"#
            .to_string(),
        r#"smtptls_domain_delivery{domain="clear.test",sender="opportunistic",result="cleartext"} 1"#
            .to_string(),
        format!("smtptls_mx_starttls{{{tls}}} 1"),
        format!("smtptls_mx_starttls{{{clear}}} 0"),
        format!("smtptls_mx_certificate_valid{{{tls}}} 1"),
        // The rustls lab server: TLS 1.2/1.3 only, pipelined input dropped.
        format!("smtptls_mx_legacy_protocol{{{tls}}} 0"),
        format!("smtptls_mx_starttls_injectable{{{tls}}} 0"),
        format!(r#"smtptls_mx_dane_result{{{tls},result="insecure"}} 1"#),
        r#"smtptls_mx_error{domain="junk.test",mx="mx.junk.test",address="127.0.0.1",phase="banner",kind="unparseable"} 1"#
            .to_string(),
    ] {
        assert!(
            text.lines().any(|l| l == sample),
            "missing {sample}:\n{text}"
        );
    }
    assert!(
        !text.contains(r#"smtptls_domain_verdict_rank{domain="null.test"}"#),
        "no-mail has no rank"
    );
    assert!(
        text.lines().any(|l| l.starts_with(&format!(
            r#"smtptls_mx_tls_version_info{{{tls},version="TLSv1."#
        ))),
        "{text}"
    );
    let expiry = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "smtptls_mx_certificate_expiry_timestamp_seconds{{{tls}}} "
            ))
        })
        .expect("certificate expiry");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expiry: i64 = expiry.parse().expect("integer seconds");
    assert!(expiry > now && expiry < now + 10 * 365 * 86400, "{expiry}");
    let ran_at: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("smtptls_run_timestamp_seconds "))
        .expect("run timestamp")
        .parse()
        .expect("integer seconds");
    assert!((now - ran_at).abs() < 300, "{ran_at} vs {now}");
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_has_a_row_per_address_and_keeps_address_less_domains() {
    let lab = lab().await;
    let run = check(&lab, "csv", &[]).await;
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(
        header,
        [
            "domain",
            "verdict",
            "mx",
            "preference",
            "address",
            "port",
            "starttls",
            "tls_version",
            "cipher",
            "chain_valid",
            "hostname_match",
            "days_left",
            "not_after",
            "dane",
            "accepted_versions",
            "weakest_level",
            "post_quantum",
            "legacy_tls",
            "starttls_injection",
            "error_phase",
            "error",
            "worst_finding",
            "requiretls",
            "ocsp",
            "ocsp_freshness",
            "must_staple",
        ]
    );
    let rows: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            let r = r.expect("a well-formed record");
            assert_eq!(r.len(), header.len());
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    // One address each for tls, clear and junk; gone and null have none
    // and get one row each.
    let domains: Vec<&str> = rows.iter().map(|r| r["domain"].as_str()).collect();
    assert_eq!(domains, DOMAINS);
    for (row, (domain, verdict, _)) in rows.iter().zip(EXPECTED) {
        assert_eq!(row["verdict"], verdict, "{domain}");
    }

    let tls = &rows[0];
    assert_eq!(tls["mx"], "mx.tls.test");
    assert_eq!(tls["preference"], "10");
    assert_eq!(tls["address"], "127.0.0.1");
    assert_eq!(tls["starttls"], "true");
    assert!(tls["tls_version"].starts_with("TLSv1."), "{tls:?}");
    assert!(!tls["cipher"].is_empty());
    assert_eq!(tls["chain_valid"], "true");
    assert_eq!(tls["hostname_match"], "true");
    assert!(tls["days_left"].parse::<i64>().is_ok_and(|d| d > 0));
    assert!(tls["not_after"].ends_with('Z'), "{tls:?}");
    assert_eq!(tls["error"], "");
    // The lab server is rustls: TLS 1.2 and 1.3.
    assert_eq!(tls["accepted_versions"], "TLSv1.2 TLSv1.3");
    assert!(
        ["true", "false"].contains(&tls["post_quantum"].as_str()),
        "{tls:?}"
    );
    assert_eq!(tls["legacy_tls"], "false");
    assert_eq!(tls["starttls_injection"], "discarded");
    // The lab server staples nothing and does not advertise REQUIRETLS.
    assert_eq!(tls["requiretls"], "false");
    assert_eq!(tls["ocsp"], "none");
    assert_eq!(tls["ocsp_freshness"], "");
    assert_eq!(tls["must_staple"], "false");
    assert!(
        ["good", "sufficient", "phase-out"].contains(&tls["weakest_level"].as_str()),
        "{tls:?}"
    );

    let clear = &rows[1];
    assert_eq!(clear["starttls"], "false");
    assert_eq!(
        clear["accepted_versions"], "",
        "no STARTTLS: nothing scanned"
    );
    assert_eq!(clear["tls_version"], "");
    assert_eq!(clear["chain_valid"], "");
    assert!(
        clear["worst_finding"].starts_with("starttls.offered: "),
        "{clear:?}"
    );

    let gone = &rows[2];
    assert_eq!((gone["mx"].as_str(), gone["address"].as_str()), ("", ""));
    assert_eq!(gone["error_phase"], "dns");
    assert!(gone["worst_finding"].starts_with("dns.nxdomain: "));

    let null = &rows[3];
    assert_eq!((null["mx"].as_str(), null["address"].as_str()), ("", ""));
    assert!(null["worst_finding"].starts_with("mx.null: "), "{null:?}");

    let junk = &rows[4];
    assert_eq!(junk["address"], "127.0.0.1");
    assert_eq!(junk["error_phase"], "banner");
    assert!(!junk["error"].is_empty());
}

/// Text from a hostile server is inert in every format: a 421 banner
/// carrying terminal escapes (title, clear screen, colour), BEL, a
/// formula, markup, quotes and a bidi override is shown, in each output,
/// as that format's own escape, and no raw control byte reaches any
/// output.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_banner_text_is_inert_in_every_format() {
    let hostile = "=cmd|' /C calc'!A0\u{1b}]0;TITLE\u{7}\u{1b}[2J\u{1b}[31m\"<&></script>\u{202e}";
    let lab = LabBuilder::new()
        .mx("hostile.test", 10, "mx.hostile.test", move |_, _| {
            Behaviour {
                banner: Banner::Reject421,
                ..Behaviour::plain(hostile)
            }
        })
        .start()
        .await;
    for format in [
        "table",
        "json",
        "ndjson",
        "csv",
        "junit",
        "prometheus",
        "html",
    ] {
        let run = lab
            .smtptls(&["check", "--format", format], &["hostile.test"], &["-4"])
            .await;
        // Bidi overrides only mislead where text is shown: the terminal
        // and the browser.
        let shown = matches!(format, "table" | "html");
        let raw: Vec<char> = run
            .stdout
            .chars()
            .filter(|c| {
                (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || (shown && *c == '\u{202e}')
            })
            .collect();
        assert!(raw.is_empty(), "{format}: raw {raw:?} in:\n{}", run.stdout);
        match format {
            "table" => assert!(run.stdout.contains(r"\x1b]0;TITLE\x07"), "{}", run.stdout),
            "json" | "ndjson" => {
                // JSON escapes them, and parsing gives the exact bytes back.
                let line = run
                    .stdout
                    .lines()
                    .find(|l| l.contains("hostile"))
                    .unwrap_or("");
                let text = if format == "json" {
                    run.stdout.as_str()
                } else {
                    line
                };
                let v: Value = serde_json::from_str(text).expect("JSON");
                assert!(v.to_string().contains("\\u001b]0;TITLE"), "{format}");
            }
            "csv" => {
                let mut reader = ::csv::Reader::from_reader(run.stdout.as_bytes());
                let row = reader.records().next().expect("a row").expect("CSV");
                let error = &row[20];
                assert!(error.contains("\u{fffd}]0;TITLE"), "{error}");
                assert!(!error.starts_with('='), "{error}");
            }
            "junit" => {
                let doc = roxmltree::Document::parse(&run.stdout).expect("well-formed XML");
                let failure = doc
                    .descendants()
                    .find(|n| n.has_tag_name("failure"))
                    .and_then(|n| n.text())
                    .unwrap_or_default();
                assert!(failure.contains("\"<&></script>"), "{failure}");
            }
            "html" => {
                let doc = scraper::Html::parse_document(&run.stdout);
                assert_eq!(doc.errors.len(), 0, "{:?}", doc.errors);
                let script = scraper::Selector::parse("script").expect("selector");
                assert_eq!(doc.select(&script).count(), 1);
                let text: String = doc.root_element().text().collect();
                assert!(
                    text.contains(r#"\x1b]0;TITLE\x07\x1b[2J\x1b[31m"<&></script>\u{202e}"#),
                    "{text}"
                );
            }
            _ => assert!(run.stdout.contains("smtptls_mx_error{"), "{}", run.stdout),
        }
    }
}

/// `--format html`: a page html5ever parses without an error, with every
/// domain in the table (worst verdict first) and in a drill-down.
#[tokio::test(flavor = "multi_thread")]
async fn html_is_valid_and_lists_every_domain_worst_first() {
    use scraper::{Html, Selector};
    let lab = lab().await;
    let run = check(&lab, "html", &[]).await;
    let doc = Html::parse_document(&run.stdout);
    let errors: Vec<String> = doc.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    let sel = |s: &str| Selector::parse(s).expect("selector");
    let rows: Vec<(String, String)> = doc
        .select(&sel("#rows tbody tr"))
        .map(|r| {
            let name = r
                .select(&sel("td a"))
                .next()
                .map(|a| a.text().collect())
                .unwrap_or_default();
            (
                name,
                r.value().attr("data-verdict").unwrap_or("").to_string(),
            )
        })
        .collect();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(d, v)| (d.to_string(), v.to_string()))
            .collect()
    };
    // Errors first (the one with more failures first, then by name),
    // then plaintext, secure, and no-mail last.
    assert_eq!(
        rows,
        pairs(&[
            ("gone.test", "error"),
            ("junk.test", "error"),
            ("clear.test", "plaintext"),
            ("tls.test", "secure"),
            ("null.test", "no-mail"),
        ])
    );
    let details: Vec<String> = doc
        .select(&sel("details.domain summary h3"))
        .map(|h| h.text().collect())
        .collect();
    let names: Vec<String> = rows.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(details, names);
    let cards: Vec<String> = doc
        .select(&sel("#summary .card"))
        .map(|c| c.text().collect())
        .collect();
    assert_eq!(cards[..2], ["5domains", "3below the threshold (encrypted)"]);
}
