//! A connection cap that makes room by closing the most stalled connection (spec §11):
//! stalled clients cannot lock out working ones, and a port never holds more than its
//! cap of descriptors for long.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// At most `max` connections; cheap to clone (all clones share the count).
#[derive(Clone, Debug)]
pub struct ConnectionCap {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    max: usize,
    /// Progress stamps are milliseconds since this instant.
    epoch: Instant,
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, Entry>>,
    open: Gauge,
    evicted: Counter,
    accept_failures: Counter,
}

#[derive(Debug)]
struct Entry {
    progress: Arc<AtomicU64>,
    close: CancellationToken,
}

/// Where a connection records its progress (a whole request read, an answer written).
#[derive(Clone, Debug)]
pub struct Progress {
    stamp: Arc<AtomicU64>,
    epoch: Instant,
}

impl Progress {
    /// Records progress now.
    pub fn mark(&self) {
        let now = millis_since(self.epoch);
        self.stamp.store(now, Ordering::Relaxed);
    }
}

/// One admitted connection: freed when dropped; [`Slot::closed`] fires when the cap
/// evicts it.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    cap: Arc<Inner>,
    progress: Progress,
    close: CancellationToken,
}

impl Slot {
    /// Records progress now (see [`Progress::mark`]).
    pub fn progress(&self) {
        self.progress.mark();
    }

    /// A handle to record progress from elsewhere (a stream wrapper, a request handler).
    pub fn progress_handle(&self) -> Progress {
        self.progress.clone()
    }

    /// Cancelled when the cap closes this connection to make room.
    pub fn closed(&self) -> CancellationToken {
        self.close.clone()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut live = self.cap.live.lock().unwrap_or_else(|e| e.into_inner());
        if live.remove(&self.id).is_some() {
            self.cap.open.dec();
        }
    }
}

impl ConnectionCap {
    /// A cap of `max` connections (at least 1).
    pub fn new(max: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                max: max.max(1),
                epoch: Instant::now(),
                next_id: AtomicU64::new(0),
                live: Mutex::new(HashMap::new()),
                open: Gauge::default(),
                evicted: Counter::default(),
                accept_failures: Counter::default(),
            }),
        }
    }

    /// Admits a connection. At the cap, the connection with the oldest progress is
    /// closed first (its [`Slot::closed`] fires and its place is taken at once).
    pub fn admit(&self) -> Slot {
        let inner = &self.inner;
        let mut live = inner.live.lock().unwrap_or_else(|e| e.into_inner());
        while live.len() >= inner.max {
            let oldest = live
                .iter()
                .min_by_key(|(_, e)| e.progress.load(Ordering::Relaxed))
                .map(|(&id, _)| id);
            let Some(entry) = oldest.and_then(|id| live.remove(&id)) else {
                break;
            };
            entry.close.cancel();
            inner.open.dec();
            inner.evicted.inc();
        }
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let stamp = Arc::new(AtomicU64::new(millis_since(inner.epoch)));
        let close = CancellationToken::new();
        live.insert(
            id,
            Entry {
                progress: Arc::clone(&stamp),
                close: close.clone(),
            },
        );
        inner.open.inc();
        Slot {
            id,
            cap: Arc::clone(inner),
            progress: Progress {
                stamp,
                epoch: inner.epoch,
            },
            close,
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Connections closed so far to make room.
    pub fn evicted(&self) -> u64 {
        self.inner.evicted.get()
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.inner.max
    }

    pub(crate) fn accept_failed(&self) {
        self.inner.accept_failures.inc();
    }

    /// Registers `<prefix>_connections_open`, `<prefix>_connections_evicted_total` (closed
    /// at the cap) and `<prefix>_accept_failures_total`.
    pub fn register(&self, registry: &mut Registry, prefix: &str) {
        registry.register(
            format!("{prefix}_connections_open"),
            "Connections open now",
            self.inner.open.clone(),
        );
        registry.register(
            format!("{prefix}_connections_evicted"),
            "Connections closed at the cap to make room (the most stalled first)",
            self.inner.evicted.clone(),
        );
        registry.register(
            format!("{prefix}_accept_failures"),
            "Failed accepts (e.g. descriptors exhausted), each followed by a back-off",
            self.inner.accept_failures.clone(),
        );
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_most_stalled_is_closed() {
        let cap = ConnectionCap::new(2);
        let a = cap.admit();
        let b = cap.admit();
        // `a` made progress later than `b`: `b` is the one that stalled longest.
        b.progress.stamp.store(0, Ordering::Relaxed);
        a.progress.stamp.store(10, Ordering::Relaxed);
        let c = cap.admit();
        assert!(b.closed().is_cancelled());
        assert!(!a.closed().is_cancelled());
        assert!(!c.closed().is_cancelled());
        assert_eq!(cap.open(), 2);
        assert_eq!(cap.evicted(), 1);
        drop(b);
        assert_eq!(cap.open(), 2, "an evicted slot was already freed");
        drop(a);
        assert_eq!(cap.open(), 1);
    }
}
