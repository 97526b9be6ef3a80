//! Proves the lab DNS server (src/lab/dns.rs) answers the way the
//! end-to-end tests will rely on, using the same resolver library as the
//! tool, and documents how hickory-resolver 0.26 reports each outcome.

use smtptls::lab::dns;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dns::{TestDns, ZoneBuilder};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};

/// A resolver that asks only the lab server, gives up after one 1 s try,
/// and (with `anchor`) validates DNSSEC against that trust anchor only.
fn resolver(dns: &TestDns, anchor: Option<&str>) -> TokioResolver {
    let mut server = NameServerConfig::udp_and_tcp(dns.addr.ip());
    // Each connection (UDP, TCP) carries its own port; the default is 53.
    for connection in &mut server.connections {
        connection.port = dns.addr.port();
    }
    let config = ResolverConfig::from_parts(None, vec![], vec![server]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.timeout = Duration::from_secs(1);
    // `attempts` counts retries: 0 means one try, so a dropped query fails
    // after 1 s (with 1 it takes 2 s, and a SERVFAIL is asked twice).
    // Within its timeout the UDP client still re-sends the datagram.
    options.attempts = 0;
    // Every lookup must reach the server: the tests count queries.
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    if let Some(anchor) = anchor {
        let anchors: TrustAnchors = anchor.parse().expect("trust anchor parses");
        options.validate = true;
        builder = builder.with_trust_anchor(Arc::new(anchors));
    }
    builder.build().expect("resolver builds")
}

fn zone() -> ZoneBuilder {
    ZoneBuilder::new()
        .mx("good.test.", 10, "mx1.good.test.")
        .mx("good.test", 20, "mx2.good.test.")
        .a("mx1.good.test.", Ipv4Addr::LOCALHOST)
        .aaaa("mx1.good.test.", Ipv6Addr::LOCALHOST)
        .a("mx2.good.test.", Ipv4Addr::new(127, 0, 0, 2))
        .mx("nullmx.test.", 0, ".")
        .cname("alias.good.test.", "mx1.good.test.")
        .txt("_mta-sts.good.test.", &["v=STSv1; ", "id=20240101"])
        .tlsa("_25._tcp.mx1.good.test.", 3, 1, 1, &[0xab; 32])
        .servfail("broken.test.")
        .blackhole("silent.test.")
}

#[tokio::test]
async fn mx_with_preferences_and_null_mx() {
    let dns = zone().start().await;
    let resolver = resolver(&dns, None);

    let lookup = resolver.mx_lookup("good.test.").await.expect("MX answer");
    let mut mx: Vec<(u16, String)> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.to_string())),
            _ => None,
        })
        .collect();
    mx.sort();
    assert_eq!(
        mx,
        vec![
            (10, "mx1.good.test.".to_string()),
            (20, "mx2.good.test.".to_string())
        ]
    );

    let lookup = resolver.mx_lookup("nullmx.test.").await.expect("null MX");
    let mx: Vec<_> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.is_root())),
            _ => None,
        })
        .collect();
    assert_eq!(mx, vec![(0, true)]);
}

#[tokio::test]
async fn addresses_cname_txt_tlsa() {
    let dns = zone().start().await;
    let resolver = resolver(&dns, None);

    let v4 = resolver
        .lookup("mx1.good.test.", RecordType::A)
        .await
        .expect("A");
    assert!(matches!(&v4.answers()[0].data, RData::A(a) if a.0 == Ipv4Addr::LOCALHOST));
    let v6 = resolver
        .lookup("mx1.good.test.", RecordType::AAAA)
        .await
        .expect("AAAA");
    assert!(matches!(&v6.answers()[0].data, RData::AAAA(a) if a.0 == Ipv6Addr::LOCALHOST));
    let both: Vec<_> = resolver
        .lookup_ip("mx1.good.test.")
        .await
        .expect("lookup_ip")
        .iter()
        .collect();
    assert!(both.contains(&Ipv4Addr::LOCALHOST.into()), "{both:?}");
    assert!(both.contains(&Ipv6Addr::LOCALHOST.into()), "{both:?}");

    // The server chases the CNAME in-zone; the answer holds both records.
    let alias = resolver
        .lookup("alias.good.test.", RecordType::A)
        .await
        .expect("CNAME");
    let types: Vec<_> = alias.answers().iter().map(|r| r.record_type()).collect();
    assert!(types.contains(&RecordType::CNAME), "{types:?}");
    assert!(
        alias
            .answers()
            .iter()
            .any(|r| matches!(&r.data, RData::A(a) if a.0 == Ipv4Addr::LOCALHOST))
    );

    let txt = resolver
        .txt_lookup("_mta-sts.good.test.")
        .await
        .expect("TXT");
    let RData::TXT(txt) = &txt.answers()[0].data else {
        panic!("not TXT: {txt:?}");
    };
    let strings: Vec<&[u8]> = txt.txt_data.iter().map(|s| &**s).collect();
    assert_eq!(strings, vec![&b"v=STSv1; "[..], &b"id=20240101"[..]]);

    let tlsa = resolver
        .tlsa_lookup("_25._tcp.mx1.good.test.")
        .await
        .expect("TLSA");
    let RData::TLSA(tlsa) = &tlsa.answers()[0].data else {
        panic!("not TLSA: {tlsa:?}");
    };
    assert_eq!(u8::from(tlsa.cert_usage), 3);
    assert_eq!(u8::from(tlsa.selector), 1);
    assert_eq!(u8::from(tlsa.matching), 1);
    assert_eq!(tlsa.cert_data, vec![0xab; 32]);
}

