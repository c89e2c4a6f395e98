//! The front proxy (CDN C's side, issue 4): serves customers' sites, fetching each page
//! from the origin and streaming it back with the URLs of offloaded hosts rewritten into
//! the form of the partner CDN picked for this client (spec §5, the seed's convoluted
//! URLs).
//!
//! Entry points: [`Front::new`] from a deployment (`[proxy]`, `[[partner]]`,
//! `[[customer]]`, spec §7) and a [`SharedPlan`], [`FrontListeners::bind`], then [`run`].
//! A request goes through the phases drawn in `request.rs`:
//!
//! ```text
//! loop check → site (Host: 404 if unknown) → client address
//! → (conditionals: pick first, keep If-None-Match tags of that pick only) → origin (502/504)
//! → relay untouched (Range, not HTML/CSS) | pick → decode → rewrite → encode
//! → headers (private, Vary, ETag naming the pick, no Last-Modified/Content-Length, Via,
//!   no hop-by-hop)
//! ```
//!
//! Validators: a page's ETag is the origin's made weak and tied to the pick,
//! `W/"<origin opaque>.<pick id>"`, so a browser's copy gets a 304 only while the client
//! still gets the pick it was rewritten for; a copy of another pick gets the whole page.
//!
//! Plans: a page with a strong ETag is tokenized once per version and pick; later
//! requests for it replay the recorded edits while it streams, each checked against the
//! bytes it replaces (`plans.rs`, `rewrite::Replay`).
//!
//! Picks: each offload host is picked under the plan customer of its name (customer.txt
//! lists offloaded names, `ADD CST img.xyz.com`), or, when the plan does not know that
//! name, under the `[[customer]]` name (`ADD CST xyz`). Hosts of one name share a pick;
//! hosts of different names are picked each on their own, every pick stable per (client
//! address, plan customer) while the plan is unchanged, so a client keeps its CDN across
//! page loads. A request on a partner's special port picks that partner for every host.
//!
//! Keys this role adds to spec §7's `[proxy]` (all optional):
//! - `https_listen = "ADDR"`: serve the sites over TLS too (HTTP/2 or HTTP/1.1 by ALPN);
//! - `tls = [{ names = ["www.xyz.com", "*.xyz.com"], cert = "x.pem", key = "x.key" }]`:
//!   the certificate per site, chosen by SNI (required with `https_listen`);
//! - `origin_ca = "ca.pem"`: trust roots for `https://` origins besides the system's;
//! - `origin_timeout_s`, `origin_idle_timeout_s`, `client_header_timeout_s`,
//!   `client_write_timeout_s` (whole seconds, 1 to 86400) and `max_header_bytes` (1024 to
//!   16 MiB): the limits below, in place of their defaults;
//! - `rewrite_cache_mb` (0 to 65536, default 64): memory for rewrite plans, 0 turns them
//!   off.
//!
//! The plain listeners speak HTTP/1.1 and HTTP/2 (prior knowledge) too. Counters are
//! served in Prometheus text format on `[proxy] metrics` (`GET /metrics`).
//!
//! Limits ([`FrontSettings`], defaults shown; the `[proxy]` keys above set them): request
//! heads over 64 KiB get 431 (HTTP/1 buffers at least 8 KiB, whatever is set); a client
//! must send its head within 30 s and keep reading what we write (no write progress for
//! 60 s closes the connection); an origin must answer within 30 s (else 504; unreachable: 502) and
//! may not stall its body for 60 s (the response is then cut, never passed off as
//! complete). On shutdown the listeners close and requests in flight get 10 s to finish.
//! Pages stream through fixed-size buffers (16 KiB between stages, lol_html's own
//! buffers bounded by the rewriter's options): a 1 GiB page passes in under 20 MB of
//! resident memory (`tests/front_memory.rs`).
//!
//! ```no_run
//! # async fn f(d: broker_config::deploy::Deployment, plan: broker_policy::live::SharedPlan)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use broker_proxy::front::{Front, FrontListeners, FrontSettings, run};
//! let front = Arc::new(Front::new(&d, plan, FrontSettings::default())?);
//! let listeners = FrontListeners::bind(&front, d.proxy.as_ref().unwrap()).await?;
//! println!("proxy {}", listeners.http_addr());
//! run(listeners, front, tokio_util::sync::CancellationToken::new()).await;
//! # Ok(()) }
//! ```

