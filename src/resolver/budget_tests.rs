//! One time budget per DNS question (`--timeout`), on tokio's paused
//! clock: the scripted server below runs on the test's own runtime and
//! answers at once (or never), so the runtime is idle exactly when the
//! resolver waits, the clock jumps to its next timer, and the elapsed
//! virtual time is what the resolver would cost a real run.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::A;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::*;
use crate::options::{DnsServers, DnssecMode};

const TIMEOUT: Duration = Duration::from_secs(5);
/// Room for the scheduling of the paused clock (timers fire on the
/// millisecond), far below one backoff step.
const SLACK: Duration = Duration::from_millis(20);
const HOST: &str = "mx.budget.test.";

/// What the scripted server does with the n-th question (from 0).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reply {
    Silent,
    ServFail,
    Address,
}

/// A UDP DNS server on 127.0.0.1 that follows `script`, on the calling
/// runtime; counts the questions it got.
struct Scripted {
    addr: SocketAddr,
    questions: Arc<AtomicUsize>,
}

impl Scripted {
    async fn start(script: fn(usize) -> Reply) -> Scripted {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind a loopback UDP socket");
        let addr = socket.local_addr().expect("local address");
        let questions = Arc::new(AtomicUsize::new(0));
        let count = questions.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                let Some(reply) = reply(&buf[..len], script(n)) else {
                    continue;
                };
                let _ = socket.send_to(&reply, peer).await;
            }
        });
        Scripted { addr, questions }
    }

    fn questions(&self) -> usize {
        self.questions.load(Ordering::SeqCst)
    }
}

fn reply(query: &[u8], what: Reply) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.queries = query.queries.clone();
    reply.edns = query.edns.clone();
    match what {
        Reply::Silent => return None,
        Reply::ServFail => reply.metadata.response_code = ResponseCode::ServFail,
        Reply::Address => {
            let name = query.queries.first()?.name().clone();
            reply.answers.push(Record::from_rdata(
                name,
                300,
                RData::A(A(Ipv4Addr::LOCALHOST)),
            ));
        }
    }
    reply.to_vec().ok()
}

fn resolver(servers: &[SocketAddr], dnssec: DnssecMode) -> Resolver {
    Resolver::new(&ResolverSettings {
        servers: DnsServers::Explicit(servers.to_vec()),
        timeout: TIMEOUT,
        dnssec,
        trust_anchors: Vec::new(),
    })
    .expect("a resolver for loopback servers")
}

/// A server that never answers costs one `--timeout`, in both DNSSEC
/// modes, not one per attempt (3 × 5 s and more before), and the failure
/// is a timeout that says how many attempts it took: three, started at 0,
/// 1 and 3 s (the next, at 7 s, would be past the budget), each still
/// waiting when the budget ended, hickory resending inside each.
#[tokio::test(start_paused = true)]
async fn a_silent_server_costs_one_timeout() {
    for mode in [DnssecMode::TrustResolver, DnssecMode::Validate] {
        let server = Scripted::start(|_| Reply::Silent).await;
        let resolver = resolver(&[server.addr], mode);
        let started = Instant::now();
        let (answer, _, _) = resolver.query_with_cname(HOST, RecordType::A).await;
        let elapsed = started.elapsed();
        let Answer::Failed(failure) = answer else {
            panic!("{mode:?}: a silent server gave {answer:?}");
        };
        assert!(
            elapsed >= TIMEOUT && elapsed <= TIMEOUT + SLACK,
            "{mode:?}: a silent server cost {elapsed:?}, the budget is {TIMEOUT:?}"
        );
        assert_eq!(failure.cause(), &DnsFailure::Timeout, "{mode:?}");
        assert_eq!(failure.attempts(), 3, "{mode:?}: {failure}");
        assert_eq!(failure.to_string(), "timed out (3 attempts)", "{mode:?}");
        // Each attempt reached the server (trust-resolver: hickory's UDP
        // client resends inside each, too).
        assert!(server.questions() >= 3, "{mode:?}: {}", server.questions());
        assert_eq!(resolver.retries(), 2, "{mode:?}");
    }
}

