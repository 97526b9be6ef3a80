//! Entry points for the fuzz targets of `fuzz/` (cargo-fuzz) and for
//! `tests/fuzz_corpus.rs`, which replays their corpora on stable.
//!
//! Each function takes arbitrary bytes, feeds them to one parser of data a
//! peer controls (an SMTP server, a TLS server, a DNS server, a web server,
//! or a file handed to the command line) exactly as the program does, and
//! checks cheap invariants. A panic is a finding: the parsers must turn any
//! input into a value or an error. Not an API: it sits at the top layer
//! only so that it may reach every parser, and may change at any time.

use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use hickory_resolver::proto::op::Message;
use hickory_resolver::proto::rr::RecordType;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, ReadBuf};

use crate::domain::DomainName;
use crate::input::{Entry, ListSource};
use crate::inspector::certificate;
use crate::options::TrustStore;
use crate::prober::scan::server_hello::{MAX_FLIGHT, Progress, parse_flight};
use crate::prober::smtp::{MAX_LINES, Reply, SmtpStream};
use crate::protection::mta_sts::{self, Fetched, PolicyBody};
use crate::protection::tls_rpt;
use crate::protection::tls_rpt_report::Aggregator;
use crate::report::DomainReport;
use crate::report::read::{RowHead, rows};
use crate::report::tlsrpt::TlsRptRun;
use crate::resolver::trust_anchor;
use crate::resolver::{self, Answer, Exchange, MxRecords};

/// The names of the targets, as `fuzz/fuzz_targets/<name>.rs` and
/// `fuzz/corpus/<name>/` spell them.
pub const TARGETS: &[&str] = &[
    "smtp_reply",
    "server_hello",
    "certificate",
    "ocsp_response",
    "mta_sts_record",
    "mta_sts_policy",
    "tls_rpt_record",
    "tls_rpt_report",
    "dns_answer",
    "trust_anchor",
    "ndjson_rows",
    "diff_report",
    "domain_list",
];

/// Runs the target called `name` on `data`; `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    let target: fn(&[u8]) = match name {
        "smtp_reply" => smtp_reply,
        "server_hello" => server_hello,
        "certificate" => certificate,
        "ocsp_response" => ocsp_response,
        "mta_sts_record" => mta_sts_record,
        "mta_sts_policy" => mta_sts_policy,
        "tls_rpt_record" => tls_rpt_record,
        "tls_rpt_report" => tls_rpt_report,
        "dns_answer" => dns_answer,
        "trust_anchor" => trust_anchor,
        "ndjson_rows" => ndjson_rows,
        "diff_report" => diff_report,
        "domain_list" => domain_list,
        _ => return false,
    };
    target(data);
    true
}

// ---------------------------------------------------------------------------
// SMTP replies
// ---------------------------------------------------------------------------

/// What a server sends after connecting or a command, read reply by reply
/// as the prober reads it. The first byte sets how the bytes trickle in
/// (1 to 256 per read): the replies must not depend on it.
pub fn smtp_reply(data: &[u8]) {
    let Some((&chunk, wire)) = data.split_first() else {
        return;
    };
    let whole = read_replies(wire, usize::MAX);
    let trickled = read_replies(wire, usize::from(chunk) + 1);
    assert_eq!(whole, trickled, "replies depend on how the bytes arrive");
}

/// Every reply until the first error, as text (the error included).
fn read_replies(wire: &[u8], chunk: usize) -> Vec<String> {
    let io = tokio::io::join(Trickle { data: wire, chunk }, tokio::io::sink());
    let mut stream = SmtpStream::new(io);
    let mut out = Vec::new();
    loop {
        match ready(stream.read_reply()) {
            Ok(reply) => {
                check_reply(&reply);
                out.push(format!("{reply:?}"));
            }
            Err(e) => {
                out.push(e.to_string());
                return out;
            }
        }
    }
}

