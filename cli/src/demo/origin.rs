//! The demo's origin web server: xyz's real site, answering for `www.xyz.com` and
//! `img.xyz.com` by the Host header on one address, with the validators and freshness a
//! CDN cache needs (ETag, Cache-Control, 304 on If-None-Match).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HOST, HeaderValue, IF_NONE_MATCH,
};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::site::{Catalog, Resource};

/// How long open connections may finish after shutdown.
const GRACE: Duration = Duration::from_secs(2);

/// The origin, bound and ready to serve.
pub(crate) struct Origin {
    listener: TcpListener,
    files: Arc<Catalog>,
}

impl Origin {
    /// Binds `addr` to serve `files`.
    pub(crate) async fn bind(addr: SocketAddr, files: Catalog) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("origin: binding {addr}"))?;
        Ok(Self {
            listener,
            files: Arc::new(files),
        })
    }

    /// Where it listens.
    #[cfg(test)]
    pub(crate) fn addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`, then gives open connections a short grace.
    pub(crate) async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let tracker = TaskTracker::new();
        loop {
            let (stream, _) = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    // A failed accept (e.g. out of descriptors) is about that one client.
                    Err(e) => { tracing::warn!("origin: accept: {e}"); continue; }
                },
            };
            let files = Arc::clone(&self.files);
            let shutdown = shutdown.clone();
            tracker.spawn(async move {
                let service = service_fn(move |req| {
                    let files = Arc::clone(&files);
                    async move { Ok::<_, Infallible>(answer(&files, &req)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    () = shutdown.cancelled() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            });
        }
        tracker.close();
        let _ = tokio::time::timeout(GRACE, tracker.wait()).await;
        Ok(())
    }
}

/// The response to one request.
fn answer(files: &Catalog, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
    }
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or("");
    // The port is not part of the site's identity here: one origin, any port.
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let host = host.to_ascii_lowercase();
    let Some(file) = files.get(&(host.as_str(), req.uri().path())) else {
        return plain(StatusCode::NOT_FOUND, "no such file on this origin\n");
    };
    let etag = HeaderValue::from_str(&file.etag).ok();
    let fresh = req
        .headers()
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == file.etag || tag.trim() == "*");
    let mut resp = if fresh {
        let mut r = Response::new(Full::default());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else if req.method() == Method::HEAD {
        let mut r = Response::new(Full::default());
        r.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(file.body.len()));
        r
    } else {
        Response::new(Full::new(file.body.clone()))
    };
    headers(resp.headers_mut(), file, etag);
    resp
}

fn headers(h: &mut http::HeaderMap, file: &Resource, etag: Option<HeaderValue>) {
    h.insert(CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static(file.cache_control));
    if let Some(etag) = etag {
        h.insert(ETAG, etag);
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn get(addr: SocketAddr, head: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Over a real socket: files by Host (port ignored), 304 on a matching ETag, 404 for
    /// an unknown host.
    #[tokio::test]
    async fn serves_by_host_with_validators() {
        let mut files = Catalog::new();
        let body = b"\x89PNG fake".to_vec();
        files.insert(
            ("img.xyz.com", "/a.png"),
            Resource {
                body: Bytes::from(body),
                content_type: "image/png",
                cache_control: "public, max-age=60",
                etag: "\"abc\"".to_owned(),
            },
        );
        let origin = Origin::bind("127.0.0.1:0".parse().unwrap(), files)
            .await
            .unwrap();
        let addr = origin.addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(origin.run(shutdown.clone()));

        let ok = get(addr, "GET /a.png HTTP/1.1\r\nHost: IMG.xyz.com:8000\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.contains("content-type: image/png"), "{ok}");
        assert!(ok.contains("etag: \"abc\""), "{ok}");
        assert!(ok.contains("cache-control: public, max-age=60"), "{ok}");
        assert!(
            ok.ends_with("\x7fPNG fake") || ok.ends_with("PNG fake"),
            "{ok}"
        );

        let cond = "GET /a.png HTTP/1.1\r\nHost: img.xyz.com\r\nIf-None-Match: \"x\", \"abc\"\r\n";
        let not_modified = get(addr, cond).await;
        assert!(not_modified.starts_with("HTTP/1.1 304"), "{not_modified}");

        let other = get(addr, "GET /a.png HTTP/1.1\r\nHost: evil.example\r\n").await;
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
        let post = get(
            addr,
            "POST /a.png HTTP/1.1\r\nHost: img.xyz.com\r\nContent-Length: 0\r\n",
        )
        .await;
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");

        shutdown.cancel();
        task.await.unwrap().unwrap();
    }
}
