//! The API (plain HTTP) and the alert receiver (HTTPS) on broker-net's accept loop: hyper
//! with HTTP/1.1 and HTTP/2, one connection cap with the management port (the most
//! stalled closed at the cap), a request head deadline, read and write deadlines, every
//! connection dropped on shutdown. Plus small response helpers; handlers check the
//! credential before they read a body (spec §11).

use std::convert::Infallible;
use std::time::Duration;

use broker_net::{ConnectionCap, Deadlines};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Every response body here is small and whole.
pub(crate) type Body = Full<Bytes>;

/// A TLS handshake or a request head must complete within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A read or a write of a connection waiting this long closes it.
const IO_DEADLINE: Duration = Duration::from_secs(30);

/// Serves `listener` (over TLS when `tls` is given) with `handler` until `shutdown`, at
/// most `cap` connections (shared with the other control ports).
pub(crate) async fn serve<F, Fut>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: F,
    cap: ConnectionCap,
    shutdown: CancellationToken,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let tracker = TaskTracker::new();
    broker_net::serve(
        listener,
        cap,
        shutdown.clone(),
        tracker.clone(),
        |stream, _peer, slot| {
            let handler = handler.clone();
            let tls = tls.clone();
            let shutdown = shutdown.clone();
            async move {
                let stream =
                    Deadlines::new(stream, Some(IO_DEADLINE), Some(IO_DEADLINE)).track(&slot);
                // A whole request head is progress, as is every write.
                let progress = slot.progress_handle();
                let service = service_fn(move |req| {
                    progress.mark();
                    let h = handler.clone();
                    async move { Ok::<_, Infallible>(h(req).await) }
                });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HANDSHAKE_TIMEOUT);
                match tls {
                    Some(acceptor) => {
                        let Ok(Ok(stream)) =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        else {
                            return;
                        };
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            _ = conn => {}
                            () = shutdown.cancelled() => {}
                        }
                    }
                    None => {
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        tokio::select! {
                            _ = conn => {}
                            () = shutdown.cancelled() => {}
                        }
                    }
                }
            }
        },
    )
    .await;
    tracker.close();
}

/// A `text/plain` response.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body.into())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// An `application/json` response.
pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec_pretty(value) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            let mut resp = Response::new(Full::new(Bytes::from(bytes)));
            *resp.status_mut() = status;
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

/// The whole body, at most `limit` bytes (else 413), within `deadline` (else 408: a body
/// trickled in holds its connection no longer). Called only once the request's
/// credential is known good.
pub(crate) async fn read_body(
    req: Request<Incoming>,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, Response<Body>> {
    match tokio::time::timeout(deadline, Limited::new(req.into_body(), limit).collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(_)) => Err(text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {limit} bytes or broken\n"),
        )),
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {deadline:?}\n"),
        )),
    }
}

/// `resp`, a refusal, once a short body still in flight is read (at most
/// [`REFUSAL_DRAIN`] bytes, within a second): over HTTP/2 an answer while the body is
/// unread resets the stream, and a client reports the reset instead of the status. A
/// stranger still makes us read no more than that.
pub(crate) async fn refuse(req: Request<Incoming>, resp: Response<Body>) -> Response<Body> {
    let _ = read_body(req, REFUSAL_DRAIN, Duration::from_secs(1)).await;
    resp
}

/// What a refused request's body may cost us.
pub(crate) const REFUSAL_DRAIN: usize = 1024;

/// The bearer token of a request, if it carries one.
pub(crate) fn bearer<B>(req: &Request<B>) -> Option<&str> {
    let value = req
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}