fn check_reply(reply: &Reply) {
    assert!((200..600).contains(&reply.code), "code {}", reply.code);
    assert!(!reply.lines.is_empty() && reply.lines.len() <= MAX_LINES);
    for line in &reply.lines {
        assert!(!line.contains(['\n']), "a reply line holds a line end");
    }
    // The summary goes into reports: one line, bounded.
    let summary = reply.summary();
    assert!(summary.chars().count() <= 4 + 200, "summary too long");
}

/// An in-memory peer that hands out at most `chunk` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Trickle<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.data.len().min(self.chunk).min(buf.remaining());
        let (now, later) = self.data.split_at(n);
        buf.put_slice(now);
        self.data = later;
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (its I/O is in memory) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        // In-memory reads are always ready; waiting would be a bug here.
        Poll::Pending => panic!("an in-memory SMTP read waited"),
    }
}

// ---------------------------------------------------------------------------
// The ServerHello flight and the certificates in it
// ---------------------------------------------------------------------------

/// The bytes a TLS server answers a hand-built ClientHello with
/// (`--scan`), as received so far.
pub fn server_hello(data: &[u8]) {
    let result = parse_flight(data);
    // The parser answers as soon as it can: more bytes after an answer,
    // or the answer given on a shorter prefix, must not change it.
    if let Ok(Progress::Done(_)) = &result
        && data.len() < MAX_FLIGHT
    {
        let mut longer = data.to_vec();
        longer.extend_from_slice(&[0x16, 0x03, 0x03, 0x00, 0x04, 0x0e, 0, 0, 0]);
        longer.truncate(MAX_FLIGHT);
        assert_eq!(
            parse_flight(&longer),
            result,
            "appended bytes changed the answer"
        );
    }
    let half = parse_flight(&data[..data.len() / 2]);
    if let Ok(Progress::Done(_)) = &half {
        assert_eq!(half, result, "a prefix answered differently");
    }
    if let Ok(Progress::Done(crate::prober::scan::Reply::Hello(hello))) = result {
        grade_chain(hello.chain);
    }
}

/// A certificate chain as a server sends it: DER certificates, here each
/// preceded by a 2-byte big-endian length, graded as for a report.
pub fn certificate(data: &[u8]) {
    let mut chain = Vec::new();
    let mut rest = data;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (der, after) = tail.split_at(len);
        chain.push(der.to_vec());
        rest = after;
    }
    grade_chain(chain);
}

/// A stapled OCSP response read against a leaf and its issuer, as the
/// inspector reads the main handshake's staple: three parts, each
/// prefixed by a 2-byte length (staple, leaf, issuer; a missing part is
/// empty). Whatever the staple says, a usable status has its times, and
/// an unusable one says why.
pub fn ocsp_response(data: &[u8]) {
    let mut parts = Vec::new();
    let mut rest = data;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (part, after) = tail.split_at(len);
        parts.push(part);
        rest = after;
    }
    let staple = parts.first().copied().unwrap_or_default();
    let leaf = parts.get(1).copied().unwrap_or_default();
    let issuer = parts.get(2).copied();
    let now = time::macros::datetime!(2026-01-01 00:00 UTC);
    let read = crate::inspector::ocsp::read(staple, leaf, issuer, now);
    use crate::inspector::ocsp::OcspStatus;
    if read.status == OcspStatus::Unusable {
        assert!(read.problem.is_some(), "an unusable staple says why");
    } else {
        assert!(read.this_update.is_some() && read.freshness.is_some());
    }
}

fn grade_chain(chain: Vec<Vec<u8>>) {
    if chain.is_empty() {
        return;
    }
    let chain: Vec<CertificateDer<'static>> = chain.into_iter().map(CertificateDer::from).collect();
    // A fixed "now" keeps a corpus replay deterministic.
    let now = time::macros::datetime!(2026-01-01 00:00 UTC);
    thread_local! {
        static TRUST: TrustStore = TrustStore::webpki();
    }
    TRUST.with(|trust| {
        let _ = certificate::grade(&chain, "mx.example.com", trust, now);
    });
}

// ---------------------------------------------------------------------------
// MTA-STS and TLS-RPT
// ---------------------------------------------------------------------------

