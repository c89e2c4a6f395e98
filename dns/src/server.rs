//! The engine's front door: bound sockets in, tasks out, until the shutdown token fires.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use broker_config::deploy::{DEFAULT_MAX_TCP, DEFAULT_RELAY_IN_FLIGHT, Rrl};

use crate::control::{self, ControlLimits};
use crate::engine::Engine;
use crate::limits::Limits;
use crate::observe::{self, EngineState, Metrics, Observer};
use crate::triangle::Triangle;
use crate::{metrics_http, tcp, udp};

/// The sockets an engine serves, bound before it starts (tests bind port 0 and read the
/// addresses back).
#[derive(Debug)]
pub struct Listeners {
    /// DNS over UDP, a thread each; several per address share it through SO_REUSEPORT.
    pub udp: Vec<std::net::UdpSocket>,
    /// DNS over TCP.
    pub tcp: Vec<std::net::TcpListener>,
    /// The control port (spec §1).
    pub control: Option<std::net::TcpListener>,
    /// Prometheus `/metrics`.
    pub metrics: Option<std::net::TcpListener>,
}

impl Listeners {
    /// Binds UDP and TCP on every `dns` address (port 0: one free port for both), the
    /// control and the metrics ports. `udp_sockets` UDP sockets per address, for spreading
    /// load over cores.
    pub fn bind(
        dns: &[SocketAddr],
        control: Option<SocketAddr>,
        metrics: Option<SocketAddr>,
        udp_sockets: usize,
    ) -> io::Result<Self> {
        let mut me = Self {
            udp: Vec::new(),
            tcp: Vec::new(),
            control: None,
            metrics: None,
        };
        for &addr in dns {
            let (udp, tcp) = bind_pair(addr, udp_sockets.max(1))?;
            me.udp.extend(udp);
            me.tcp.push(tcp);
        }
        me.control = control.map(std::net::TcpListener::bind).transpose()?;
        me.metrics = metrics.map(std::net::TcpListener::bind).transpose()?;
        Ok(me)
    }

    /// The DNS addresses (one per bound address).
    pub fn dns_addrs(&self) -> Vec<SocketAddr> {
        self.tcp
            .iter()
            .filter_map(|t| t.local_addr().ok())
            .collect()
    }

    /// The control port's address.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control.as_ref().and_then(|c| c.local_addr().ok())
    }

    /// The metrics port's address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|c| c.local_addr().ok())
    }
}

fn udp_socket(addr: SocketAddr, reuse: bool) -> io::Result<std::net::UdpSocket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    if reuse {
        s.set_reuse_port(true)?;
    }
    // Bursts from a benchmark or a big resolver farm queue here instead of being dropped.
    let _ = s.set_recv_buffer_size(4 << 20);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

fn bind_pair(
    addr: SocketAddr,
    n: usize,
) -> io::Result<(Vec<std::net::UdpSocket>, std::net::TcpListener)> {
    // With port 0 the UDP port picked may be taken for TCP: try a few.
    let mut last = None;
    for _ in 0..16 {
        let first = udp_socket(addr, n > 1)?;
        let bound = first.local_addr()?;
        match std::net::TcpListener::bind(bound) {
            Ok(tcp) => {
                tcp.set_nonblocking(true)?;
                let mut udp = vec![first];
                for _ in 1..n {
                    udp.push(udp_socket(bound, true)?);
                }
                return Ok((udp, tcp));
            }
            Err(e) if addr.port() == 0 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port")))
}

/// How the engine serves, besides its tables.
#[derive(Debug)]
pub struct Options {
    /// Control connection limits.
    pub control: ControlLimits,
    /// Where to append the query log; none: no log.
    pub query_log: Option<PathBuf>,
    /// A DNS-over-TCP connection silent this long is closed.
    pub tcp_idle: Duration,
    /// How long a relayed query waits for the far server.
    pub relay_timeout: Duration,
    /// The raw socket for `T:` lookups (must agree with the engine's `triangle_allowed`).
    pub triangle: Option<Arc<Triangle>>,
    /// Response rate limiting over UDP (spec §11); `None`: off.
    pub rrl: Option<Rrl>,
    /// TCP clients served at once; at the cap the most stalled one is closed.
    pub max_tcp: usize,
    /// `R:` and `T:` queries waiting on partners at once; past it: SERVFAIL.
    pub relay_in_flight: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            control: ControlLimits::default(),
            query_log: None,
            tcp_idle: Duration::from_secs(10),
            relay_timeout: Duration::from_secs(2),
            triangle: None,
            rrl: None,
            max_tcp: DEFAULT_MAX_TCP,
            relay_in_flight: DEFAULT_RELAY_IN_FLIGHT,
        }
    }
}