mod body;
mod client_addr;
mod coding;
mod headers;
mod mapper;
mod metrics;
mod origin;
mod pick;
mod plans;
mod request;
mod routing;
mod sites;
mod validator;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use broker_config::Name;
use broker_config::deploy::{DEFAULT_MAX_CONNECTIONS, Deployment, ProxyLimits, ProxyRole};
use broker_net::ConnectionCap;
use broker_policy::live::SharedPlan;
use broker_policy::routing::SharedRouting;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use ipnet::IpNet;
use origin_map::Scheme;
use prometheus_client::metrics::counter::Counter;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use body::FrontBody;
pub use routing::check_routing;
pub use sites::RouteError;

use crate::edge::{SiteCert, TlsError, ViaMark};
use request::Entry;

/// Connections the metrics port serves at once (scrapers, not clients).
const METRICS_CONNECTIONS: usize = 64;

/// Limits and deadlines of the front proxy.
#[derive(Clone, Debug)]
pub struct FrontSettings {
    /// How long an origin may take to send its response head (then 504).
    pub origin_timeout: Duration,
    /// How long an origin body may stall between two chunks (then the response is cut).
    pub origin_idle_timeout: Duration,
    /// How long a client may take to send a request head.
    pub client_header_timeout: Duration,
    /// How long a client may leave our writes unread before its connection is closed
    /// (so a client that stops reading cannot hold it, and its origin fetch, for good).
    pub client_write_timeout: Duration,
    /// Largest request head accepted (HTTP/1 buffer, HTTP/2 header list); beyond: 431.
    pub max_header_bytes: usize,
    /// How long requests in flight may run on after shutdown.
    pub shutdown_grace: Duration,
    /// Memory for rewrite plans of pages seen before (0: every page is rewritten).
    pub rewrite_cache_bytes: u64,
    /// Client connections over all the site listeners (spec §11); at the cap the most
    /// stalled one is closed.
    pub max_connections: usize,
}

