//! Test harness: a counting origin, a forbidden listener, an edge on port 0, raw and
//! hyper clients. Everything binds port 0 on 127.0.0.1 and is ready once bound.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use broker_config::deploy::Deployment;
use broker_proxy::edge::{Edge, EdgeListeners, EdgeSettings, Regions, run};
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// What the origin saw of one request.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
}

pub(crate) type Route = Arc<dyn Fn(&Request<Incoming>) -> Response<Full<Bytes>> + Send + Sync>;

/// An HTTP origin that counts connections and records requests; routes by path.
pub(crate) struct Origin {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: Arc<AtomicUsize>,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    _stop: tokio_util::sync::DropGuard,
}

impl Origin {
    pub(crate) async fn start(routes: Vec<(&'static str, Route)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<HashMap<&'static str, Route>> = Arc::new(routes.into_iter().collect());
        let stop = CancellationToken::new();
        let (c, s, token) = (connections.clone(), seen.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    () = token.cancelled() => return,
                    a = listener.accept() => a.unwrap(),
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (routes, seen) = (routes.clone(), s.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let routes = routes.clone();
                        let seen = seen.clone();
                        async move {
                            seen.lock().unwrap().push(Seen {
                                path: req.uri().to_string(),
                                headers: req.headers().clone(),
                            });
                            let resp = match routes.get(req.uri().path()) {
                                Some(route) => route(&req),
                                None => default_route(&req),
                            };
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            connections,
            seen,
            _stop: stop.drop_guard(),
        }
    }

    pub(crate) fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Echoes what it was asked: `host=<Host> path=<target>`, cacheable for a minute.
pub(crate) fn default_route(req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let host = req
        .headers()
        .get("host")
        .map(|h| h.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = format!("host={host} path={}", req.uri());
    Response::builder()
        .header("cache-control", "max-age=60")
        .header("x-origin", "yes")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// A route answering with `status`, these headers and body.
pub(crate) fn route(
    status: u16,
    headers: &[(&'static str, &'static str)],
    body: &'static str,
) -> Route {
    let headers: Vec<(&'static str, &'static str)> = headers.to_vec();
    Arc::new(move |_req| {
        let mut b = Response::builder().status(status);
        for (k, v) in &headers {
            b = b.header(*k, *v);
        }
        b.body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    })
}

/// A listener that only counts the connections it accepts (the place hostile requests
/// would like to reach).
pub(crate) struct Forbidden {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: Arc<AtomicUsize>,
    _stop: tokio_util::sync::DropGuard,
}

impl Forbidden {
    pub(crate) async fn start(bind: &str) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let (c, token) = (connections.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => return,
                    a = listener.accept() => { if a.is_ok() { c.fetch_add(1, Ordering::SeqCst); } }
                }
            }
        });
        Self {
            addr,
            connections,
            _stop: stop.drop_guard(),
        }
    }
}

/// A running edge.
pub(crate) struct TestEdge {
    pub(crate) edge: Arc<Edge>,
    pub(crate) addr: SocketAddr,
    pub(crate) status: Option<SocketAddr>,
    /// The Prometheus counters (`GET /metrics`).
    pub(crate) metrics: SocketAddr,
    pub(crate) stop: CancellationToken,
    pub(crate) _dir: Option<tempfile::TempDir>,
}

impl Drop for TestEdge {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The `[node]` and `[edge]` tables of a deployment for an origin at `origin`, with
/// `extra` lines added to the offloader (e.g. `capacity_kbps = 1`).
pub(crate) fn deployment(origin: SocketAddr, cache_mb: u64, extra: &str) -> String {
    format!(
        r#"
[node]
name = "G"

[edge]
listen = "127.0.0.1:0"
cache_mb = {cache_mb}

[[edge.offloader]]
name = "C"
token = "secret-c-to-g"
embedded_hosts = ["foo.cdn-g.example"]
semantic_suffix = "c.cdn-g.example"
table = {{ "xyz.cdn-g.example" = "img.xyz.com" }}
origins = {{ "img.xyz.com" = "http://{origin}", "img.xyz.com:8080" = "http://{origin}" }}
{extra}
"#
    )
}

impl TestEdge {
    pub(crate) async fn start(toml: &str) -> Self {
        Self::start_with(toml, Regions::default_only(), None, |_| {}).await
    }

    /// Starts the edge of `toml` (status server too when `status_tls` is given).
    pub(crate) async fn start_with(
        toml: &str,
        regions: Regions,
        status_tls: Option<(tempfile::TempDir, std::path::PathBuf, std::path::PathBuf)>,
        tweak: impl FnOnce(&mut EdgeSettings),
    ) -> Self {
        let d = Deployment::parse(toml, "test.toml".as_ref()).expect("test deployment");
        let role = d.edge.expect("[edge]");
        let mut settings = EdgeSettings::from_role(&d.node.name, &role, regions).unwrap();
        tweak(&mut settings);
        let edge = Arc::new(Edge::new(settings).unwrap());
        let (dir, status) = match status_tls {
            Some((dir, cert, key)) => {
                (Some(dir), Some(("127.0.0.1:0".parse().unwrap(), cert, key)))
            }
            None => (None, None),
        };
        let listeners = EdgeListeners::bind(
            role.listen,
            status
                .as_ref()
                .map(|(a, c, k)| (*a, c.as_path(), k.as_path())),
        )
        .await
        .unwrap()
        .with_metrics("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
        let addr = listeners.http_addr();
        let status = listeners.status_addr();
        let metrics = listeners.metrics_addr().expect("bound");
        let stop = CancellationToken::new();
        tokio::spawn(run(listeners, edge.clone(), stop.clone()));
        Self {
            edge,
            addr,
            status,
            metrics,
            stop,
            _dir: dir,
        }
    }
}

/// A keep-alive HTTP/1 client.
pub(crate) fn client() -> Client<HttpConnector, Empty<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A response read whole.
pub(crate) struct Got {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Got {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// `method` `path` at `edge` with `Host: host` and extra headers.
pub(crate) async fn send(
    client: &Client<HttpConnector, Empty<Bytes>>,
    edge: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Got {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{edge}{path}"))
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Empty::new()).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    Got {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

pub(crate) async fn get(
    client: &Client<HttpConnector, Empty<Bytes>>,
    edge: SocketAddr,
    host: &str,
    path: &str,
) -> Got {
    send(client, edge, "GET", host, path, &[]).await
}

/// Writes `request` raw on a new connection and returns the status code of the answer
/// (0 when the edge closed without one).
pub(crate) async fn raw_status(edge: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(edge).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(2).any(|w| w == b"\r\n") {
                    break;
                }
            }
        }
    }
    let line = String::from_utf8_lossy(&buf);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
