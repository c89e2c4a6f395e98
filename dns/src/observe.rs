//! The seed's logger and counters, off the answering path.
//!
//! The answering code hands a small [`QueryEvent`] to a bounded channel (`try_send`: a
//! full channel drops the event and counts it, it never blocks an answer). One task
//! drains the channel, bumps the Prometheus counters (resolutions per CDN and region,
//! answers per rcode) and appends one line per query to the query log. The engine's own
//! state (generation, fencing epoch) is read from its snapshot at each scrape
//! ([`EngineState`]).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;

use crate::answer::{Info, Transport, qname_text, qtype_text};
use crate::engine::Engine;
use crate::snapshot::Snapshot;

/// One answered (or dropped) query.
#[derive(Debug)]
pub struct QueryEvent {
    /// When it was answered.
    pub at: SystemTime,
    /// Who asked.
    pub client: SocketAddr,
    /// Over what.
    pub transport: Transport,
    /// What the decision said.
    pub info: Info,
    /// The question name as sent (wire form, `info.qname_len` bytes).
    pub qname: [u8; 255],
    /// The snapshot that answered, to name the region and the CDN.
    pub snapshot: Arc<Snapshot>,
}

impl QueryEvent {
    /// An event for `packet` (the query) answered as `info` from `snapshot`.
    pub fn new(
        client: SocketAddr,
        transport: Transport,
        info: Info,
        packet: &[u8],
        snapshot: Arc<Snapshot>,
    ) -> Self {
        let mut qname = [0u8; 255];
        let len = usize::from(info.qname_len);
        if let Some(src) = packet.get(12..12 + len) {
            qname[..len].copy_from_slice(src);
        }
        Self {
            at: SystemTime::now(),
            client,
            transport,
            info,
            qname,
            snapshot,
        }
    }
}

/// Labels of the resolution counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResolutionLabels {
    /// The chosen lookup's target (address, name server or CNAME target).
    pub cdn: String,
    /// The client's region.
    pub region: String,
    /// Kind of answer: address, cname, referral, relay, triangle.
    pub kind: String,
}

/// Labels of the answer counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RcodeLabels {
    /// Response code.
    pub rcode: String,
}

/// The engine's Prometheus metrics, in their own registry (tests run several engines).
#[derive(Debug, Default)]
pub struct Metrics {
    resolutions: Family<ResolutionLabels, Counter>,
    answers: Family<RcodeLabels, Counter>,
    dropped: Counter<u64, AtomicU64>,
}

impl Metrics {
    /// The metrics and the registry that serves them.
    pub fn new() -> (Arc<Self>, Registry) {
        let me = Arc::new(Self::default());
        let mut registry = Registry::with_prefix("cdnbroker_dns");
        registry.register(
            "resolutions",
            "Queries resolved to a CDN, per CDN (lookup target), client region and answer kind",
            me.resolutions.clone(),
        );
        registry.register(
            "answers",
            "Answers sent, per response code",
            me.answers.clone(),
        );
        registry.register(
            "log_events_dropped",
            "Query events dropped because the logger fell behind",
            me.dropped.clone(),
        );
        (me, registry)
    }
}

/// The engine's state as gauges, read from the current snapshot at each scrape:
/// `cdnbroker_dns_generation` (commits so far) and `cdnbroker_dns_epoch` (the highest
/// epoch committed, spec §1; absent until a transaction with `EPOCH` commits, since every
/// number is a valid epoch).
#[derive(Debug)]
pub struct EngineState(Arc<Engine>);

impl EngineState {
    /// Adds these gauges to `registry`.
    pub fn register(engine: Arc<Engine>, registry: &mut Registry) {
        registry.register_collector(Box::new(Self(engine)));
    }
}

impl Collector for EngineState {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let snapshot = self.0.snapshot();
        let generation = ConstGauge::new(snapshot.generation());
        generation.encode(encoder.encode_descriptor(
            "generation",
            "Transactions committed since the engine started",
            None,
            generation.metric_type(),
        )?)?;
        if let Some(epoch) = snapshot.epoch() {
            let epoch = ConstGauge::new(epoch);
            epoch.encode(encoder.encode_descriptor(
                "epoch",
                "Highest control epoch committed (spec §1 fencing)",
                None,
                epoch.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

/// What the logger task receives.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "events go by value: the channel's blocks hold them, no allocation per query"
)]
enum Msg {
    Query(QueryEvent),
    /// Answered once every event queued before it is counted and logged.
    Barrier(tokio::sync::oneshot::Sender<()>),
}

/// The answering side's handle: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct Observer {
    tx: mpsc::Sender<Msg>,
    metrics: Arc<Metrics>,
}

impl Observer {
    /// Hands an event to the logger; drops (and counts) it when the channel is full.
    pub fn record(&self, event: QueryEvent) {
        if self.tx.try_send(Msg::Query(event)).is_err() {
            self.metrics.dropped.inc();
        }
    }

