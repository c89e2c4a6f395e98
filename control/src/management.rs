//! The management interface (spec §3) over TCP: one batch per connection, `AUTH <token>`
//! on the first line, then events, ended by `END` or by half-closing. The answer is one
//! line, `OK <plan generation>` or `ERR <LINE>:<COL> <message>`; a batch with any error,
//! or without the right token, changes nothing.

use std::sync::Arc;
use std::time::Duration;

use broker_config::deploy::Token;
use broker_config::{EndDetector, ManagementBatch};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::command::Command;
use crate::tls::same_secret;

/// What a management connection needs.
pub(crate) struct Management {
    pub(crate) token: Token,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) idle: Duration,
    pub(crate) max_bytes: usize,
}

impl Management {
    /// Serves batches until `shutdown`.
    pub(crate) async fn serve(self, listener: TcpListener, shutdown: CancellationToken) {
        let me = Arc::new(self);
        loop {
            let stream = tokio::select! {
                () = shutdown.cancelled() => return,
                r = listener.accept() => match r {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "management accept failed");
                        continue;
                    }
                },
            };
            let me = Arc::clone(&me);
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = me.connection(stream) => {}
                    () = shutdown.cancelled() => {}
                }
            });
        }
    }

    async fn connection(&self, mut stream: TcpStream) {
        let reply = match self.read_batch(&mut stream).await {
            Ok(bytes) => self.answer(&bytes).await,
            Err(why) => format!("ERR 1:1 {why}"),
        };
        let _ = stream.write_all(format!("{reply}\n").as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    /// The batch's bytes: up to a statement-level `END`, or everything until EOF.
    async fn read_batch(&self, stream: &mut TcpStream) -> Result<Vec<u8>, String> {
        let mut buf = Vec::with_capacity(4096);
        let mut end = EndDetector::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match tokio::time::timeout(self.idle, stream.read(&mut chunk)).await {
                Err(_) => return Err("idle timeout: batch aborted".into()),
                Ok(Err(e)) => return Err(format!("{e}: batch aborted")),
                Ok(Ok(0)) => return Ok(buf),
                Ok(Ok(n)) => n,
            };
            if buf.len() + n > self.max_bytes {
                return Err(format!("batch over {} bytes: aborted", self.max_bytes));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(at) = end.feed(&buf) {
                buf.truncate(at);
                return Ok(buf);
            }
        }
    }

    async fn answer(&self, bytes: &[u8]) -> String {
        // The token first: an unauthenticated peer learns nothing about its batch.
        if let Err(e) = self.authenticate(bytes) {
            return e;
        }
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

    fn authenticate(&self, bytes: &[u8]) -> Result<(), String> {
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let first = String::from_utf8_lossy(first);
        let Some(token) = first.trim().strip_prefix("AUTH") else {
            return Err("ERR 1:1 expected AUTH <token> on the first line".into());
        };
        if !token.starts_with([' ', '\t'])
            || !same_secret(token.trim().as_bytes(), self.token.expose().as_bytes())
        {
            return Err("ERR 1:1 authentication failed".into());
        }
        Ok(())
    }
}
