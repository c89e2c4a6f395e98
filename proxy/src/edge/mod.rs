//! The partner edge (CDN G's side, issue 5): serves the URLs offloading CDNs send it
//! (spec §5), from a cache filled from each origin's back door, reports its load (§4) and
//! raises alerts.
//!
//! Entry points: build [`EdgeSettings`] (from a deployment's `[edge]` with
//! [`EdgeSettings::from_role`]), make an [`Edge`], bind [`EdgeListeners`] and call [`run`].
//! A request goes through the phases drawn in [`request`]; the open-proxy guard is
//! `origin-map`'s decode, which runs before anything can reach the network.
//!
//! ```no_run
//! # async fn f(settings: broker_proxy::edge::EdgeSettings) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use broker_proxy::edge::{Edge, EdgeListeners, run};
//! let edge = Arc::new(Edge::new(settings)?);
//! let listeners = EdgeListeners::bind("127.0.0.1:0".parse()?, None).await?;
//! println!("edge {}", listeners.http_addr());
//! run(listeners, edge, tokio_util::sync::CancellationToken::new()).await?;
//! # Ok(()) }
//! ```

mod alerts;
mod body;
mod cache;
mod conditional;
mod fetch;
mod freshness;
pub(crate) mod hop;
mod meter;
mod metrics;
mod prefixed;
mod regions;
pub mod request;
pub(crate) mod serve;
mod settings;
pub(crate) mod sni;
mod status_server;
mod stored;
pub(crate) mod tls;
mod via;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use broker_config::Name;
use broker_config::status::{StatusQuery, StatusReport};
use broker_net::ConnectionCap;
use origin_map::{EdgeMap, Scheme};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use alerts::ALERT_WINDOW_SECS;
pub use body::EdgeBody;
pub use cache::{CacheLimits, CacheStatus};
pub use fetch::{DEFAULT_FETCH_TIMEOUT, FetchError};
pub use meter::{Rate, WINDOW_SECS};
pub use regions::{Regions, RegionsError};
pub use settings::{EdgeSettings, OffloaderFacts};
pub use sni::SiteCert;
pub use tls::TlsError;
pub use via::ViaMark;

/// How long in-flight connections may run on after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Connections the status and metrics ports serve at once (peers and scrapers).
const PEER_CONNECTIONS: usize = 256;

/// Why an edge cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// The node name cannot be a `Via` pseudonym.
    #[error("node name {0:?} cannot be used in Via")]
    BadNodeName(String),
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A socket.
    #[error("{what} {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// Its address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// What a request reads: the origin map, the offloaders' facts and the region table.
pub(crate) struct Snapshot {
    pub(crate) map: EdgeMap,
    pub(crate) offloaders: Vec<OffloaderFacts>,
    pub(crate) regions: Regions,
}

/// A running edge's state: shared by its listeners, its status server and its alerts.
pub struct Edge {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) cache: cache::Cache,
    pub(crate) client: fetch::BackDoorClient,
    pub(crate) via: Arc<ViaMark>,
    pub(crate) meter: Arc<meter::Meter>,
    pub(crate) node: Name,
    pub(crate) alert_interval: Duration,
    pub(crate) origin_failures: AtomicU64,
    pub(crate) alert_rounds: tokio::sync::watch::Sender<u64>,
    pub(crate) metrics: Arc<metrics::EdgeMetrics>,
    /// The client listeners' connection cap (HTTP and HTTPS together).
    clients: ConnectionCap,
    /// The status and metrics ports' (peers and scrapers).
    peers: ConnectionCap,
}

impl Edge {
    /// An edge with an empty cache.
    pub fn new(settings: EdgeSettings) -> Result<Self, EdgeError> {
        let via = ViaMark::new(&format!("{}-edge", settings.node))
            .ok_or_else(|| EdgeError::BadNodeName(settings.node.to_string()))?;
        let via = Arc::new(via);
        let meter = meter::Meter::new(settings.map.offloaders().len(), &settings.regions);
        let mut metrics =
            metrics::EdgeMetrics::new(settings.map.offloaders().iter().map(|o| o.name().as_str()));
        let clients = ConnectionCap::new(settings.max_connections);
        let peers = ConnectionCap::new(PEER_CONNECTIONS);
        metrics.register_cap(&clients, "clients");
        metrics.register_cap(&peers, "peers");
        let origin_roots = match &settings.origin_ca {
            Some(path) => tls::roots_from(path)?,
            None => rustls::RootCertStore::empty(),
        };
        Ok(Self {
            cache: cache::Cache::new(settings.cache),
            client: fetch::BackDoorClient::new(via.clone(), origin_roots, settings.fetch_timeout),
            via,
            meter: Arc::new(meter),
            node: settings.node,
            alert_interval: settings.alert_interval,
            origin_failures: AtomicU64::new(0),
            alert_rounds: tokio::sync::watch::Sender::new(0),
            metrics: Arc::new(metrics),
            clients,
            peers,
            snapshot: Arc::new(Snapshot {
                map: settings.map,
                offloaders: settings.offloaders,
                regions: settings.regions,
            }),
        })
    }

    /// Requests sent to origins so far (fetches and revalidations).
    pub fn origin_fetches(&self) -> u64 {
        self.cache.origin_fetches()
    }

    /// Bytes held by the cache now.
    pub async fn cache_bytes(&self) -> u64 {
        self.cache.weighted_size().await
    }

