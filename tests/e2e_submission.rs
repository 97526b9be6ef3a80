//! End to end, `--service submission|submissions` (issue 30, point 2): lab
//! servers on the submission ports, STARTTLS (587) and implicit TLS (465),
//! found through `_submission._tcp` / `_submissions._tcp` SRV records
//! (RFC 6186) or by host name, graded by what a mail client needs. The
//! servers record every command: smtptls never sends AUTH.

mod lab;

use std::net::Ipv4Addr;

use lab::dns::ZoneBuilder;
use lab::pki::{LeafSpec, TestPki};
use lab::report::{domain, finding, first_address, severity};
use lab::run::Lab;
use lab::smtp::{Auth, Behaviour, SmtpServer, StartTls};
use serde_json::Value;

fn mechs() -> Vec<String> {
    vec!["PLAIN".to_string(), "LOGIN".to_string()]
}

/// A submission server for `host`: STARTTLS or implicit TLS, AUTH where
/// `auth` says, with a certificate for `cert_name`.
async fn server(
    pki: &TestPki,
    host: &str,
    cert_name: &str,
    tls: StartTls,
    auth: Auth,
) -> SmtpServer {
    let cert = pki.leaf(&LeafSpec::valid_for(cert_name));
    SmtpServer::start(Behaviour {
        starttls: tls,
        auth,
        ..Behaviour::good(host, cert)
    })
    .await
}

/// No server ever saw an AUTH command (nor MAIL, RCPT or DATA).
fn never_logged_in(servers: &[&SmtpServer]) {
    for s in servers {
        for line in s.commands() {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            assert!(
                !matches!(verb.as_str(), "AUTH" | "MAIL" | "RCPT" | "DATA"),
                "smtptls sent {line:?}"
            );
        }
    }
}

fn route(host: &str, port: u16, server: &SmtpServer) -> [String; 2] {
    [
        "--connect-to".to_string(),
        format!("{host}:{port}::{}", server.port()),
    ]
}

/// The lab of every case: one zone, one PKI.
struct World {
    lab: Lab,
    good587: SmtpServer,
    good465: SmtpServer,
    clear: SmtpServer,
    plain: SmtpServer,
    wrong: SmtpServer,
    domain_only: SmtpServer,
}

async fn world() -> World {
    let pki = TestPki::new();
    let dns = ZoneBuilder::new()
        .srv("_submission._tcp.good.test.", 0, 1, 587, "mail.good.test.")
        .srv("_submissions._tcp.good.test.", 0, 1, 465, "mail.good.test.")
        .a("mail.good.test", Ipv4Addr::LOCALHOST)
        .a("mail.clear.test", Ipv4Addr::LOCALHOST)
        .a("mail.plain.test", Ipv4Addr::LOCALHOST)
        .a("mail.wrong.test", Ipv4Addr::LOCALHOST)
        .srv("_submission._tcp.none.test.", 0, 0, 0, ".")
        .srv(
            "_submissions._tcp.domainonly.test.",
            0,
            1,
            465,
            "mail.domainonly.test.",
        )
        .a("mail.domainonly.test", Ipv4Addr::LOCALHOST)
        .a("none.test", Ipv4Addr::LOCALHOST)
        .start()
        .await;
    let good587 = server(
        &pki,
        "mail.good.test",
        "mail.good.test",
        StartTls::Offered,
        Auth::InsideTls(mechs()),
    )
    .await;
    let good465 = server(
        &pki,
        "mail.good.test",
        "mail.good.test",
        StartTls::Implicit,
        Auth::InsideTls(mechs()),
    )
    .await;
    let clear = server(
        &pki,
        "mail.clear.test",
        "mail.clear.test",
        StartTls::Offered,
        Auth::BeforeTls(mechs()),
    )
    .await;
    let plain = SmtpServer::start(Behaviour {
        auth: Auth::BeforeTls(mechs()),
        ..Behaviour::plain("mail.plain.test")
    })
    .await;
    let wrong = server(
        &pki,
        "mail.wrong.test",
        "other.wrong.test",
        StartTls::Implicit,
        Auth::InsideTls(mechs()),
    )
    .await;
    // A certificate for the SRV's domain, not for its target: RFC 7817
    // would let a client accept it, the clients people use do not.
    let domain_only = server(
        &pki,
        "mail.domainonly.test",
        "domainonly.test",
        StartTls::Implicit,
        Auth::InsideTls(mechs()),
    )
    .await;
    World {
        lab: Lab::new(dns, pki),
        domain_only,
        good587,
        good465,
        clear,
        plain,
        wrong,
    }
}

