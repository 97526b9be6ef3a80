//! The exporter's memory of audits: one entry per (target, scan mode),
//! fresh for `--min-interval`, at most `--max-targets` of them (the least
//! recently scraped goes first), and at most one audit in flight per key
//! however many scrapes ask at once (single flight: later scrapes wait
//! for the audit the first one started).
//!
//! An audit runs on a task of its own, not in the scrape that started it:
//! a scrape that gives up (its timeout, a closed connection) leaves the
//! audit running, and its result in the cache for the next scrape.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// A finished audit: its value and when it finished.
#[derive(Debug)]
pub struct Done<V> {
    pub value: V,
    pub finished: Instant,
}

/// The channel a scrape waits on: `None` until the audit is done.
type Waiter<V> = watch::Receiver<Option<Arc<Done<V>>>>;

struct Entry<V> {
    done: Option<Arc<Done<V>>>,
    running: Option<Waiter<V>>,
    /// The tick of the last scrape: the least recent goes first.
    used: u64,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    tick: u64,
}

pub struct Cache<K, V> {
    inner: Mutex<Inner<K, V>>,
    fresh_for: Duration,
    capacity: usize,
}

/// What the cache has for a scrape.
pub enum Lookup<V> {
    /// A result younger than the interval: no audit.
    Fresh(Arc<Done<V>>),
    /// An audit is running (`started`: by this scrape); `stale` is the
    /// previous result, if any, for a scrape that cannot wait.
    Running {
        waiter: Waiter<V>,
        stale: Option<Arc<Done<V>>>,
        started: bool,
    },
}

/// What waiting for an audit came to.
pub enum Waited<V> {
    Done(Arc<Done<V>>),
    /// The scrape's time ran out; the audit goes on.
    TimedOut,
    /// The audit's task died (a bug): nothing will come.
    Lost,
}

