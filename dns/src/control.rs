//! The control port (spec §1): one transaction per TCP connection, one connection at a
//! time (others wait in the listen queue, as in the seed).
//!
//! The engine reads until `END` or the peer's half-close, then commits and answers
//! `OK <generation>` or `ERR <LINE>:<COL> <message>`. A reset, an idle peer past the
//! timeout or an oversized transaction aborts it: nothing is applied.
//!
//! Fencing (spec §1, §8): a transaction may open with `EPOCH <n>!` (a control leader's
//! epoch; `broker_config::epoch_line` writes it). The engine remembers the highest epoch
//! it has committed, from none at start-up, across `RESET!`; it then refuses, changing
//! nothing:
//!
//! ```text
//! EPOCH 3!  ...   ->  ERR 1:1 stale epoch 3 (engine at 5)
//! ADD ...         ->  ERR 1:1 epoch required (engine at 5)
//! ```
//!
//! An equal or higher epoch commits and becomes the remembered one (only if its
//! transaction commits). `EPOCH` anywhere but first is a syntax error at its token. See
//! [`Engine::commit`](crate::Engine::commit) and [`Engine::epoch`](crate::Engine::epoch).

use std::sync::Arc;
use std::time::Duration;

use broker_config::EndDetector;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;

/// Limits of a control connection.
#[derive(Clone, Copy, Debug)]
pub struct ControlLimits {
    /// A connection silent this long is aborted.
    pub idle: Duration,
    /// Largest transaction accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for ControlLimits {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            max_bytes: 1 << 30,
        }
    }
}

/// Serves control connections one after another until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    engine: Arc<Engine>,
    limits: ControlLimits,
    shutdown: CancellationToken,
) {
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "control accept failed");
                    continue;
                }
            },
        };
        tracing::debug!(%peer, "control connection");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = transaction(stream, &engine, limits) => {}
        }
    }
}

enum Read {
    Complete(Vec<u8>),
    Aborted(&'static str),
    TooLarge,
}

async fn transaction(mut stream: TcpStream, engine: &Arc<Engine>, limits: ControlLimits) {
    let reply = match read_transaction(&mut stream, limits).await {
        Read::Complete(text) => match engine.commit(text).await {
            Ok(c) => format!("OK {}\n", c.generation),
            Err(e) => {
                tracing::info!(error = %e, "transaction refused");
                format!("{}\n", e.reply_line())
            }
        },
        Read::TooLarge => format!(
            "ERR 1:1 transaction over {} bytes: aborted\n",
            limits.max_bytes
        ),
        Read::Aborted(why) => {
            tracing::info!(why, "transaction aborted");
            // The peer may still read: tell it why (best effort).
            format!("ERR 1:1 {why}: transaction aborted\n")
        }
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_transaction(stream: &mut TcpStream, limits: ControlLimits) -> Read {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut end = EndDetector::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = match tokio::time::timeout(limits.idle, stream.read(&mut chunk)).await {
            Err(_) => return Read::Aborted("idle timeout"),
            Ok(Err(_)) => return Read::Aborted("connection reset"),
            Ok(Ok(0)) => return Read::Complete(buf),
            Ok(Ok(n)) => n,
        };
        if buf.len() + n > limits.max_bytes {
            return Read::TooLarge;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = end.feed(&buf) {
            buf.truncate(at);
            return Read::Complete(buf);
        }
    }
}