/// `_mta-sts` TXT records, one per line, as DNS hands them on.
pub fn mta_sts_record(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let records: Vec<String> = text.split('\n').map(str::to_string).collect();
    for record in &records {
        if let Ok(parsed) = mta_sts::parse_record(record) {
            assert!((1..=32).contains(&parsed.id.len()));
            assert!(parsed.id.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }
    let _ = mta_sts::select_record(&records);
}

/// The body of `https://mta-sts.<domain>/.well-known/mta-sts.txt`.
pub fn mta_sts_policy(data: &[u8]) {
    let fetched = Fetched::read(PolicyBody {
        url: "https://mta-sts.example.com/.well-known/mta-sts.txt".into(),
        body: data.to_vec(),
    });
    if let Ok(policy) = &fetched.policy {
        assert!(policy.max_age <= mta_sts::MAX_AGE_LIMIT);
        assert!(!policy.mx.is_empty() || policy.mode == mta_sts::Mode::None);
        // Every pattern, matched against every pattern and a plain host.
        for pattern in &policy.mx {
            let _ = mta_sts::mx_matches(pattern, "mx.example.com");
            for host in &policy.mx {
                let _ = mta_sts::mx_matches(pattern, host);
            }
        }
        // A valid policy reads the same from the text it was read from.
        assert_eq!(mta_sts::parse_policy(&fetched.raw), fetched.policy);
    }
}

/// `_smtp._tls` TXT records, one per line.
pub fn tls_rpt_record(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let records: Vec<String> = text.split('\n').map(str::to_string).collect();
    for record in &records {
        if let Ok(parsed) = tls_rpt::parse(record) {
            assert!(!parsed.rua.is_empty());
            for rua in &parsed.rua {
                let _ = rua.to_string();
            }
        }
    }
    let _ = tls_rpt::select(&records);
}

/// A file handed to `smtptls tlsrpt`: a report (JSON or gzip), an email
/// message carrying reports, or an mbox, recognised by content as a PATH
/// is; then the reports added up and turned into the run's JSON.
pub fn tls_rpt_report(data: &[u8]) {
    let mut aggregator = Aggregator::new();
    let input = crate::tlsrpt_input::collect_bytes("fuzz", data, &mut aggregator);
    // Every outcome is accounted for: a report counted, a duplicate, a
    // message skipped, or a problem with a message naming it.
    for problem in &input.errors {
        assert!(!problem.message.is_empty());
    }
    let run = TlsRptRun::new(vec![input], aggregator, "2026-01-01T00:00:00Z".into());
    let json = serde_json::to_string(&run).expect("the run serialises");
    let back: serde_json::Value = serde_json::from_str(&json).expect("and reads back as JSON");
    assert!(back.is_object());
}

// ---------------------------------------------------------------------------
// DNS answers and trust anchors
// ---------------------------------------------------------------------------

/// A DNS response as a server sends it: decoded by hickory, then its
/// answer section read for every record type the audit asks, as the
/// resolver passes it on (CNAME, MX classification, TXT joining, TLSA,
/// addresses), and the TXT strings on to the MTA-STS and TLS-RPT parsers.
pub fn dns_answer(data: &[u8]) {
    let Ok(message) = Message::from_vec(data) else {
        return;
    };
    let name = message
        .queries
        .first()
        .map(|q| q.name().clone())
        .unwrap_or_default();
    for rtype in [
        RecordType::MX,
        RecordType::A,
        RecordType::AAAA,
        RecordType::TXT,
        RecordType::TLSA,
    ] {
        let (answer, cname) = resolver::records(&message.answers, &name, rtype);
        if let Some(cname) = cname {
            let _ = DomainName::from_dns(&cname);
        }
        let Answer::Records(records) = answer else {
            continue;
        };
        match rtype {
            RecordType::MX => check_mx(resolver::mx_records(records)),
            RecordType::TXT => {
                let txt = resolver::map_answer(Answer::Records(records), resolver::txt_string);
                if let Answer::Records(txt) = txt {
                    let _ = mta_sts::select_record(&txt);
                    let _ = tls_rpt::select(&txt);
                }
            }
            RecordType::TLSA => {
                let _ = resolver::map_answer(Answer::Records(records), resolver::tlsa_record);
            }
            _ => {}
        }
    }
}

fn check_mx(mx: MxRecords) {
    let MxRecords::Hosts { hosts, .. } = mx else {
        return;
    };
    assert!(!hosts.is_empty());
    // Sorted by preference; each host name is canonical.
    assert!(hosts.windows(2).all(|w| w[0].preference <= w[1].preference));
    for host in &hosts {
        if let Exchange::Host(name) = &host.exchange {
            assert_eq!(
                DomainName::from_dns(name.as_str()).ok().as_ref(),
                Some(name),
                "an MX host name is not canonical"
            );
        }
    }
}

/// A `--trust-anchor` file: DS records read by smtptls, DNSKEY records
/// by hickory.
pub fn trust_anchor(data: &[u8]) {
    // The file is read with `read_to_string`: it is UTF-8 or refused.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = trust_anchor::ds_anchors(text);
    let _ = trust_anchor::dnskey_anchor_owners(text);
    let (keys, _) = trust_anchor::anchor_key_lines(text);
    let _ = trust_anchor::parse_key_lines(&keys);
}

// ---------------------------------------------------------------------------
// Files handed to the command line
// ---------------------------------------------------------------------------

/// An NDJSON report for `--resume` and `policy --from`, read as full rows
/// and as row heads, with and without a tolerated truncated end.
pub fn ndjson_rows(data: &[u8]) {
    let full: Vec<_> = rows::<_, DomainReport>(Cursor::new(data), "fuzz").collect();
    let heads: Vec<_> = rows::<_, RowHead>(Cursor::new(data), "fuzz")
        .truncated_end_ok()
        .collect();
    for (row, head) in full.iter().zip(&heads) {
        let (Ok(row), Ok(head)) = (row, head) else {
            break;
        };
        // A full row always has a head, naming the same domain.
        assert_eq!(row.domain, head.domain);
        // What we read we write back the same way, and read again.
        let Ok(written) = serde_json::to_string(row) else {
            panic!("a row read back does not serialise");
        };
        let again: DomainReport = match serde_json::from_str(&written) {
            Ok(again) => again,
            Err(e) => panic!("a row written back does not read: {e}\n{written}"),
        };
        assert_eq!(serde_json::to_string(&again).ok(), Some(written));
    }
}

/// A report given to `smtptls diff` (NDJSON or a whole JSON report, told
/// apart by content, the JSON streamed one `domains` element at a time),
/// then diffed against itself and against nothing.
pub fn diff_report(data: &[u8]) {
    use crate::diff::{FailOn, Snapshot, diff};
    let Ok(side) = Snapshot::read(Cursor::new(data), "fuzz") else {
        return;
    };
    let empty = Snapshot {
        file: "empty".into(),
        header: side.header.clone(),
        views: Default::default(),
        duplicates: 0,
    };
    // A report compared with itself changes nothing.
    let same = diff(&side, &side, &FailOn::default_rule(), 30, String::new());
    assert!(same.domains.is_empty(), "a report differs from itself");
    // Against nothing, every domain is added (or removed), once.
    let added = diff(&empty, &side, &FailOn::default_rule(), 30, String::new());
    assert_eq!(added.summary.added, side.views.len());
    let removed = diff(&side, &empty, &FailOn::default_rule(), 30, String::new());
    assert_eq!(removed.summary.removed, side.views.len());
}

/// A domain list (`--file`): one name per line, comments, blank lines.
pub fn domain_list(data: &[u8]) {
    let list = ListSource::Reader(Box::new(Cursor::new(data.to_vec())), "fuzz".into());
    let Ok(inputs) = crate::input::read(&[], Some(list)) else {
        return;
    };
    for entry in &inputs.entries {
        if let Entry::Domain(d) = entry {
            // Canonical: parsing the name again gives the same name.
            assert_eq!(
                d.domain.as_str().parse::<DomainName>().as_ref(),
                Ok(&d.domain)
            );
            assert_eq!(
                DomainName::from_dns(&d.domain.to_fqdn()).as_ref(),
                Ok(&d.domain)
            );
        }
    }
}