impl Default for FrontSettings {
    fn default() -> Self {
        Self {
            origin_timeout: Duration::from_secs(30),
            origin_idle_timeout: Duration::from_secs(60),
            client_header_timeout: Duration::from_secs(30),
            client_write_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
            shutdown_grace: Duration::from_secs(10),
            rewrite_cache_bytes: 64 << 20,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl FrontSettings {
    /// These settings with the limits the `[proxy]` table sets in place of theirs.
    #[must_use]
    pub fn with_limits(self, limits: &ProxyLimits) -> Self {
        Self {
            origin_timeout: limits.origin_timeout.unwrap_or(self.origin_timeout),
            origin_idle_timeout: limits
                .origin_idle_timeout
                .unwrap_or(self.origin_idle_timeout),
            client_header_timeout: limits
                .client_header_timeout
                .unwrap_or(self.client_header_timeout),
            client_write_timeout: limits
                .client_write_timeout
                .unwrap_or(self.client_write_timeout),
            max_header_bytes: limits.max_header_bytes.unwrap_or(self.max_header_bytes),
            shutdown_grace: self.shutdown_grace,
            rewrite_cache_bytes: limits
                .rewrite_cache_mb
                .map_or(self.rewrite_cache_bytes, |mb| u64::from(mb) << 20),
            max_connections: limits.max_connections.unwrap_or(self.max_connections),
        }
    }
}

/// Why a front proxy cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrontError {
    /// The deployment has no `[proxy]` table.
    #[error("no [proxy] table")]
    NoRole,
    /// The node name cannot be a `Via` pseudonym.
    #[error("node name {0:?} cannot be used in Via")]
    BadNodeName(String),
    /// Sites, customers or partners.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// TLS material.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A special port names no `[[partner]]`.
    #[error("special port of unknown partner {0}")]
    UnknownPartner(String),
    /// A socket.
    #[error("{what} {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// Its address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A front proxy's state, shared by its listeners.
pub struct Front {
    node: Name,
    tables: routing::LiveTables,
    plan: SharedPlan,
    trusted: Vec<IpNet>,
    origin: origin::OriginClient,
    via: ViaMark,
    metrics: metrics::Metrics,
    self_pages: Counter,
    plans: plans::PlanCache,
    settings: FrontSettings,
    /// The site listeners' connection cap; the metrics port has its own.
    clients: ConnectionCap,
    metrics_port: ConnectionCap,
}

impl Front {
    /// The front proxy of `deployment`'s `[proxy]` role, picking by `plan`; the limits
    /// the role sets (`origin_timeout_s`, …) replace those of `settings`.
    pub fn new(
        deployment: &Deployment,
        plan: SharedPlan,
        settings: FrontSettings,
    ) -> Result<Self, FrontError> {
        let role = deployment.proxy.as_ref().ok_or(FrontError::NoRole)?;
        let settings = settings.with_limits(&role.limits);
        let node = deployment.node.name.clone();
        let via = ViaMark::new(&format!("{node}-proxy"))
            .ok_or_else(|| FrontError::BadNodeName(node.to_string()))?;
        let mut metrics = metrics::Metrics::new();
        let clients = ConnectionCap::new(settings.max_connections);
        let metrics_port = ConnectionCap::new(METRICS_CONNECTIONS);
        metrics.register_cap(&clients, "clients");
        let tables =
            routing::Tables::build(0, &deployment.partners, &deployment.customers, &metrics)?;
        let roots = match &role.origin_ca {
            Some(path) => crate::edge::tls::roots_from(path)?,
            None => rustls::RootCertStore::empty(),
        };
        Ok(Self {
            tables: routing::LiveTables::fixed(tables),
            plan,
            trusted: role.trusted_proxies.clone(),
            origin: origin::OriginClient::new(roots, settings.origin_timeout),
            via,
            self_pages: metrics.pages_for(node.as_str()),
            plans: plans::PlanCache::new(settings.rewrite_cache_bytes, &metrics),
            metrics,
            node,
            settings,
            clients,
            metrics_port,
        })
    }

    /// Routes by `routing` (the control component's snapshot of the `[[partner]]` forms
    /// and `[[customer]]` tables) instead of the deployment's own tables: rebuilt once per
    /// generation, at the first request that sees it. The partners must stay those of
    /// the deployment, in its order (the special ports index them).
    #[must_use]
    pub fn follow_routing(mut self, routing: SharedRouting) -> Self {
        self.tables.follow(routing);
        self
    }

    /// The counters in Prometheus text format, as `GET /metrics` serves them.
    pub fn metrics_text(&self) -> String {
        self.metrics.text()
    }
}

/// The front proxy's bound sockets.
pub struct FrontListeners {
    http: TcpListener,
    special: Vec<(Name, u16, TcpListener)>,
    https: Option<(TcpListener, TlsAcceptor)>,
    metrics: Option<TcpListener>,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, FrontError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| FrontError::Bind { what, addr, source })
}

impl FrontListeners {
    /// Binds every address of `role`: `listen`, the special ports, `https_listen` with its
    /// certificates, `metrics`.
    pub async fn bind(front: &Front, role: &ProxyRole) -> Result<Self, FrontError> {
        let http = bind("proxy", role.listen).await?;
        let mut special = Vec::new();
        for (name, addr) in &role.special_ports {
            let index = front
                .tables
                .now()
                .partners
                .iter()
                .position(|p| p.name == *name)
                .and_then(|i| u16::try_from(i).ok())
                .ok_or_else(|| FrontError::UnknownPartner(name.to_string()))?;
            special.push((
                name.clone(),
                index,
                bind("proxy special port", *addr).await?,
            ));
        }
        let https = match role.https_listen {
            None => None,
            Some(addr) => {
                let certs: Vec<SiteCert> = role
                    .tls
                    .iter()
                    .map(|t| SiteCert {
                        names: t.names.clone(),
                        cert: t.files.cert.clone(),
                        key: t.files.key.clone(),
                    })
                    .collect();
                let config = crate::edge::sni::server_config(&certs)?;
                Some((bind("proxy https", addr).await?, TlsAcceptor::from(config)))
            }
        };
        let metrics = match role.metrics {
            Some(addr) => Some(bind("proxy metrics", addr).await?),
            None => None,
        };
        Ok(Self {
            http,
            special,
            https,
            metrics,
        })
    }

    /// Where clients connect over plain HTTP.
    pub fn http_addr(&self) -> SocketAddr {
        local(&self.http)
    }

    /// Each special port: its partner and address.
    pub fn special_addrs(&self) -> Vec<(Name, SocketAddr)> {
        self.special
            .iter()
            .map(|(n, _, l)| (n.clone(), local(l)))
            .collect()
    }

    /// Where clients connect over TLS, if they can.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|(l, _)| local(l))
    }

    /// Where the counters are served, if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(local)
    }
}

