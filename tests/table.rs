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

/// Text from a hostile server reaches the terminal inert: its escape
/// sequences (title, clear screen, colour) appear as text, never as bytes.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_banner_is_inert_in_the_table() {
    let hostile = "mx.busy.test\u{1b}]0;TITLE\u{7}\u{1b}[2J\u{1b}[31mRED\u{202e}";
    let lab = LabBuilder::new()
        .mx("busy.test", 10, "mx.busy.test", move |_, _| Behaviour {
            banner: Banner::Reject421,
            ..Behaviour::plain(hostile)
        })
        .start()
        .await;
    let run = lab.check_table(&["busy.test"], &["-4"]).await;
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'),
        "raw control bytes in:\n{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{202e}'));
    assert!(
        run.stdout
            .contains(r"421 4.7.0 mx.busy.test\x1b]0;TITLE\x07\x1b[2J\x1b[31mRED\u{202e}"),
        "{}",
        run.stdout
    );
}
