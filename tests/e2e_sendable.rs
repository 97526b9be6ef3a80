//! End to end: smtptls probes what a sender would, and says what it left
//! out. Unspecified, broadcast and multicast MX addresses are never
//! connected to; loopback only with `--allow-local-addresses` (which every
//! other lab test passes); a `localhost` MX never; MX hosts and addresses
//! are capped (`--max-mx-hosts`, `--max-addresses-per-host`) with the rest
//! listed; all connections to one address share `--address-budget`.
//!
//! Every connection here goes to 127.0.0.0/8: the lab's `--connect-to`
//! rules keep the resolved address, so a wrongly probed `0.0.0.0` reaches
//! the lab server on 127.0.0.1 (as it would reach the auditor's own port
//! 25 in production), which is what these tests watch for.

mod lab;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use lab::dns::ZoneBuilder;
use lab::pki::TestPki;
use lab::report::{domain, finding, severity};
use lab::run::Lab;
use lab::scenario::{LabBuilder, good};
use lab::smtp::{Banner, Behaviour, SmtpServer};
use serde_json::Value;

fn addresses(mx: &Value) -> Vec<&Value> {
    mx["addresses"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn unspecified_broadcast_and_multicast_addresses_are_never_connected_to() {
    let pki = TestPki::new();
    let host = "mx.unusable.test";
    let server = SmtpServer::start(good(&pki, host)).await;
    let dns = ZoneBuilder::new()
        .mx("unusable.test", 10, host)
        .a(host, Ipv4Addr::UNSPECIFIED)
        .a(host, Ipv4Addr::BROADCAST)
        .a(host, Ipv4Addr::new(224, 0, 0, 1))
        .aaaa(host, Ipv6Addr::UNSPECIFIED)
        .aaaa(host, "ff02::1".parse().expect("multicast"))
        .start()
        .await;
    let mut lab = Lab::new(dns, pki);
    // Even with the opt-in for local addresses: these are never probed.
    lab.serve(host, server);
    let run = lab.check_json(&["unusable.test"], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let json = run.json();
    let d = domain(&json, "unusable.test");
    assert_eq!(d["verdict"], "error", "no sender can deliver: {d:#}");
    assert!(
        d["verdict_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("no MX address is one a sender can use")),
        "{}",
        d["verdict_reason"]
    );
    let rows = addresses(&d["mx"][0]);
    let ips: Vec<&str> = rows.iter().filter_map(|a| a["ip"].as_str()).collect();
    assert_eq!(
        ips,
        ["0.0.0.0", "255.255.255.255", "224.0.0.1", "::", "ff02::1"],
        "every address keeps its row"
    );
    for a in &rows {
        assert_eq!(severity(a, "address.unusable"), "fail", "{a:#}");
        assert_eq!(a["error"]["kind"], "not-probed", "{a:#}");
        assert_eq!(severity(a, "smtp.connect"), "absent", "{a:#}");
    }
    let (_, why) = finding(rows[0], "address.unusable").unwrap_or_default();
    assert!(why.contains("unspecified"), "{why}");
    // 0.0.0.0 on Linux reaches 127.0.0.1: the lab server would have seen it.
    assert_eq!(lab.servers[0].1.connections(), 0, "never connected");
    assert_eq!(json["summary"]["probes"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_localhost_mx_is_not_probed() {
    let lab = LabBuilder::new()
        .mx("loops.test", 20, "mx.loops.test", good)
        .zone(|z| z.mx("loops.test", 10, "localhost"))
        .start()
        .await;
    let run = lab.check_json(&["loops.test"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    let d = domain(&json, "loops.test");
    assert_eq!(d["verdict"], "secure", "the other MX takes the mail");
    let local = &d["mx"][0];
    assert_eq!(local["host"], "localhost");
    assert_eq!(severity(local, "mx.localhost"), "fail", "{local:#}");
    assert_eq!(local["error"]["kind"], "localhost");
    assert!(addresses(local).is_empty());
    assert!(
        d["verdict_reason"]
            .as_str()
            .is_some_and(|r| r.contains("not graded")),
        "{}",
        d["verdict_reason"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_is_probed_only_with_the_opt_in() {
    let mut lab = LabBuilder::new()
        .mx("loopback.test", 10, "mx.loopback.test", good)
        .start()
        .await;
    lab.allow_local = false;
    let run = lab.check_json(&["loopback.test"], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let json = run.json();
    let d = domain(&json, "loopback.test");
    assert_eq!(d["verdict"], "error");
    let a = addresses(&d["mx"][0])[0];
    assert_eq!(a["ip"], "127.0.0.1");
    assert_eq!(a["error"]["kind"], "not-probed");
    let (sev, why) = finding(a, "address.local").unwrap_or_default();
    assert_eq!(sev, "fail", "{a:#}");
    assert!(why.contains("--allow-local-addresses"), "{why}");
    assert_eq!(lab.servers[0].1.connections(), 0);
    assert_eq!(json["settings"]["allow_local_addresses"], false);

    lab.allow_local = true;
    let run = lab.check_json(&["loopback.test"], &["--scan", "off"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    let d = domain(&json, "loopback.test");
    assert_eq!(d["verdict"], "secure");
    let a = addresses(&d["mx"][0])[0];
    let (sev, why) = finding(a, "address.local").unwrap_or_default();
    assert_eq!(sev, "info", "{a:#}");
    assert!(
        why.contains("only because of --allow-local-addresses"),
        "{why}"
    );
    assert_eq!(severity(a, "smtp.connect"), "ok");
    assert_eq!(
        lab.servers[0].1.connections(),
        3,
        "probe, injection test and the second hello for the other key type"
    );
    assert_eq!(json["settings"]["allow_local_addresses"], true);
}

/// 40 MX hosts of 20 addresses each (127.0.H.A: nothing listens there but
/// 127.0.0.1, so each probe is a refused loopback connection).
#[tokio::test(flavor = "multi_thread")]
async fn mx_hosts_and_addresses_are_capped_and_the_rest_listed() {
    let mut zone = ZoneBuilder::new();
    for h in 1..=40u8 {
        let host = format!("mx{h:02}.many.test");
        zone = zone.mx("many.test", u16::from(h), &host);
        for a in 1..=20u8 {
            zone = zone.a(&host, Ipv4Addr::new(127, 0, h, a));
        }
    }
    let lab = Lab::new(zone.start().await, TestPki::new());
    let port = lab::server::closed_port();
    let route = format!(":25::{port}");
    let run = lab
        .check_json(&["many.test"], &["--connect-to", &route, "--scan", "off"])
        .await;
    let json = run.json();
    let d = domain(&json, "many.test");
    let mx = d["mx"].as_array().cloned().unwrap_or_default();
    assert_eq!(mx.len(), 10, "--max-mx-hosts 10 by default");
    assert_eq!(mx[9]["host"], "mx10.many.test", "lowest preferences first");
    let left: Vec<(&str, u64)> = d["mx_left_out"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|m| Some((m["host"].as_str()?, m["preference"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(left.len(), 30);
    assert_eq!(left[0], ("mx11.many.test", 11));
    assert_eq!(left[29], ("mx40.many.test", 40));
    let (sev, why) = finding(d, "mx.hosts-left-out").unwrap_or_default();
    assert_eq!(sev, "info");
    assert!(why.starts_with("30 MX host(s)") && why.contains("mx40.many.test (40)"));
    for m in &mx {
        assert_eq!(addresses(m).len(), 5, "--max-addresses-per-host 5");
        assert_eq!(m["addresses_left_out"].as_array().map(Vec::len), Some(15));
        assert_eq!(severity(m, "mx.addresses-left-out"), "info", "{m:#}");
    }
    assert_eq!(mx[0]["addresses"][0]["ip"], "127.0.1.1");
    assert_eq!(mx[0]["addresses_left_out"][0], "127.0.1.6");
    assert_eq!(
        json["summary"]["probes"], 50,
        "10 hosts x 5 addresses, not 800"
    );
    assert_eq!(json["settings"]["max_mx_hosts"], 10);
    assert_eq!(json["settings"]["max_addresses_per_host"], 5);

    let run = lab
        .check_json(
            &["many.test"],
            &[
                "--connect-to",
                &route,
                "--scan",
                "off",
                "--max-mx-hosts",
                "2",
                "--max-addresses-per-host",
                "1",
            ],
        )
        .await;
    let json = run.json();
    let d = domain(&json, "many.test");
    assert_eq!(d["mx"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["mx_left_out"].as_array().map(Vec::len), Some(38));
    assert_eq!(
        d["mx"][0]["addresses_left_out"].as_array().map(Vec::len),
        Some(19)
    );
    assert_eq!(json["summary"]["probes"], 2);
}

/// A server that answers, but slowly, on every connection: the scan would
/// take many times the budget; the budget stops it, after the connections
/// that decide the verdict.
#[tokio::test(flavor = "multi_thread")]
async fn the_address_budget_bounds_a_slow_server() {
    let lab = LabBuilder::new()
        .mx("slowscan.test", 10, "mx.slowscan.test", |pki, host| {
            Behaviour {
                banner: Banner::Delayed(Duration::from_millis(1500)),
                ..good(pki, host)
            }
        })
        .start()
        .await;
    let started = Instant::now();
    let run = lab
        .check_json(&["slowscan.test"], &["--address-budget", "4"])
        .await;
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    let d = domain(&json, "slowscan.test");
    assert_eq!(d["verdict"], "secure");
    let a = addresses(&d["mx"][0])[0];
    assert_eq!(
        a["starttls_injection"]["result"], "discarded",
        "the injection test runs before the scan: {a:#}"
    );
    assert_eq!(a["scan"]["complete"], false, "{a:#}");
    assert_eq!(severity(a, "tls.scan"), "warn");
    // Unbudgeted: 1.5 s for each of 1 + 1 + 8 connections, two at a time
    // for the scan: about 9 s.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let connections = lab.servers[0].1.connections();
    // Main probe, injection test, the first pair of scan hellos (cut off).
    assert!(connections <= 5, "{connections} connections");
    assert_eq!(json["settings"]["address_budget_secs"], 4.0);
}

/// Two MX hosts on one slow address, one connection at a time: the time
/// one host's connections wait behind the other's is not charged to its
/// budget, so both still get the connections that decide the verdict.
#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_a_shared_address_does_not_spend_the_budget() {
    let pki = TestPki::new();
    let names = ["mx1.shared.test", "mx2.shared.test"];
    let server = SmtpServer::start(Behaviour {
        banner: Banner::Delayed(Duration::from_millis(1500)),
        ..lab::scenario::good_with(&pki, names[0], |leaf| lab::pki::LeafSpec {
            names: names.map(String::from).to_vec(),
            ..leaf
        })
    })
    .await;
    let dns = ZoneBuilder::new()
        .mx("shared.test", 10, names[0])
        .mx("shared.test", 20, names[1])
        .a(names[0], Ipv4Addr::LOCALHOST)
        .a(names[1], Ipv4Addr::LOCALHOST)
        .start()
        .await;
    let port = server.port();
    let lab = Lab::new(dns, pki);
    let run = lab
        .check_json(
            &["shared.test"],
            &[
                "--connect-to",
                &format!(":25::{port}"),
                "--per-address",
                "1",
                "--scan",
                "off",
                "--address-budget",
                "4",
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let json = run.json();
    let d = domain(&json, "shared.test");
    for mx in d["mx"].as_array().into_iter().flatten() {
        let a = addresses(mx)[0];
        assert_eq!(
            a["starttls_injection"]["result"], "discarded",
            "{}: {a:#}",
            mx["host"]
        );
    }
    // The second hellos (for the other key type's certificate) come last
    // and find 1 s of each address's 4 s left: started, then cut off.
    assert_eq!(
        server.connections(),
        6,
        "two probes, two injection tests, two second hellos"
    );
}
