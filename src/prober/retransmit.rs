//! Connecting again before the kernel does: the retransmission timer of
//! the probe's TCP connects.
//!
//! Why: a lost SYN (or SYN-ACK) waits for the kernel's initial
//! retransmission timeout, 1 s (RFC 6298 §2.1), and the connections of one
//! address run one after another in a few lanes (`--per-address`), so
//! every such loss lengthens the address's whole chain and holds up every
//! domain that waits for it. On a path that loses 1 % of packets a run of
//! thousands of connections has dozens of them: most of what kept the WAN
//! benchmark's tail long after its round trips were done (issue 15,
//! docs/scale.md). So a connect not done within a retransmission timeout
//! (RTO) learnt from the run's own connects is tried again on a new socket
//! (a new port: the same SYN, sent again), beside the first; the first to
//! connect is the connection, and the others are dropped at once, which
//! aborts a half-open one (the server's late SYN-ACK gets a reset). So at
//! most one copy becomes a connection the server sees, unless two complete
//! in the same instant; the lab and the WAN benchmark count what servers
//! accepted to show it.
//!
//! DNS needs nothing of this: hickory's UDP client already sends a
//! question again after max(333 ms, 1.2 × the server's smoothed round
//! trip), three copies at most (`tests/e2e_dns.rs` holds it to that).
//!
//! The RTO is RFC 6298's estimator over the connects that needed no second
//! copy (Karn's rule: with two copies out, nobody knows which one an
//! answer belongs to), bounded by [`MIN_RTO`] and half the connect
//! timeout. At most [`MAX_COPIES`] are started: a server that never
//! answers gets two sockets' SYNs (each retransmitted by the kernel) per
//! connect, not a flood. Two copies are enough: both handshakes failing
//! is rare (about one connect in 10,000 on a path that loses 1 % of round
//! trips).

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;

/// The RTO before any connect has been timed: the kernel's own (RFC 6298
/// §2.1), so that no server gets a second SYN sooner than it would from
/// any TCP client until the run knows its round trips.
pub const INITIAL_RTO: Duration = Duration::from_secs(1);

/// The least RTO. Servers' round trips differ (the run's estimate mixes
/// near and far ones), and a server that is merely far away would get a
/// needless second SYN (and the reset of its half-open answer); Happy
/// Eyeballs waits this long before its next attempt too (RFC 8305 §5).
pub const MIN_RTO: Duration = Duration::from_millis(250);

/// Copies of one connect at most: the first and one more.
pub const MAX_COPIES: usize = 2;

/// A smoothed round-trip time and its variation (RFC 6298 §2), shared by
/// every connect of the run.
#[derive(Debug, Default)]
pub struct RttEstimate {
    state: Mutex<Option<Smoothed>>,
}

#[derive(Debug, Clone, Copy)]
struct Smoothed {
    srtt: Duration,
    rttvar: Duration,
}

