//! The MTA-STS policy fetch (`smtptls::fetch::Fetcher`, read by `protection::mta_sts::Fetched::read`) against
//! the lab: a lab DNS zone for `mta-sts.x.test`, a lab HTTPS server for the
//! policy, and `--connect-to` rules to reach the server's random port.
//! Each test asserts the exact outcome: the parsed policy, or the precise
//! [`FetchProblem`].

mod lab;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use lab::dns::{TestDns, ZoneBuilder};
use lab::https::{Body, HttpsServer, POLICY_PATH, Response, SilentServer};
use lab::pki::{LeafSpec, TestPki};
use lab::server::closed_port;
use smtptls::domain::DomainName;
use smtptls::fetch::Fetcher;
use smtptls::options::{AddressFamilies, ConnectRules, DnsServers, DnssecMode, TrustStore};
use smtptls::protection::mta_sts::{
    FetchProblem, Fetched, MAX_POLICY_BYTES, Mode, StsPolicy, mx_matches,
};
use smtptls::resolver::{Resolver, ResolverSettings};
use time::OffsetDateTime;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DOMAIN: &str = "x.test";
const POLICY_HOST: &str = "mta-sts.x.test";
const URL: &str = "https://mta-sts.x.test/.well-known/mta-sts.txt";
/// Generous for loopback, short enough for the timeout tests.
const TIMEOUT: Duration = Duration::from_secs(5);

const ENFORCE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx1.x.test\r\nmx: *.backup.x.test\r\nmax_age: 604800\r\n";

/// A zone where `mta-sts.x.test` is 127.0.0.1.
async fn zone() -> TestDns {
    ZoneBuilder::new()
        .a(POLICY_HOST, Ipv4Addr::LOCALHOST)
        .start()
        .await
}

/// The run's resolver, asking only the lab DNS server.
fn resolver(dns: &TestDns) -> Result<Resolver, Box<dyn std::error::Error>> {
    Ok(Resolver::new(&ResolverSettings {
        servers: DnsServers::Explicit(vec![dns.addr]),
        timeout: Duration::from_secs(2),
        dnssec: DnssecMode::TrustResolver,
        trust_anchors: Vec::new(),
    })?)
}

/// A fetcher trusting the lab root, with `rules` as `--connect-to`.
fn lab_fetcher(
    dns: &TestDns,
    pki: &TestPki,
    rules: &[String],
    timeout: Duration,
) -> Result<Fetcher, Box<dyn std::error::Error>> {
    fetcher_with(
        dns,
        TrustStore::with_ca_files(&[pki.ca_file()])?,
        rules,
        timeout,
        AddressFamilies::Both,
    )
}

fn fetcher_with(
    dns: &TestDns,
    trust: TrustStore,
    rules: &[String],
    timeout: Duration,
    families: AddressFamilies,
) -> Result<Fetcher, Box<dyn std::error::Error>> {
    let rules = rules
        .iter()
        .map(|r| r.parse())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Fetcher::new(
        resolver(dns)?,
        ConnectRules(rules),
        trust,
        timeout,
        families,
    )?)
}

/// `--connect-to mta-sts.x.test:443::PORT`: the resolved addresses, on
/// the lab server's port.
fn to_port(port: u16) -> Vec<String> {
    vec![format!("{POLICY_HOST}:443::{port}")]
}

fn domain() -> DomainName {
    DOMAIN.parse().expect("x.test is a valid domain")
}

/// A lab server for `mta-sts.x.test` with a valid certificate, serving
/// `routes`.
async fn server(pki: &TestPki, routes: Vec<(String, Response)>) -> HttpsServer {
    HttpsServer::start(pki.leaf(&LeafSpec::valid_for(POLICY_HOST)), routes).await
}

/// Serves `response` at the policy path and fetches it the usual way.
/// The fetch as the audit makes it: the body, read as a policy.
async fn fetch(fetcher: &Fetcher) -> Result<Fetched, FetchProblem> {
    fetcher.fetch(&domain()).await.map(Fetched::read)
}

async fn fetch_response(response: Response) -> (Result<Fetched, FetchProblem>, HttpsServer) {
    let pki = TestPki::new();
    let dns = zone().await;
    let server = server(&pki, vec![(POLICY_PATH.into(), response)]).await;
    let fetcher = lab_fetcher(&dns, &pki, &to_port(server.port()), TIMEOUT).expect("fetcher");
    (fetch(&fetcher).await, server)
}

