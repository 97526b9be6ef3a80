//! End to end, DNS that is large, lossy or lying: answers too large for
//! UDP are completed over TCP or become an error of their own kind (never
//! "no records"), a lossy path costs retries and no rows, and a resolver
//! that cannot serve DNSSEC validation is named once instead of making
//! every domain "bogus".
//!
//! The misbehaviour comes from [`lab::dns_proxy`], a server in front of
//! the lab zone; `--resolver` points at it instead of the zone.

mod lab;

use std::net::{Ipv4Addr, SocketAddr};

use hickory_server::proto::op::ResponseCode;
use lab::dns::ZoneBuilder;
use lab::dns_proxy::{Behaviour, DnsProxy, Tamper, Tcp, Udp};
use lab::report::domain;
use lab::run::{Lab, Run, smtptls};
use lab::scenario::{LabBuilder, Scenario, good, plain, self_signed};
use serde_json::Value;
use smtptls::protection::dane::suggest;

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The lab's command line with `--resolver` aimed at `resolver` instead.
async fn check_via(lab: &Lab, resolver: &str, domains: &[&str], extra: &[&str]) -> Run {
    let mut args = lab.command_line(&["check", "--format", "json"], domains, extra);
    let at = args
        .iter()
        .position(|a| a == "--resolver")
        .expect("the lab names a resolver");
    args[at + 1] = resolver.to_string();
    smtptls(args).await
}

fn upstream(lab: &Lab) -> SocketAddr {
    lab.dns
        .resolver_arg()
        .parse()
        .expect("the lab resolver is an address")
}

fn error_kind(d: &Value) -> &str {
    d["error"]["kind"].as_str().unwrap_or("")
}

/// 300 MX hosts do not fit in a UDP answer: the TC bit sends the question
/// to TCP, and the domain has its MX hosts, in both DNSSEC modes.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_mx_rrset_is_completed_over_tcp() {
    for signed in [false, true] {
        let mut zone = ZoneBuilder::new();
        for i in 0..300 {
            zone = zone.mx("many.test", 10, &format!("mx-{i:03}.many.test"));
        }
        if signed {
            zone = zone.signed();
        }
        let lab = Lab::new(zone.start().await, lab::pki::TestPki::new());
        let proxy = DnsProxy::start(upstream(&lab), Behaviour::default()).await;
        let run = check_via(
            &lab,
            &proxy.resolver_arg(),
            &["many.test"],
            &["--scan", "off"],
        )
        .await;
        let json = run.json();
        let d = domain(&json, "many.test");
        println!(
            "signed={signed}: {} UDP and {} TCP questions; error {:?}",
            proxy.udp_queries(),
            proxy.tcp_queries(),
            d["error"]
        );
        assert_ne!(error_kind(d), "no-mail-host", "signed={signed}: {d:#}");
        let hosts = d["mx"].as_array().map_or(0, Vec::len)
            + d["mx_left_out"].as_array().map_or(0, Vec::len);
        assert_eq!(
            hosts, 300,
            "signed={signed}: every MX host is accounted for"
        );
        assert!(
            proxy.tcp_queries() >= 1,
            "signed={signed}: never asked over TCP"
        );
    }
}

/// A 60 KB `_mta-sts` TXT record is read whole (and is not a valid
/// record), not taken for an absent one.
#[tokio::test(flavor = "multi_thread")]
async fn a_60_kb_txt_record_is_read_whole() {
    let chunk = "x".repeat(250);
    let mut strings = vec!["v=STSv1; id=big;".to_string()];
    strings.extend(std::iter::repeat_n(chunk, 240));
    let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
    let lab = LabBuilder::new()
        .mx("bigtxt.test", 10, "mx.bigtxt.test", good)
        .zone(|zone| zone.txt("_mta-sts.bigtxt.test", &strings))
        .start()
        .await;
    let proxy = DnsProxy::start(upstream(&lab), Behaviour::default()).await;
    let run = check_via(
        &lab,
        &proxy.resolver_arg(),
        &["bigtxt.test"],
        &["--scan", "off"],
    )
    .await;
    let json = run.json();
    let d = domain(&json, "bigtxt.test");
    assert_ne!(d["mta_sts"]["record"], "absent", "{:#}", d["mta_sts"]);
    assert_ne!(
        d["mta_sts"]["record"], "lookup-failed",
        "{:#}",
        d["mta_sts"]
    );
    assert!(proxy.tcp_queries() >= 1, "never asked over TCP");
}

