//! Prometheus counters of the control component (one registry per instance, so tests can
//! run several), served as text on the API's `GET /metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Label of the events counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabel {
    pub(crate) kind: String,
}

/// Labels of per-partner counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PartnerLabels {
    pub(crate) partner: String,
    pub(crate) result: String,
}

/// Labels of per-engine counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EngineLabels {
    pub(crate) engine: String,
    pub(crate) kind: String,
    pub(crate) result: String,
}

/// Labels of refused connections and requests (spec §11).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RefusedLabels {
    pub(crate) port: String,
    pub(crate) reason: String,
}

/// Every counter, registered once.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) refused: Family<RefusedLabels, Counter>,
    pub(crate) plan_generation: Gauge,
    pub(crate) plan_changes: Counter,
    pub(crate) events: Family<KindLabel, Counter>,
    pub(crate) alerts: Family<PartnerLabels, Counter>,
    pub(crate) polls: Family<PartnerLabels, Counter>,
    pub(crate) transactions: Family<EngineLabels, Counter>,
    /// Spec §8: this replica's standing and what it knows of etcd.
    pub(crate) cluster: ClusterGauges,
}

/// A replicated control's gauges (all 0 alone).
#[derive(Clone, Default)]
pub(crate) struct ClusterGauges {
    pub(crate) leading: Gauge,
    pub(crate) epoch: Gauge,
    pub(crate) etcd_reachable: Gauge,
    pub(crate) members: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("cdnbroker_control");
        let plan_generation = Gauge::default();
        let plan_changes = Counter::default();
        let events = Family::default();
        let alerts = Family::default();
        let polls = Family::default();
        let transactions = Family::default();
        let refused = Family::default();
        registry.register(
            "refused",
            "Connections and requests refused (no credential, too large, past a deadline), by port and reason",
            refused.clone(),
        );
        registry.register(
            "plan_generation",
            "Generation of the plan in force",
            plan_generation.clone(),
        );
        registry.register(
            "plan_changes",
            "Plans published after the first",
            plan_changes.clone(),
        );
        registry.register(
            "events",
            "Events handled by the event loop, by kind",
            events.clone(),
        );
        registry.register(
            "alerts",
            "Alerts received (POST /alert), by partner and result",
            alerts.clone(),
        );
        registry.register(
            "polls",
            "Status-report polls, by partner and result",
            polls.clone(),
        );
        registry.register(
            "transactions",
            "Transactions sent to DNS engines, by engine, kind and result",
            transactions.clone(),
        );
        let cluster = ClusterGauges::default();
        for (name, help, gauge) in [
            (
                "cluster_leading",
                "1 while this replica leads (spec §8)",
                &cluster.leading,
            ),
            (
                "cluster_epoch",
                "The epoch of this replica's leadership (0 while following)",
                &cluster.epoch,
            ),
            (
                "cluster_etcd_reachable",
                "1 while etcd answers; 0: the last plan and members known are kept",
                &cluster.etcd_reachable,
            ),
            (
                "cluster_members",
                "Engines, proxies and edges registered in etcd",
                &cluster.members,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        Self {
            registry,
            cluster,
            refused,
            plan_generation,
            plan_changes,
            events,
            alerts,
            polls,
            transactions,
        }
    }

    /// Adds the shared connection cap of the management, API and alert ports.
    pub(crate) fn register_cap(&mut self, cap: &broker_net::ConnectionCap) {
        cap.register(&mut self.registry, "ports");
    }

    pub(crate) fn refused(&self, port: &str, reason: &str) {
        self.refused
            .get_or_create(&RefusedLabels {
                port: port.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(crate) fn event(&self, kind: &str) {
        self.events
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }

    pub(crate) fn alert(&self, partner: &str, result: &str) {
        self.alerts
            .get_or_create(&partner_labels(partner, result))
            .inc();
    }

    pub(crate) fn poll(&self, partner: &str, result: &str) {
        self.polls
            .get_or_create(&partner_labels(partner, result))
            .inc();
    }

    pub(crate) fn transaction(&self, engine: &str, kind: &str, result: &str) {
        self.transactions
            .get_or_create(&EngineLabels {
                engine: engine.to_owned(),
                kind: kind.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

fn partner_labels(partner: &str, result: &str) -> PartnerLabels {
    PartnerLabels {
        partner: partner.to_owned(),
        result: result.to_owned(),
    }
}