fn policy_of(result: Result<Fetched, FetchProblem>) -> Result<StsPolicy, Vec<String>> {
    match result {
        Ok(fetched) => {
            assert_eq!(fetched.url, URL);
            fetched.policy
        }
        Err(problem) => panic!("fetch failed: {problem}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn enforce_policy_is_fetched_and_matches() -> TestResult {
    let (result, server) = fetch_response(Response::policy(ENFORCE)).await;
    let fetched = result?;
    assert_eq!(fetched.url, URL);
    assert_eq!(fetched.raw, ENFORCE);
    let policy = fetched.policy.map_err(|p| p.join("; "))?;
    assert_eq!(
        policy,
        StsPolicy {
            mode: Mode::Enforce,
            mx: vec!["mx1.x.test".into(), "*.backup.x.test".into()],
            max_age: 604800,
        }
    );
    let matches = |host: &str| policy.mx.iter().any(|p| mx_matches(p, host));
    assert!(matches("mx1.x.test"));
    assert!(matches("MX2.backup.x.test."));
    assert!(!matches("mx2.x.test"));
    assert!(!matches("a.b.backup.x.test"));
    // One request, for the well-known path, with the policy host as Host
    // (the connection went to 127.0.0.1:PORT, the name stayed).
    assert_eq!(server.requests(), [format!("{POLICY_HOST}{POLICY_PATH}")]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn testing_mode_with_charset_parameter() {
    let text = "version: STSv1\nmode: testing\nmx: mx1.x.test\nmax_age: 86400\n";
    let response = Response::policy(text).content_type(Some("Text/Plain; charset=utf-8"));
    let (result, _server) = fetch_response(response).await;
    assert_eq!(
        policy_of(result),
        Ok(StsPolicy {
            mode: Mode::Testing,
            mx: vec!["mx1.x.test".into()],
            max_age: 86400,
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mode_none_needs_no_mx() {
    let text = "version: STSv1\nmode: none\nmax_age: 86400\n";
    let (result, _server) = fetch_response(Response::policy(text)).await;
    assert_eq!(
        policy_of(result),
        Ok(StsPolicy {
            mode: Mode::None,
            mx: Vec::new(),
            max_age: 86400,
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_is_not_followed() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let elsewhere = format!("https://{POLICY_HOST}/moved.txt");
    let server = server(
        &pki,
        vec![
            (POLICY_PATH.into(), Response::redirect(301, &elsewhere)),
            ("/moved.txt".into(), Response::policy(ENFORCE)),
        ],
    )
    .await;
    let fetcher = lab_fetcher(&dns, &pki, &to_port(server.port()), TIMEOUT)?;
    assert_eq!(
        fetch(&fetcher).await,
        Err(FetchProblem::Redirect(301, Some(elsewhere)))
    );
    assert_eq!(server.requests(), [format!("{POLICY_HOST}{POLICY_PATH}")]);

    // A redirect without Location is still a redirect.
    let (result, _server) = fetch_response(Response::new(302)).await;
    assert_eq!(result, Err(FetchProblem::Redirect(302, None)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn content_type_must_be_text_plain() {
    let (result, _server) =
        fetch_response(Response::policy(ENFORCE).content_type(Some("text/html"))).await;
    assert_eq!(
        result,
        Err(FetchProblem::ContentType(Some("text/html".into())))
    );
    let (result, _server) =
        fetch_response(Response::policy(ENFORCE).content_type(Some("text/plainx"))).await;
    assert_eq!(
        result,
        Err(FetchProblem::ContentType(Some("text/plainx".into())))
    );
    let (result, _server) = fetch_response(Response::policy(ENFORCE).content_type(None)).await;
    assert_eq!(result, Err(FetchProblem::ContentType(None)));
}

/// A valid policy padded with an ignored field to exactly `len` bytes.
fn padded_policy(len: usize) -> String {
    let mut text = format!("{ENFORCE}x-pad: ");
    let fill = len - text.len() - 2;
    text.push_str(&"p".repeat(fill));
    text.push_str("\r\n");
    assert_eq!(text.len(), len);
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn exactly_64_kib_is_accepted() {
    let text = padded_policy(MAX_POLICY_BYTES);
    let (result, _server) = fetch_response(Response::policy(&text)).await;
    assert_eq!(policy_of(result).map(|p| p.mode), Ok(Mode::Enforce));
    // Also when the length is not announced.
    let response = Response::policy("").body(Body::UntilClose(text.into_bytes()));
    let (result, _server) = fetch_response(response).await;
    assert_eq!(policy_of(result).map(|p| p.mode), Ok(Mode::Enforce));
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_policies_are_refused() {
    let text = padded_policy(MAX_POLICY_BYTES + 1);
    // Announced by Content-Length.
    let (result, _server) = fetch_response(Response::policy(&text)).await;
    assert_eq!(result, Err(FetchProblem::TooLarge));
    // Found while reading (no Content-Length).
    let response = Response::policy("").body(Body::UntilClose(text.into_bytes()));
    let (result, _server) = fetch_response(response).await;
    assert_eq!(result, Err(FetchProblem::TooLarge));
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_body_stops_at_the_cap() {
    let started = Instant::now();
    let (result, server) = fetch_response(Response::endless()).await;
    assert_eq!(result, Err(FetchProblem::TooLarge));
    // Well before the timeout: the cap, not the clock, ended it.
    assert!(started.elapsed() < TIMEOUT, "took {:?}", started.elapsed());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_for_another_name_is_refused() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let cert = pki.leaf(&LeafSpec::valid_for("mta-sts.other.test"));
    let server =
        HttpsServer::start(cert, vec![(POLICY_PATH.into(), Response::policy(ENFORCE))]).await;
    let fetcher = lab_fetcher(&dns, &pki, &to_port(server.port()), TIMEOUT)?;
    match fetch(&fetcher).await {
        Err(FetchProblem::Tls(msg)) => {
            assert!(
                msg.starts_with("the certificate of mta-sts.x.test is not valid: "),
                "{msg}"
            );
            assert!(
                msg.contains("only valid for DnsName(\"mta-sts.other.test\")"),
                "{msg}"
            );
        }
        other => panic!("expected a TLS problem, got {other:?}"),
    }
    assert!(
        server.requests().is_empty(),
        "no HTTP request after a bad certificate"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn untrusted_certificate_is_refused() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let server = server(&pki, vec![(POLICY_PATH.into(), Response::policy(ENFORCE))]).await;
    // Mozilla's roots only: the lab root is unknown.
    let fetcher = fetcher_with(
        &dns,
        TrustStore::webpki(),
        &to_port(server.port()),
        TIMEOUT,
        AddressFamilies::Both,
    )?;
    match fetch(&fetcher).await {
        Err(FetchProblem::Tls(msg)) => assert!(msg.contains("UnknownIssuer"), "{msg}"),
        other => panic!("expected a TLS problem, got {other:?}"),
    }
    assert!(server.requests().is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_certificate_is_refused() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let now = OffsetDateTime::now_utc();
    let cert = pki.leaf(&LeafSpec {
        not_before: now - time::Duration::days(30),
        not_after: now - time::Duration::days(1),
        ..LeafSpec::valid_for(POLICY_HOST)
    });
    let server =
        HttpsServer::start(cert, vec![(POLICY_PATH.into(), Response::policy(ENFORCE))]).await;
    let fetcher = lab_fetcher(&dns, &pki, &to_port(server.port()), TIMEOUT)?;
    match fetch(&fetcher).await {
        Err(FetchProblem::Tls(msg)) => assert!(
            msg.starts_with("the certificate of mta-sts.x.test is not valid: certificate expired"),
            "{msg}"
        ),
        other => panic!("expected a TLS problem, got {other:?}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_file_is_a_status_problem() {
    let pki = TestPki::new();
    let dns = zone().await;
    // Something is served, but not at the well-known path.
    let server = server(
        &pki,
        vec![("/mta-sts.txt".into(), Response::policy(ENFORCE))],
    )
    .await;
    let fetcher = lab_fetcher(&dns, &pki, &to_port(server.port()), TIMEOUT).expect("fetcher");
    assert_eq!(fetch(&fetcher).await, Err(FetchProblem::Status(404)));

    // Only 200 will do, not any 2xx.
    let (result, _server) = fetch_response(Response::new(204)).await;
    assert_eq!(result, Err(FetchProblem::Status(204)));
    let (result, _server) = fetch_response(Response::new(500)).await;
    assert_eq!(result, Err(FetchProblem::Status(500)));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_policies_list_every_problem() {
    let cases: [(&str, &[&str]); 5] = [
        (
            "version: STSv1\nmode: enforce\nmx: mx1.x.test\n",
            &["no max_age field"],
        ),
        (
            "version: STSv1\nmode: sometimes\nmx: mx1.x.test\nmax_age: 86400\n",
            &["line 2: mode \"sometimes\" is not"],
        ),
        (
            "version: STSv1\nmode: enforce\nmx: mx1.x.test\nmax_age: 31557601\n",
            &["line 4: max_age 31557601 is larger than 31557600"],
        ),
        (
            "mode: enforce\nmx: mx1.x.test\nmax_age: 86400\n",
            &["no version field"],
        ),
        (
            // Several at once: line problems first, then field by field.
            "mode: Enforce\r\nmx: mx1.x.test.\r\nmax_age: 99999999999\r\n",
            &[
                "line 2: mx \"mx1.x.test.\" is not",
                "no version field",
                "line 1: mode \"Enforce\" is not",
                "line 3: max_age \"99999999999\" is not a number",
            ],
        ),
    ];
    for (text, expected) in cases {
        let (result, _server) = fetch_response(Response::policy(text)).await;
        let fetched = result.unwrap_or_else(|p| panic!("{text:?}: fetch failed: {p}"));
        assert_eq!(fetched.raw, text);
        let problems = fetched.policy.expect_err(&format!("{text:?} was accepted"));
        assert_eq!(problems.len(), expected.len(), "{text:?}: {problems:?}");
        for (problem, start) in problems.iter().zip(expected) {
            assert!(problem.starts_with(start), "{text:?}: {problems:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_that_is_not_utf8() {
    let mut body = ENFORCE.as_bytes().to_vec();
    body.extend_from_slice(b"x: \xff\xfe\r\n");
    let response = Response::policy("").body(Body::Sized(body));
    let (result, _server) = fetch_response(response).await;
    let problems = policy_of(result).expect_err("not UTF-8");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("the policy is not UTF-8"),
        "{problems:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_problems_are_dns() -> TestResult {
    // The fetch with a lab DNS server for `zone` and no HTTPS server:
    // these cases end at DNS.
    let pki = TestPki::new();
    let fetch_in = async |zone: ZoneBuilder| -> Result<_, Box<dyn std::error::Error>> {
        let dns = zone.start().await;
        let fetcher = lab_fetcher(&dns, &pki, &to_port(443), TIMEOUT)?;
        Ok(fetch(&fetcher).await)
    };
    // No record at all: NXDOMAIN.
    assert_eq!(
        fetch_in(ZoneBuilder::new().a("mx1.x.test", Ipv4Addr::LOCALHOST)).await?,
        Err(FetchProblem::Dns(
            "mta-sts.x.test does not exist (NXDOMAIN)".into()
        ))
    );

    // The name exists without addresses: NODATA.
    assert_eq!(
        fetch_in(ZoneBuilder::new().txt(POLICY_HOST, &["hello"])).await?,
        Err(FetchProblem::Dns(
            "mta-sts.x.test has no A or AAAA record".into()
        ))
    );

    // SERVFAIL, asked while the 2 s budget lasts: at 0, 0.1, 0.3, 0.7
    // and 1.5 s (the next, at 3.1 s, would not start inside it).
    assert_eq!(
        fetch_in(ZoneBuilder::new().servfail(POLICY_HOST)).await?,
        Err(FetchProblem::Dns(
            "A mta-sts.x.test: SERVFAIL (5 attempts)".into()
        ))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn address_families_are_honoured() -> TestResult {
    let pki = TestPki::new();
    let dns = ZoneBuilder::new()
        .aaaa(POLICY_HOST, Ipv6Addr::LOCALHOST)
        .start()
        .await;
    let trust = TrustStore::with_ca_files(&[pki.ca_file()])?;
    let fetcher = fetcher_with(&dns, trust, &to_port(443), TIMEOUT, AddressFamilies::V4Only)?;
    assert_eq!(
        fetch(&fetcher).await,
        Err(FetchProblem::Dns("mta-sts.x.test has no A record".into()))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn fixed_connect_to_skips_dns() -> TestResult {
    let pki = TestPki::new();
    // The zone does not know the policy host at all.
    let dns = ZoneBuilder::new().start().await;
    let server = server(&pki, vec![(POLICY_PATH.into(), Response::policy(ENFORCE))]).await;
    let rule = vec![format!("{POLICY_HOST}:443:127.0.0.1:{}", server.port())];
    let fetcher = lab_fetcher(&dns, &pki, &rule, TIMEOUT)?;
    let fetched = fetch(&fetcher).await?;
    assert_eq!(fetched.policy.map(|p| p.mode), Ok(Mode::Enforce));
    assert_eq!(dns.queries(), 0, "a fixed route needs no lookup");
    assert_eq!(server.requests(), [format!("{POLICY_HOST}{POLICY_PATH}")]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_port_is_a_connect_problem() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let port = closed_port();
    let fetcher = lab_fetcher(&dns, &pki, &to_port(port), TIMEOUT)?;
    match fetch(&fetcher).await {
        Err(FetchProblem::Connect(msg)) => {
            assert!(msg.to_lowercase().contains("refused"), "{msg}")
        }
        other => panic!("expected a connect problem, got {other:?}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_server_times_out() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let silent = SilentServer::start().await;
    let timeout = Duration::from_millis(1500);
    let fetcher = lab_fetcher(&dns, &pki, &to_port(silent.port()), timeout)?;
    let started = Instant::now();
    assert_eq!(fetch(&fetcher).await, Err(FetchProblem::Timeout));
    let took = started.elapsed();
    assert!(
        took >= timeout - Duration::from_millis(100),
        "took {took:?}"
    );
    assert!(took < timeout + Duration::from_secs(1), "took {took:?}");
    assert_eq!(silent.connections(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn one_fetcher_serves_many_domains() -> TestResult {
    // The client is shared by the run: two policy hosts, one fetcher.
    let pki = TestPki::new();
    let dns = ZoneBuilder::new()
        .a("mta-sts.one.test", Ipv4Addr::LOCALHOST)
        .a("mta-sts.two.test", Ipv4Addr::LOCALHOST)
        .start()
        .await;
    let one = HttpsServer::start(
        pki.leaf(&LeafSpec::valid_for("mta-sts.one.test")),
        vec![(POLICY_PATH.into(), Response::policy(ENFORCE))],
    )
    .await;
    let two = HttpsServer::start(
        pki.leaf(&LeafSpec::valid_for("mta-sts.two.test")),
        vec![(
            POLICY_PATH.into(),
            Response::policy("version: STSv1\nmode: none\nmax_age: 1\n"),
        )],
    )
    .await;
    let rules = vec![
        format!("mta-sts.one.test:443::{}", one.port()),
        format!("mta-sts.two.test:443::{}", two.port()),
    ];
    let fetcher = lab_fetcher(&dns, &pki, &rules, TIMEOUT)?;
    let (one_test, two_test) = ("one.test".parse()?, "two.test".parse()?);
    let (a, b) = tokio::join!(fetcher.fetch(&one_test), fetcher.fetch(&two_test));
    assert_eq!(Fetched::read(a?).policy.map(|p| p.mode), Ok(Mode::Enforce));
    let b = Fetched::read(b?);
    assert_eq!(b.url, "https://mta-sts.two.test/.well-known/mta-sts.txt");
    assert_eq!(b.policy.map(|p| p.mode), Ok(Mode::None));
    assert_eq!(one.requests().len(), 1);
    assert_eq!(two.requests().len(), 1);
    Ok(())
}

/// A loopback listener whose every connection gets `reply` (then closed),
/// whatever the client says; for peers that are not HTTPS servers at all.
async fn raw_server(reply: &'static [u8]) -> std::io::Result<(u16, tokio::task::JoinHandle<()>)> {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.write_all(reply).await;
            let _ = stream.shutdown().await;
        }
    });
    Ok((port, task))
}

#[tokio::test(flavor = "multi_thread")]
async fn hang_up_during_handshake_is_tls() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let (port, task) = raw_server(b"").await?;
    let fetcher = lab_fetcher(&dns, &pki, &to_port(port), TIMEOUT)?;
    let result = fetch(&fetcher).await;
    task.abort();
    assert_eq!(
        result,
        Err(FetchProblem::Tls(
            "the server closed the connection during the TLS handshake".into()
        ))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn plaintext_http_on_the_https_port_is_tls() -> TestResult {
    let pki = TestPki::new();
    let dns = zone().await;
    let (port, task) =
        raw_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
    let fetcher = lab_fetcher(&dns, &pki, &to_port(port), TIMEOUT)?;
    let result = fetch(&fetcher).await;
    task.abort();
    match result {
        Err(FetchProblem::Tls(msg)) => assert!(msg.contains("corrupt message"), "{msg}"),
        other => panic!("expected a TLS problem, got {other:?}"),
    }
    Ok(())
}