#[tokio::test]
async fn nxdomain_versus_nodata() {
    let dns = zone().start().await;
    let resolver = resolver(&dns, None);

    // NXDOMAIN: NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code: NXDomain, .. }))
    let err = resolver
        .mx_lookup("nothing.test.")
        .await
        .expect_err("NXDOMAIN is an error");
    assert!(err.is_nx_domain(), "{err:?}");
    assert!(err.is_no_records_found(), "{err:?}");

    // NODATA: the same variant with response_code NoError, SOA attached.
    let err = resolver
        .mx_lookup("mx1.good.test.")
        .await
        .expect_err("NODATA is an error");
    assert!(!err.is_nx_domain(), "{err:?}");
    match &err {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords {
            response_code, soa, ..
        })) => {
            assert_eq!(*response_code, ResponseCode::NoError);
            assert!(soa.is_some(), "NODATA carries the SOA: {err:?}");
        }
        other => panic!("expected NoRecordsFound, got {other:?}"),
    }

    // An empty non-terminal (exists only because _25._tcp.mx1... does) is
    // NODATA too, not NXDOMAIN.
    let err = resolver
        .mx_lookup("_tcp.mx1.good.test.")
        .await
        .expect_err("ENT has no data");
    assert!(err.is_no_records_found() && !err.is_nx_domain(), "{err:?}");
}

#[tokio::test]
async fn servfail_and_blackhole() {
    let dns = zone().start().await;
    let resolver = resolver(&dns, None);

    let err = resolver
        .mx_lookup("host.broken.test.")
        .await
        .expect_err("SERVFAIL is an error");
    assert!(
        matches!(
            err,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))
        ),
        "{err:?}"
    );
    assert_eq!(dns.queries(), 1, "one try, no retry with attempts = 0");

    let before = dns.queries();
    let started = Instant::now();
    let err = resolver
        .mx_lookup("silent.test.")
        .await
        .expect_err("a dropped query is an error");
    let waited = started.elapsed();
    assert!(matches!(err, NetError::Timeout), "{err:?}");
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
    assert!(
        dns.queries() > before,
        "the dropped query was still counted"
    );
}

#[tokio::test]
async fn names_are_counted_and_refused_outside_the_zone() {
    let dns = zone().start().await;
    let resolver = resolver(&dns, None);
    assert_eq!(dns.queries(), 0);
    resolver.mx_lookup("good.test.").await.expect("MX");
    assert_eq!(dns.queries(), 1);
    let err = resolver
        .mx_lookup("example.com.")
        .await
        .expect_err("not our zone");
    assert!(
        matches!(
            err,
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused))
        ),
        "{err:?}"
    );
    assert_eq!(dns.resolver_arg(), dns.addr.to_string());
    assert!(dns.trust_anchor().is_none());
}