/// The DANE downgrade the issue measured: 40 TLSA records that do not
/// match, too many for UDP. Read as "no TLSA" the domain would be
/// `secure`; read whole it is `broken` (DANE senders defer).
#[tokio::test(flavor = "multi_thread")]
async fn a_large_mismatching_tlsa_rrset_is_broken_not_secure() {
    let scenario = Scenario::new("bigtlsa");
    let mut records = suggest(&scenario.cert().chain);
    records.truncate(1);
    let template = records.pop().expect("a TLSA suggestion");
    let wrong: Vec<_> = (0..40u8)
        .map(|i| {
            let mut t = template.clone();
            t.matching = 2; // SHA-512: 64 bytes each, 40 of them
            t.data = vec![i; 64];
            t
        })
        .collect();
    for signed in [false, true] {
        let scenario = Scenario::new("bigtlsa");
        let scenario = if signed {
            scenario.zone(ZoneBuilder::signed)
        } else {
            // Unsigned, but the "resolver" vouches for it with AD.
            scenario.zone(|zone| zone.authentic("bigtlsa.test"))
        };
        let lab = scenario.tlsa(&wrong).lab(good).await;
        let proxy = DnsProxy::start(upstream(&lab), Behaviour::default()).await;
        let run = check_via(
            &lab,
            &proxy.resolver_arg(),
            &["bigtlsa.test"],
            &["--scan", "off"],
        )
        .await;
        let json = run.json();
        let d = domain(&json, "bigtlsa.test");
        let mx = &d["mx"][0];
        assert_eq!(mx["tlsa"]["status"], "found", "signed={signed}: {mx:#}");
        assert_eq!(mx["addresses"][0]["dane"], "mismatch", "signed={signed}");
        assert_eq!(
            d["verdict"], "broken",
            "signed={signed}: {}",
            d["verdict_reason"]
        );
        assert!(
            proxy.tcp_queries() >= 1,
            "signed={signed}: never asked over TCP"
        );
    }
}

/// A server whose every UDP answer is truncated and whose TCP is broken
/// (closed, trickled, silent): the MX lookup is a `dns-truncated` error
/// (a DNS error in validate mode, where hickory does the TCP retry), never
/// "no mail host".
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_cannot_be_completed_is_an_error() {
    for tcp in [Tcp::Close, Tcp::Trickle, Tcp::Silent] {
        for signed in [false, true] {
            let zone = ZoneBuilder::new().mx("trunc.test", 10, "mx.trunc.test");
            let zone = if signed { zone.signed() } else { zone };
            let mut lab = Lab::new(zone.start().await, lab::pki::TestPki::new());
            lab.timeout = "1";
            let proxy = DnsProxy::start(
                upstream(&lab),
                Behaviour {
                    udp: Udp::Truncate,
                    tcp,
                    tamper: Tamper::None,
                },
            )
            .await;
            let started = std::time::Instant::now();
            let run = check_via(
                &lab,
                &proxy.resolver_arg(),
                &["trunc.test"],
                &["--scan", "off"],
            )
            .await;
            let json = run.json();
            let d = domain(&json, "trunc.test");
            println!(
                "{tcp:?} signed={signed}: {} in {:.1} s: {}",
                error_kind(d),
                started.elapsed().as_secs_f64(),
                d["error"]["message"]
            );
            assert_eq!(d["verdict"], "error", "{tcp:?} signed={signed}: {d:#}");
            assert_eq!(d["error"]["phase"], "dns");
            assert_ne!(error_kind(d), "no-mail-host");
            if signed {
                // The start-of-run check cannot get the zone's keys either.
                assert_eq!(error_kind(d), "resolver-unusable", "{tcp:?}");
            } else {
                assert_eq!(error_kind(d), "dns-truncated", "{tcp:?}");
            }
        }
    }
}

/// A path that loses every fifth UDP question: 500 domains, retried, no
/// `error` row.
#[tokio::test(flavor = "multi_thread")]
async fn a_lossy_path_costs_retries_not_rows() {
    let names: Vec<String> = (0..500).map(|i| format!("d{i}.lossy.test")).collect();
    let mx = "mx.lossy.test";
    let mut builder = LabBuilder::new().zone(|zone| zone.a(mx, LO));
    for name in &names {
        builder = builder.zone(|zone| zone.mx(name, 10, mx));
    }
    let mut lab = builder.serve(mx, good).start().await;
    // Long enough that only the dropped questions time out: at 1 s, a
    // loaded machine (CI running several suites) answered late often
    // enough that a question and its retries all timed out, which is what
    // this test must tell apart from drops.
    lab.timeout = "3";
    let proxy = DnsProxy::start(
        upstream(&lab),
        Behaviour {
            udp: Udp::DropEvery(5),
            ..Behaviour::default()
        },
    )
    .await;
    let domains: Vec<&str> = names.iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    let run = check_via(
        &lab,
        &proxy.resolver_arg(),
        &domains,
        &["--scan", "off", "--concurrency", "100"],
    )
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
        "lossy: {} domains in {:.1} s, {} UDP questions (every 5th dropped), {} error rows",
        names.len(),
        started.elapsed().as_secs_f64(),
        proxy.udp_queries(),
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} error rows, e.g. {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    assert_eq!(json["summary"]["verdicts"]["secure"], 500);
}

