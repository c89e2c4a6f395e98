//! Accept loops: TCP (optionally TLS) connections served by hyper's HTTP/1 + HTTP/2
//! builder on broker-net's loop (spec §11: a connection cap that closes the most stalled
//! client, accept back-off, read and write deadlines), stopped by the shutdown token,
//! with in-flight connections allowed to finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use broker_net::{ConnectionCap, Deadlines};

use super::body::EdgeBody;

/// How long a client may take to send a request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection on which nothing moves either way this long is closed (an idle
/// keep-alive; longer than any origin deadline, so a client waiting on a slow origin is
/// not cut).
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a client may leave our writes unread (the edge's; the front sets its own).
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves `listener` until `shutdown`, each request answered by `handler(peer, request)`,
/// at most `cap` connections (shared by the listeners given the same cap); connections
/// run on `tracker` so the caller can wait for them.
pub(crate) async fn accept_loop<H, F>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: H,
    cap: ConnectionCap,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) where
    H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<EdgeBody>> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A client that never finishes its request head is dropped (slowloris).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let write = Some(WRITE_TIMEOUT);
    accept_loop_with(
        builder, write, listener, tls, handler, cap, shutdown, tracker,
    )
    .await;
}

/// [`accept_loop`] with the caller's connection settings and body type (the front proxy
/// shares it with its own limits and streamed bodies); with `write_stall`, a connection
/// whose writes make no progress for that long is closed.
#[allow(
    clippy::too_many_arguments,
    reason = "one loop for every proxy listener; each argument is one of its parts"
)]
pub(crate) async fn accept_loop_with<H, F, B>(
    builder: Arc<auto::Builder<TokioExecutor>>,
    write_stall: Option<Duration>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: H,
    cap: ConnectionCap,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) where
    H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conns = tracker.clone();
    broker_net::serve(
        listener,
        cap,
        shutdown.clone(),
        conns,
        |stream, peer, slot| {
            let stream = Deadlines::new(stream, Some(IDLE_TIMEOUT), write_stall).track(&slot);
            // A whole request head is progress too (see `serve_one`).
            let progress = slot.progress_handle();
            let handler = handler.clone();
            let shutdown = shutdown.clone();
            let builder = builder.clone();
            let tls = tls.clone();
            async move {
                let _slot = slot;
                let handler = move |peer, req| {
                    progress.mark();
                    handler(peer, req)
                };
                match tls {
                    None => serve_one(&builder, stream, peer, handler, shutdown).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        {
                            Ok(Ok(stream)) => {
                                serve_one(&builder, stream, peer, handler, shutdown).await
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "tls handshake failed")
                            }
                            Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                        }
                    }
                }
            }
        },
    )
    .await;
}

async fn serve_one<S, H, F, B>(
    builder: &auto::Builder<TokioExecutor>,
    stream: S,
    peer: SocketAddr,
    handler: H,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = service_fn(move |req| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler(peer, req).await) }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
