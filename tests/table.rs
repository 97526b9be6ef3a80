//! The human table, snapshot-tested (insta): one run over domains that show
//! each kind of row. Ports, dates and timings vary per run and are redacted.

mod lab;

use lab::scenario::{LabBuilder, good, plain, self_signed};
use lab::smtp::{Banner, Behaviour};

#[tokio::test(flavor = "multi_thread")]
async fn table_output() {
    let lab = LabBuilder::new()
        .mx("example.test", 10, "mx1.example.test", good)
        .mx("example.test", 20, "mx2.example.test", plain)
        .mx("partner.test", 10, "mail.partner.test", self_signed)
        .mx("busy.test", 10, "mx.busy.test", |_, mx| Behaviour {
            banner: Banner::Reject421,
            ..Behaviour::plain(mx)
        })
        .zone(|zone| zone.mx("nomail.test", 0, "."))
        .start()
        .await;
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
