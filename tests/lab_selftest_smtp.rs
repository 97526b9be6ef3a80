//! Self-test of the lab's PKI and SMTP server, driven by a raw client.
#![allow(dead_code)]

use smtptls::lab::{pki, smtp};

use std::sync::Arc;
use std::time::Duration;

use pki::{Issuer, KeyKind, LeafSpec, TestPki};
use rustls::pki_types::ServerName;
use smtp::{Banner, Behaviour, SmtpServer, StartTls};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Reads one (possibly multiline) reply; returns its lines without CRLF.
async fn read_reply<S: AsyncRead + Unpin>(reader: &mut BufReader<S>) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line))
            .await
            .expect("reply within 5 s")
            .expect("read reply");
        assert!(n > 0, "connection closed mid-reply; got so far: {lines:?}");
        assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
        let line = line.trim_end_matches("\r\n").to_owned();
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line);
        if last {
            return lines;
        }
    }
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    line: &str,
) -> Vec<String> {
    conn.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .expect("send command");
    read_reply(conn).await
}

fn client_config(pki: &TestPki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.root_der()).expect("add lab root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

/// Connects, reads the banner, EHLOs and STARTTLSes, then does the TLS
/// handshake with SNI `sni`.
async fn starttls(
    server: &SmtpServer,
    pki: &TestPki,
    sni: &'static str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut conn = BufReader::new(TcpStream::connect(server.addr).await.expect("connect"));
    read_reply(&mut conn).await;
    command(&mut conn, "EHLO client.test").await;
    let reply = command(&mut conn, "STARTTLS").await;
    assert_eq!(reply, ["220 2.0.0 Ready to start TLS"]);
    assert!(conn.buffer().is_empty());
    TlsConnector::from(client_config(pki))
        .connect(ServerName::try_from(sni).expect("sni"), conn.into_inner())
        .await
}

#[tokio::test]
async fn full_starttls_dialogue() {
    let pki = TestPki::new();
    let cert = pki.leaf(&LeafSpec::valid_for("mx.good.test"));
    let server = SmtpServer::start(Behaviour::good("mx.good.test", cert)).await;

    let mut conn = BufReader::new(TcpStream::connect(server.addr).await.expect("connect"));
    assert_eq!(read_reply(&mut conn).await, ["220 mx.good.test ESMTP lab"]);

    let ehlo = command(&mut conn, "EHLO client.test").await;
    assert_eq!(ehlo[0], "250-mx.good.test greets client.test");
    assert!(ehlo.contains(&"250-STARTTLS".to_owned()), "{ehlo:?}");
    assert_eq!(ehlo.last().map(String::as_str), Some("250 8BITMIME"));

    assert_eq!(command(&mut conn, "NOOP").await, ["250 2.0.0 OK"]);
    assert_eq!(
        command(&mut conn, "STARTTLS").await,
        ["220 2.0.0 Ready to start TLS"]
    );

    let tls = TlsConnector::from(client_config(&pki))
        .connect(
            ServerName::try_from("mx.good.test").expect("sni"),
            conn.into_inner(),
        )
        .await
        .expect("TLS handshake");
    let served = tls
        .get_ref()
        .1
        .peer_certificates()
        .expect("peer certs")
        .to_vec();
    assert_eq!(served.len(), 2, "leaf + intermediate");
    assert_eq!(served[1], pki.intermediate_der());

    let mut tls = BufReader::new(tls);
    let ehlo = command(&mut tls, "EHLO client.test").await;
    assert!(ehlo.iter().all(|l| !l.contains("STARTTLS")), "{ehlo:?}");
    assert_eq!(
        command(&mut tls, "STARTTLS").await,
        ["503 5.5.1 TLS already active"]
    );
    assert_eq!(command(&mut tls, "QUIT").await, ["221 2.0.0 Bye"]);

    assert_eq!(
        server.commands(),
        [
            "EHLO client.test",
            "NOOP",
            "STARTTLS",
            "EHLO client.test",
            "STARTTLS",
            "QUIT"
        ]
    );
    assert_eq!(server.connections(), 1);
    assert!(!server.saw_early_talker());
}

#[tokio::test]
async fn multiline_banner() {
    let server = SmtpServer::start(Behaviour {
        banner: Banner::Multiline,
        ..Behaviour::plain("mx.multi.test")
    })
    .await;
    let mut conn = BufReader::new(TcpStream::connect(server.addr).await.expect("connect"));
    assert_eq!(
        read_reply(&mut conn).await,
        [
            "220-mx.multi.test ESMTP lab",
            "220-second line",
            "220 third"
        ]
    );
    let ehlo = command(&mut conn, "EHLO c").await;
    assert!(ehlo.iter().all(|l| !l.contains("STARTTLS")), "{ehlo:?}");
    assert_eq!(
        command(&mut conn, "STARTTLS").await,
        ["502 5.5.1 not implemented"]
    );
    assert_eq!(
        command(&mut conn, "MAIL FROM:<a@b.test>").await[0][..3],
        *"503"
    );
    assert_eq!(command(&mut conn, "WHAT").await[0][..3], *"500");
    assert_eq!(command(&mut conn, "QUIT").await, ["221 2.0.0 Bye"]);
    assert_eq!(
        server.commands(),
        ["EHLO c", "STARTTLS", "MAIL FROM:<a@b.test>", "WHAT", "QUIT"]
    );
}

#[tokio::test]
async fn starttls_refused_454() {
    let pki = TestPki::new();
    let server = SmtpServer::start(Behaviour {
        starttls: StartTls::Refused454,
        ..Behaviour::good(
            "mx.refuse.test",
            pki.leaf(&LeafSpec::valid_for("mx.refuse.test")),
        )
    })
    .await;
    let mut conn = BufReader::new(TcpStream::connect(server.addr).await.expect("connect"));
    read_reply(&mut conn).await;
    let ehlo = command(&mut conn, "EHLO c").await;
    assert!(ehlo.contains(&"250-STARTTLS".to_owned()), "{ehlo:?}");
    assert_eq!(
        command(&mut conn, "STARTTLS").await,
        ["454 4.7.0 TLS not available due to local problem"]
    );
    assert_eq!(command(&mut conn, "QUIT").await, ["221 2.0.0 Bye"]);
}

#[tokio::test]
async fn missing_intermediate_serves_leaf_only() {
    let pki = TestPki::new();
    let cert = pki.leaf(&LeafSpec {
        send_intermediate: false,
        ..LeafSpec::valid_for("mx.good.test")
    });
    assert_eq!(cert.chain.len(), 1);

    let server = SmtpServer::start(Behaviour::good("mx.good.test", cert)).await;
    let err = starttls(&server, &pki, "mx.good.test")
        .await
        .expect_err("a client trusting only the root cannot build the path");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
}

#[tokio::test]
async fn expired_and_not_yet_valid_leaves() {
    let pki = TestPki::new();
    let now = time::OffsetDateTime::now_utc();
    let expired = pki.leaf(&LeafSpec {
        not_before: now - time::Duration::days(100),
        not_after: now - time::Duration::days(10),
        ..LeafSpec::valid_for("mx.expired.test")
    });
    let (_, parsed) = x509_parser::parse_x509_certificate(expired.leaf_der()).expect("parse");
    assert!(parsed.validity().not_after.timestamp() < now.unix_timestamp());
    assert!(!parsed.is_ca());

    let future = pki.leaf(&LeafSpec {
        not_before: now + time::Duration::days(10),
        ..LeafSpec::valid_for("mx.future.test")
    });
    let (_, parsed) = x509_parser::parse_x509_certificate(future.leaf_der()).expect("parse");
    assert!(parsed.validity().not_before.timestamp() > now.unix_timestamp());

    let server = SmtpServer::start(Behaviour::good("mx.expired.test", expired)).await;
    let err = starttls(&server, &pki, "mx.expired.test")
        .await
        .expect_err("expired");
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn key_kinds_and_issuers() {
    let pki = TestPki::new();
    for (key, issuer) in [
        (KeyKind::EcdsaP256, Issuer::Intermediate),
        (KeyKind::Rsa2048, Issuer::Intermediate),
        (KeyKind::Ed25519, Issuer::Intermediate),
        (KeyKind::EcdsaP256, Issuer::Root),
    ] {
        let cert = pki.leaf(&LeafSpec {
            key,
            issuer,
            ..LeafSpec::valid_for("*.wild.test")
        });
        let server = SmtpServer::start(Behaviour::good("mx.wild.test", cert)).await;
        let tls = starttls(&server, &pki, "mx.wild.test").await;
        assert!(tls.is_ok(), "{key:?} {issuer:?}: {:?}", tls.err());
    }

    let self_signed = pki.leaf(&LeafSpec {
        issuer: Issuer::SelfSigned,
        ..LeafSpec::valid_for("mx.self.test")
    });
    let server = SmtpServer::start(Behaviour::good("mx.self.test", self_signed)).await;
    let err = starttls(&server, &pki, "mx.self.test")
        .await
        .expect_err("self-signed");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    // RSA-1024: a real certificate with a 1024-bit key; a client on
    // aws-lc-rs refuses the handshake signature, so the handshake fails
    // after the chain was sent (smtptls verifies it another way).
    let weak = pki.leaf(&LeafSpec {
        key: KeyKind::Rsa1024,
        ..LeafSpec::valid_for("mx.weak.test")
    });
    assert!(weak.key.is_none());
    let (_, parsed) = x509_parser::parse_x509_certificate(weak.leaf_der()).expect("parse");
    match parsed.public_key().parsed().expect("parse key") {
        x509_parser::public_key::PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 1024),
        other => panic!("not RSA: {other:?}"),
    }
    // The chain itself verifies: only the signature check refuses it.
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new({
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.root_der()).expect("add lab root");
            roots
        }),
        Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    )
    .build()
    .expect("verifier");
    rustls::client::danger::ServerCertVerifier::verify_server_cert(
        verifier.as_ref(),
        weak.leaf_der(),
        &weak.chain[1..],
        &ServerName::try_from("mx.weak.test").expect("name"),
        &[],
        rustls::pki_types::UnixTime::now(),
    )
    .expect("RSA-1024 chain verifies");
    let server = SmtpServer::start(Behaviour::good("mx.weak.test", weak)).await;
    let err = starttls(&server, &pki, "mx.weak.test")
        .await
        .expect_err("rsa1024");
    println!("RSA-1024 handshake error: {err}");
}