#[tokio::test]
async fn dnssec_secure_and_bogus() {
    let dns = zone()
        .bogus("bad.test.")
        .mx("bad.test.", 10, "mx1.good.test.")
        .start()
        .await;
    let anchor = dns.trust_anchor().expect("signed zone has an anchor");
    assert!(
        anchor.starts_with("test. 300 IN DNSKEY 257 3 13 "),
        "{anchor}"
    );
    let resolver = resolver(&dns, Some(&anchor));

    let lookup = resolver.mx_lookup("good.test.").await.expect("secure MX");
    let mx: Vec<_> = lookup
        .answers()
        .iter()
        .filter(|r| r.record_type() == RecordType::MX)
        .collect();
    assert_eq!(mx.len(), 2);
    assert!(mx.iter().all(|r| r.proof == Proof::Secure), "{mx:?}");

    let tlsa = resolver
        .tlsa_lookup("_25._tcp.mx1.good.test.")
        .await
        .expect("secure TLSA");
    assert!(
        tlsa.answers()
            .iter()
            .filter(|r| r.record_type() == RecordType::TLSA)
            .all(|r| r.proof == Proof::Secure)
    );

    let err = resolver
        .mx_lookup("bad.test.")
        .await
        .expect_err("bogus answer is refused");
    assert!(
        matches!(err, NetError::Dns(DnsError::DnssecBogus)),
        "{err:?}"
    );

    // Signed negative answers: NSEC proves them, they stay NoRecordsFound.
    let err = resolver
        .mx_lookup("nothing.test.")
        .await
        .expect_err("NXDOMAIN");
    assert!(err.is_nx_domain(), "{err:?}");
    let err = resolver
        .tlsa_lookup("_25._tcp.mx2.good.test.")
        .await
        .expect_err("NXDOMAIN");
    assert!(err.is_nx_domain(), "{err:?}");
    let err = resolver
        .mx_lookup("mx1.good.test.")
        .await
        .expect_err("NODATA");
    assert!(err.is_no_records_found() && !err.is_nx_domain(), "{err:?}");

    // Without validation the same zone still answers; nothing is judged.
    let plain = self::resolver(&dns, None);
    let lookup = plain.mx_lookup("bad.test.").await.expect("unvalidated MX");
    let proofs: Vec<_> = lookup.answers().iter().map(|r| r.proof).collect();
    assert!(
        proofs.iter().all(|p| *p == Proof::Indeterminate),
        "{proofs:?}"
    );
}

#[tokio::test]
async fn trust_anchor_from_another_zone_instance_is_bogus() {
    // Each start() makes a fresh key: the anchor pins this exact server.
    let dns = zone().signed().start().await;
    let other = zone().signed().start().await;
    let wrong = other.trust_anchor().expect("anchor");
    let resolver = resolver(&dns, Some(&wrong));
    let err = resolver
        .mx_lookup("good.test.")
        .await
        .expect_err("wrong key");
    assert!(
        matches!(err, NetError::Dns(DnsError::DnssecBogus)),
        "{err:?}"
    );
}

#[tokio::test]
async fn tcp_answers_on_the_same_port_and_drop_stops_the_server() {
    let dns = zone().start().await;
    let mut server = NameServerConfig::tcp(dns.addr.ip());
    for connection in &mut server.connections {
        connection.port = dns.addr.port();
    }
    let config = ResolverConfig::from_parts(None, vec![], vec![server]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().timeout = Duration::from_secs(1);
    builder.options_mut().attempts = 0;
    builder.options_mut().cache_size = 0;
    let tcp = builder.build().expect("resolver builds");
    tcp.mx_lookup("good.test.").await.expect("MX over TCP");
    assert_eq!(dns.queries(), 1);

    drop(dns);
    let err = tcp
        .mx_lookup("good.test.")
        .await
        .expect_err("server is gone");
    assert!(!err.is_no_records_found(), "{err:?}");
}

/// `rate_limited(n)`: the first n questions of a second are answered, the
/// rest get SERVFAIL and are counted (the fleet benchmark's rate-limiting
/// authoritative server).
#[tokio::test]
async fn rate_limited_answers_n_questions_a_second_then_servfail() {
    let dns = zone().rate_limited(3).start().await;
    let resolver = resolver(&dns, None);
    let mut servfails = 0;
    for _ in 0..5 {
        match resolver.mx_lookup("good.test.").await {
            Ok(lookup) => assert!(!lookup.answers().is_empty()),
            Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail))) => servfails += 1,
            Err(other) => panic!("neither an answer nor SERVFAIL: {other:?}"),
        }
    }
    // Five questions well within one second (loopback, no cache).
    assert_eq!(servfails, 2);
    assert_eq!(dns.rate_limited(), 2);
    assert_eq!(dns.queries(), 5);
}
