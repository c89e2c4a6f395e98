//! `GET /metrics` in Prometheus text format, over a minimal HTTP/1.1 responder (one
//! request per connection; nothing else is served).

use std::sync::Arc;
use std::time::Duration;

use broker_net::{ConnectionCap, Deadlines};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::observe::Observer;

/// Scrapers served at once; at the cap the most stalled is closed.
const MAX_CONNECTIONS: usize = 16;

/// Serves the registry until `shutdown`, on broker-net's accept loop.
pub(crate) async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    observer: Option<Observer>,
    shutdown: CancellationToken,
) {
    let tracker = TaskTracker::new();
    let cap = ConnectionCap::new(MAX_CONNECTIONS);
    broker_net::serve(listener, cap, shutdown, tracker, |stream, _, slot| {
        let registry = Arc::clone(&registry);
        let observer = observer.clone();
        async move {
            let limit = Some(Duration::from_secs(10));
            let stream = Deadlines::new(stream, limit, limit).track(&slot);
            let work = respond(stream, &registry, observer.as_ref());
            let _ = tokio::time::timeout(Duration::from_secs(10), work).await;
        }
    })
    .await;
}

async fn respond(
    mut stream: Deadlines<TcpStream>,
    registry: &Registry,
    observer: Option<&Observer>,
) -> std::io::Result<()> {
    let mut req = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || req.len() > 16 * 1024 {
            return Ok(());
        }
        req.extend_from_slice(&chunk[..n]);
    }
    let line = req.split(|&b| b == b'\r').next().unwrap_or_default();
    let (status, body) = if line.starts_with(b"GET /metrics ") || line.starts_with(b"GET / ") {
        if let Some(o) = observer {
            o.settle().await;
        }
        let mut body = String::new();
        match prometheus_client::encoding::text::encode(&mut body, registry) {
            Ok(()) => ("200 OK", body),
            Err(_) => ("500 Internal Server Error", String::new()),
        }
    } else {
        ("404 Not Found", "only GET /metrics is served\n".to_owned())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
