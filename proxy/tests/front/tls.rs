//! Sites over HTTPS: the certificate chosen by SNI among `[proxy] tls`, HTTP/2 or
//! HTTP/1.1 by ALPN, an `https://` origin trusted through `origin_ca`, and `https`
//! partner URLs on an `https` page.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use broker_config::deploy::Deployment;
use broker_proxy::front::FrontSettings;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use tokio::net::TcpListener;

use crate::pki::{Pki, der};
use crate::support::{TO_G, start};

const PAGE: &str = "<img src=\"http://img.xyz.com/a.png\"><img src=\"//img.xyz.com/b.png\">";
const PAGE_FOR_G: &str = "<img src=\"https://g.example:8090/img.xyz.com/a.png\"><img src=\"//g.example:8090/img.xyz.com/b.png\">";

/// An HTTPS origin (the PKI's leaf for 127.0.0.1) answering PAGE, recording headers.
async fn tls_origin(pki: &Pki, seen: Arc<Mutex<Vec<HeaderMap>>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |req: Request<Incoming>| {
                    seen.lock().unwrap().push(req.headers().clone());
                    async {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "text/html")
                                .body(Full::new(Bytes::from_static(PAGE.as_bytes())))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// Connects with SNI `name` offering `alpn`, GETs `/`; returns (negotiated ALPN, served
/// certificate, HTTP version, body).
async fn fetch(
    pki: &Pki,
    addr: SocketAddr,
    name: &str,
    alpn: &[u8],
) -> (Vec<u8>, Vec<u8>, http::Version, String) {
    let mut config = pki.client_config();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from(name.to_owned()).unwrap(), tcp)
        .await
        .unwrap();
    let (_, session) = tls.get_ref();
    let negotiated = session.alpn_protocol().unwrap_or_default().to_vec();
    let cert = session.peer_certificates().unwrap()[0].to_vec();
    let req = Request::get(format!("https://{name}/"))
        .header("x-forwarded-for", TO_G)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = if negotiated == b"h2" {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(conn);
        send.send_request(req).await.unwrap()
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let (mut parts, body) = req.into_parts();
        parts.uri = "/".parse().unwrap();
        parts.headers.insert("host", name.parse().unwrap());
        send.send_request(Request::from_parts(parts, body))
            .await
            .unwrap()
    };
    let version = resp.version();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        negotiated,
        cert,
        version,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn https_sites_by_sni_with_h2_and_an_https_origin() {
    let pki = Pki::new();
    let (xyz_cert, xyz_key) = pki.leaf("xyz", &["www.xyz.com"]);
    let (abc_cert, abc_key) = pki.leaf("abc", &["*.abc.com"]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let origin = tls_origin(&pki, seen.clone()).await;
    let text = format!(
        r#"
[node]
name = "C"
[proxy]
listen = "127.0.0.1:0"
special_ports = {{ G = "127.0.0.1:0" }}
metrics = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1"]
https_listen = "127.0.0.1:0"
origin_ca = "{ca}"
tls = [
  {{ names = ["www.xyz.com"], cert = "{xc}", key = "{xk}" }},
  {{ names = ["*.abc.com"], cert = "{ac}", key = "{ak}" }},
]
[[partner]]
name = "G"
form = "embedded"
host = "g.example:8090"
[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
origin = {{ "www.xyz.com" = "https://localhost:{port}" }}
[[customer]]
name = "abc"
site = ["www.abc.com"]
origin = {{ "www.abc.com" = "https://localhost:{port}" }}
"#,
        ca = pki.ca.display(),
        xc = xyz_cert.display(),
        xk = xyz_key.display(),
        ac = abc_cert.display(),
        ak = abc_key.display(),
        port = origin.port(),
    );
    let d = Deployment::parse(&text, "c.toml".as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let proxy = start(&d, FrontSettings::default()).await;
    let https = proxy.https.unwrap();

    let (alpn, cert, version, body) = fetch(&pki, https, "www.xyz.com", b"h2").await;
    assert_eq!(alpn, b"h2");
    assert_eq!(version, http::Version::HTTP_2);
    assert_eq!(cert, der(&xyz_cert));
    assert_eq!(body, PAGE_FOR_G, "an https page gets https partner URLs");

    let (alpn, cert, version, body) = fetch(&pki, https, "www.abc.com", b"http/1.1").await;
    assert_eq!(alpn, b"http/1.1");
    assert_eq!(version, http::Version::HTTP_11);
    assert_eq!(cert, der(&abc_cert));
    assert_eq!(body, PAGE, "abc offloads nothing");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0]["host"], "www.xyz.com");
    assert_eq!(seen[0]["x-forwarded-proto"], "https");
    assert_eq!(seen[1]["host"], "www.abc.com");
}
