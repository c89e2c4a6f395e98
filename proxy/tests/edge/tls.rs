//! Priority 7: the partner host names over TLS: certificate by SNI (exact and wildcard),
//! HTTP/2 by ALPN, the forms decoded as over plain HTTP.

use std::sync::Arc;

use broker_proxy::edge::{EdgeListeners, SiteCert, run};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use tokio_util::sync::CancellationToken;

use crate::pki::{Pki, der};
use crate::support::{Origin, deployment};

/// Connects with SNI `name` and ALPN h2, GETs `path` with `:authority` = `name`; returns
/// (negotiated ALPN, served certificate, status, body).
async fn h2_get(
    pki: &Pki,
    addr: std::net::SocketAddr,
    name: &str,
    path: &str,
) -> (Vec<u8>, Vec<u8>, u16, String) {
    let mut config = pki.client_config();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from(name.to_owned()).unwrap(), tcp)
        .await
        .unwrap();
    let (_, session) = tls.get_ref();
    let alpn = session.alpn_protocol().unwrap_or_default().to_vec();
    let cert = session.peer_certificates().unwrap()[0].to_vec();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("https://{name}{path}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        alpn,
        cert,
        status,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn partner_names_are_served_over_tls_and_http2_with_the_sni_certificate() {
    let origin = Origin::start(vec![]).await;
    let pki = Pki::new();
    let (embedded_cert, embedded_key) = pki.leaf(
        "embedded",
        &["foo.cdn-g.example", "*.xyz.com.c.cdn-g.example"],
    );
    let (table_cert, table_key) = pki.leaf("table", &["xyz.cdn-g.example"]);
    let sites = [
        SiteCert {
            names: vec![
                "foo.cdn-g.example".into(),
                "*.xyz.com.c.cdn-g.example".into(),
            ],
            cert: embedded_cert.clone(),
            key: embedded_key,
        },
        SiteCert {
            names: vec!["xyz.cdn-g.example".into()],
            cert: table_cert.clone(),
            key: table_key,
        },
    ];
    let d = broker_config::deploy::Deployment::parse(
        &deployment(origin.addr, 16, ""),
        "t.toml".as_ref(),
    )
    .unwrap();
    let settings = broker_proxy::edge::EdgeSettings::from_role(
        &d.node.name,
        d.edge.as_ref().unwrap(),
        broker_proxy::edge::Regions::default_only(),
    )
    .unwrap();
    let edge = Arc::new(broker_proxy::edge::Edge::new(settings).unwrap());
    let listeners = EdgeListeners::bind("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap()
        .with_https("127.0.0.1:0".parse().unwrap(), &sites)
        .await
        .unwrap();
    let addr = listeners.https_addr().unwrap();
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    tokio::spawn(run(listeners, edge, stop));

    let (alpn, cert, status, body) =
        h2_get(&pki, addr, "foo.cdn-g.example", "/img.xyz.com/a.gif").await;
    assert_eq!(
        (alpn.as_slice(), status, body.as_str()),
        (&b"h2"[..], 200, "host=img.xyz.com path=/a.gif")
    );
    assert_eq!(cert, der(&embedded_cert));
    let (_, cert, status, body) = h2_get(&pki, addr, "img.xyz.com.c.cdn-g.example", "/b.gif").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "host=img.xyz.com path=/b.gif")
    );
    assert_eq!(cert, der(&embedded_cert), "wildcard");
    let (_, cert, status, _) = h2_get(&pki, addr, "xyz.cdn-g.example", "/c.gif").await;
    assert_eq!(status, 200);
    assert_eq!(cert, der(&table_cert));
    // TLS changes nothing of the guard.
    let (_, _, status, _) = h2_get(&pki, addr, "foo.cdn-g.example", "/127.0.0.1/x").await;
    assert_eq!(status, 403);
    assert_eq!(origin.requests(), 3);
}

#[tokio::test]
async fn https_back_doors_are_fetched_over_tls_keeping_the_origin_host() {
    use std::convert::Infallible;
    let pki = Pki::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let host = req
                            .headers()
                            .get("host")
                            .unwrap()
                            .to_str()
                            .unwrap()
                            .to_owned();
                        let body = format!("tls origin host={host} path={}", req.uri());
                        Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(
                            Bytes::from(body),
                        )))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    let toml = deployment(origin, 16, "").replace(
        &format!("\"http://{origin}\""),
        &format!("\"https://{origin}\""),
    );
    let edge = crate::support::TestEdge::start_with(
        &toml,
        broker_proxy::edge::Regions::default_only(),
        None,
        |s| {
            s.origin_ca = Some(pki.ca.clone());
        },
    )
    .await;
    let got = crate::support::get(
        &crate::support::client(),
        edge.addr,
        "foo.cdn-g.example",
        "/img.xyz.com/s.gif",
    )
    .await;
    assert_eq!(
        (got.status.as_u16(), got.text().as_str()),
        (200, "tls origin host=img.xyz.com path=/s.gif")
    );
}
