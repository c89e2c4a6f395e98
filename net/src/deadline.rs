//! A stream whose every read and write has a deadline (spec §11): a peer that sends
//! nothing, or stops reading what we write, is cut instead of holding the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::cap::{Progress, Slot};

/// Wraps a stream: a read that waits `read` with no byte moved either way fails with
/// `TimedOut` (an idle or silent peer); a write (or flush) that makes no progress for
/// `write` fails with `TimedOut` (a peer that stopped reading). `None`: no deadline.
/// With [`Deadlines::track`], every completed write marks the slot's progress.
#[derive(Debug)]
pub struct Deadlines<S> {
    inner: S,
    read: Timer,
    write: Timer,
    progress: Option<Progress>,
}

#[derive(Debug)]
struct Timer {
    limit: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl Timer {
    fn new(limit: Option<Duration>) -> Self {
        Self {
            limit,
            sleep: None,
            armed: false,
        }
    }

    /// Called while an operation is pending: fails once it waited `limit`.
    fn pending(&mut self, cx: &mut Context<'_>, what: &'static str) -> Poll<io::Error> {
        let Some(limit) = self.limit else {
            return Poll::Pending;
        };
        let deadline = Instant::now() + limit;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            sleep.as_mut().reset(deadline);
            self.armed = true;
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, what)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S> Deadlines<S> {
    /// `stream` with a `read` and a `write` deadline.
    pub fn new(stream: S, read: Option<Duration>, write: Option<Duration>) -> Self {
        Self {
            inner: stream,
            read: Timer::new(read),
            write: Timer::new(write),
            progress: None,
        }
    }

    /// Marks `slot`'s progress on every completed write (the peer takes our answers).
    pub fn track(mut self, slot: &Slot) -> Self {
        self.progress = Some(slot.progress_handle());
        self
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    fn wrote<T>(&mut self, r: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.write.armed = false;
                // Bytes moved: the read deadline starts again too.
                self.read.armed = false;
                if r.is_ok()
                    && let Some(p) = &self.progress
                {
                    p.mark();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.write.pending(cx, "peer stopped reading").map(Err),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadlines<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                self.read.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => self.read.pending(cx, "peer sent nothing in time").map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadlines<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(r, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.wrote(r, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_fails_the_read_at_its_deadline() {
        let (a, _b) = tokio::io::duplex(64);
        let mut s = Deadlines::new(a, Some(Duration::from_secs(5)), None);
        let started = Instant::now();
        let mut buf = [0u8; 8];
        let e = s.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_fails_the_write() {
        let (a, _b) = tokio::io::duplex(16);
        let mut s = Deadlines::new(a, None, Some(Duration::from_secs(3)));
        let e = s.write_all(&[0u8; 64]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