fn local(l: &TcpListener) -> SocketAddr {
    // A bound listener always has a local address.
    l.local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
}

/// Serves until `shutdown`, then lets requests in flight finish (for the grace period).
pub async fn run(listeners: FrontListeners, front: Arc<Front>, shutdown: CancellationToken) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(front.settings.client_header_timeout)
        .max_buf_size(front.settings.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(front.settings.max_header_bytes).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let tracker = TaskTracker::new();
    let grace = front.settings.shutdown_grace;
    let write_stall = front.settings.client_write_timeout;
    let mut loops = tokio::task::JoinSet::new();
    let mut serve = |listener: TcpListener, tls: Option<TlsAcceptor>, entry: Entry| {
        let clients = front.clients.clone();
        let front = front.clone();
        loops.spawn(crate::edge::serve::accept_loop_with(
            builder.clone(),
            Some(write_stall),
            listener,
            tls,
            move |peer, req| request::handle(front.clone(), entry, peer, req),
            clients,
            shutdown.clone(),
            tracker.clone(),
        ));
    };
    let plain = |forced| Entry {
        scheme: Scheme::Http,
        forced,
    };
    serve(listeners.http, None, plain(None));
    for (_, index, listener) in listeners.special {
        serve(listener, None, plain(Some(index)));
    }
    if let Some((listener, acceptor)) = listeners.https {
        let entry = Entry {
            scheme: Scheme::Https,
            forced: None,
        };
        serve(listener, Some(acceptor), entry);
    }
    if let Some(listener) = listeners.metrics {
        let metrics_port = front.metrics_port.clone();
        let front = front.clone();
        loops.spawn(crate::edge::serve::accept_loop_with(
            builder.clone(),
            Some(write_stall),
            listener,
            None,
            move |_peer, req| {
                let front = front.clone();
                async move { metrics_page(&front, req.method(), req.uri().path()) }
            },
            metrics_port,
            shutdown.clone(),
            tracker.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
    tracker.close();
    let _ = tokio::time::timeout(grace, tracker.wait()).await;
}

fn metrics_page(front: &Front, method: &Method, path: &str) -> Response<FrontBody> {
    if path != "/metrics" || (method != Method::GET && method != Method::HEAD) {
        return request::refuse(StatusCode::NOT_FOUND, "try GET /metrics");
    }
    let mut resp = Response::new(body::text(front.metrics_text()));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_tables_limits_replace_the_defaults_they_set() {
        let limits = ProxyLimits {
            origin_timeout: Some(Duration::from_secs(5)),
            max_header_bytes: Some(4096),
            ..ProxyLimits::default()
        };
        let s = FrontSettings::default().with_limits(&limits);
        assert_eq!(s.origin_timeout, Duration::from_secs(5));
        assert_eq!(s.max_header_bytes, 4096);
        assert_eq!(
            s.origin_idle_timeout,
            Duration::from_secs(60),
            "unset: kept"
        );
        assert_eq!(s.client_write_timeout, Duration::from_secs(60));
    }
}
