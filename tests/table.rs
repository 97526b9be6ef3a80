//! The human table from the real binary against the lab: one run over
//! domains that show each kind of row, snapshot-tested (insta) at the lab's
//! 100 columns (the README's quick start shows `smtptls demo`, tests/demo.rs); the width from
//! `COLUMNS`; colour that changes nothing but colour; `-v`. Ports vary per
//! run and are redacted. The layout itself at 80, 120 and 200 columns is
//! snapshot-tested on hand-built reports in `src/reporter/table/tests.rs`.

mod lab;

use std::process::Stdio;

use lab::run::Lab;
use lab::scenario::{LabBuilder, good, plain, self_signed};
use lab::smtp::{Banner, Behaviour};

async fn quick_start_lab() -> Lab {
    LabBuilder::new()
        .mx("example.test", 10, "mx1.example.test", good)
        .mx("example.test", 20, "mx2.example.test", plain)
        .mx("partner.test", 10, "mail.partner.test", self_signed)
        .mx("busy.test", 10, "mx.busy.test", |_, mx| Behaviour {
            banner: Banner::Reject421,
            ..Behaviour::plain(mx)
        })
        .zone(|zone| zone.mx("nomail.test", 0, "."))
        .start()
        .await
}

const DOMAINS: [&str; 5] = [
    "example.test",
    "partner.test",
    "busy.test",
    "nomail.test",
    "gone.test",
];

/// The display width of a line (what a terminal gives it).
fn columns(line: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(line)
}

/// `smtptls check DOMAINS… <lab args> EXTRA…` with `COLUMNS` set.
async fn check_at(lab: &Lab, width: &str, extra: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_smtptls"))
        .args(lab.command_line(&["check"], &DOMAINS, extra))
        .env("NO_COLOR", "1")
        .env("COLUMNS", width)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run smtptls");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `text` without SGR colour escapes.
fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('\u{1b}') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find('m').expect("SGR ends with m");
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn table_output() {
    let lab = quick_start_lab().await;
    let run = lab.check_table(&DOMAINS, &["-4"]).await;
    assert_eq!(run.code, 1);
    for line in run.stdout.lines() {
        assert!(columns(line) <= 100, "{} columns: {line}", columns(line));
    }
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[DATE]"),
        (r"in \d+ ms", "in [N] ms"),
        // The lab's keys are made per run: so is the TLSA digest advised.
        (r"\b[0-9a-f]{64}\b", "[SPKI-SHA256]"),
    ]}, {
        insta::assert_snapshot!(run.stdout);
    });
}

/// Piped, the width is `COLUMNS`; `--color always` adds colour and
/// nothing else; every line fits.
#[tokio::test(flavor = "multi_thread")]
async fn width_from_columns_and_colour_changes_only_colour() {
    let lab = quick_start_lab().await;
    for width in [80, 120] {
        let plain = check_at(&lab, &width.to_string(), &["-4", "--color", "never"]).await;
        let coloured = check_at(&lab, &width.to_string(), &["-4", "--color", "always"]).await;
        assert!(coloured.contains("\u{1b}["), "no colour at {width}");
        // Ports differ between runs only in the lab's own servers, which
        // are the same two runs here: the texts must match exactly.
        assert_eq!(strip_sgr(&coloured), plain, "layout changed at {width}");
        for line in plain.lines() {
            assert!(
                columns(line) <= width,
                "{} > {width}: {line}",
                columns(line)
            );
        }
        assert!(plain.contains("example.test  PARTIAL"), "{plain}");
    }
}

/// `-v` lists every finding of every address, with its id; without it
/// only the problems.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_lists_every_finding() {
    let lab = quick_start_lab().await;
    let short = lab.check_table(&["example.test"], &["-4"]).await.stdout;
    let long = lab
        .check_table(&["example.test"], &["-4", "-v"])
        .await
        .stdout;
    assert!(!short.contains("starttls.offered"), "{short}");
    assert!(
        long.contains("  mx1.example.test [127.0.0.1]\n    ok    smtp.connect: "),
        "{long}"
    );
    assert!(
        long.contains("\n    ok    starttls.offered: STARTTLS is offered\n"),
        "{long}"
    );
    assert!(
        long.contains("    FAIL  starttls.offered: STARTTLS is not offered"),
        "{long}"
    );
    assert!(long.lines().count() > short.lines().count() + 10);
}

/// The advice is the report's, not the table's: the JSON `fix` of a
/// finding and the table's `fix:` line under it say the same.
#[tokio::test(flavor = "multi_thread")]
async fn json_and_table_carry_the_same_advice() {
    let lab = quick_start_lab().await;
    let json = lab.check_json(&["example.test"], &["-4"]).await.stdout;
    let doc: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let plain = doc["domains"][0]["mx"]
        .as_array()
        .expect("mx")
        .iter()
        .find(|m| m["host"] == "mx2.example.test")
        .expect("mx2");
    let finding = plain["addresses"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == "starttls.offered")
        .expect("starttls.offered");
    assert_eq!(finding["severity"], "fail");
    assert_eq!(finding["fix"]["by"], "receiver");
    let fix = finding["fix"]["text"].as_str().expect("fix text");
    assert!(fix.contains("`smtpd_tls_security_level = may`"), "{fix}");
    assert!(fix.contains("mx2.example.test"), "{fix}");
    let table = lab.check_table(&["example.test"], &["-4"]).await.stdout;
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words(&table).contains(&format!("fix: {}", words(fix))),
        "{table}"
    );
}

/// Text from a hostile server reaches the terminal inert: its escape
/// sequences (title, clear screen, colour) appear as text, never as bytes.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_banner_is_inert_in_the_table() {
    let hostile = "mx.busy.test\u{1b}]0;TITLE\u{7}\u{1b}[2J\u{1b}[31mRED\u{202e}";
    let lab = LabBuilder::new()
        .mx("busy.test", 10, "mx.busy.test", move |_, _| Behaviour {
            banner: Banner::Reject421,
            ..Behaviour::plain(hostile)
        })
        .start()
        .await;
    let run = lab.check_table(&["busy.test"], &["-4"]).await;
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'),
        "raw control bytes in:\n{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{202e}'));
    // The message is prose and may wrap at its spaces: read it as words.
    let words = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(r"421 4.7.0 mx.busy.test\x1b]0;TITLE\x07\x1b[2J\x1b[31mRED\u{202e}"),
        "{}",
        run.stdout
    );
}