/// A resolver that answers NXDOMAIN to everything (no internet): one line
/// on stderr names it and what it answered, and every domain is
/// `resolver-unusable`, not `dnssec-bogus`, with no connection made.
#[tokio::test(flavor = "multi_thread")]
async fn a_resolver_that_denies_the_root_is_named_once() {
    let lab = LabBuilder::new()
        .mx("a.test", 10, "mx.a.test", good)
        .mx("b.test", 10, "mx.b.test", good)
        .start()
        .await;
    let proxy = DnsProxy::start(
        upstream(&lab),
        Behaviour {
            tamper: Tamper::NxdomainEverything,
            ..Behaviour::default()
        },
    )
    .await;
    for mode in ["validate", "trust-resolver"] {
        let mut args = lab.command_line(&["check", "--format", "json"], &["a.test", "b.test"], &[]);
        // The lab is unsigned, so it runs in trust-resolver mode: make it
        // the mode under test.
        let at = args.iter().position(|a| a == "--dnssec").expect("--dnssec");
        args[at + 1] = mode.to_string();
        let at = args
            .iter()
            .position(|a| a == "--resolver")
            .expect("--resolver");
        args[at + 1] = proxy.resolver_arg();
        let run = smtptls(args).await;
        let json = run.json();
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{mode}: {}", run.stderr);
        assert!(
            lines[0].contains(&proxy.resolver_arg())
                && lines[0].contains("NXDOMAIN")
                && lines[0].contains("DNSKEY ."),
            "{mode}: {}",
            run.stderr
        );
        for name in ["a.test", "b.test"] {
            let d = domain(&json, name);
            assert_eq!(error_kind(d), "resolver-unusable", "{mode}: {d:#}");
            assert_eq!(d["verdict"], "error");
        }
        // Nothing was audited, for the set-up's sake: 2, not the "a
        // partner is below the threshold" 1, and the summary says why.
        assert_eq!(run.code, 2, "{mode}: {}", run.stderr);
        assert_eq!(json["summary"]["setup_errors"], 2, "{mode}");
        // The advice never names the mode already in use.
        assert!(
            !lines[0].contains(&format!("--dnssec {mode}")),
            "{mode}: {}",
            lines[0]
        );
    }
    for (_, server) in &lab.servers {
        assert_eq!(server.connections(), 0, "a server was contacted");
    }
}

/// A resolver that strips RRSIGs from a signed zone: the anchored zone's
/// keys do not validate, which the check says once, instead of every
/// domain turning `dnssec-bogus`.
#[tokio::test(flavor = "multi_thread")]
async fn a_resolver_that_strips_signatures_is_named_once() {
    let mut lab = LabBuilder::new()
        .mx("signed.test", 10, "mx.signed.test", good)
        .zone(ZoneBuilder::signed)
        .start()
        .await;
    // hickory's validator asks again and again for the missing signatures
    // until the lookup's budget (a few --timeout) runs out: keep it short.
    lab.timeout = "1";
    let proxy = DnsProxy::start(
        upstream(&lab),
        Behaviour {
            tamper: Tamper::StripRrsigs,
            ..Behaviour::default()
        },
    )
    .await;
    let run = check_via(&lab, &proxy.resolver_arg(), &["signed.test"], &[]).await;
    let json = run.json();
    println!("{}", run.stderr);
    assert!(
        run.stderr.contains(" test.") && run.stderr.contains("RRSIG"),
        "{}",
        run.stderr
    );
    let d = domain(&json, "signed.test");
    assert_eq!(error_kind(d), "resolver-unusable", "{d:#}");
    // The same lab through an honest path is fine: the check is not
    // what failed.
    let run = check_via(&lab, &lab.dns.resolver_arg(), &["signed.test"], &[]).await;
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_eq!(domain(&run.json(), "signed.test")["verdict"], "secure");
}

