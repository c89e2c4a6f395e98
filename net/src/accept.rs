//! The one accept loop of every TCP port: connections admitted into a [`ConnectionCap`],
//! a back-off after a failed `accept` (descriptors exhausted) instead of a busy loop,
//! each connection on the caller's [`TaskTracker`] and closed when the cap evicts it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cap::{ConnectionCap, Slot};

/// The wait after a failed `accept`: doubles from 5 ms up to 1 s, back to the start after
/// a success. A full descriptor table frees up as connections end; retrying at once only
/// burns the CPU the working connections need.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

const FIRST: Duration = Duration::from_millis(5);
const LAST: Duration = Duration::from_secs(1);

impl Default for Backoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Backoff {
    /// The wait to take now; the following one is twice as long (up to 1 s).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(LAST);
        wait
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

/// Accepts on `listener` until `shutdown`; each connection gets a [`Slot`] of `cap` and
/// runs `handler(stream, peer, slot)` on `tracker`, dropped (so closed) when the cap
/// evicts it. The handler watches `shutdown` itself if it wants a graceful end.
pub async fn serve<H, F>(
    listener: TcpListener,
    cap: ConnectionCap,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    mut handler: H,
) where
    H: FnMut(TcpStream, SocketAddr, Slot) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let mut backoff = Backoff::default();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => {
                    backoff.reset();
                    a
                }
                Err(e) => {
                    cap.accept_failed();
                    let wait = backoff.next_wait();
                    tracing::warn!(error = %e, ?wait, "accept failed; backing off");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(wait) => continue,
                    }
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let slot = cap.admit();
        let evicted = slot.closed();
        let connection = handler(stream, peer, slot);
        tracker.spawn(async move {
            tokio::select! {
                () = evicted.cancelled() => tracing::debug!(%peer, "closed at the connection cap"),
                () = connection => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<_> = (0..10).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_wait(), FIRST);
    }

    /// Two clients that stall hold a cap of two; a third is served, and the first to
    /// have stalled is the one closed.
    #[tokio::test]
    async fn a_working_client_gets_in_past_stalled_ones() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cap = ConnectionCap::new(2);
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let server = tokio::spawn(serve(
            listener,
            cap.clone(),
            shutdown.clone(),
            tracker.clone(),
            |mut stream, _, slot| async move {
                // Echo one byte at a time, each echo a unit of progress.
                let mut b = [0u8; 1];
                while let Ok(1) = stream.read(&mut b).await {
                    let _ = stream.write_all(&b).await;
                    slot.progress();
                }
            },
        ));
        let mut first = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        for s in [&mut first, &mut second] {
            s.write_all(b"x").await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
        }
        // Progress stamps have millisecond resolution: make `second` the fresher.
        tokio::time::sleep(Duration::from_millis(5)).await;
        second.write_all(b"y").await.unwrap();
        let mut b = [0u8; 1];
        second.read_exact(&mut b).await.unwrap();
        let mut third = TcpStream::connect(addr).await.unwrap();
        third.write_all(b"z").await.unwrap();
        third.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"z");
        // The first, stalled longest, was closed: it reads EOF.
        assert_eq!(first.read(&mut b).await.unwrap(), 0);
        assert_eq!(cap.evicted(), 1);
        shutdown.cancel();
        server.await.unwrap();
    }
}
