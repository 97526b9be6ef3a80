//! The command-line contract: argument validation before any network work,
//! exit codes, thresholds, clean stdout, generated completions and man page.

mod lab;

use std::net::Ipv4Addr;

use lab::dns::ZoneBuilder;
use lab::pki::TestPki;
use lab::run::{Lab, smtptls};
use lab::scenario::{LabBuilder, good, plain};

#[tokio::test(flavor = "multi_thread")]
async fn garbage_domains_exit_2_before_any_network_work() {
    let dns = ZoneBuilder::new()
        .a("fine.test", Ipv4Addr::LOCALHOST)
        .start()
        .await;
    for bad in [
        "exa mple.test",
        "-bad.test",
        "a..test",
        "192.0.2.1",
        "user@example.test",
        "nodots",
        "",
    ] {
        let run = smtptls(["check", "fine.test", bad, "--resolver", &dns.resolver_arg()]).await;
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stderr);
        assert!(run.stderr.contains("DOMAIN"), "{bad:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    assert_eq!(dns.queries(), 0, "no DNS query before validation finished");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_options_exit_2_with_a_clear_message() {
    let cases: [(&[&str], &str); 8] = [
        (&["--connect-to", "mx.test:25"], "HOST:PORT:ADDR:PORT"),
        (
            &["--connect-to", "mx.test:25:nothost:25"],
            "not an IP address",
        ),
        (&["--resolver", "dns.example"], "ADDR or ADDR:PORT"),
        (&["--fail-below", "no-mail"], "not a threshold"),
        (&["--fail-below", "great"], "unknown verdict"),
        (&["--timeout", "0"], "seconds"),
        (&["-4", "-6"], "cannot be used with"),
        (&["--deep", "--scan", "off"], "cannot be used with"),
    ];
    for (args, expect) in cases {
        let mut all = vec!["check", "x.test"];
        all.extend_from_slice(args);
        let run = smtptls(&all).await;
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains(expect), "{args:?}: {}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_ca_file_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.pem");
    let run = smtptls([
        "check",
        "x.test",
        "--ca-file",
        &missing.display().to_string(),
    ])
    .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.pem"), "{}", run.stderr);

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").expect("write");
    let run = smtptls(["check", "x.test", "--ca-file", &junk.display().to_string()]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("junk.pem") && run.stderr.contains("no PEM certificate"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idn_and_trailing_dot_are_normalised() {
    let dns = ZoneBuilder::new()
        .mx("xn--bcher-kva.test", 0, ".")
        .start()
        .await;
    let lab = Lab::new(dns, TestPki::new());
    let run = lab.check_json(&["Bücher.test."], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["domains"][0]["domain"], "xn--bcher-kva.test");
    assert_eq!(json["domains"][0]["verdict"], "no-mail");
}

/// A plaintext-only domain and a secure one, to exercise thresholds.
async fn threshold_lab() -> Lab {
    LabBuilder::new()
        .mx("tls.test", 10, "mx.tls.test", good)
        .mx("clear.test", 10, "mx.clear.test", plain)
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_follow_the_threshold() {
    let lab = threshold_lab().await;
    let code = |run: lab::run::Run| run.code;
    assert_eq!(code(lab.check_json(&["tls.test"], &[]).await), 0);
    assert_eq!(
        code(lab.check_json(&["clear.test"], &[]).await),
        1,
        "plaintext fails by default"
    );
    assert_eq!(
        code(lab.check_json(&["tls.test", "clear.test"], &[]).await),
        1,
        "one failing domain fails the run"
    );
    assert_eq!(
        code(
            lab.check_json(&["clear.test"], &["--fail-below", "plaintext"])
                .await
        ),
        0
    );
    assert_eq!(
        code(
            lab.check_json(&["clear.test"], &["--fail-below", "error"])
                .await
        ),
        0
    );
    assert_eq!(
        code(
            lab.check_json(&["tls.test"], &["--fail-below", "secure"])
                .await
        ),
        0
    );
    let run = lab
        .check_json(&["tls.test", "clear.test"], &["--fail-below", "partial"])
        .await;
    assert_eq!(run.code, 1);
    let json = run.json();
    assert_eq!(json["settings"]["fail_below"], "partial");
    assert_eq!(json["summary"]["below_threshold"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_stdout_is_clean_and_stderr_quiet() {
    let lab = threshold_lab().await;
    let run = lab.check_json(&["tls.test", "clear.test"], &[]).await;
    let json = run.json();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["tool"]["name"], "smtptls");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn table_is_the_default_format() {
    let lab = threshold_lab().await;
    let run = lab.check_table(&["tls.test"], &[]).await;
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("tls.test  SECURE  "),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("\u{1b}["),
        "no colour when not a terminal"
    );
    let run = lab.check_table(&["tls.test"], &["--color", "always"]).await;
    assert!(run.stdout.contains("\u{1b}["), "colour on request");
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_and_man_page_are_generated() {
    let run = smtptls(["completions", "bash"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("--connect-to") && run.stdout.contains("smtptls"));
    let run = smtptls(["man"]).await;
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains(".TH smtptls"),
        "{}",
        &run.stdout[..run.stdout.len().min(200)]
    );
    let run = smtptls(["check", "--help"]).await;
    assert_eq!(run.code, 0);
    for flag in [
        "--format",
        "--resolver",
        "--port",
        "--connect-to",
        "--ca-file",
        "--ehlo-name",
        "--timeout",
        "-4",
        "-6",
        "--fail-below",
        "Exit codes",
    ] {
        assert!(run.stdout.contains(flag), "--help lacks {flag}");
    }
    // `report` renders saved rows with check's formats and gate.
    let run = smtptls(["completions", "bash"]).await;
    assert!(
        run.stdout.contains("smtptls__subcmd__report"),
        "completions lack report"
    );
    let run = smtptls(["report", "--help"]).await;
    assert_eq!(run.code, 0);
    for flag in [
        "FILE",
        "--format",
        "--fail-below",
        "--fail-level",
        "--output",
        "--color",
        "--verbose",
        "Exit codes",
    ] {
        assert!(run.stdout.contains(flag), "report --help lacks {flag}");
    }
}

/// `smtptls explain ID` with `COLUMNS`: exit code, stdout, stderr.
fn explain(args: &[&str], columns: &str) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("smtptls")
        .expect("the smtptls binary")
        .arg("explain")
        .args(args)
        .env("COLUMNS", columns)
        .env("NO_COLOR", "1")
        .output()
        .expect("run smtptls explain");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Text as words, so that a check does not depend on where lines wrap.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn explain_prints_meaning_why_and_fix_wrapped_to_the_width() {
    use smtptls::vocabulary::{Advice, FindingId, explain as registry};
    for (id, columns) in [
        (FindingId::TlsCipherOrder, "60"),
        (FindingId::CertExpiry, "100"),
    ] {
        let (code, stdout, stderr) = explain(&[id.as_str()], columns);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
        let e = registry(id);
        let Advice::Fix(fix) = e.advice else {
            panic!("{id} has a usual fix");
        };
        let said = words(&stdout);
        for part in [id.as_str(), e.meaning, e.why, fix] {
            assert!(said.contains(part), "{part:?} missing from:\n{stdout}");
        }
        let width: usize = columns.parse().expect("number");
        assert!(
            stdout.lines().all(|l| l.chars().count() <= width),
            "wider than {width}:\n{stdout}"
        );
        assert!(stdout.lines().count() > 4, "not wrapped:\n{stdout}");
    }
    // An id without a usual fix says why.
    let (code, stdout, _) = explain(&["mx.null"], "100");
    assert_eq!(code, 0);
    assert!(stdout.contains("No usual fix:"), "{stdout}");
}

#[test]
fn explain_without_an_id_lists_every_id_with_its_meaning() {
    use smtptls::vocabulary::{FindingId, explain as registry};
    let (code, stdout, stderr) = explain(&[], "100");
    assert_eq!(code, 0, "{stderr}");
    let listed: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let ids: Vec<&str> = FindingId::ALL.iter().map(|id| id.as_str()).collect();
    assert_eq!(listed, ids);
    let said = words(&stdout);
    for &id in FindingId::ALL {
        assert!(said.contains(registry(id).meaning), "{id}");
    }
}

#[test]
fn explain_of_an_unknown_id_exits_2_naming_it_and_the_known_ones() {
    let (code, stdout, stderr) = explain(&["cert.expired\x1b[2J"], "100");
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cert.expired"), "{stderr}");
    // The input is shown, never obeyed.
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    for known in ["cert.expiry", "tls.cipher-order", "starttls.injection"] {
        assert!(stderr.contains(known), "{stderr}");
    }
}