/// A resolver that serves the lab zone but not the root, answering
/// NXDOMAIN (unbound's `local-zone: "." static`), REFUSED or SERVFAIL for
/// it, with `--dnssec trust-resolver`: the check says so once, alike for
/// the three, and every domain of the zone is audited, with the verdicts
/// the lab's own server gives. Before issue 25 NXDOMAIN made every domain
/// `resolver-unusable` and REFUSED passed in silence.
#[tokio::test(flavor = "multi_thread")]
async fn a_resolver_for_private_zones_audits_their_domains() {
    let lab = LabBuilder::new()
        .mx("good.test", 10, "mx.good.test", good)
        .mx("plain.test", 10, "mx.plain.test", plain)
        .mx("self.test", 10, "mx.self.test", self_signed)
        .start()
        .await;
    let names = ["good.test", "plain.test", "self.test"];
    let direct = check_via(&lab, &lab.dns.resolver_arg(), &names, &["--scan", "off"]).await;
    assert!(direct.stderr.is_empty(), "{}", direct.stderr);
    let direct = direct.json();
    let verdicts = |json: &Value| -> Vec<String> {
        names
            .iter()
            .map(|name| domain(json, name)["verdict"].to_string())
            .collect()
    };
    // Three different verdicts: a mix-up between rows would show.
    assert_eq!(
        verdicts(&direct),
        ["\"secure\"", "\"plaintext\"", "\"encrypted\""],
        "{direct:#}"
    );
    for (code, said) in [
        (ResponseCode::NXDomain, "NXDOMAIN"),
        (ResponseCode::Refused, "REFUSED"),
        (ResponseCode::ServFail, "SERVFAIL"),
    ] {
        let proxy = DnsProxy::start(
            upstream(&lab),
            Behaviour {
                tamper: Tamper::Root(code),
                ..Behaviour::default()
            },
        )
        .await;
        let run = check_via(&lab, &proxy.resolver_arg(), &names, &["--scan", "off"]).await;
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{said}: {}", run.stderr);
        assert!(
            lines[0].contains(&proxy.resolver_arg())
                && lines[0].contains("DNSKEY .")
                && lines[0].contains(said),
            "{said}: {}",
            lines[0]
        );
        assert!(
            !lines[0].contains("--dnssec trust-resolver"),
            "advises the mode in use: {}",
            lines[0]
        );
        let json = run.json();
        assert_eq!(verdicts(&json), verdicts(&direct), "{said}: {json:#}");
        assert_eq!(json["summary"]["setup_errors"], 0, "{said}");
    }
}

/// The check's prediction comes true for a domain the resolver refuses as
/// it refused the root: that row is `resolver-unusable` (the set-up's
/// fault), not the partner's `dns-refused`; the zone's domain beside it
/// is audited, so the run is a partner's run and exits 0 or 1, not 2.
#[tokio::test(flavor = "multi_thread")]
async fn a_domain_refused_like_the_root_is_resolver_unusable() {
    let lab = LabBuilder::new()
        .mx("good.test", 10, "mx.good.test", good)
        .start()
        .await;
    // Outside the lab zone: the lab's server answers REFUSED.
    let names = ["good.test", "elsewhere.example"];
    let direct = check_via(&lab, &lab.dns.resolver_arg(), &names, &["--scan", "off"]).await;
    assert_eq!(
        error_kind(domain(&direct.json(), "elsewhere.example")),
        "dns-refused"
    );
    let proxy = DnsProxy::start(
        upstream(&lab),
        Behaviour {
            tamper: Tamper::Root(ResponseCode::Refused),
            ..Behaviour::default()
        },
    )
    .await;
    let run = check_via(&lab, &proxy.resolver_arg(), &names, &["--scan", "off"]).await;
    let json = run.json();
    let d = domain(&json, "elsewhere.example");
    assert_eq!(error_kind(d), "resolver-unusable", "{d:#}");
    let message = d["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("REFUSED") && message.contains("DNSKEY ."),
        "{message}"
    );
    assert_eq!(domain(&json, "good.test")["verdict"], "secure");
    assert_eq!(json["summary"]["setup_errors"], 1);
    assert_eq!(run.code, 1, "one error row below the threshold");
}

/// `--dnssec validate` from a `--trust-anchor`: a resolver that denies
/// the root but serves the signed lab zone validates it, so the check
/// (which asks the anchored zone, not the root) is quiet and the domain
/// is `protected`/`secure` as through the lab's own server.
#[tokio::test(flavor = "multi_thread")]
async fn a_resolver_without_the_root_validates_from_the_trust_anchor() {
    let lab = LabBuilder::new()
        .mx("signed.test", 10, "mx.signed.test", good)
        .zone(ZoneBuilder::signed)
        .start()
        .await;
    let direct = check_via(&lab, &lab.dns.resolver_arg(), &["signed.test"], &[]).await;
    let want = domain(&direct.json(), "signed.test")["verdict"].clone();
    assert_eq!(want, "secure");
    let proxy = DnsProxy::start(
        upstream(&lab),
        Behaviour {
            tamper: Tamper::Root(ResponseCode::NXDomain),
            ..Behaviour::default()
        },
    )
    .await;
    let run = check_via(&lab, &proxy.resolver_arg(), &["signed.test"], &[]).await;
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let json = run.json();
    let d = domain(&json, "signed.test");
    assert_eq!(d["verdict"], want, "{d:#}");
    assert_eq!(d["dnssec"], "secure", "{d:#}");
    assert_eq!(run.code, 0);
}