/// A poisoned lock only means another task panicked; the map is fine.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<K, V> Cache<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    pub fn new(fresh_for: Duration, capacity: usize) -> Arc<Self> {
        Arc::new(Cache {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                tick: 0,
            }),
            fresh_for,
            capacity: capacity.max(1),
        })
    }

    /// The entry of `key`: fresh, or running (joined, or started with
    /// `audit` on a task of its own).
    pub fn lookup<F>(self: &Arc<Self>, key: K, audit: F) -> Lookup<V>
    where
        F: Future<Output = V> + Send + 'static,
    {
        let mut inner = lock(&self.inner);
        inner.tick += 1;
        let tick = inner.tick;
        let now = Instant::now();
        if let Some(entry) = inner.entries.get_mut(&key) {
            entry.used = tick;
            if let Some(done) = &entry.done
                && done.finished + self.fresh_for > now
            {
                return Lookup::Fresh(done.clone());
            }
            if let Some(waiter) = &entry.running {
                return Lookup::Running {
                    waiter: waiter.clone(),
                    stale: entry.done.clone(),
                    started: false,
                };
            }
        }
        let (tx, waiter) = watch::channel(None);
        let entry = inner.entries.entry(key.clone()).or_insert(Entry {
            done: None,
            running: None,
            used: tick,
        });
        entry.running = Some(waiter.clone());
        let stale = entry.done.clone();
        Self::evict(&mut inner, self.capacity);
        drop(inner);
        let cache = Arc::downgrade(self);
        let job = tokio::spawn(audit);
        tokio::spawn(async move {
            let outcome = job.await;
            let done = outcome.ok().map(|value| {
                Arc::new(Done {
                    value,
                    finished: Instant::now(),
                })
            });
            if let Some(cache) = cache.upgrade() {
                let mut inner = lock(&cache.inner);
                if let Some(entry) = inner.entries.get_mut(&key) {
                    entry.running = None;
                    if let Some(done) = &done {
                        entry.done = Some(done.clone());
                    }
                }
            }
            // With no value (the task died) the sender goes away
            // and every waiter hears `Lost`.
            if let Some(done) = done {
                let _ = tx.send(Some(done));
            }
        });
        Lookup::Running {
            waiter,
            stale,
            started: true,
        }
    }

    /// Drops the least recently scraped entries beyond the capacity;
    /// never one whose audit runs (its scrapes wait on it, and dropping it
    /// would let the next scrape start a second audit of the same target).
    fn evict(inner: &mut Inner<K, V>, capacity: usize) {
        while inner.entries.len() > capacity {
            let oldest = inner
                .entries
                .iter()
                .filter(|(_, e)| e.running.is_none())
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => {
                    inner.entries.remove(&key);
                }
                None => break,
            }
        }
    }

    /// Entries held (results and running audits).
    pub fn len(&self) -> usize {
        lock(&self.inner).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Waits for the audit behind `waiter`, at most `limit` (none: until done).
pub async fn wait<V>(mut waiter: Waiter<V>, limit: Option<Duration>) -> Waited<V> {
    let done = async {
        loop {
            if let Some(done) = waiter.borrow_and_update().clone() {
                return Some(done);
            }
            if waiter.changed().await.is_err() {
                // The sender is gone; it may have sent just before.
                return waiter.borrow().clone();
            }
        }
    };
    match limit {
        Some(limit) => match tokio::time::timeout(limit, done).await {
            Ok(Some(done)) => Waited::Done(done),
            Ok(None) => Waited::Lost,
            Err(_) => Waited::TimedOut,
        },
        None => match done.await {
            Some(done) => Waited::Done(done),
            None => Waited::Lost,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const HOUR: Duration = Duration::from_secs(3600);

    /// An "audit" that counts itself and takes `takes` (on tokio's clock).
    fn audit(
        count: &Arc<AtomicUsize>,
        takes: Duration,
        value: &'static str,
    ) -> impl Future<Output = &'static str> + Send + 'static {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(takes).await;
            value
        }
    }

    async fn value(lookup: Lookup<&'static str>) -> (&'static str, bool) {
        match lookup {
            Lookup::Fresh(done) => (done.value, true),
            Lookup::Running { waiter, .. } => match wait(waiter, None).await {
                Waited::Done(done) => (done.value, false),
                _ => panic!("no value"),
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_scrapes_of_one_target_share_one_audit() {
        let cache = Cache::new(HOUR, 10);
        let count = Arc::new(AtomicUsize::new(0));
        let lookups: Vec<_> = (0..20)
            .map(|_| cache.lookup("a", audit(&count, Duration::from_secs(5), "A")))
            .collect();
        let started = lookups
            .iter()
            .filter(|l| matches!(l, Lookup::Running { started: true, .. }))
            .count();
        assert_eq!(started, 1);
        for lookup in lookups {
            assert_eq!(value(lookup).await, ("A", false));
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_result_is_fresh_for_the_interval_then_audited_again() {
        let cache = Cache::new(HOUR, 10);
        let count = Arc::new(AtomicUsize::new(0));
        let ms = Duration::from_millis(10);
        assert_eq!(
            value(cache.lookup("a", audit(&count, ms, "1"))).await,
            ("1", false)
        );
        tokio::time::advance(HOUR - Duration::from_secs(1)).await;
        assert_eq!(
            value(cache.lookup("a", audit(&count, ms, "2"))).await,
            ("1", true)
        );
        assert_eq!(count.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        // Past the interval: a new audit, the old result offered as stale.
        let lookup = cache.lookup("a", audit(&count, ms, "2"));
        let Lookup::Running { stale, started, .. } = &lookup else {
            panic!("not audited again")
        };
        assert!(*started);
        assert_eq!(stale.as_ref().map(|d| d.value), Some("1"));
        assert_eq!(value(lookup).await, ("2", false));
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    /// A scrape whose time runs out gets `TimedOut`; the audit goes on
    /// and the next scrape is answered from the cache.
    #[tokio::test(start_paused = true)]
    async fn an_audit_outlives_the_scrape_that_gave_up_on_it() {
        let cache = Cache::new(HOUR, 10);
        let count = Arc::new(AtomicUsize::new(0));
        let lookup = cache.lookup("a", audit(&count, Duration::from_secs(30), "A"));
        let Lookup::Running { waiter, .. } = lookup else {
            panic!("not running")
        };
        assert!(matches!(
            wait(waiter, Some(Duration::from_secs(9))).await,
            Waited::TimedOut
        ));
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(
            value(cache.lookup("a", audit(&count, HOUR, "B"))).await,
            ("A", true)
        );
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_least_recently_scraped_target_goes_first() {
        let cache = Cache::new(HOUR, 2);
        let count = Arc::new(AtomicUsize::new(0));
        let ms = Duration::from_millis(1);
        value(cache.lookup("a", audit(&count, ms, "a"))).await;
        value(cache.lookup("b", audit(&count, ms, "b"))).await;
        // `a` scraped again (a hit) is now more recent than `b`.
        value(cache.lookup("a", audit(&count, ms, "a"))).await;
        value(cache.lookup("c", audit(&count, ms, "c"))).await;
        assert_eq!(cache.len(), 2);
        assert_eq!(count.load(Ordering::SeqCst), 3);
        assert!(value(cache.lookup("a", audit(&count, ms, "a"))).await.1);
        assert!(!value(cache.lookup("b", audit(&count, ms, "b"))).await.1);
        assert_eq!(count.load(Ordering::SeqCst), 4);
        // Many targets: memory stays at the capacity.
        for name in ["d", "e", "f", "g", "h", "i", "j"] {
            value(cache.lookup(name, audit(&count, ms, name))).await;
        }
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_audit_is_lost_to_its_waiters_and_tried_again() {
        let cache: Arc<Cache<&str, &str>> = Cache::new(HOUR, 10);
        let lookup = cache.lookup("a", async { panic!("a bug") });
        let Lookup::Running { waiter, .. } = lookup else {
            panic!("not running")
        };
        assert!(matches!(wait(waiter, None).await, Waited::Lost));
        let count = Arc::new(AtomicUsize::new(0));
        let again = cache.lookup("a", audit(&count, Duration::from_millis(1), "A"));
        assert!(matches!(again, Lookup::Running { started: true, .. }));
        assert_eq!(value(again).await, ("A", false));
    }
}
