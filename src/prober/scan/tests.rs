//! The scan's choice and order of hellos, against a scripted server behind
//! a two-lane gate (as `--per-address 2`), on tokio's paused clock: each
//! hello takes [`HELLO`], so elapsed time counts rounds of hellos exactly.

use std::sync::Mutex;

use tokio::sync::Semaphore;

use super::*;

/// One hello's dialogue (connect to the server's first flight).
const HELLO: Duration = Duration::from_millis(100);

/// What the scripted server accepts.
#[derive(Clone)]
struct Server {
    versions: Vec<Version>,
    /// Picks by its own preference (strong first) rather than the client's
    /// order.
    own_order: bool,
    /// Accepts the weak suites (otherwise never chooses one).
    weak: bool,
    /// Offers DHE, with this prime size.
    dhe_bits: Option<u32>,
    /// Prefers DHE over ECDHE.
    prefers_dhe: bool,
}

impl Server {
    fn modern() -> Self {
        Server {
            versions: vec![Version::Tls12],
            own_order: true,
            weak: false,
            dhe_bits: Some(2048),
            prefers_dhe: false,
        }
    }

    fn supports(&self, suite: u16) -> bool {
        (self.weak || suites::weaknesses(suite).is_empty())
            && (self.dhe_bits.is_some() || !suites::is_dhe(suite))
            && (suites::is_dhe(suite) || suites::is_ecdhe(suite))
    }

    fn answer(&self, spec: &HelloSpec) -> HelloResult {
        let refuse = Ok(Reply::Alert {
            level: 2,
            description: 40,
        });
        if !self.versions.contains(&spec.version) {
            return Ok(Reply::Alert {
                level: 2,
                description: 70,
            });
        }
        let mut candidates: Vec<u16> = spec
            .suites
            .iter()
            .copied()
            .filter(|&s| self.supports(s))
            .collect();
        if self.own_order {
            suites::sort_strong_first(&mut candidates);
        }
        if self.prefers_dhe {
            candidates.sort_by_key(|&s| !suites::is_dhe(s));
        }
        let Some(&suite) = candidates.first() else {
            return refuse;
        };
        let key_exchange = if suites::is_dhe(suite) {
            Some(KeyExchange::Dhe {
                bits: self.dhe_bits.unwrap_or(2048),
                named: None,
            })
        } else {
            Some(KeyExchange::Ecdhe { group: 0x001d })
        };
        Ok(Reply::Hello(ServerHello {
            version: spec.version,
            suite,
            compression: 0,
            secure_renegotiation: true,
            retry_request: false,
            group: None,
            key_exchange,
            chain: Vec::new(),
        }))
    }
}

/// What a hello asked, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    Version(Version),
    Order(Version),
    Weak(Version),
    Dhe(Version),
}

fn asked(spec: &HelloSpec) -> Asked {
    let all = suites::for_version(spec.version);
    let mut reversed = all.clone();
    reversed.reverse();
    if spec.suites == all {
        Asked::Version(spec.version)
    } else if spec.suites == reversed {
        Asked::Order(spec.version)
    } else if spec.suites.iter().all(|&s| suites::is_dhe(s)) {
        Asked::Dhe(spec.version)
    } else {
        Asked::Weak(spec.version)
    }
}

/// The scripted server behind a gate of two lanes; logs each hello when
/// it gets its lane, with the paused clock's time.
struct Scripted {
    server: Server,
    lanes: Semaphore,
    started: tokio::time::Instant,
    log: Mutex<Vec<(Duration, Asked)>>,
    /// Refuse (as after a 421) every hello from this one on (0-based).
    refuse_from: Option<usize>,
}

impl Scripted {
    fn new(server: Server) -> Self {
        Scripted {
            server,
            lanes: Semaphore::new(2),
            started: tokio::time::Instant::now(),
            log: Mutex::new(Vec::new()),
            refuse_from: None,
        }
    }

    fn log(&self) -> Vec<(Duration, Asked)> {
        self.log.lock().expect("test lock").clone()
    }
}

impl Connector for Scripted {
    fn hello<'a>(
        &'a self,
        spec: &'a HelloSpec,
    ) -> Pin<Box<dyn Future<Output = Option<HelloResult>> + Send + 'a>> {
        Box::pin(async move {
            let _lane = self.lanes.acquire().await.ok()?;
            let n = {
                let mut log = self.log.lock().expect("test lock");
                log.push((self.started.elapsed(), asked(spec)));
                log.len() - 1
            };
            if self.refuse_from.is_some_and(|from| n >= from) {
                return None;
            }
            tokio::time::sleep(HELLO).await;
            Some(self.server.answer(spec))
        })
    }
}

/// TLS 1.2 accepted: the three later hellos need only its answer, so they
/// are queued as soon as it comes, behind the older versions' hellos that
/// were queued first. Seven hellos over two lanes: four rounds. (One after
/// another, the later hellos would have taken 2 + 3 rounds.)
#[tokio::test(start_paused = true)]
async fn the_later_hellos_start_on_the_tls12_answer() {
    let connector = Scripted::new(Server::modern());
    let scan = run(ScanMode::Light, None, &connector).await;
    let log = connector.log();
    let at = |a: &Asked| {
        log.iter()
            .find(|(_, x)| x == a)
            .map(|(t, _)| *t)
            .expect("sent")
    };
    assert_eq!(at(&Asked::Version(Version::Tls12)), Duration::ZERO);
    assert_eq!(at(&Asked::Version(Version::Tls11)), Duration::ZERO);
    assert_eq!(at(&Asked::Version(Version::Tls10)), HELLO);
    assert_eq!(at(&Asked::Version(Version::Ssl3)), HELLO);
    assert_eq!(at(&Asked::Order(Version::Tls12)), HELLO * 2);
    assert_eq!(at(&Asked::Weak(Version::Tls12)), HELLO * 3);
    assert_eq!(at(&Asked::Dhe(Version::Tls12)), HELLO * 3);
    // No main session: TLS 1.3 is asked too, queued after the other
    // versions, before the later hellos (which were queued later).
    assert_eq!(at(&Asked::Version(Version::Tls13)), HELLO * 2);
    assert_eq!(connector.started.elapsed(), HELLO * 4);
    assert_eq!(scan.connections, 8);
    assert_eq!(scan.stopped, None);
}

