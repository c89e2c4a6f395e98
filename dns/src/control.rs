//! The control port (spec §1): one transaction per TCP connection. Connections are read
//! side by side, so a client that stalls (or never reads its answer) keeps no other
//! waiting; commits take their turn on the engine.
//!
//! With a token (`[dns] token`, spec §11) a transaction's first line must be
//! `AUTH <token>` (within 1 KiB); anything else is refused before more is read. Without
//! one, an `AUTH` line is ignored (a control sends its `engine_token` to every engine).
//! The engine reads until `END` or the peer's half-close, then commits and answers
//! `OK <generation>` or `ERR <LINE>:<COL> <message>` (positions count the `AUTH` line).
//! A reset, a read or write idle past the timeout, a transaction not complete within its
//! deadline or over `max_transaction_mb` aborts it: nothing is applied. A panic while
//! committing answers `ERR` and the engine serves on.
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
use broker_config::deploy::{DEFAULT_MAX_TRANSACTION_MB, Token};
use broker_net::{ConnectionCap, Deadlines};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::Engine;
use crate::limits::Limits;

/// The longest `AUTH` line.
const AUTH_LINE: usize = 1024;

/// Limits of the control port.
#[derive(Clone, Debug)]
pub struct ControlLimits {
    /// A read or write waiting this long aborts the transaction.
    pub idle: Duration,
    /// A transaction not read whole within this is aborted, however it trickles in.
    pub deadline: Duration,
    /// Largest transaction accepted, in bytes (`max_transaction_mb`).
    pub max_bytes: usize,
    /// `[dns] token`: required as `AUTH <token>` on the first line.
    pub token: Option<Token>,
    /// Control connections open at once; at the cap the most stalled one is closed.
    pub max_connections: usize,
}

impl Default for ControlLimits {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
            max_bytes: usize::try_from(DEFAULT_MAX_TRANSACTION_MB << 20).unwrap_or(usize::MAX),
            token: None,
            max_connections: 64,
        }
    }
}

/// Serves control connections, each on its own task, until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    engine: Arc<Engine>,
    limits: ControlLimits,
    cap: ConnectionCap,
    counters: Limits,
    shutdown: CancellationToken,
) {
    let limits = Arc::new(limits);
    let tracker = TaskTracker::new();
    broker_net::serve(
        listener,
        cap,
        shutdown.clone(),
        tracker.clone(),
        |stream, peer, slot| {
            let (engine, limits, counters) =
                (Arc::clone(&engine), Arc::clone(&limits), counters.clone());
            let shutdown = shutdown.clone();
            async move {
                tracing::debug!(%peer, "control connection");
                let idle = Some(limits.idle);
                let stream = Deadlines::new(stream, idle, idle).track(&slot);
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = transaction(stream, &engine, &limits, &counters) => {}
                }
            }
        },
    )
    .await;
    tracker.close();
    tracker.wait().await;
}

enum Read {
    Complete(Vec<u8>),
    Aborted(&'static str),
    TooLarge,
    Unauthenticated,
}

async fn transaction<S>(
    mut stream: S,
    engine: &Arc<Engine>,
    limits: &ControlLimits,
    counters: &Limits,
) where
    S: AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let read = tokio::time::timeout(limits.deadline, read_transaction(&mut stream, limits))
        .await
        .unwrap_or(Read::Aborted("transaction deadline passed"));
    if !matches!(read, Read::Complete(_)) {
        counters.control_refused.inc();
    }
    let reply = match read {
        Read::Complete(text) => match engine.commit(text).await {
            Ok(c) => format!("OK {}\n", c.generation),
            Err(e) => {
                tracing::info!(error = %e, "transaction refused");
                format!("{}\n", e.reply_line())
            }
        },
        Read::TooLarge => format!(
            "ERR 1:1 transaction over {} bytes (max_transaction_mb): aborted\n",
            limits.max_bytes
        ),
        Read::Unauthenticated => "ERR 1:1 expected AUTH <token> on the first line\n".to_owned(),
        Read::Aborted(why) => {
            tracing::info!(why, "transaction aborted");
            // The peer may still read: tell it why (best effort).
            format!("ERR 1:1 {why}: transaction aborted\n")
        }
    };
    // Both bounded by the write deadline: a peer that never reads holds nothing.
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn read_transaction<S: AsyncRead + Unpin>(stream: &mut S, limits: &ControlLimits) -> Read {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut end = EndDetector::new();
    let mut chunk = vec![0u8; 256 * 1024];
    let mut first_line_seen = false;
    loop {
        let n = match stream.read(&mut chunk).await {
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Read::Aborted("idle timeout");
            }
            Err(_) => return Read::Aborted("connection reset"),
            Ok(0) => 0,
            Ok(n) => n,
        };
        if buf.len() + n > limits.max_bytes {
            return Read::TooLarge;
        }
        buf.extend_from_slice(&chunk[..n]);
        if !first_line_seen {
            let newline = buf.iter().position(|&b| b == b'\n');
            if newline.is_none() && n > 0 && buf.len() <= AUTH_LINE {
                continue;
            }
            first_line_seen = true;
            if !first_line(&mut buf, newline, limits.token.as_ref()) {
                return Read::Unauthenticated;
            }
        }
        if n == 0 {
            return Read::Complete(buf);
        }
        if let Some(at) = end.feed(&buf) {
            buf.truncate(at);
            return Read::Complete(buf);
        }
    }
}

/// Checks the first line (up to `newline`, or all of `buf`) against `token`, and blanks
/// an `AUTH` line so that the parser sees only the transaction while positions still
/// count that line. False: the credential is missing or wrong.
fn first_line(buf: &mut [u8], newline: Option<usize>, token: Option<&Token>) -> bool {
    let line_end = newline.unwrap_or(buf.len());
    let line = &buf[..line_end];
    let text = line.strip_suffix(b"\r").unwrap_or(line);
    let presented = text
        .strip_prefix(b"AUTH")
        .filter(|rest| rest.first().is_some_and(|b| *b == b' ' || *b == b'\t'))
        .map(|rest| rest.trim_ascii());
    let ok = match (token, presented) {
        (Some(t), Some(p)) => line_end <= AUTH_LINE && t.matches(p),
        (Some(_), None) => false,
        (None, _) => true,
    };
    if ok && presented.is_some() {
        buf[..line_end].fill(b' ');
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_line_is_checked_then_blanked() {
        let token = Token::new("s3cret").unwrap();
        let mut ok = b"AUTH s3cret\r\nRESET!\n".to_vec();
        assert!(first_line(&mut ok, Some(12), Some(&token)));
        assert_eq!(&ok[..], b"            \nRESET!\n");
        for bad in [&b"AUTH wrong\nRESET!"[..], b"RESET!\n", b"AUTHs3cret\n"] {
            let mut b = bad.to_vec();
            let nl = b.iter().position(|&c| c == b'\n');
            assert!(!first_line(&mut b, nl, Some(&token)), "{bad:?}");
        }
        // Without a token an AUTH line is ignored, and anything else passes as it is.
        let mut ignored = b"AUTH any\nRESET!\n".to_vec();
        assert!(first_line(&mut ignored, Some(8), None));
        assert!(ignored.starts_with(b"        \n"));
    }
}
