//! Priority 5: alerts POSTed over HTTPS to the offloader's `alert` URL when its load
//! passes `capacity_kbps`, at most once per interval; none while under capacity.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use broker_config::status::{Alert, Figures, StatusReport};
use broker_proxy::edge::Regions;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::pki::{Pki, text};
use crate::support::{Origin, TestEdge, client, deployment, get, route};

/// An HTTPS alert receiver: every POST's (authorization, body) goes to the channel.
async fn receiver(pki: &Pki) -> (SocketAddr, mpsc::UnboundedReceiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |req: Request<Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let auth = req
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let _ = tx.send((auth, String::from_utf8_lossy(&body).into_owned()));
                        Ok::<_, Infallible>(Response::builder().status(204).body(text("")).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, rx)
}

async fn edge_with_alerts(
    pki: &Pki,
    origin: SocketAddr,
    alert: SocketAddr,
    capacity: u64,
) -> TestEdge {
    let extra = format!(
        "capacity_kbps = {capacity}\nalert = \"https://127.0.0.1:{}/alert\"\nca = \"{}\"\n",
        alert.port(),
        pki.ca.display()
    );
    TestEdge::start_with(
        &deployment(origin, 16, &extra),
        Regions::default_only(),
        None,
        |s| {
            s.alert_interval = Duration::from_secs(3600);
        },
    )
    .await
}

async fn wait_rounds(edge: &TestEdge, n: u64) {
    let mut rounds = edge.edge.alert_rounds();
    let start = *rounds.borrow_and_update();
    while *rounds.borrow_and_update() < start + n {
        rounds.changed().await.unwrap();
    }
}

#[tokio::test]
async fn load_over_capacity_raises_one_alert_per_interval() {
    let body: &'static str = Box::leak("a".repeat(25_000).into_boxed_str());
    let origin = Origin::start(vec![(
        "/obj",
        route(200, &[("cache-control", "max-age=600")], body),
    )])
    .await;
    let pki = Pki::new();
    let (alert_addr, mut alerts) = receiver(&pki).await;
    // 1 kbps reserved; 20 x 25 KB in a 10 s window is 400 kbps.
    let edge = edge_with_alerts(&pki, origin.addr, alert_addr, 1).await;
    let c = client();
    for _ in 0..20 {
        get(&c, edge.addr, "img.xyz.com", "/obj").await;
    }
    let (auth, body) = tokio::time::timeout(Duration::from_secs(20), alerts.recv())
        .await
        .expect("an alert")
        .unwrap();
    assert_eq!(auth, "Bearer secret-c-to-g");
    let alert = Alert::parse(body.as_bytes()).unwrap();
    assert_eq!(alert.cdn.as_str(), "G");
    match alert.report {
        StatusReport::Load(Figures::Aggregate(load)) => assert!(load.kbps >= 100, "{body}"),
        other => panic!("unexpected report {other:?}"),
    }
    // The load stays over capacity for three more rounds: no second alert in the interval.
    for _ in 0..3 {
        get(&c, edge.addr, "img.xyz.com", "/obj").await;
        wait_rounds(&edge, 1).await;
    }
    assert!(alerts.try_recv().is_err());
}

#[tokio::test]
async fn load_under_capacity_raises_none() {
    let origin = Origin::start(vec![]).await;
    let pki = Pki::new();
    let (alert_addr, mut alerts) = receiver(&pki).await;
    let edge = edge_with_alerts(&pki, origin.addr, alert_addr, 100_000).await;
    let c = client();
    for _ in 0..20 {
        get(&c, edge.addr, "img.xyz.com", "/small").await;
    }
    wait_rounds(&edge, 3).await;
    assert!(alerts.try_recv().is_err());
}

#[tokio::test]
async fn a_stopping_edge_says_it_is_unavailable() {
    let origin = Origin::start(vec![]).await;
    let pki = Pki::new();
    let (alert_addr, mut alerts) = receiver(&pki).await;
    let edge = edge_with_alerts(&pki, origin.addr, alert_addr, 100_000).await;
    wait_rounds(&edge, 1).await;
    assert!(alerts.try_recv().is_err());
    edge.stop.cancel();
    let (auth, body) = tokio::time::timeout(Duration::from_secs(20), alerts.recv())
        .await
        .expect("an Unavailable alert")
        .unwrap();
    assert_eq!(
        (auth.as_str(), body.as_str()),
        ("Bearer secret-c-to-g", "G Unavailable")
    );
    assert_eq!(
        Alert::parse(body.as_bytes()).unwrap().report,
        StatusReport::Unavailable
    );
}