/// What the scan concludes does not depend on the order: a server that
/// accepts TLS 1.0 and 1.2, picks by its own preference, accepts a weak
/// suite and uses a 1024-bit DHE prime.
#[tokio::test(start_paused = true)]
async fn the_conclusions_are_those_of_the_answers() {
    let server = Server {
        versions: vec![Version::Tls10, Version::Tls12],
        weak: true,
        dhe_bits: Some(1024),
        ..Server::modern()
    };
    let connector = Scripted::new(server.clone());
    let scan = run(ScanMode::Light, None, &connector).await;
    assert_eq!(scan.accepted_versions(), [Version::Tls10, Version::Tls12]);
    assert_eq!(scan.server_order, Some(true));
    assert_eq!(scan.dhe, Some((1024, None)));
    let accepted_weak: Vec<Weakness> = scan
        .weak
        .iter()
        .filter(|(_, a)| *a == Some(true))
        .map(|(w, _)| *w)
        .collect();
    assert!(!accepted_weak.is_empty(), "{:?}", scan.weak);
    let v12 = scan.version(Version::Tls12).expect("TLS 1.2 scanned");
    // The forward pick, the weak pick and the DHE pick.
    assert_eq!(v12.suites.len(), 3, "{:?}", v12.suites);
    assert_eq!(scan.connections, 8);

    // A server that follows the client's order, and has no DHE.
    let client_order = Server {
        own_order: false,
        dhe_bits: None,
        ..Server::modern()
    };
    let connector = Scripted::new(client_order);
    let scan = run(ScanMode::Light, None, &connector).await;
    assert_eq!(scan.server_order, Some(false));
    assert_eq!(scan.dhe, None);
    let kinds: Vec<Asked> = connector.log().into_iter().map(|(_, a)| a).collect();
    assert!(
        kinds.contains(&Asked::Dhe(Version::Tls12)),
        "the forward answer was ECDHE: the DHE hello is sent: {kinds:?}"
    );
}

/// A forward answer that already used DHE makes the DHE hello pointless.
#[tokio::test(start_paused = true)]
async fn no_dhe_hello_when_the_forward_answer_was_dhe() {
    let connector = Scripted::new(Server {
        prefers_dhe: true,
        ..Server::modern()
    });
    let scan = run(ScanMode::Light, None, &connector).await;
    let kinds: Vec<Asked> = connector.log().into_iter().map(|(_, a)| a).collect();
    assert!(!kinds.contains(&Asked::Dhe(Version::Tls12)), "{kinds:?}");
    assert_eq!(scan.dhe, Some((2048, None)));
    assert_eq!(scan.connections, 7);
}

/// TLS 1.2 refused: the best legacy version is only known once every
/// version has answered; the later hellos then ask at TLS 1.1.
#[tokio::test(start_paused = true)]
async fn without_tls12_the_later_hellos_wait_for_every_version() {
    let connector = Scripted::new(Server {
        versions: vec![Version::Tls10, Version::Tls11],
        // Every TLS 1.1 suite is a weak one (CBC).
        weak: true,
        ..Server::modern()
    });
    let scan = run(ScanMode::Light, None, &connector).await;
    let log = connector.log();
    let order_at = log
        .iter()
        .find(|(_, a)| *a == Asked::Order(Version::Tls11))
        .map(|(t, _)| *t);
    // Five version hellos (TLS 1.3 too: no main session): three rounds,
    // the last with a free lane, which the order hello cannot use.
    assert_eq!(order_at, Some(HELLO * 3), "{log:?}");
    assert!(log.iter().all(|(_, a)| !matches!(
        a,
        Asked::Order(Version::Tls12) | Asked::Weak(Version::Tls12) | Asked::Dhe(Version::Tls12)
    )));
    assert_eq!(scan.accepted_versions(), [Version::Tls10, Version::Tls11]);
    assert_eq!(scan.server_order, Some(true));
}

/// The address went away (the connector refuses) after four hellos: what
/// came back is kept, the scan says it stopped.
#[tokio::test(start_paused = true)]
async fn a_refusal_keeps_the_answers_that_came() {
    let mut connector = Scripted::new(Server::modern());
    connector.refuse_from = Some(4);
    let scan = run(ScanMode::Light, None, &connector).await;
    assert!(scan.stopped.is_some());
    assert_eq!(scan.connections, 4, "{:?}", connector.log());
    assert_eq!(scan.accepted_versions(), [Version::Tls12]);
}

/// Deep enumerates every accepted version before its order hello, so it
/// never starts the order hello early.
#[tokio::test(start_paused = true)]
async fn deep_sends_its_order_hello_after_the_enumeration() {
    let connector = Scripted::new(Server::modern());
    let scan = run(ScanMode::Deep, None, &connector).await;
    let log = connector.log();
    let order = log
        .iter()
        .position(|(_, a)| *a == Asked::Order(Version::Tls12))
        .expect("order hello sent");
    assert_eq!(order, log.len() - 1, "the order hello comes last: {log:?}");
    assert_eq!(scan.server_order, Some(true));
    assert!(
        scan.weak.iter().all(|(_, a)| *a == Some(false)),
        "{:?}",
        scan.weak
    );
}