    /// The §4 report for the offloader called `offloader`, as the status server gives it.
    pub fn report(&self, offloader: &str, query: &StatusQuery) -> Option<StatusReport> {
        let i = self
            .snapshot
            .offloaders
            .iter()
            .position(|o| o.name.as_str() == offloader)?;
        Some(status_server::report(self, i, query))
    }

    /// The `Via` entry this edge adds and refuses to see twice.
    pub fn via(&self) -> &ViaMark {
        &self.via
    }

    /// Watches the count of finished alert rounds (one a second while alerts are on).
    pub fn alert_rounds(&self) -> tokio::sync::watch::Receiver<u64> {
        self.alert_rounds.subscribe()
    }
}

/// The edge's bound sockets: offloaded traffic (HTTP, and HTTPS with HTTP/2 when
/// [`EdgeListeners::with_https`] adds it), optionally the §4 status server (HTTPS) and
/// the Prometheus metrics ([`EdgeListeners::with_metrics`]).
pub struct EdgeListeners {
    http: TcpListener,
    https: Option<(TcpListener, TlsAcceptor)>,
    status: Option<(TcpListener, TlsAcceptor)>,
    metrics: Option<TcpListener>,
}

impl EdgeListeners {
    /// Binds `listen` for offloaded traffic, and `status` with its certificate, if given.
    pub async fn bind(
        listen: SocketAddr,
        status: Option<(SocketAddr, &Path, &Path)>,
    ) -> Result<Self, EdgeError> {
        let http = bind("edge", listen).await?;
        let status = match status {
            None => None,
            Some((addr, cert, key)) => {
                let config = tls::server_config(cert, key, &[b"h2", b"http/1.1"])?;
                let listener = bind("status", addr).await?;
                Some((listener, TlsAcceptor::from(config)))
            }
        };
        Ok(Self {
            http,
            https: None,
            status,
            metrics: None,
        })
    }

    /// Also serves the Prometheus counters (`GET /metrics`, plain HTTP) on `addr`.
    pub async fn with_metrics(mut self, addr: SocketAddr) -> Result<Self, EdgeError> {
        let listener = bind("edge metrics", addr).await?;
        self.metrics = Some(listener);
        Ok(self)
    }

    /// Where the Prometheus counters are served, if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Also serves offloaded traffic over TLS on `addr`, the certificate chosen by SNI
    /// among `sites`, HTTP/2 or HTTP/1.1 by ALPN.
    pub async fn with_https(
        mut self,
        addr: SocketAddr,
        sites: &[SiteCert],
    ) -> Result<Self, EdgeError> {
        let config = sni::server_config(sites)?;
        let listener = bind("edge https", addr).await?;
        self.https = Some((listener, TlsAcceptor::from(config)));
        Ok(self)
    }

    /// Where offloaded clients connect over TLS, if they can.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Where offloaded clients connect.
    pub fn http_addr(&self) -> SocketAddr {
        // A bound listener always has a local address.
        self.http
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Where the status server listens, if it runs.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.status.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }
}

/// Binds `addr` for the listener called `what` (named in the error).
async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, EdgeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| EdgeError::Bind { what, addr, source })
}

/// Runs `f`, if there is one.
async fn optional(f: Option<impl Future<Output = ()>>) {
    if let Some(f) = f {
        f.await;
    }
}

/// Serves until `shutdown`, then lets in-flight connections finish (for a short grace).
pub async fn run(
    listeners: EdgeListeners,
    edge: Arc<Edge>,
    shutdown: CancellationToken,
) -> Result<(), EdgeError> {
    let tracker = TaskTracker::new();
    let serving = edge.clone();
    let http = serve::accept_loop(
        listeners.http,
        None,
        move |peer, req| request::handle(serving.clone(), Scheme::Http, peer, req),
        edge.clients.clone(),
        shutdown.clone(),
        tracker.clone(),
    );
    let status = listeners.status.map(|(listener, acceptor)| {
        let peers = edge.peers.clone();
        let edge = edge.clone();
        serve::accept_loop(
            listener,
            Some(acceptor),
            move |_peer, req| {
                let edge = edge.clone();
                async move { status_server::handle(&edge, &req) }
            },
            peers,
            shutdown.clone(),
            tracker.clone(),
        )
    });
    let https = listeners.https.map(|(listener, acceptor)| {
        let serving = edge.clone();
        serve::accept_loop(
            listener,
            Some(acceptor),
            move |peer, req| request::handle(serving.clone(), Scheme::Https, peer, req),
            edge.clients.clone(),
            shutdown.clone(),
            tracker.clone(),
        )
    });
    let metrics = listeners.metrics.map(|listener| {
        let metrics = edge.metrics.clone();
        serve::accept_loop(
            listener,
            None,
            move |_peer, req| {
                let metrics = metrics.clone();
                async move { metrics::handle(&metrics, &req) }
            },
            edge.peers.clone(),
            shutdown.clone(),
            tracker.clone(),
        )
    });
    let alerts = tokio::spawn(alerts::run(edge, shutdown.clone()));
    tokio::join!(http, optional(status), optional(https), optional(metrics));
    tracker.close();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await;
    match alerts.await {
        Ok(result) => result.map_err(EdgeError::from),
        Err(_) => Ok(()),
    }
}