#[tokio::test]
async fn delayed_banner_catches_early_talker() {
    let server = SmtpServer::start(Behaviour {
        banner: Banner::Delayed(Duration::from_millis(300)),
        ..Behaviour::plain("mx.slow.test")
    })
    .await;

    // A patient client is fine.
    let mut conn = BufReader::new(TcpStream::connect(server.addr).await.expect("connect"));
    assert_eq!(read_reply(&mut conn).await, ["220 mx.slow.test ESMTP lab"]);
    assert_eq!(command(&mut conn, "QUIT").await, ["221 2.0.0 Bye"]);
    assert!(!server.saw_early_talker());

    // One that talks first is caught and gets 554 for its command.
    let mut conn = BufReader::new(TcpStream::connect(server.addr).await.expect("connect"));
    conn.get_mut()
        .write_all(b"EHLO rude\r\n")
        .await
        .expect("send");
    assert_eq!(read_reply(&mut conn).await, ["220 mx.slow.test ESMTP lab"]);
    assert_eq!(
        read_reply(&mut conn).await,
        ["554 5.5.1 SMTP synchronization error"]
    );
    assert!(server.saw_early_talker());
    assert_eq!(server.commands(), ["QUIT", "EHLO rude"]);
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn overlong_line_is_capped_and_misbehaving_banners_do_not_hang() {
    let server = SmtpServer::start(Behaviour::plain("mx.cap.test")).await;
    let mut conn = BufReader::new(TcpStream::connect(server.addr).await.expect("connect"));
    read_reply(&mut conn).await;
    let long = format!("EHLO {}", "x".repeat(100_000));
    assert_eq!(command(&mut conn, &long).await, ["500 5.5.2 line too long"]);
    assert_eq!(command(&mut conn, "RSET").await, ["250 2.0.0 OK"]);
    assert_eq!(server.commands(), ["RSET"]);

    // Each of these ends (or is ended by the client) without the test
    // hanging; the server keeps serving afterwards.
    for banner in [
        Banner::Garbage,
        Banner::Reject421,
        Banner::EndlessLine,
        Banner::TooManyLines,
        Banner::Silent,
        Banner::Trickle,
    ] {
        let server = SmtpServer::start(Behaviour {
            banner: banner.clone(),
            ..Behaviour::plain("mx.bad.test")
        })
        .await;
        let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
        let mut buf = vec![0u8; 64 * 1024];
        let got = tokio::time::timeout(Duration::from_millis(300), async {
            use tokio::io::AsyncReadExt;
            tcp.read(&mut buf).await
        })
        .await;
        match (&banner, got) {
            (Banner::Silent, Err(_)) => {}
            (Banner::Silent, other) => panic!("silent server said {other:?}"),
            (_, Ok(Ok(n))) => assert!(n > 0, "{banner:?}: nothing received"),
            (_, other) => panic!("{banner:?}: {other:?}"),
        }
        drop(tcp);
        drop(server);
    }
}