/// What every listener task shares.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    pub(crate) engine: Arc<Engine>,
    pub(crate) observer: Option<Observer>,
    pub(crate) triangle: Option<Arc<Triangle>>,
    pub(crate) relay_timeout: Duration,
    pub(crate) tcp_idle: Duration,
    pub(crate) rrl: Option<Rrl>,
    pub(crate) limits: Limits,
}

/// Serves `listeners` with `engine` until `shutdown` is cancelled, then waits for its
/// tasks and flushes the query log.
pub async fn run(
    listeners: Listeners,
    engine: Arc<Engine>,
    options: Options,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let (metrics, mut registry) = Metrics::new();
    EngineState::register(Arc::clone(&engine), &mut registry);
    let limits = Limits::new(options.relay_in_flight);
    limits.register(&mut registry);
    let tcp_cap = broker_net::ConnectionCap::new(options.max_tcp);
    tcp_cap.register(&mut registry, "tcp");
    let control_cap = broker_net::ConnectionCap::new(options.control.max_connections);
    control_cap.register(&mut registry, "control");
    let log = options
        .query_log
        .as_deref()
        .map(observe::open_log)
        .transpose()?;
    let mut logger = None;
    let observer = if log.is_some() || listeners.metrics.is_some() {
        let (observer, task) = observe::start(metrics, log, 1 << 16);
        logger = Some(tokio::spawn(task));
        Some(observer)
    } else {
        None
    };
    let ctx = Context {
        engine: Arc::clone(&engine),
        observer,
        triangle: options.triangle.clone(),
        relay_timeout: options.relay_timeout,
        tcp_idle: options.tcp_idle,
        rrl: options.rrl,
        limits,
    };

    let mut tasks = JoinSet::new();
    // UDP answers run on threads of their own (batched system calls, see `udp`).
    let stop_udp = Arc::new(AtomicBool::new(false));
    let mut udp_threads = Vec::new();
    for (i, socket) in listeners.udp.into_iter().enumerate() {
        let (ctx, rt, stop) = (
            ctx.clone(),
            tokio::runtime::Handle::current(),
            Arc::clone(&stop_udp),
        );
        udp_threads.push(
            std::thread::Builder::new()
                .name(format!("dns-udp-{i}"))
                .spawn(move || udp::serve(socket, ctx, rt, stop))?,
        );
    }
    for listener in listeners.tcp {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tasks.spawn(tcp::serve(
            listener,
            ctx.clone(),
            tcp_cap.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(listener) = listeners.control {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tasks.spawn(control::serve(
            listener,
            Arc::clone(&engine),
            options.control.clone(),
            control_cap.clone(),
            ctx.limits.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(listener) = listeners.metrics {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tasks.spawn(metrics_http::serve(
            listener,
            Arc::new(registry),
            ctx.observer.clone(),
            shutdown.clone(),
        ));
    }
    drop(ctx);
    shutdown.cancelled().await;
    stop_udp.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || {
        for t in udp_threads {
            let _ = t.join();
        }
    })
    .await;
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!(error = %e, "engine task failed");
        }
    }
    // Every sender is gone with the listeners: the logger drains, flushes and ends.
    if let Some(logger) = logger {
        let _ = logger.await;
    }
    Ok(())
}
