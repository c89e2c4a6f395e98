//! The front proxy's counters in Prometheus text format: requests by outcome, pages by
//! the CDN picked, URLs rewritten per partner, and the origin's time to a response head.
//! Handles are made once at start, so a request only bumps atomics.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// How a request ended, one counter each.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outcome {
    /// An HTML or CSS page rewritten for a partner.
    Rewritten,
    /// An HTML or CSS page left as it was (the pick was this CDN).
    Unchanged,
    /// Anything else relayed from the origin untouched.
    Passed,
    /// Refused by us: unknown host, loop, bad request.
    Refused,
    /// The origin failed (502).
    OriginFailed,
    /// The origin was too slow (504).
    OriginTimeout,
}

const OUTCOMES: [(Outcome, &str); 6] = [
    (Outcome::Rewritten, "rewritten"),
    (Outcome::Unchanged, "unchanged"),
    (Outcome::Passed, "passed"),
    (Outcome::Refused, "refused"),
    (Outcome::OriginFailed, "origin_failed"),
    (Outcome::OriginTimeout, "origin_timeout"),
];

/// The registry and the handles requests use.
pub(crate) struct Metrics {
    registry: Registry,
    outcomes: [Counter; 6],
    pages: Family<Labels, Counter>,
    rewrites: Family<Labels, Counter>,
    plans: Family<Labels, Counter>,
    origin_seconds: Histogram,
}

impl Metrics {
    /// Adds a connection cap's counters (`front_<prefix>_connections_*`).
    pub(crate) fn register_cap(&mut self, cap: &broker_net::ConnectionCap, prefix: &str) {
        cap.register(&mut self.registry, prefix);
    }

    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("front");
        let requests = Family::<Labels, Counter>::default();
        registry.register("requests", "Requests by how they ended", requests.clone());
        let outcomes = OUTCOMES.map(|(_, name)| {
            requests
                .get_or_create(&vec![("outcome".to_owned(), name.to_owned())])
                .clone()
        });
        let pages = Family::<Labels, Counter>::default();
        registry.register(
            "pages",
            "HTML and CSS pages by the CDN picked for their embedded URLs",
            pages.clone(),
        );
        let rewrites = Family::<Labels, Counter>::default();
        registry.register(
            "rewrites",
            "Embedded URLs rewritten into each partner's form",
            rewrites.clone(),
        );
        let plans = Family::<Labels, Counter>::default();
        registry.register(
            "plans",
            "Rewrite plans of pages seen before: recorded, replayed, or dropped when the \
             body was not the recorded page",
            plans.clone(),
        );
        let origin_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "origin_seconds",
            "Time from sending a request to the origin to its response head",
            origin_seconds.clone(),
        );
        Self {
            registry,
            outcomes,
            pages,
            rewrites,
            plans,
            origin_seconds,
        }
    }

    /// Counts one request.
    pub(crate) fn count(&self, outcome: Outcome) {
        self.outcomes[outcome as usize].inc();
    }

    /// The counter of pages whose pick was `cdn`.
    pub(crate) fn pages_for(&self, cdn: &str) -> Counter {
        self.pages
            .get_or_create(&vec![("cdn".to_owned(), cdn.to_owned())])
            .clone()
    }

    /// The counter of URLs rewritten for `partner`.
    pub(crate) fn rewrites_for(&self, partner: &str) -> Counter {
        self.rewrites
            .get_or_create(&vec![("partner".to_owned(), partner.to_owned())])
            .clone()
    }

    /// The counter of rewrite plans with this `result`.
    pub(crate) fn plans(&self, result: &str) -> Counter {
        self.plans
            .get_or_create(&vec![("result".to_owned(), result.to_owned())])
            .clone()
    }

    /// Records an origin's time to its response head.
    pub(crate) fn origin_time(&self, took: Duration) {
        self.origin_seconds.observe(took.as_secs_f64());
    }

    /// Everything in Prometheus text format.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
