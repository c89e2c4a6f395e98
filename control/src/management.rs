//! The management interface (spec §3) over TCP: one batch per connection, `AUTH <token>`
//! on the first line, then events, ended by `END` or by half-closing. The answer is one
//! line, `OK <plan generation>` or `ERR <LINE>:<COL> <message>`; a batch with any error,
//! or without the right token, changes nothing.
//!
//! Spec §11: the `AUTH` line must arrive whole within [`AUTH_LINE`] bytes and
//! [`AUTH_DEADLINE`]; anything else is refused before the batch is read. The batch then
//! has the idle timeout per read, the body deadline in all, and the size limit; the port
//! shares the control's connection cap (the most stalled closed at the cap).

use std::sync::Arc;
use std::time::Duration;

use broker_config::deploy::Token;
use broker_config::{EndDetector, ManagementBatch};
use broker_net::{ConnectionCap, Deadlines};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::command::Command;
use crate::metrics::Metrics;
use crate::tls::same_secret;

/// The longest first line: `AUTH <token>` with a 256-byte token fits.
pub(crate) const AUTH_LINE: usize = 1024;
/// The first line must be complete within this.
pub(crate) const AUTH_DEADLINE: Duration = Duration::from_secs(5);

/// What a management connection needs.
pub(crate) struct Management {
    pub(crate) token: Token,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) idle: Duration,
    pub(crate) deadline: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) metrics: Arc<Metrics>,
}

impl Management {
    /// Serves batches until `shutdown`, at most `cap` connections (shared).
    pub(crate) async fn serve(
        self,
        listener: TcpListener,
        cap: ConnectionCap,
        shutdown: CancellationToken,
    ) {
        let me = Arc::new(self);
        let tracker = TaskTracker::new();
        broker_net::serve(
            listener,
            cap,
            shutdown.clone(),
            tracker.clone(),
            |stream, _, slot| {
                let me = Arc::clone(&me);
                let shutdown = shutdown.clone();
                async move {
                    let idle = Some(me.idle);
                    let stream = Deadlines::new(stream, idle, idle).track(&slot);
                    tokio::select! {
                        () = me.connection(stream) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            },
        )
        .await;
        tracker.close();
    }

    async fn connection<S>(&self, mut stream: S)
    where
        S: AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let read = tokio::time::timeout(self.deadline, self.read_batch(&mut stream)).await;
        let reply = match read {
            Ok(Ok(bytes)) => self.answer(&bytes).await,
            Ok(Err(why)) => {
                self.metrics.refused("management", why.reason);
                why.reply
            }
            Err(_) => {
                self.metrics.refused("management", "deadline");
                format!(
                    "ERR 1:1 batch not complete within {:?}: aborted",
                    self.deadline
                )
            }
        };
        let _ = stream.write_all(format!("{reply}\n").as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    /// The batch's bytes (its `AUTH` line checked first): up to a statement-level `END`,
    /// or everything until EOF.
    async fn read_batch<S: AsyncRead + Unpin>(&self, stream: &mut S) -> Result<Vec<u8>, Refusal> {
        let mut buf = Vec::with_capacity(4096);
        let first = tokio::time::timeout(AUTH_DEADLINE, read_line(stream, &mut buf, AUTH_LINE))
            .await
            .map_err(|_| Refusal::new("auth-deadline", "ERR 1:1 no AUTH line within 5 s"))??;
        self.authenticate(&buf[..first])?;
        let mut end = EndDetector::new();
        if let Some(at) = end.feed(&buf) {
            buf.truncate(at);
            return Ok(buf);
        }
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = read_some(stream, &mut chunk).await?;
            if n == 0 {
                return Ok(buf);
            }
            if buf.len() + n > self.max_bytes {
                return Err(Refusal::new(
                    "too-large",
                    format!("ERR 1:1 batch over {} bytes: aborted", self.max_bytes),
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(at) = end.feed(&buf) {
                buf.truncate(at);
                return Ok(buf);
            }
        }
    }

    async fn answer(&self, bytes: &[u8]) -> String {
        let batch = match ManagementBatch::parse_bytes(bytes) {
            Ok(b) => b,
            Err(e) => return format!("ERR {} {}", e.pos, e.message),
        };
        let (reply, answer) = oneshot::channel();
        let cmd = Command::Batch {
            events: batch.events,
            reply,
        };
        if self.commands.send(cmd).await.is_err() {
            return "ERR 1:1 shutting down".into();
        }
        match answer.await {
            Ok(Ok(generation)) => format!("OK {generation}"),
            Ok(Err(e)) => format!("ERR {e}"),
            Err(_) => "ERR 1:1 shutting down".into(),
        }
    }

    /// The first line must be `AUTH <token>`: an unauthenticated peer learns nothing
    /// about its batch, which is never read.
    fn authenticate(&self, first: &[u8]) -> Result<(), Refusal> {
        let first = String::from_utf8_lossy(first);
        let Some(token) = first.trim().strip_prefix("AUTH") else {
            return Err(Refusal::new(
                "unauthenticated",
                "ERR 1:1 expected AUTH <token> on the first line",
            ));
        };
        if !token.starts_with([' ', '\t'])
            || !same_secret(token.trim().as_bytes(), self.token.expose().as_bytes())
        {
            return Err(Refusal::new(
                "unauthenticated",
                "ERR 1:1 authentication failed",
            ));
        }
        Ok(())
    }
}

/// Why a batch was not read, for the answer and the `refused` counter.
struct Refusal {
    reason: &'static str,
    reply: String,
}

impl Refusal {
    fn new(reason: &'static str, reply: impl Into<String>) -> Self {
        Self {
            reason,
            reply: reply.into(),
        }
    }
}

async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    chunk: &mut [u8],
) -> Result<usize, Refusal> {
    stream.read(chunk).await.map_err(|e| {
        let reason = if e.kind() == std::io::ErrorKind::TimedOut {
            "idle"
        } else {
            "reset"
        };
        Refusal::new(reason, format!("ERR 1:1 {e}: batch aborted"))
    })
}

/// Reads into `buf` until it holds a line end (or EOF); returns the first line's length.
/// A first line longer than `limit` is refused unread past the limit.
async fn read_line<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    limit: usize,
) -> Result<usize, Refusal> {
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            return Ok(nl);
        }
        if buf.len() > limit {
            return Err(Refusal::new(
                "unauthenticated",
                "ERR 1:1 expected AUTH <token> on the first line",
            ));
        }
        let n = read_some(stream, &mut chunk).await?;
        if n == 0 {
            return Ok(buf.len());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