impl World {
    fn routes(&self) -> Vec<String> {
        [
            route("mail.good.test", 587, &self.good587),
            route("mail.good.test", 465, &self.good465),
            route("mail.clear.test", 587, &self.clear),
            route("mail.plain.test", 587, &self.plain),
            route("mail.wrong.test", 465, &self.wrong),
            route("mail.domainonly.test", 465, &self.domain_only),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    async fn check(&self, service: &str, names: &[&str], extra: &[&str]) -> (i32, Value) {
        let mut args: Vec<String> = self.routes();
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = self
            .lab
            .smtptls(
                &["check", "--format", "json", "--service", service],
                names,
                &args,
            )
            .await;
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        (run.code, run.json())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn srv_records_lead_to_secure_submission_on_both_ports() {
    let w = world().await;
    for (service, port) in [("submission", 587), ("submissions", 465)] {
        let (code, json) = w.check(service, &["good.test"], &["--scan", "off"]).await;
        assert_eq!(code, 0, "{json:#}");
        assert_eq!(json["settings"]["service"], service);
        assert_eq!(json["settings"]["fail_below"], "secure");
        let d = domain(&json, "good.test");
        assert_eq!(d["service"], service);
        assert_eq!(d["verdict"], "secure", "{:#}", d["verdict_reason"]);
        assert_eq!(d["mx_source"], "srv");
        assert_eq!(d["mx"][0]["host"], "mail.good.test");
        assert_eq!(severity(d, "submission.srv"), "ok");
        // Senders' machinery has no place here.
        assert_eq!(d["mta_sts"], Value::Null);
        assert_eq!(d["delivery"], Value::Null);
        let a = first_address(&json, "good.test");
        assert_eq!(json["settings"]["port"], port);
        assert_eq!(a["tls"]["version"], "TLSv1.3");
        assert_eq!(a["certificate"]["hostname_match"], true);
        let (sev, message) = finding(a, "submission.auth-before-tls").expect("AUTH finding");
        assert_eq!(sev, "ok");
        assert!(
            message.contains("PLAIN LOGIN") && message.contains("only inside TLS"),
            "{message}"
        );
        assert_eq!(severity(a, "dane.tlsa"), "absent");
        if port == 465 {
            // Implicit TLS: no STARTTLS step, no injection test.
            assert_eq!(a["starttls"], false);
            assert_eq!(severity(a, "starttls.offered"), "absent");
            assert_eq!(a["injection"], Value::Null);
        } else {
            assert_eq!(a["starttls"], true);
            assert_eq!(severity(a, "starttls.injection"), "ok");
        }
    }
    never_logged_in(&[&w.good587, &w.good465]);
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_before_starttls_fails_a_host_name_without_srv() {
    let w = world().await;
    let (code, json) = w
        .check("submission", &["mail.clear.test"], &["--scan", "off"])
        .await;
    let d = domain(&json, "mail.clear.test");
    assert_eq!(d["mx_source"], "host");
    assert_eq!(severity(d, "submission.srv"), "info");
    assert_eq!(d["verdict"], "encrypted", "{:#}", d["verdict_reason"]);
    // The default gate for submission is secure: encrypted fails the run.
    assert_eq!(code, 1);
    let a = first_address(&json, "mail.clear.test");
    let (sev, message) = finding(a, "submission.auth-before-tls").expect("auth before TLS");
    assert_eq!(sev, "fail");
    assert!(message.contains("PLAIN LOGIN"), "{message}");
    let (sev, message) = finding(a, "submission.cleartext-password").expect("cleartext");
    assert_eq!(sev, "fail");
    assert!(
        message.starts_with("PLAIN and LOGIN offered before TLS"),
        "{message}"
    );
    // --fail-below encrypted lets it pass: the flag still rules.
    let (code, _) = w
        .check(
            "submission",
            &["mail.clear.test"],
            &["--scan", "off", "--fail-below", "encrypted"],
        )
        .await;
    assert_eq!(code, 0);
    never_logged_in(&[&w.clear]);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_tls_wrong_name_and_no_service() {
    let w = world().await;
    let (code, json) = w
        .check(
            "submission",
            &["mail.plain.test", "none.test"],
            &["--scan", "off"],
        )
        .await;
    assert_eq!(code, 1);
    let plain = domain(&json, "mail.plain.test");
    assert_eq!(
        plain["verdict"], "plaintext",
        "{:#}",
        plain["verdict_reason"]
    );
    let a = first_address(&json, "mail.plain.test");
    assert_eq!(severity(a, "submission.no-tls"), "fail");
    assert_eq!(severity(a, "submission.auth-before-tls"), "fail");
    assert_eq!(severity(a, "submission.cleartext-password"), "fail");
    let none = domain(&json, "none.test");
    assert_eq!(none["verdict"], "no-mail", "{:#}", none["verdict_reason"]);
    assert_eq!(none["mx_source"], "srv");
    assert_eq!(severity(none, "submission.srv"), "info");
    assert_eq!(none["mx"].as_array().map(Vec::len), Some(0));

    let (code, json) = w
        .check("submissions", &["mail.wrong.test"], &["--scan", "off"])
        .await;
    assert_eq!(code, 1);
    let d = domain(&json, "mail.wrong.test");
    assert_eq!(d["verdict"], "encrypted", "{:#}", d["verdict_reason"]);
    let a = first_address(&json, "mail.wrong.test");
    assert_eq!(severity(a, "cert.hostname"), "fail");
    never_logged_in(&[&w.plain, &w.wrong]);

    // The name checked is the SRV target's, not the domain's.
    let (code, json) = w
        .check("submissions", &["domainonly.test"], &["--scan", "off"])
        .await;
    assert_eq!(code, 1);
    let d = domain(&json, "domainonly.test");
    assert_eq!(d["mx_source"], "srv");
    assert_eq!(d["verdict"], "encrypted", "{:#}", d["verdict_reason"]);
    assert_eq!(
        severity(first_address(&json, "domainonly.test"), "cert.hostname"),
        "fail"
    );
}

/// The table says which service it graded, and carries no sender lines.
#[tokio::test(flavor = "multi_thread")]
async fn the_table_names_the_service() {
    let w = world().await;
    let mut args = w.routes();
    args.extend(["--scan".to_string(), "off".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = w
        .lab
        .smtptls(
            &["check", "--service", "submissions", "--color", "never"],
            &["good.test"],
            &args,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("submissions"), "{}", run.stdout);
    assert!(!run.stdout.contains("MTA-STS"), "{}", run.stdout);
}

/// Subcommands about MX hosts refuse another service (exit 2).
#[tokio::test(flavor = "multi_thread")]
async fn policy_serve_and_tlsrpt_refuse_submission() {
    for head in [
        vec![
            "policy",
            "--format",
            "postfix",
            "--service",
            "submission",
            "example.test",
        ],
        vec!["serve", "--service", "submissions"],
        vec!["tlsrpt", "--service", "submission", "/dev/null"],
    ] {
        let run = lab::run::smtptls(&head).await;
        assert_eq!(run.code, 2, "{head:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("is for check"),
            "{head:?}: {}",
            run.stderr
        );
    }
}

/// Saved submission rows keep their service: `report` renders them with
/// the submission gate (secure), `policy --from` refuses them, and `diff`
/// refuses to compare them with MX rows of the same name (exit 2).
#[tokio::test(flavor = "multi_thread")]
async fn saved_rows_keep_their_service() {
    let w = world().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = w.routes();
    args.extend(["--scan".to_string(), "off".to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let sub = w
        .lab
        .smtptls(
            &["check", "--format", "ndjson", "--service", "submission"],
            &["mail.clear.test"],
            &args,
        )
        .await;
    assert_eq!(sub.code, 1, "{}", sub.stderr);
    let sub_file = dir.path().join("sub.ndjson");
    std::fs::write(&sub_file, &sub.stdout).expect("write");
    let mx = w
        .lab
        .smtptls(
            &["check", "--format", "ndjson"],
            &["mail.clear.test"],
            &args,
        )
        .await;
    let mx_file = dir.path().join("mx.ndjson");
    std::fs::write(&mx_file, &mx.stdout).expect("write");
    let path = |p: &std::path::Path| p.display().to_string();

    let report = lab::run::smtptls(["report", "--format", "json", &path(&sub_file)]).await;
    assert_eq!(report.code, 1, "{}", report.stderr);
    let json = report.json();
    assert_eq!(json["settings"]["service"], "submission");
    assert_eq!(json["settings"]["fail_below"], "secure");

    let policy =
        lab::run::smtptls(["policy", "--format", "postfix", "--from", &path(&sub_file)]).await;
    assert_eq!(policy.code, 2, "{}", policy.stdout);
    assert!(
        policy.stderr.contains("--service submission"),
        "{}",
        policy.stderr
    );

    let diff = lab::run::smtptls(["diff", &path(&mx_file), &path(&sub_file)]).await;
    assert_eq!(diff.code, 2, "{}", diff.stdout);
    assert!(
        diff.stderr.contains("compare reports of one service"),
        "{}",
        diff.stderr
    );
}