/// A server that rate-limits (SERVFAIL four times in a row), then
/// answers: asked again after 100, 200, 400 and 800 ms, answered 1.5 s
/// into a 5 s budget, where three attempts used to give up with
/// "SERVFAIL (3 attempts)".
#[tokio::test(start_paused = true)]
async fn four_servfails_then_the_records_are_answered_within_the_budget() {
    let server = Scripted::start(|n| {
        if n < 4 {
            Reply::ServFail
        } else {
            Reply::Address
        }
    })
    .await;
    let resolver = resolver(&[server.addr], DnssecMode::TrustResolver);
    let started = Instant::now();
    let (answer, _, _) = resolver.query_with_cname(HOST, RecordType::A).await;
    let elapsed = started.elapsed();
    assert_eq!(
        answer,
        Answer::Records(vec![RData::A(A(Ipv4Addr::LOCALHOST))])
    );
    let backoff = Duration::from_millis(100 + 200 + 400 + 800);
    assert!(
        elapsed >= backoff && elapsed <= backoff + SLACK,
        "answered after {elapsed:?}"
    );
    assert_eq!(server.questions(), 5);
    assert_eq!(resolver.retries(), 4);
}

/// A server that SERVFAILs at once, every time, is asked while a next
/// attempt still fits in the budget (at 0, 0.1, 0.3, 0.7, 1.5 and 3.1 s;
/// 6.3 s would not), then the question fails once, as a SERVFAIL with its
/// 6 attempts, without waiting out the rest of the budget: the backoff
/// schedule is what keeps it from being hammered.
#[tokio::test(start_paused = true)]
async fn a_server_that_always_servfails_is_asked_while_the_budget_lasts() {
    let server = Scripted::start(|_| Reply::ServFail).await;
    let resolver = resolver(&[server.addr], DnssecMode::TrustResolver);
    let started = Instant::now();
    let (answer, _, _) = resolver.query_with_cname(HOST, RecordType::A).await;
    let elapsed = started.elapsed();
    let Answer::Failed(failure) = answer else {
        panic!("an always-SERVFAIL server gave {answer:?}");
    };
    assert_eq!(failure.cause(), &DnsFailure::ServFail);
    assert_eq!(failure.attempts(), 6, "{failure}");
    assert_eq!(failure.to_string(), "SERVFAIL (6 attempts)");
    let last_attempt = Duration::from_millis(3100);
    assert!(
        elapsed >= last_attempt && elapsed <= last_attempt + SLACK,
        "gave up after {elapsed:?}"
    );
    assert_eq!(server.questions(), 6);
    assert_eq!(resolver.retries(), 5);
}

/// With two servers (`--resolver A --resolver B`, trust-resolver mode), a
/// silent first one gets half the budget, so the second still answers
/// within the one `--timeout` instead of after it.
#[tokio::test(start_paused = true)]
async fn a_silent_first_server_leaves_the_next_its_share() {
    let silent = Scripted::start(|_| Reply::Silent).await;
    let answering = Scripted::start(|_| Reply::Address).await;
    let resolver = resolver(&[silent.addr, answering.addr], DnssecMode::TrustResolver);
    let started = Instant::now();
    let (answer, _, _) = resolver.query_with_cname(HOST, RecordType::A).await;
    let elapsed = started.elapsed();
    assert!(matches!(answer, Answer::Records(_)), "{answer:?}");
    let half = TIMEOUT / 2;
    assert!(
        elapsed >= half && elapsed <= half + SLACK,
        "answered after {elapsed:?}"
    );
    assert_eq!(answering.questions(), 1);
}

/// All three copies hickory sends of a question (0, 333, 666 ms) are
/// lost, as on a path that drops a burst: the question is asked afresh
/// after [`ASK_AGAIN_AFTER`] and answered then, not after the whole
/// `--timeout` (which, with the budget spent by the one attempt, would
/// have been a `dns-timeout`).
#[tokio::test(start_paused = true)]
async fn a_question_whose_copies_are_all_lost_is_asked_afresh() {
    let server = Scripted::start(|n| if n < 3 { Reply::Silent } else { Reply::Address }).await;
    let resolver = resolver(&[server.addr], DnssecMode::TrustResolver);
    let started = Instant::now();
    let (answer, _, _) = resolver.query_with_cname(HOST, RecordType::A).await;
    let elapsed = started.elapsed();
    assert!(matches!(answer, Answer::Records(_)), "{answer:?}");
    assert!(
        elapsed >= ASK_AGAIN_AFTER && elapsed <= ASK_AGAIN_AFTER + SLACK,
        "answered after {elapsed:?}"
    );
    assert_eq!(server.questions(), 4);
    assert_eq!(resolver.retries(), 1);
}
