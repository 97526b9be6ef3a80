//! `check --format html` in a real browser: headless Chromium loads the
//! report of a ten-domain lab run (every verdict) from disk and the test
//! reads the DOM after the page's script ran (`--dump-dom`): the chart and
//! every domain are there, and a filter given in the URL fragment
//! (`#verdict=broken`) leaves exactly the matching domains visible. A
//! screenshot goes to `target/html-report.png`. The page of `smtptls diff
//! --format html` gets the same treatment (`target/html-diff.png`).
//!
//! Skipped, in one line, where Chromium is not installed (`.ci/run`
//! installs Debian's `chromium`). Every Chromium run is killed after
//! [`BROWSER_LIMIT`], so the test cannot hang.
//!
//! `fleet_of_2000_domains_figures` (ignored; `cargo test --test
//! html_browser -- --ignored --nocapture`) prints the figures of a
//! 2,000-domain page: size, time to write it, and Chromium's time to load
//! and render it.

mod lab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::pki::{Issuer, LeafSpec};
use lab::run::Lab;
use lab::scenario::{LabBuilder, good, good_with, plain};
use scraper::{Html, Selector};
use smtptls::protection::dane::suggest;
use time::OffsetDateTime;

/// A Chromium run still going after this is killed.
const BROWSER_LIMIT: Duration = Duration::from_secs(60);

/// Input order, and the verdict each gets.
const DOMAINS: [(&str, &str); 10] = [
    ("tls.test", "secure"),
    ("clear.test", "plaintext"),
    ("prot.test", "protected"),
    ("danebad.test", "broken"),
    ("soon.test", "secure"),
    ("selfsigned.test", "encrypted"),
    ("old.test", "encrypted"),
    ("partial.test", "partial"),
    ("gone.test", "error"),
    ("null.test", "no-mail"),
];

