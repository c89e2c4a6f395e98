//! Test harness: an origin (hyper, port 0) that records what it is asked, the front
//! proxy of a small deployment on port 0 with a plan made from spec §2 files, and a raw
//! HTTP/1 client that can connect from any 127/8 address.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use broker_config::deploy::Deployment;
use broker_proxy::front::{FrontSettings, run};
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

use crate::plan_front::{self, PlanFiles};

/// Bodies the test origin sends.
pub(crate) type TestBody = BoxBody<Bytes, Infallible>;

pub(crate) fn full(b: impl Into<Bytes>) -> TestBody {
    Full::new(b.into()).boxed()
}

/// A response with these headers and body.
pub(crate) fn page(headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<TestBody> {
    let mut b = Response::builder();
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(full(body)).unwrap()
}

/// What the origin saw of one request.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
}

/// An HTTP/1 origin answering with `handler`, recording requests.
pub(crate) struct Origin {
    pub(crate) addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _stop: tokio_util::sync::DropGuard,
}

impl Origin {
    pub(crate) async fn start<H, F>(handler: H) -> Self
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Response<TestBody>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let (s, token) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    () = token.cancelled() => return,
                    a = listener.accept() => a.unwrap(),
                };
                let (handler, seen) = (handler.clone(), s.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        seen.lock().unwrap().push(Seen {
                            target: req.uri().to_string(),
                            headers: req.headers().clone(),
                        });
                        let f = handler(req);
                        async move { Ok::<_, Infallible>(f.await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            seen,
            _stop: stop.drop_guard(),
        }
    }

    /// An origin that always answers with a copy of `resp`'s status, headers and body.
    pub(crate) async fn fixed(headers: &[(&str, &str)], body: &'static [u8]) -> Self {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start(move |_req| {
            let headers = headers.clone();
            async move {
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                page(&h, Bytes::from_static(body))
            }
        })
        .await
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Regions of the test plan: OFFLOAD → all to G, HOME → all to C, MIX → half each.
pub(crate) const REGIONS: &str = "ADD REG OFFLOAD { 10.1.0.0, 16; }! ADD REG HOME { 10.2.0.0, 16; }! ADD REG MIX { 10.3.0.0, 16; }!";
const CDNS: &str = "ADD CDN C:400000 {A:127.0.0.1} [ HOME:90; MIX:90; DEFAULT:90; ]!
                    ADD CDN G:400000 {A:127.0.0.2} [ OFFLOAD:90; MIX:90; ]!";
const CUSTOMERS: &str = "ADD CST img.xyz.com [ C; G; ]!";

/// A client address in the region that offloads everything to G.
pub(crate) const TO_G: &str = "10.1.0.9";
/// A client address in the region C keeps.
pub(crate) const TO_C: &str = "10.2.0.9";

/// The partner host G's form uses in the tests.
pub(crate) const G_HOST: &str = "g.example:8090";

/// The deployment of C with one site, `www.xyz.com`, whose `img.xyz.com` may go to G.
pub(crate) fn deployment(origin: SocketAddr, proxy_extra: &str) -> Deployment {
    let text = format!(
        r#"
[node]
name = "C"
[proxy]
listen = "127.0.0.1:0"
special_ports = {{ G = "127.0.0.1:0" }}
metrics = "127.0.0.1:0"
{proxy_extra}
[[partner]]
name = "G"
form = "embedded"
host = "{G_HOST}"
[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
origin = {{ "www.xyz.com" = "http://{origin}", "img.xyz.com" = "http://{origin}" }}
"#
    );
    Deployment::parse(&text, "c.toml".as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

/// A running front proxy.
pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    pub(crate) special: SocketAddr,
    pub(crate) metrics: SocketAddr,
    pub(crate) https: Option<SocketAddr>,
    pub(crate) stop: CancellationToken,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

/// Starts the front proxy of `d` with the test plan.
pub(crate) async fn start(d: &Deployment, settings: FrontSettings) -> Proxy {
    let files = PlanFiles {
        regions: REGIONS,
        cdns: CDNS,
        customers: CUSTOMERS,
    };
    let (front, listeners) = plan_front::bind(d, &files, settings).await;
    let stop = CancellationToken::new();
    Proxy {
        addr: listeners.http_addr(),
        special: listeners.special_addrs()[0].1,
        metrics: listeners.metrics_addr().unwrap(),
        https: listeners.https_addr(),
        stop: stop.clone(),
        task: tokio::spawn(run(listeners, front, stop)),
    }
}

/// Starts the proxy of the default deployment, trusting 127.0.0.1's X-Forwarded-For.
pub(crate) async fn start_default(origin: &Origin) -> Proxy {
    let d = deployment(origin.addr, "trusted_proxies = [\"127.0.0.1\"]");
    start(&d, FrontSettings::default()).await
}

/// A response as a client got it.
#[derive(Debug)]
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

/// Sends `req` over a fresh HTTP/1 connection from `from` (a 127/8 address) to `addr`.
pub(crate) async fn send_from(from: IpAddr, addr: SocketAddr, req: Request<Empty<Bytes>>) -> Got {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Got {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// GETs `path` of `www.xyz.com` through `addr` with these extra headers, from 127.0.0.1.
pub(crate) async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Got {
    send_from(
        "127.0.0.1".parse().unwrap(),
        addr,
        request("GET", path, headers),
    )
    .await
}

/// A request for `www.xyz.com`.
pub(crate) fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<Empty<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "www.xyz.com");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Empty::new()).unwrap()
}

/// An mpsc receiver as a stream of body frames.
pub(crate) struct ChannelFrames(pub(crate) tokio::sync::mpsc::Receiver<Bytes>);

impl futures_core::Stream for ChannelFrames {
    type Item = Result<hyper::body::Frame<Bytes>, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0
            .poll_recv(cx)
            .map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}
