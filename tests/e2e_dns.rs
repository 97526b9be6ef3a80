//! End to end, the resolver stage: real DNS answers from the lab zone
//! (MX order, null MX, implicit MX, NXDOMAIN, SERVFAIL, timeouts, CNAME and
//! IP-literal targets, several addresses per MX), and that one domain's
//! failure never costs another domain its row.

mod lab;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use lab::dns::ZoneBuilder;
use lab::pki::{LeafSpec, TestPki};
use lab::report::{domain, finding, severity};
use lab::run::Lab;
use lab::scenario::{LabBuilder, good, good_with, plain};
use lab::smtp::SmtpServer;
use serde_json::Value;

const LO4: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn hosts(d: &Value) -> Vec<(String, u64)> {
    d["mx"]
        .as_array()
        .map(|mx| {
            mx.iter()
                .map(|m| {
                    (
                        m["host"].as_str().unwrap_or_default().to_string(),
                        m["preference"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn mx_hosts_are_sorted_by_preference() {
    let pki = TestPki::new();
    let names = ["mx-a.sorted.test", "mx-b.sorted.test", "mx-c.sorted.test"];
    let server = SmtpServer::start(good_with(&pki, names[0], |leaf| LeafSpec {
        names: names.map(String::from).to_vec(),
        ..leaf
    }))
    .await;
    let dns = ZoneBuilder::new()
        .mx("sorted.test", 30, "mx-c.sorted.test")
        .mx("sorted.test", 10, "mx-b.sorted.test")
        .mx("sorted.test", 20, "mx-a.sorted.test")
        .a("mx-a.sorted.test", LO4)
        .a("mx-b.sorted.test", LO4)
        .a("mx-c.sorted.test", LO4)
        .start()
        .await;
    let port = server.port();
    let lab = Lab::new(dns, pki);
    // Any host on port 25 goes to the one server.
    let run = lab
        .check_json(
            &["sorted.test"],
            &["--connect-to", &format!(":25::{port}"), "--scan", "off"],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    let d = domain(&json, "sorted.test");
    assert_eq!(d["mx_source"], "mx");
    assert_eq!(
        hosts(d),
        vec![
            ("mx-b.sorted.test".to_string(), 10),
            ("mx-a.sorted.test".to_string(), 20),
            ("mx-c.sorted.test".to_string(), 30)
        ]
    );
    assert_eq!(d["verdict"], "secure");
    // The main probe, the injection test and the second hello for the
    // other key type's certificate (all made in every --scan mode).
    assert_eq!(server.connections(), 9, "each MX probed once");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_address_of_an_mx_is_probed_including_ipv6() {
    let pki = TestPki::new();
    let behaviour = good(&pki, "mx.dual.test");
    let v4 = SmtpServer::start(behaviour.clone()).await;
    let v6 = match SmtpServer::start_on(
        SocketAddr::from((Ipv6Addr::LOCALHOST, v4.port())),
        behaviour,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping: cannot bind [::1]:{} ({e})", v4.port());
            return;
        }
    };
    let dns = ZoneBuilder::new()
        .mx("dual.test", 10, "mx.dual.test")
        .a("mx.dual.test", LO4)
        .aaaa("mx.dual.test", Ipv6Addr::LOCALHOST)
        .start()
        .await;
    let mut lab = Lab::new(dns, pki);
    lab.serve("mx.dual.test", v4);
    let run = lab.check_json(&["dual.test"], &["--scan", "off"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    let addrs = &domain(&json, "dual.test")["mx"][0]["addresses"];
    let ips: Vec<&str> = addrs
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["ip"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ips, vec!["127.0.0.1", "::1"]);
    for a in addrs.as_array().into_iter().flatten() {
        assert_eq!(a["tls"]["version"], "TLSv1.3", "{a:#}");
    }
    assert_eq!(
        v6.connections(),
        3,
        "the probe, the injection test and the second hello"
    );

    // -4 and -6 limit the families probed.
    let run = lab.check_json(&["dual.test"], &["-4"]).await;
    let json = run.json();
    let addrs = &domain(&json, "dual.test")["mx"][0]["addresses"];
    assert_eq!(addrs.as_array().map(Vec::len), Some(1));
    assert_eq!(addrs[0]["ip"], "127.0.0.1");
    let run = lab.check_json(&["dual.test"], &["-6"]).await;
    let json = run.json();
    let addrs = &domain(&json, "dual.test")["mx"][0]["addresses"];
    assert_eq!(addrs.as_array().map(Vec::len), Some(1));
    assert_eq!(addrs[0]["ip"], "::1");
}

#[tokio::test(flavor = "multi_thread")]
async fn null_mx_accepts_no_mail_and_is_not_probed() {
    let pki = TestPki::new();
    let dns = ZoneBuilder::new()
        .mx("nomail.test", 0, ".")
        .a("nomail.test", LO4)
        .start()
        .await;
    let lab = Lab::new(dns, pki);
    let run = lab
        .check_json(&["nomail.test"], &["--fail-below", "secure"])
        .await;
    assert_eq!(run.code, 0, "no-mail never fails");
    let json = run.json();
    let d = domain(&json, "nomail.test");
    assert_eq!(d["verdict"], "no-mail");
    assert_eq!(d["mx_source"], "null");
    assert_eq!(d["mx"], serde_json::json!([]));
    assert_eq!(severity(d, "mx.null"), "info");
    assert_eq!(d["error"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn implicit_mx_is_flagged_and_probed() {
    let lab = LabBuilder::new()
        .zone(|zone| zone.a("implicit.test", LO4))
        .serve("implicit.test", good)
        .start()
        .await;
    let run = lab.check_json(&["implicit.test"], &[]).await;
    let json = run.json();
    let d = domain(&json, "implicit.test");
    assert_eq!(d["mx_source"], "implicit");
    assert_eq!(severity(d, "mx.implicit"), "warn");
    assert_eq!(hosts(d), vec![("implicit.test".to_string(), 0)]);
    assert_eq!(d["verdict"], "secure");
    assert_eq!(run.code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_failures_are_per_domain_and_every_row_is_kept() {
    let mut lab = LabBuilder::new()
        .mx("ok.test", 10, "mx.ok.test", good)
        .zone(|zone| {
            zone.servfail("broken.test")
                .blackhole("silent.test")
                .a("nomx.test", LO4)
                .mx("nohost.test", 10, "missing.nohost.test")
                .txt("empty.test", &["v=spf1 -all"])
        })
        .start()
        .await;
    lab.timeout = "1";
    let order = [
        "broken.test",
        "ok.test",
        "gone.test",
        "silent.test",
        "nohost.test",
        "empty.test",
    ];
    let run = lab.check_json(&order, &["-4"]).await;
    assert_eq!(run.code, 1);
    let json = run.json();
    let got: Vec<&str> = json["domains"]
        .as_array()
        .map(|ds| ds.iter().filter_map(|d| d["domain"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(got, order, "every domain reported, in input order");

    let ok = domain(&json, "ok.test");
    assert_eq!(ok["verdict"], "secure");

    let broken = domain(&json, "broken.test");
    assert_eq!(broken["verdict"], "error");
    assert_eq!(broken["error"]["phase"], "dns");
    assert_eq!(broken["error"]["kind"], "dns-servfail");
    assert_eq!(severity(broken, "dns.error"), "fail");

    let gone = domain(&json, "gone.test");
    assert_eq!(gone["verdict"], "error");
    assert_eq!(gone["error"]["kind"], "nxdomain");
    assert!(
        finding(gone, "dns.nxdomain")
            .is_some_and(|(s, m)| s == "fail" && m.contains("does not exist"))
    );

    let silent = domain(&json, "silent.test");
    assert_eq!(silent["error"]["kind"], "dns-timeout");

    let nohost = domain(&json, "nohost.test");
    assert_eq!(nohost["verdict"], "error");
    let mx = &nohost["mx"][0];
    assert_eq!(mx["host"], "missing.nohost.test");
    assert_eq!(mx["addresses"], serde_json::json!([]));
    assert!(
        finding(mx, "mx.no-address").is_some_and(|(s, m)| s == "fail" && m.contains("NXDOMAIN"))
    );

    let empty = domain(&json, "empty.test");
    assert_eq!(empty["verdict"], "error");
    assert_eq!(severity(empty, "mx.none"), "fail");
    assert_eq!(json["summary"]["domains"], 6);
    assert_eq!(json["summary"]["below_threshold"], 5);
    assert_eq!(json["summary"]["verdicts"]["error"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn cname_and_ip_literal_targets_are_flagged() {
    let lab = LabBuilder::new()
        .zone(|zone| {
            zone.mx("cname.test", 10, "alias.cname.test")
                .cname("alias.cname.test", "real.cname.test")
                .a("real.cname.test", LO4)
                .mx("literal.test", 10, "127.0.0.9")
        })
        .serve("alias.cname.test", good)
        .start()
        .await;
    let run = lab.check_json(&["cname.test", "literal.test"], &[]).await;
    let json = run.json();

    let cname = domain(&json, "cname.test");
    let mx = &cname["mx"][0];
    assert_eq!(mx["cname"], "real.cname.test");
    assert_eq!(severity(mx, "mx.cname"), "warn");
    // Still probed, with the MX name for SNI and the name check.
    assert_eq!(mx["addresses"][0]["certificate"]["hostname_match"], true);
    assert_eq!(cname["verdict"], "secure");

    let literal = domain(&json, "literal.test");
    let mx = &literal["mx"][0];
    assert_eq!(mx["host"], "127.0.0.9");
    assert_eq!(severity(mx, "mx.ip-literal"), "fail");
    assert_eq!(mx["addresses"], serde_json::json!([]), "never probed");
    assert_eq!(literal["verdict"], "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_to_with_an_address_bypasses_dns_for_that_host() {
    let pki = TestPki::new();
    let server = SmtpServer::start(good(&pki, "mx.pinned.test")).await;
    // The MX host has no address record at all: only --connect-to reaches it.
    let dns = ZoneBuilder::new()
        .mx("pinned.test", 10, "mx.pinned.test")
        .start()
        .await;
    let lab = Lab::new(dns, pki);
    let rule = format!("mx.pinned.test:25:127.0.0.1:{}", server.port());
    let run = lab
        .check_json(&["pinned.test"], &["--connect-to", &rule])
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    let a = &domain(&json, "pinned.test")["mx"][0]["addresses"][0];
    assert_eq!(a["port"], server.port());
    assert_eq!(
        a["certificate"]["hostname_match"], true,
        "SNI and name check use the MX name"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_domain_sharing_an_mx_with_a_broken_one_keeps_its_own_grade() {
    // Two domains, one good MX each, plus a plaintext MX for the second:
    // partial for one, secure for the other, exit 1.
    let lab = LabBuilder::new()
        .mx("full.test", 10, "mx.shared.test", good)
        .zone(|zone| zone.mx("half.test", 10, "mx.shared.test"))
        .mx("half.test", 20, "mx2.half.test", plain)
        .start()
        .await;
    let run = lab.check_json(&["full.test", "half.test"], &[]).await;
    assert_eq!(run.code, 1);
    let json = run.json();
    assert_eq!(domain(&json, "full.test")["verdict"], "secure");
    let half = domain(&json, "half.test");
    assert_eq!(half["verdict"], "partial");
    assert!(
        half["verdict_reason"]
            .as_str()
            .is_some_and(|r| r.contains("1 of 2"))
    );
}

/// Transient DNS failures are retried, so they do not become verdicts: 500
/// domains whose every name answers SERVFAIL to its first query (as behind
/// an authoritative server's response rate limiting), in both DNSSEC modes,
/// give no `error` row.
#[tokio::test(flavor = "multi_thread")]
async fn transient_servfail_is_retried_not_reported() {
    for signed in [false, true] {
        let pki = TestPki::new();
        let mx = "mx.flaky.test";
        let names: Vec<String> = (0..500).map(|i| format!("d{i}.flaky.test")).collect();
        let mut zone = ZoneBuilder::new()
            .a(mx, std::net::Ipv4Addr::LOCALHOST)
            .flaky("flaky.test");
        for name in &names {
            zone = zone.mx(name, 10, mx);
        }
        if signed {
            zone = zone.signed();
        }
        let mut lab = Lab::new(zone.start().await, pki);
        let server = SmtpServer::start(good(&lab.pki, mx)).await;
        lab.serve(mx, server);
        let domains: Vec<&str> = names.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let run = lab
            .check_json(&domains, &["--scan", "off", "--concurrency", "64"])
            .await;
        let json = run.json();
        let errors: Vec<&str> = json["domains"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["verdict"] == "error")
            .filter_map(|d| d["domain"].as_str())
            .collect();
        println!(
            "signed={signed}: {} domains in {:.1} s, {} error rows, {} DNS queries",
            names.len(),
            started.elapsed().as_secs_f64(),
            errors.len(),
            lab.dns.queries()
        );
        assert!(
            errors.is_empty(),
            "signed={signed}: {} error rows, e.g. {:?}",
            errors.len(),
            &errors[..errors.len().min(5)]
        );
        assert_eq!(
            json["summary"]["verdicts"]["secure"], 500,
            "signed={signed}"
        );
    }
}

/// A lost question is asked again within a fraction of a second, not
/// after the whole `--timeout`: hickory's UDP client (both DNSSEC modes go
/// through it) sends a copy after max(333 ms, 1.2 × the server's smoothed
/// round trip), which is why smtptls adds no DNS retransmission of its own
/// (`prober::retransmit` does it for TCP connects). Every name under
/// lossy.test loses its first query of each type (the MX, the MX host's
/// A, the policy TXTs, and with DNSSEC the DNSKEYs). With `--timeout 30`,
/// a client that waited for the timeout would put 30 s between the two
/// copies of the MX question.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_question_is_asked_again_before_its_timeout() {
    for signed in [false, true] {
        let pki = TestPki::new();
        let mx = "mx.lossy.test";
        let mut zone = ZoneBuilder::new()
            .mx("lossy.test", 10, mx)
            .a(mx, Ipv4Addr::LOCALHOST)
            .lossy("lossy.test")
            .log_arrivals();
        if signed {
            zone = zone.signed();
        }
        let mut lab = Lab::new(zone.start().await, pki);
        lab.timeout = "30";
        let server = SmtpServer::start(good(&lab.pki, mx)).await;
        lab.serve(mx, server);
        let run = lab.check_json(&["lossy.test"], &["--scan", "off"]).await;
        let json = run.json();
        let row = domain(&json, "lossy.test");
        assert_eq!(row["verdict"], "secure", "signed={signed}: {row:#}");
        // MX is type 15.
        let mx_copies = lab.dns.arrivals("lossy.test.", 15);
        assert!(mx_copies.len() >= 2, "signed={signed}: {mx_copies:?}");
        let gap = mx_copies[1] - mx_copies[0];
        println!("signed={signed}: the MX question's second copy came {gap:?} after the first");
        assert!(
            gap < std::time::Duration::from_secs(5),
            "signed={signed}: the second copy waited for the timeout ({gap:?})"
        );
    }
}
