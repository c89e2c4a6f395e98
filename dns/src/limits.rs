//! The engine's caps of spec §11 that listeners share, and their counters in `/metrics`
//! (`cdnbroker_dns_rrl_dropped_total`, `_rrl_slipped_total`, `_relay_refused_total`,
//! `_control_refused_total`, and the TCP and control ports' `_connections_*`).

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shared by every listener of one engine.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    relays: Arc<Semaphore>,
    pub(crate) rrl_dropped: Counter,
    pub(crate) rrl_slipped: Counter,
    pub(crate) relay_refused: Counter,
    pub(crate) control_refused: Counter,
}

impl Limits {
    pub(crate) fn new(relay_in_flight: usize) -> Self {
        Self {
            relays: Arc::new(Semaphore::new(relay_in_flight.max(1))),
            rrl_dropped: Counter::default(),
            rrl_slipped: Counter::default(),
            relay_refused: Counter::default(),
            control_refused: Counter::default(),
        }
    }

    /// A place for one more relayed query, or `None` past `relay_in_flight` (the caller
    /// answers SERVFAIL at once).
    pub(crate) fn relay(&self) -> Option<OwnedSemaphorePermit> {
        let permit = Arc::clone(&self.relays).try_acquire_owned().ok();
        if permit.is_none() {
            self.relay_refused.inc();
        }
        permit
    }

    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "rrl_dropped",
            "Answers dropped by response rate limiting",
            self.rrl_dropped.clone(),
        );
        registry.register(
            "rrl_slipped",
            "Answers over the rate sent empty with TC=1 (slip)",
            self.rrl_slipped.clone(),
        );
        registry.register(
            "relay_refused",
            "R: and T: queries answered SERVFAIL because relay_in_flight were waiting",
            self.relay_refused.clone(),
        );
        registry.register(
            "control_refused",
            "Control connections refused: no or wrong AUTH, over max_transaction_mb, past a deadline",
            self.control_refused.clone(),
        );
    }
}
