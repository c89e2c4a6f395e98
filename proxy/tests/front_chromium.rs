//! A real browser through the front proxy: headless Chromium loads `www.xyz.com` via the
//! proxy (host names mapped to 127.0.0.1 ports by `--host-resolver-rules`), the page's
//! images are rewritten to partner G's embedded form and fetched from a real partner
//! edge, which fills them from the origin's back door. `img.xyz.com` itself maps to a
//! closed port: an image left unrewritten cannot load. The page's own script records,
//! after `load`, whether each image loaded and from where; `--dump-dom` hands that back.

#[path = "front/plan_front.rs"]
mod plan_front;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use broker_config::deploy::Deployment;
use broker_proxy::edge::{Edge, EdgeListeners, EdgeSettings, Regions};
use broker_proxy::front::FrontSettings;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::plan_front::PlanFiles;

/// A 1×1 transparent GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>xyz</title></head><body>
<img src="http://img.xyz.com/pic1.gif">
<img src="//img.xyz.com/pic2.gif">
<img srcset="http://img.xyz.com/pic3.gif 1x" alt="three">
<picture><source srcset="http://img.xyz.com/pic4.gif"><img src="http://img.xyz.com/none.gif"></picture>
<pre id="result">pending</pre>
<script>
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('img').forEach(function (img) {
    out.push((img.complete && img.naturalWidth > 0 ? 'ok ' : 'FAIL ') + img.currentSrc);
  });
  document.getElementById('result').textContent = out.join('|');
});
</script></body></html>"#;

/// The customer's origin: the page, and GIFs for the edge's back-door fetches.
async fn origin(gif_fetches: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let fetches = gif_fetches.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let fetches = fetches.clone();
                    async move {
                        let host = req.headers().get("host").cloned();
                        let resp = if req.uri().path().ends_with(".gif") {
                            assert_eq!(host.unwrap(), "img.xyz.com");
                            fetches.fetch_add(1, Ordering::SeqCst);
                            Response::builder()
                                .header("content-type", "image/gif")
                                .header("cache-control", "max-age=60")
                                .body(Full::new(Bytes::from_static(GIF)))
                        } else {
                            Response::builder()
                                .header("content-type", "text/html; charset=utf-8")
                                .body(Full::new(Bytes::from_static(PAGE.as_bytes())))
                        };
                        Ok::<_, Infallible>(resp.unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Partner G's edge, serving C's embedded form under `g.example`.
async fn edge(origin: SocketAddr, stop: CancellationToken) -> SocketAddr {
    let text = format!(
        "[node]\nname = \"G\"\n[edge]\nlisten = \"127.0.0.1:0\"\n[[edge.offloader]]\nname = \"C\"\n\
         token = \"t\"\nembedded_hosts = [\"g.example\"]\norigins = {{ \"img.xyz.com\" = \"http://{origin}\" }}\n"
    );
    let d = Deployment::parse(&text, "g.toml".as_ref()).unwrap();
    let role = d.edge.as_ref().unwrap();
    let settings = EdgeSettings::from_role(&d.node.name, role, Regions::default_only()).unwrap();
    let edge = Arc::new(Edge::new(settings).unwrap());
    let listeners = EdgeListeners::bind(role.listen, None).await.unwrap();
    let addr = listeners.http_addr();
    tokio::spawn(broker_proxy::edge::run(listeners, edge, stop));
    addr
}

/// C's front proxy: 127.0.0.0/8 is a region that G serves alone.
async fn front(origin: SocketAddr, stop: CancellationToken) -> SocketAddr {
    let text = format!(
        "[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1:0\"\n\
         [[partner]]\nname = \"G\"\nform = \"embedded\"\nhost = \"g.example\"\n\
         [[customer]]\nname = \"xyz\"\nsite = [\"www.xyz.com\"]\noffload = [\"img.xyz.com\"]\n\
         origin = {{ \"www.xyz.com\" = \"http://{origin}\" }}\n"
    );
    let d = Deployment::parse(&text, "c.toml".as_ref()).unwrap();
    let files = PlanFiles {
        regions: "ADD REG LOCAL { 127.0.0.0, 8; }!",
        cdns: "ADD CDN C:400000 {A:127.0.0.1} [ DEFAULT:90; ]! ADD CDN G:400000 {A:127.0.0.2} [ LOCAL:90; ]!",
        customers: "ADD CST img.xyz.com [ C; G; ]!",
    };
    let (front, listeners) = plan_front::bind(&d, &files, FrontSettings::default()).await;
    let addr = listeners.http_addr();
    tokio::spawn(broker_proxy::front::run(listeners, front, stop));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_loads_every_image_from_the_partner() {
    let gif_fetches = Arc::new(AtomicUsize::new(0));
    let origin = origin(gif_fetches.clone()).await;
    let stop = CancellationToken::new();
    let edge = edge(origin, stop.clone()).await;
    let proxy = front(origin, stop.clone()).await;
    // A port with nothing behind it, for the unrewritten host.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let profile = tempfile::tempdir().unwrap();
    let rules = format!(
        "MAP www.xyz.com {proxy}, MAP g.example {edge}, MAP img.xyz.com {closed_addr}, MAP * ~NOTFOUND"
    );
    let output = tokio::process::Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--host-resolver-rules={rules}"))
        .args(["--dump-dom", "http://www.xyz.com/"])
        .kill_on_drop(true)
        .output()
        .await
        .expect("chromium must be installed (scripts/setup)");
    stop.cancel();
    let dom = String::from_utf8_lossy(&output.stdout);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "no result in the DOM:\n{dom}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let images: Vec<&str> = result.split('|').collect();
    assert_eq!(images.len(), 4, "{result}");
    for (i, line) in images.iter().enumerate() {
        let want = format!("ok http://g.example/img.xyz.com/pic{}.gif", i + 1);
        assert_eq!(*line, want, "image {i}: {result}");
    }
    // The edge filled each image once from the origin's back door.
    assert_eq!(gif_fetches.load(Ordering::SeqCst), 4);
}
