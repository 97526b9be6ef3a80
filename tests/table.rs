//! The human table, snapshot-tested (insta): one run over domains that show
//! each kind of row. Ports, dates and timings vary per run and are redacted.

mod lab;

use std::net::Ipv4Addr;

use lab::dns::ZoneBuilder;
use lab::pki::{Issuer, LeafSpec, TestPki};
use lab::run::Lab;
use lab::smtp::{Banner, Behaviour, SmtpServer};

#[tokio::test(flavor = "multi_thread")]
async fn table_output() {
    let pki = TestPki::new();
    let good = SmtpServer::start(Behaviour::good(
        "mx1.example.test",
        pki.leaf(&LeafSpec::valid_for("mx1.example.test")),
    ))
    .await;
    let plain = SmtpServer::start(Behaviour::plain("mx2.example.test")).await;
    let selfsigned = SmtpServer::start(Behaviour::good(
        "mail.partner.test",
        pki.leaf(&LeafSpec {
            issuer: Issuer::SelfSigned,
            ..LeafSpec::valid_for("mail.partner.test")
        }),
    ))
    .await;
    let busy = SmtpServer::start(Behaviour {
        banner: Banner::Reject421,
        ..Behaviour::plain("mx.busy.test")
    })
    .await;
    let dns = ZoneBuilder::new()
        .mx("example.test", 10, "mx1.example.test")
        .mx("example.test", 20, "mx2.example.test")
        .a("mx1.example.test", Ipv4Addr::LOCALHOST)
        .a("mx2.example.test", Ipv4Addr::LOCALHOST)
        .mx("partner.test", 10, "mail.partner.test")
        .a("mail.partner.test", Ipv4Addr::LOCALHOST)
        .mx("busy.test", 10, "mx.busy.test")
        .a("mx.busy.test", Ipv4Addr::LOCALHOST)
        .mx("nomail.test", 0, ".")
        .start()
        .await;
    let mut lab = Lab::new(dns, pki);
    lab.serve("mx1.example.test", good);
    lab.serve("mx2.example.test", plain);
    lab.serve("mail.partner.test", selfsigned);
    lab.serve("mx.busy.test", busy);
    let run = lab
        .check_table(
            &[
                "example.test",
                "partner.test",
                "busy.test",
                "nomail.test",
                "gone.test",
            ],
            &["-4"],
        )
        .await;
    assert_eq!(run.code, 1);
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[DATE]"),
        (r"in \d+ ms", "in [N] ms"),
    ]}, {
        insta::assert_snapshot!(run.stdout);
    });
}