    /// Waits until every event recorded before this call is counted and logged: a
    /// scrape then sees every query answered before it.
    pub async fn settle(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Barrier(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts the logger task: returns the answering side's handle and the task.
pub fn start(
    metrics: Arc<Metrics>,
    log: Option<std::fs::File>,
    capacity: usize,
) -> (Observer, impl Future<Output = ()> + Send + 'static) {
    let (tx, rx) = mpsc::channel(capacity);
    let task = drain(rx, Arc::clone(&metrics), log);
    (Observer { tx, metrics }, task)
}

/// Opens (appending) a query log file.
pub fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

async fn drain(mut rx: mpsc::Receiver<Msg>, metrics: Arc<Metrics>, log: Option<std::fs::File>) {
    let mut log = log.map(|f| std::io::BufWriter::with_capacity(1 << 16, f));
    let mut batch = Vec::with_capacity(1024);
    let mut line = String::new();
    let mut name = String::new();
    while rx.recv_many(&mut batch, 1024).await > 0 {
        let mut barriers = Vec::new();
        for msg in batch.drain(..) {
            let ev = match msg {
                Msg::Query(ev) => ev,
                Msg::Barrier(done) => {
                    barriers.push(done);
                    continue;
                }
            };
            count(&metrics, &ev);
            if let Some(w) = log.as_mut() {
                format_line(&ev, &mut name, &mut line);
                if let Err(e) = w.write_all(line.as_bytes()) {
                    tracing::warn!(error = %e, "query log write failed");
                }
            }
        }
        // Flush once the channel is empty, so a quiet engine's log is complete on disk.
        if rx.is_empty()
            && let Some(w) = log.as_mut()
            && let Err(e) = w.flush()
        {
            tracing::warn!(error = %e, "query log flush failed");
        }
        for done in barriers {
            let _ = done.send(());
        }
    }
}

fn count(metrics: &Metrics, ev: &QueryEvent) {
    metrics
        .answers
        .get_or_create(&RcodeLabels {
            rcode: ev.info.rcode.as_str().to_owned(),
        })
        .inc();
    if let (Some(region), Some(choice)) = (ev.info.region, ev.info.choice) {
        let c = ev.snapshot.choice(choice);
        metrics
            .resolutions
            .get_or_create(&ResolutionLabels {
                cdn: c.label.to_string(),
                region: ev.snapshot.region_name(region).to_string(),
                kind: c.answer.kind().to_owned(),
            })
            .inc();
    }
}

/// One log line: `time client transport ecs name type region cdn kind rcode`, space
/// separated, `-` for an absent field.
pub fn format_line(ev: &QueryEvent, name: &mut String, line: &mut String) {
    line.clear();
    let t = ev.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let _ = write!(
        line,
        "{}.{:03} {} ",
        t.as_secs(),
        t.subsec_millis(),
        ev.client
    );
    line.push_str(match ev.transport {
        Transport::Udp => "udp ",
        Transport::Tcp => "tcp ",
    });
    match ev.info.subnet {
        Some(s) => {
            let _ = write!(line, "{}/{} ", s.addr, s.source_len);
        }
        None => line.push_str("- "),
    }
    qname_text(&ev.qname[..usize::from(ev.info.qname_len)], name);
    line.push_str(if name.is_empty() { "-" } else { name });
    line.push(' ');
    line.push_str(&qtype_text(ev.info.qtype));
    line.push(' ');
    match ev.info.region {
        Some(r) => line.push_str(ev.snapshot.region_name(r)),
        None => line.push('-'),
    }
    line.push(' ');
    match ev.info.choice {
        Some(c) => {
            let c = ev.snapshot.choice(c);
            let _ = write!(line, "{} {}", c.label, c.answer.kind());
        }
        None => line.push_str("- -"),
    }
    line.push(' ');
    line.push_str(ev.info.rcode.as_str());
    line.push('\n');
}