/// Chromium, where Debian puts it or on `PATH`.
fn chromium() -> Option<PathBuf> {
    let debian = Path::new("/usr/bin/chromium");
    if debian.is_file() {
        return Some(debian.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// The ten domains: DANE through TLSA records the lab resolver vouches
/// for (`authentic`, `--dnssec trust-resolver`), one set matching the
/// served key (protected) and one not (broken); certificates for 400
/// days, 5 days, self-signed and expired; one MX of two without
/// STARTTLS; no STARTTLS at all; NXDOMAIN; null MX.
async fn lab() -> Lab {
    let mut builder = LabBuilder::new();
    let now = OffsetDateTime::now_utc();
    let prot = builder.pki.leaf(&LeafSpec::valid_for("mx.prot.test"));
    let ee = suggest(&prot.chain)
        .into_iter()
        .next()
        .expect("a 3 1 1 record");
    builder = builder
        .zone(|zone| {
            zone.mx("prot.test", 10, "mx.prot.test")
                .a("mx.prot.test", std::net::Ipv4Addr::LOCALHOST)
                .tlsa("_25._tcp.mx.prot.test", 3, 1, 1, &ee.data)
                .authentic("prot.test")
                .tlsa("_25._tcp.mx.danebad.test", 3, 1, 1, &[0xab; 32])
                .authentic("danebad.test")
                .mx("null.test", 0, ".")
        })
        .serve("mx.prot.test", |_, host| {
            lab::smtp::Behaviour::good(host, prot)
        });
    builder
        .mx("tls.test", 10, "mx.tls.test", |pki, host| {
            good_with(pki, host, |leaf| LeafSpec {
                not_after: now + time::Duration::days(400),
                ..leaf
            })
        })
        .mx("clear.test", 10, "mx.clear.test", plain)
        .mx("danebad.test", 10, "mx.danebad.test", good)
        .mx("soon.test", 10, "mx.soon.test", |pki, host| {
            good_with(pki, host, |leaf| LeafSpec {
                not_after: now + time::Duration::days(5),
                ..leaf
            })
        })
        .mx("selfsigned.test", 10, "mx.selfsigned.test", |pki, host| {
            good_with(pki, host, |leaf| LeafSpec {
                issuer: Issuer::SelfSigned,
                ..leaf
            })
        })
        .mx("old.test", 10, "mx.old.test", |pki, host| {
            good_with(pki, host, |leaf| LeafSpec {
                not_before: now - time::Duration::days(400),
                not_after: now - time::Duration::days(3),
                ..leaf
            })
        })
        .mx("partial.test", 10, "mx1.partial.test", good)
        .mx("partial.test", 20, "mx2.partial.test", plain)
        .start()
        .await
}

/// `check --format FORMAT` over the ten domains.
async fn check(lab: &Lab, format: &str) -> String {
    let names: Vec<&str> = DOMAINS.iter().map(|(d, _)| *d).collect();
    let run = lab
        .smtptls(&["check", "--format", format], &names, &["-4"])
        .await;
    assert_eq!(run.code, 1, "five domains are below encrypted: {run:?}");
    assert_eq!(run.stderr, "");
    run.stdout
}

/// What one Chromium run printed, and how long it took.
struct Browsed {
    stdout: String,
    took: Duration,
}

/// Runs headless Chromium on `url` with `extra` flags, in a fresh
/// profile, killed after [`BROWSER_LIMIT`]. Its output goes to a file, so
/// a large DOM cannot block it on a full pipe.
fn browse(bin: &Path, url: &str, extra: &[String]) -> Browsed {
    let profile = tempfile::tempdir().expect("profile dir");
    let out_dir = tempfile::tempdir().expect("output dir");
    let out_path = out_dir.path().join("stdout");
    let err_path = out_dir.path().join("stderr");
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start chromium");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > BROWSER_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {BROWSER_LIMIT:?}: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let stdout = std::fs::read_to_string(&out_path).expect("read chromium's output");
    assert!(
        status.success(),
        "chromium {status}: {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    Browsed { stdout, took }
}

fn file_url(path: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", path.display())
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

/// Domain name → hidden? for the table's rows, and for the drill-downs.
fn visibility(doc: &Html) -> (BTreeMap<String, bool>, BTreeMap<String, bool>) {
    let rows = doc
        .select(&sel("#rows tbody tr"))
        .map(|r| {
            let name = r
                .select(&sel("td a"))
                .next()
                .map(|a| a.text().collect::<String>())
                .unwrap_or_default();
            (name, r.value().attr("hidden").is_some())
        })
        .collect();
    let details = doc
        .select(&sel("details.domain"))
        .map(|d| {
            let name = d
                .select(&sel("summary h3"))
                .next()
                .map(|h| h.text().collect::<String>())
                .unwrap_or_default();
            (name, d.value().attr("hidden").is_some())
        })
        .collect();
    (rows, details)
}

/// Every domain hidden except those whose verdict is in `shown`.
fn expected(shown: &[&str]) -> BTreeMap<String, bool> {
    DOMAINS
        .iter()
        .map(|(d, v)| (d.to_string(), !shown.contains(v)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_renders_the_report_and_filters_it() {
    let Some(bin) = chromium() else {
        println!("html browser test: skipped (chromium not installed)");
        return;
    };
    let lab = lab().await;
    let html = check(&lab, "html").await;
    drop(lab);

    // As written: valid, and every domain with its verdict, worst first.
    let doc = Html::parse_document(&html);
    let errors: Vec<String> = doc.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    let verdicts: Vec<String> = doc
        .select(&sel("#rows tbody tr"))
        .map(|r| r.value().attr("data-verdict").unwrap_or("").to_string())
        .collect();
    assert_eq!(
        verdicts,
        [
            "error",
            "broken",
            "plaintext",
            "partial",
            "encrypted",
            "encrypted",
            "secure",
            "secure",
            "protected",
            "no-mail"
        ]
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.html");
    std::fs::write(&path, &html).expect("write the report");

    // After the script ran: the controls are shown, nothing is hidden,
    // the chart has a bar and a count per verdict.
    let page = browse(&bin, &file_url(&path, ""), &["--dump-dom".into()]);
    let dom = Html::parse_document(&page.stdout);
    let (rows, details) = visibility(&dom);
    assert_eq!(rows, expected(&DOMAINS.map(|(_, v)| v)));
    assert_eq!(details, rows);
    assert_eq!(
        dom.select(&sel("#controls[hidden]")).count(),
        0,
        "the script shows the controls"
    );
    let status: String = dom.select(&sel("#status")).flat_map(|s| s.text()).collect();
    assert_eq!(status, "Showing 10 of 10 domains.");
    let counts: Vec<String> = dom
        .select(&sel("#verdict-chart g text.count"))
        .map(|t| t.text().collect())
        .collect();
    assert_eq!(
        counts,
        [
            "1 (10%)", "2 (20%)", "2 (20%)", "1 (10%)", "1 (10%)", "1 (10%)", "1 (10%)", "1 (10%)"
        ]
    );
    // The expiry timeline: old.test's expired certificate, soon.test's
    // within 7 days, the lab's 90-day ones within 90 days.
    let expiry: Vec<String> = dom
        .select(&sel("#expiry tbody tr"))
        .map(|r| {
            let cells: Vec<String> = r
                .select(&sel("td"))
                .map(|c| c.text().collect::<String>())
                .collect();
            format!("{}|{}", cells[0], cells[5])
        })
        .collect();
    assert_eq!(
        expiry[..2],
        ["expired|old.test", "within 7 days|soon.test"],
        "{expiry:?}"
    );

    // The fragment filters: exactly the broken domain stays visible.
    for (fragment, shown, count) in [
        ("#verdict=broken", vec!["broken"], 1),
        (
            "#verdict=encrypted,plaintext",
            vec!["encrypted", "plaintext"],
            3,
        ),
    ] {
        let page = browse(&bin, &file_url(&path, fragment), &["--dump-dom".into()]);
        let dom = Html::parse_document(&page.stdout);
        let (rows, details) = visibility(&dom);
        assert_eq!(rows, expected(&shown), "{fragment}");
        assert_eq!(details, rows, "{fragment}");
        let status: String = dom.select(&sel("#status")).flat_map(|s| s.text()).collect();
        assert_eq!(status, format!("Showing {count} of 10 domains."));
    }
    // Free text: a domain's MX host name, and a finding id.
    let page = browse(
        &bin,
        &file_url(&path, "#q=mx2.partial"),
        &["--dump-dom".into()],
    );
    let (rows, _) = visibility(&Html::parse_document(&page.stdout));
    assert_eq!(rows, expected(&["partial"]));
    let page = browse(
        &bin,
        &file_url(&path, "#verdict=encrypted&q=cert.chain.valid"),
        &["--dump-dom".into()],
    );
    let (rows, _) = visibility(&Html::parse_document(&page.stdout));
    let visible: Vec<&String> = rows.iter().filter(|(_, h)| !**h).map(|(d, _)| d).collect();
    assert_eq!(visible, ["old.test", "selfsigned.test"]);

    // The controls, driven as a person would (a copy of the page with a
    // script after the page's own): sort by domain, pick a verdict, type.
    let driven = dir.path().join("driven.html");
    let probe = "<script>(function(){\
        document.querySelector('#rows th button').click();\
        var s=document.getElementById('f-verdict');s.value='encrypted';\
        s.dispatchEvent(new Event('change'));\
        var q=document.getElementById('f-q');q.value='OLD';\
        q.dispatchEvent(new Event('input'));\
        document.body.setAttribute('data-hash',location.hash);})();</script>\n</body>";
    std::fs::write(&driven, html.replacen("</body>", probe, 1)).expect("write");
    let page = browse(&bin, &file_url(&driven, ""), &["--dump-dom".into()]);
    let dom = Html::parse_document(&page.stdout);
    let (rows, _) = visibility(&dom);
    let order: Vec<String> = dom
        .select(&sel("#rows tbody tr td:first-child a"))
        .map(|a| a.text().collect())
        .collect();
    let mut sorted: Vec<String> = DOMAINS.iter().map(|(d, _)| d.to_string()).collect();
    sorted.sort();
    assert_eq!(order, sorted, "sorted by domain");
    let visible: Vec<&String> = rows.iter().filter(|(_, h)| !**h).map(|(d, _)| d).collect();
    assert_eq!(visible, ["old.test"]);
    let body = dom.select(&sel("body")).next().expect("body");
    assert_eq!(
        body.value().attr("data-hash"),
        Some("#verdict=encrypted&q=OLD")
    );
    let sort: Vec<&str> = dom
        .select(&sel("#rows thead th[aria-sort]"))
        .map(|th| th.value().attr("aria-sort").unwrap_or(""))
        .collect();
    assert_eq!(sort[..2], ["ascending", "none"], "domain, verdict");

    // The picture, for people.
    let png = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("html-report.png");
    let _ = std::fs::remove_file(&png);
    browse(
        &bin,
        &file_url(&path, ""),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".into(),
            "--hide-scrollbars".into(),
        ],
    );
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    println!("html browser test: screenshot at {}", png.display());
}

/// What the fit probe read in the browser at one window width.
struct Fit {
    inner_width: u32,
    client_width: u32,
    scroll_width: u32,
    ids: usize,
    broken_ids: String,
    past_the_edge: String,
}

/// A copy of `html` with a script after the page's own that opens every
/// drill-down (their content is the widest part of the page) and records
/// the document's widths, each finding id that takes more than one line
/// box (broken inside, or wrapped), and the elements whose right edge is
/// past the viewport's; loaded at `width` pixels.
fn fit(bin: &Path, dir: &Path, html: &str, width: u32) -> Fit {
    let probe = "<script>(function(){\
        document.querySelectorAll('details').forEach(function(d){d.open=true;});\
        var root=document.documentElement,b=document.body,edge=root.clientWidth;\
        var ids=document.querySelectorAll('code.id'),broken=[];\
        ids.forEach(function(e){var r=e.getClientRects();\
          if(r.length!==1){broken.push(e.textContent+'/'+r.length);}});\
        var past=[];\
        document.querySelectorAll('main *').forEach(function(e){\
          var r=e.getBoundingClientRect();\
          if(r.width>0&&r.right>edge+0.5&&past.length<8){\
            past.push(e.tagName.toLowerCase()+'.'+e.className+'@'+Math.round(r.right));}});\
        b.setAttribute('data-inner-width',window.innerWidth);\
        b.setAttribute('data-client-width',edge);\
        b.setAttribute('data-scroll-width',root.scrollWidth);\
        b.setAttribute('data-ids',ids.length);\
        b.setAttribute('data-broken-ids',broken.join(' '));\
        b.setAttribute('data-past',past.join(' '));})();</script>\n</body>";
    let path = dir.join(format!("fit-{width}.html"));
    std::fs::write(&path, html.replacen("</body>", probe, 1)).expect("write");
    let page = browse(
        bin,
        &file_url(&path, ""),
        &["--dump-dom".into(), format!("--window-size={width},1000")],
    );
    let dom = Html::parse_document(&page.stdout);
    let body = dom.select(&sel("body")).next().expect("body");
    let attr = |name: &str| body.value().attr(name).unwrap_or("").to_string();
    let number = |name: &str| attr(name).parse::<u32>().unwrap_or(u32::MAX);
    Fit {
        inner_width: number("data-inner-width"),
        client_width: number("data-client-width"),
        scroll_width: number("data-scroll-width"),
        ids: attr("data-ids").parse().unwrap_or(0),
        broken_ids: attr("data-broken-ids"),
        past_the_edge: attr("data-past"),
    }
}

/// The lab's report made as wide as real fleets make it: a long domain
/// name, long MX host names, long messages and fixes with long unbroken
/// words (a URL, a path), the longest finding ids with a fix; and one id
/// both failed (by the domains that fail it) and noted (by one that does
/// not), for the per-severity link. Returns the id and the domains that
/// fail it.
fn widen(report: &mut smtptls::report::Report) -> (String, Vec<String>) {
    use smtptls::vocabulary::{Finding, FindingId, Fix, FixBy, Severity};
    let long_fix = "Publish a certificate for every MX host name from a public CA and \
        serve the whole chain, see https://www.example.org/documentation/mail/\
        starttls-everywhere/certificates-and-chains-for-mail-exchangers-explained.html and \
        /etc/postfix/main.cf:smtpd_tls_chain_files=/etc/ssl/private/mail.example.org.pem \
        then reload; senders retry for days before they bounce.";
    let long_message = "the MX host presented a certificate for \
        mail-gateway-01.outbound-protection.some-very-long-hosting-provider-name.example \
        which does not match";
    for (i, d) in report.domains.iter_mut().enumerate() {
        if i == 0 {
            d.domain = format!(
                "{}-with-a-rather-long-label-for-the-domain-name.{}",
                "x".repeat(30),
                d.domain
            );
        }
        for mx in &mut d.mx {
            mx.host = format!(
                "mx{i}-inbound-relay.a-very-long-host-name-label-from-a-hosting-provider.{}",
                mx.host
            );
        }
        let fix = Fix {
            by: FixBy::Receiver,
            text: long_fix.to_string(),
        };
        for f in d
            .findings
            .iter_mut()
            .chain(d.mx.iter_mut().flat_map(|m| {
                m.findings
                    .iter_mut()
                    .chain(m.addresses.iter_mut().flat_map(|a| a.findings.iter_mut()))
            }))
            .filter(|f| f.severity > Severity::Ok)
        {
            f.fix = Some(fix.clone());
            f.message = format!("{} ({long_message})", f.message);
        }
        for id in [
            FindingId::MxAddressesLeftOut,
            FindingId::SmtpEhloAfterTls,
            FindingId::MtaStsCertificate,
        ] {
            let mut f = Finding::warn(id, long_message);
            f.fix = Some(fix.clone());
            d.findings.push(f);
        }
    }
    // An id some domains fail, noted on a domain that does not fail it.
    let failing = |d: &smtptls::report::DomainReport, id: FindingId| {
        smtptls::report::view::problems(d)
            .iter()
            .any(|p| p.finding.id == id && p.finding.severity == Severity::Fail)
    };
    let id = report
        .domains
        .iter()
        .flat_map(smtptls::report::view::problems)
        .find(|p| p.finding.severity == Severity::Fail)
        .map(|p| p.finding.id)
        .expect("some domain fails something");
    let fails: Vec<String> = report
        .domains
        .iter()
        .filter(|d| failing(d, id))
        .map(|d| d.domain.clone())
        .collect();
    let other = report
        .domains
        .iter_mut()
        .find(|d| !failing(d, id))
        .expect("a domain that does not fail it");
    other.findings.push(Finding::info(id, "noted only"));
    (id.as_str().to_string(), fails)
}

/// The page of a fleet with long fixes, host names and ids neither
/// scrolls sideways nor breaks a finding id at 1280 and 800 pixels, and
/// a problem's link (`#q=fail:ID`) lists only the domains that fail it.
#[tokio::test(flavor = "multi_thread")]
async fn the_page_fits_the_window_and_keeps_ids_whole() {
    let Some(bin) = chromium() else {
        println!("html browser test: skipped (chromium not installed)");
        return;
    };
    let lab = lab().await;
    let json = check(&lab, "json").await;
    drop(lab);
    let mut report: smtptls::report::Report = serde_json::from_str(&json).expect("the report");
    let (id, fails) = widen(&mut report);
    let mut out = Vec::new();
    smtptls::reporter::reporter(
        smtptls::reporter::Format::Html,
        smtptls::reporter::TableLayout::default(),
    )
    .finish(&report, &mut out)
    .expect("write");
    let html = String::from_utf8(out).expect("UTF-8");
    let dir = tempfile::tempdir().expect("temp dir");

    for width in [1280, 800] {
        let fit = fit(&bin, dir.path(), &html, width);
        assert_eq!(fit.inner_width, width, "the window is {width} px wide");
        assert!(
            fit.scroll_width <= fit.client_width,
            "at {width} px the page scrolls sideways: {} > {}; past the edge: {}",
            fit.scroll_width,
            fit.client_width,
            fit.past_the_edge
        );
        assert_eq!(fit.past_the_edge, "", "at {width} px");
        assert!(fit.ids > 20, "the ids were measured: {}", fit.ids);
        assert_eq!(
            fit.broken_ids, "",
            "at {width} px, ids on more than one line"
        );
    }

    // The FAIL row's link: exactly the domains that fail the id, not the
    // one that only has it as a note.
    let path = dir.path().join("fleet.html");
    std::fs::write(&path, &html).expect("write");
    let page = browse(
        &bin,
        &file_url(&path, &format!("#q=fail:{id}")),
        &["--dump-dom".into()],
    );
    let (rows, _) = visibility(&Html::parse_document(&page.stdout));
    let mut shown: Vec<String> = rows
        .into_iter()
        .filter(|(_, hidden)| !hidden)
        .map(|(d, _)| d)
        .collect();
    shown.sort();
    let mut expected = fails;
    expected.sort();
    assert_eq!(shown, expected, "#q=fail:{id}");

    // The picture at 800 px, for people.
    let png = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("html-report-800.png");
    let _ = std::fs::remove_file(&png);
    browse(
        &bin,
        &file_url(&path, ""),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=800,2600".into(),
            "--hide-scrollbars".into(),
        ],
    );
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    println!("html browser test: 800 px screenshot at {}", png.display());
}

/// The figures of a 2,000-domain page, printed: the ten lab domains'
/// rows (read back from `--format json`) repeated under new names, the
/// page written by the library's reporter, then loaded by Chromium.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: cargo test --test html_browser -- --ignored --nocapture"]
async fn fleet_of_2000_domains_figures() {
    let lab = lab().await;
    let json = check(&lab, "json").await;
    drop(lab);
    let mut report: smtptls::report::Report = serde_json::from_str(&json).expect("the report");
    let rows = std::mem::take(&mut report.domains);
    let n = 2000;
    for i in 0..n {
        let mut d = rows[i % rows.len()].clone();
        d.domain = format!("p{i:04}-{}", d.domain);
        report.domains.push(d);
    }
    report.summary.domains = n;

    let started = Instant::now();
    let mut out = Vec::with_capacity(32 << 20);
    smtptls::reporter::reporter(
        smtptls::reporter::Format::Html,
        smtptls::reporter::TableLayout::default(),
    )
    .finish(&report, &mut out)
    .expect("write");
    let write = started.elapsed();
    let html = String::from_utf8(out).expect("UTF-8");
    println!(
        "html 2000 domains: {} bytes ({:.1} MiB), written in {:.0} ms (this build: {})",
        html.len(),
        html.len() as f64 / 1048576.0,
        write.as_secs_f64() * 1000.0,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let started = Instant::now();
    let errors = Html::parse_document(&html).errors.len();
    println!(
        "html 2000 domains: html5ever parse errors {errors}, parsed in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(errors, 0);

    let Some(bin) = chromium() else {
        println!("html browser figures: skipped (chromium not installed)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.html");
    // The measured copy records, after the page's own script, the time
    // since navigation began, then filters and sorts once and records how
    // long each took.
    let probe = "<script>(function(){var b=document.body;\
        b.setAttribute('data-loaded-ms',performance.now().toFixed(0));\
        var t=performance.now();window.smtptlsFilter('broken','');\
        b.setAttribute('data-filter-ms',(performance.now()-t).toFixed(1));\
        t=performance.now();window.smtptlsFilter('','p1');\
        b.setAttribute('data-search-ms',(performance.now()-t).toFixed(1));\
        window.smtptlsFilter('','');\
        t=performance.now();document.querySelector('#rows th button').click();\
        b.setAttribute('data-sort-ms',(performance.now()-t).toFixed(1));})();</script>\n</body>";
    std::fs::write(&path, html.replacen("</body>", probe, 1)).expect("write");
    let page = browse(&bin, &file_url(&path, ""), &["--dump-dom".into()]);
    let dom = Html::parse_document(&page.stdout);
    let body = dom.select(&sel("body")).next().expect("body");
    let attr = |name: &str| body.value().attr(name).unwrap_or("?").to_string();
    println!(
        "html 2000 domains: chromium --dump-dom {:.0} ms wall; performance.now() after the \
         page's script {} ms; filter by verdict {} ms, search {} ms, sort by domain {} ms",
        page.took.as_secs_f64() * 1000.0,
        attr("data-loaded-ms"),
        attr("data-filter-ms"),
        attr("data-search-ms"),
        attr("data-sort-ms"),
    );
    assert_eq!(dom.select(&sel("#rows tbody tr")).count(), n);
    let png = dir.path().join("big.png");
    let shot = browse(
        &bin,
        &file_url(&path, ""),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".into(),
        ],
    );
    println!(
        "html 2000 domains: chromium --screenshot (load, layout, paint) {:.0} ms wall",
        shot.took.as_secs_f64() * 1000.0
    );
    // A baseline: Chromium on an empty page, its own start-up cost.
    let empty = dir.path().join("empty.html");
    std::fs::write(&empty, "<!DOCTYPE html><title>x</title>").expect("write");
    let base = browse(&bin, &file_url(&empty, ""), &["--dump-dom".into()]);
    println!(
        "html 2000 domains: chromium --dump-dom of an empty page {:.0} ms wall (start-up)",
        base.took.as_secs_f64() * 1000.0
    );
}

/// `smtptls diff --format html` in the browser: OLD audits the first
/// eight domains, NEW the last eight, so two are removed and two added and
/// the six in both are unchanged. The page is valid, lists the four, and
/// the fragment filter shows only the kind it names.
#[tokio::test(flavor = "multi_thread")]
async fn chromium_renders_the_diff_page_and_filters_it() {
    let Some(bin) = chromium() else {
        println!("html browser test: skipped (chromium not installed)");
        return;
    };
    let lab = lab().await;
    let names: Vec<&str> = DOMAINS.iter().map(|(d, _)| *d).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for (side, list) in [("old", &names[..8]), ("new", &names[2..])] {
        let run = lab
            .smtptls(&["check", "--format", "ndjson"], list, &["-4"])
            .await;
        assert_eq!(run.stderr, "");
        let path = dir.path().join(format!("{side}.ndjson"));
        std::fs::write(&path, &run.stdout).expect("write the report");
        files.push(path.display().to_string());
    }
    drop(lab);
    let run = lab::run::smtptls(["diff", &files[0], &files[1], "--format", "html"]).await;
    assert_eq!(
        run.code, 0,
        "added and removed are not regressions: {run:?}"
    );
    let doc = Html::parse_document(&run.stdout);
    let errors: Vec<String> = doc.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());

    let path = dir.path().join("diff.html");
    std::fs::write(&path, &run.stdout).expect("write the page");
    let page = browse(
        &bin,
        &file_url(&path, "#verdict=removed"),
        &["--dump-dom".into()],
    );
    let dom = Html::parse_document(&page.stdout);
    let (rows, details) = visibility(&dom);
    let hidden_unless_removed: BTreeMap<String, bool> = [
        ("tls.test", false),
        ("clear.test", false),
        ("gone.test", true),
        ("null.test", true),
    ]
    .into_iter()
    .map(|(d, hidden)| (d.to_string(), hidden))
    .collect();
    assert_eq!(rows, hidden_unless_removed, "{}", page.stdout);
    assert_eq!(details, rows);
    let status: String = dom.select(&sel("#status")).flat_map(|s| s.text()).collect();
    assert_eq!(status, "Showing 2 of 4 domains.");

    let png = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("html-diff.png");
    let _ = std::fs::remove_file(&png);
    browse(
        &bin,
        &file_url(&path, ""),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,1400".into(),
            "--hide-scrollbars".into(),
        ],
    );
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    println!("html browser test: diff screenshot at {}", png.display());
}