impl RttEstimate {
    /// No round trip measured yet: the RTO is [`INITIAL_RTO`].
    pub fn new() -> Self {
        RttEstimate::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Smoothed>> {
        // The state is two durations: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still good to read.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Folds in one measured round trip (RFC 6298 §2.2–2.3: α = 1/8,
    /// β = 1/4).
    pub fn observe(&self, rtt: Duration) {
        let mut state = self.lock();
        *state = Some(match *state {
            None => Smoothed {
                srtt: rtt,
                rttvar: rtt / 2,
            },
            Some(s) => {
                let delta = s.srtt.abs_diff(rtt);
                Smoothed {
                    rttvar: (s.rttvar * 3 + delta) / 4,
                    srtt: (s.srtt * 7 + rtt) / 8,
                }
            }
        });
    }

    /// The time to wait for a connect before starting a copy, for a connect
    /// timeout of `timeout`: SRTT + 4·RTTVAR, at least [`MIN_RTO`] and at
    /// most half of `timeout`.
    pub fn rto(&self, timeout: Duration) -> Duration {
        let estimate = match *self.lock() {
            None => INITIAL_RTO,
            Some(s) => s.srtt + s.rttvar * 4,
        };
        estimate.min(timeout / 2).max(MIN_RTO)
    }
}

/// Runs `ask()` and, while no copy has succeeded, a second `ask()` after
/// the RTO (up to [`MAX_COPIES`]); returns the first success and drops the
/// other copies.
///
/// A failure is the answer when no other copy is still in flight: a
/// refused port fails the first copy at once, before any second one. A
/// copy that fails while another is still trying (a reset on one port)
/// leaves the other to finish; when all fail, the first failure is the
/// answer. The caller bounds the whole (the connect timeout): this
/// function adds copies, it never gives up on its own.
pub async fn first_of_copies<T, E, F, Fut>(
    rtt: &RttEstimate,
    timeout: Duration,
    mut ask: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let rto = rtt.rto(timeout);
    let mut copies: FuturesUnordered<Pin<Box<Fut>>> = FuturesUnordered::new();
    copies.push(Box::pin(ask()));
    let mut started_copies = 1;
    let mut first_error = None;
    loop {
        let more = started_copies < MAX_COPIES;
        tokio::select! {
            // Biased: a copy that is done wins over a timer that expires at
            // the same poll, so no needless copy goes out.
            biased;
            Some(finished) = copies.next() => match finished {
                Ok(out) => {
                    if started_copies == 1 {
                        rtt.observe(started.elapsed());
                    }
                    return Ok(out);
                }
                Err(e) => {
                    let e = first_error.take().unwrap_or(e);
                    if copies.is_empty() {
                        return Err(e);
                    }
                    first_error = Some(e);
                }
            },
            () = tokio::time::sleep_until(started + rto), if more => {
                copies.push(Box::pin(ask()));
                started_copies += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_estimate_follows_rfc_6298() {
        let rtt = RttEstimate::new();
        let timeout = Duration::from_secs(10);
        assert_eq!(rtt.rto(timeout), INITIAL_RTO);
        rtt.observe(Duration::from_millis(400));
        // First sample: SRTT = R, RTTVAR = R/2, RTO = R + 4·R/2 = 3R.
        assert_eq!(rtt.rto(timeout), Duration::from_millis(1200));
        rtt.observe(Duration::from_millis(400));
        // RTTVAR = 3/4·200 + 1/4·0 = 150; SRTT stays 400: 400 + 600.
        assert_eq!(rtt.rto(timeout), Duration::from_millis(1000));
    }

    #[test]
    fn the_rto_stays_between_its_bounds() {
        let rtt = RttEstimate::new();
        rtt.observe(Duration::from_millis(1));
        assert_eq!(rtt.rto(Duration::from_secs(10)), MIN_RTO);
        let slow = RttEstimate::new();
        slow.observe(Duration::from_secs(3));
        assert_eq!(slow.rto(Duration::from_secs(4)), Duration::from_secs(2));
        // A timeout shorter than twice the floor still leaves the floor.
        assert_eq!(slow.rto(Duration::from_millis(300)), MIN_RTO);
    }

    /// A connect whose SYN is lost: the second copy, started after the
    /// RTO, connects, long before the connect timeout.
    #[tokio::test(start_paused = true)]
    async fn a_lost_first_copy_is_beaten_by_the_second() {
        let rtt = RttEstimate::new();
        let asked = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let counter = asked.clone();
        let out = first_of_copies(&rtt, Duration::from_secs(10), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    // Lost: only the timeout would end it.
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    Err("timed out")
                } else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(out, Ok(1));
        assert_eq!(asked.load(Ordering::SeqCst), 2);
        assert_eq!(started.elapsed(), INITIAL_RTO + Duration::from_millis(50));
        // Two copies were out: the connect is not timed (Karn).
        assert_eq!(rtt.rto(Duration::from_secs(10)), INITIAL_RTO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_prompt_connect_starts_no_copy_and_is_timed() {
        let rtt = RttEstimate::new();
        let asked = AtomicUsize::new(0);
        let out: Result<&str, ()> = first_of_copies(&rtt, Duration::from_secs(10), || {
            asked.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok("connected")
            }
        })
        .await;
        assert_eq!(out, Ok("connected"));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        assert_eq!(rtt.rto(Duration::from_secs(10)), Duration::from_millis(300));
    }

    /// A host that never answers gets [`MAX_COPIES`] connects, the second
    /// one RTO after the first; the caller's timeout ends it (here each
    /// copy gives up after 10 s, and the first failure is the answer).
    #[tokio::test(start_paused = true)]
    async fn silence_gets_a_bounded_number_of_copies() {
        let rtt = RttEstimate::new();
        let sent_at = Mutex::new(Vec::new());
        let started = Instant::now();
        let out: Result<(), Duration> = first_of_copies(&rtt, Duration::from_secs(10), || {
            let at = started.elapsed();
            sent_at.lock().expect("test lock").push(at);
            async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Err(at)
            }
        })
        .await;
        assert_eq!(out, Err(Duration::ZERO), "the first copy's failure");
        let sent_at = sent_at.into_inner().expect("test lock");
        assert_eq!(sent_at, [Duration::ZERO, INITIAL_RTO]);
        assert_eq!(started.elapsed(), INITIAL_RTO + Duration::from_secs(10));
    }

    /// A fast failure (a refused port) is the answer: no copy is started.
    #[tokio::test(start_paused = true)]
    async fn a_fast_failure_is_returned_at_once() {
        let rtt = RttEstimate::new();
        let asked = AtomicUsize::new(0);
        let started = Instant::now();
        let out: Result<(), &str> = first_of_copies(&rtt, Duration::from_secs(10), || {
            asked.fetch_add(1, Ordering::SeqCst);
            async { Err("refused") }
        })
        .await;
        assert_eq!(out, Err("refused"));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    /// The second copy fails (say a reset on its port) while the first is
    /// still trying: the first is left to finish, and it connects.
    #[tokio::test(start_paused = true)]
    async fn a_failed_copy_leaves_the_other_to_finish() {
        let rtt = RttEstimate::new();
        let asked = AtomicUsize::new(0);
        let started = Instant::now();
        let out = first_of_copies(&rtt, Duration::from_secs(10), || {
            let n = asked.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    Ok("first")
                } else {
                    Err("reset")
                }
            }
        })
        .await;
        assert_eq!(out, Ok("first"));
        assert_eq!(asked.load(Ordering::SeqCst), 2);
        assert_eq!(started.elapsed(), Duration::from_millis(1500));
    }
}
