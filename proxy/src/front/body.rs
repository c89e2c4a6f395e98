//! Response bodies of the front proxy, all streamed: origin bodies relayed as they come,
//! and rewritten pages piped `origin → decode → rewrite → encode → client` with bounded
//! buffers at every stage, so a page of any size is never held whole. Every stage pulls
//! from the one before; a stalled origin ends the body with an error after the idle
//! timeout.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use async_compression::Level;
use async_compression::tokio::bufread::{
    BrotliDecoder, BrotliEncoder, DeflateDecoder, GzipDecoder, GzipEncoder, ZlibDecoder,
    ZlibEncoder,
};
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};
use tokio_util::io::{ReaderStream, StreamReader};

use std::sync::Arc;

use super::coding::Coding;
use super::mapper::FrontMapper;
use super::plans::{CachedPlan, PlanCache, RewriteTally};
use crate::rewrite::{PageRewriter, Replay, RewritePlan};

/// Every response the front proxy writes has this body.
pub type FrontBody = UnsyncBoxBody<Bytes, io::Error>;

/// Size of the read buffers between stages.
const CHUNK: usize = 16 * 1024;

type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A short text body.
pub(crate) fn text(s: impl Into<Bytes>) -> FrontBody {
    http_body_util::Full::new(s.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// No body.
pub(crate) fn empty() -> FrontBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The origin's body relayed untouched (trailers too).
pub(crate) fn passthrough(origin: Incoming, idle: Duration) -> FrontBody {
    Idle::new(origin, idle).boxed_unsync()
}

/// Where a plan is kept: the cache and the page's key there.
pub(crate) struct PlanSlot {
    pub(crate) cache: PlanCache,
    pub(crate) key: Arc<str>,
}

/// How a page's URLs are rewritten.
pub(crate) enum Rewriting {
    /// By the rewriter, recording its plan into the slot if there is one.
    Rewrite {
        rewriter: PageRewriter<FrontMapper>,
        record: Option<PlanSlot>,
        tally: Arc<RewriteTally>,
    },
    /// By replaying the plan recorded in the slot.
    Replay {
        plan: Arc<CachedPlan>,
        slot: PlanSlot,
        tally: RewriteTally,
    },
}

/// The origin's body decoded from `from`, rewritten, and encoded to `to`.
pub(crate) fn rewritten(
    origin: Incoming,
    idle: Duration,
    from: Coding,
    rewriting: Rewriting,
    to: Coding,
) -> FrontBody {
    let raw: ByteStream = Box::pin(Data(Idle::new(origin, idle)));
    let decoded: ByteStream = match from {
        Coding::Identity => raw,
        Coding::Gzip => reader_stream(GzipDecoder::new(StreamReader::new(raw))),
        Coding::Deflate => Box::pin(Deflate::Sniffing(Some(raw), BytesMut::new())),
        Coding::Br => reader_stream(BrotliDecoder::new(StreamReader::new(raw))),
    };
    let plain: ByteStream = match rewriting {
        Rewriting::Rewrite {
            mut rewriter,
            record,
            tally,
        } => {
            if let Some(slot) = &record {
                rewriter.record_plan(slot.cache.max_plan());
            }
            Box::pin(Rewrite {
                inner: decoded,
                rewriter,
                record,
                tally,
                done: false,
            })
        }
        Rewriting::Replay { plan, slot, tally } => Box::pin(Replayed {
            inner: decoded,
            replay: Replay::new(Arc::clone(&plan.plan)),
            plan,
            slot,
            tally,
            done: false,
        }),
    };
    // Fast levels: the page is compressed once per client, while it streams.
    let encoded: ByteStream = match to {
        Coding::Identity => plain,
        Coding::Gzip => reader_stream(GzipEncoder::with_quality(
            StreamReader::new(plain),
            Level::Precise(5),
        )),
        Coding::Deflate => reader_stream(ZlibEncoder::with_quality(
            StreamReader::new(plain),
            Level::Precise(5),
        )),
        Coding::Br => reader_stream(BrotliEncoder::with_quality(
            StreamReader::new(plain),
            Level::Precise(4),
        )),
    };
    Frames(encoded).boxed_unsync()
}

fn reader_stream<R: tokio::io::AsyncRead + Send + 'static>(r: R) -> ByteStream {
    Box::pin(ReaderStream::with_capacity(r, CHUNK))
}

/// `deflate` decoded: a zlib stream (RFC 9110 §8.4.1.2) or, as some servers send it, raw
/// deflate (RFC 1951), told apart by the zlib header in the first two bytes.
enum Deflate {
    /// Collecting the first two bytes (the origin stream, the bytes so far).
    Sniffing(Option<ByteStream>, BytesMut),
    Decoding(ByteStream),
}

/// Whether a body starting with `head` is a zlib stream: CM = 8 (deflate), a window of at
/// most 32 KiB, and the header check `(CMF * 256 + FLG) % 31 == 0`. No raw stream an
/// encoder writes passes: its low nibble would have to be a stored block (BTYPE 00)
/// padded with a 1 bit, and encoders pad with zeros.
fn is_zlib(head: &[u8]) -> bool {
    match head {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

impl Stream for Deflate {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let this = &mut *self;
            let (inner, head) = match this {
                Self::Decoding(decoded) => return decoded.as_mut().poll_next(cx),
                Self::Sniffing(inner, head) => (inner, head),
            };
            let ended = match inner.as_mut() {
                Some(stream) if head.len() < 2 => match ready!(stream.as_mut().poll_next(cx)) {
                    Some(Ok(chunk)) => {
                        head.extend_from_slice(&chunk);
                        continue;
                    }
                    Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                    None => true,
                },
                _ => false,
            };
            let head = std::mem::take(head).freeze();
            let zlib = is_zlib(&head);
            let first: ByteStream = Box::pin(Once(Some(head)));
            let rest = match inner.take() {
                Some(stream) if !ended => stream,
                _ => Box::pin(Once(None)),
            };
            let whole = StreamReader::new(Chain(first, rest));
            *this = Self::Decoding(if zlib {
                reader_stream(ZlibDecoder::new(whole))
            } else {
                reader_stream(DeflateDecoder::new(whole))
            });
        }
    }
}

/// At most one chunk.
struct Once(Option<Bytes>);

impl Stream for Once {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Ok))
    }
}

/// One stream, then the other.
struct Chain(ByteStream, ByteStream);

impl Stream for Chain {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(item) = ready!(self.0.as_mut().poll_next(cx)) {
            return Poll::Ready(Some(item));
        }
        self.1.as_mut().poll_next(cx)
    }
}

/// A body that fails with `TimedOut` when no frame arrives for `idle`.
struct Idle<B> {
    inner: B,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl<B> Idle<B> {
    fn new(inner: B, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl<B> Body for Idle<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = Instant::now() + self.idle;
                self.timer.as_mut().reset(deadline);
                Poll::Ready(frame.map(|f| f.map_err(io::Error::other)))
            }
            Poll::Pending => {
                ready!(self.timer.as_mut().poll(cx));
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "origin body stalled",
                ))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The data frames of a body as a stream (trailers are dropped: the body changes).
struct Data<B>(B);

impl<B: Body<Data = Bytes, Error = io::Error> + Unpin> Stream for Data<B> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match ready!(Pin::new(&mut self.0).poll_frame(cx)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
            }
        }
    }
}

/// The page rewriter as a stream stage.
struct Rewrite {
    inner: ByteStream,
    rewriter: PageRewriter<FrontMapper>,
    record: Option<PlanSlot>,
    /// Shared with the rewriter's mapper, read when recording.
    tally: Arc<RewriteTally>,
    done: bool,
}

impl Stream for Rewrite {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match ready!(self.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => {
                    let out = self.rewriter.write_bytes(chunk);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(out)));
                    }
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    self.done = true;
                    if let Some(why) = self.rewriter.failure() {
                        tracing::debug!(%why, "page passed through unrewritten from some point");
                    }
                    let out = self.rewriter.finish();
                    if let Some(slot) = self.record.take()
                        && let Some(plan) = self.rewriter.take_plan()
                    {
                        let by_partner = self.tally.snapshot();
                        let plan = Arc::new(plan);
                        slot.cache.insert(slot.key, CachedPlan { plan, by_partner });
                    }
                    self.tally.flush();
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(out)));
                    }
                }
            }
        }
    }
}

/// A recorded plan replayed as a stream stage.
struct Replayed {
    inner: ByteStream,
    replay: Replay<Arc<RewritePlan>>,
    plan: Arc<CachedPlan>,
    slot: PlanSlot,
    tally: RewriteTally,
    done: bool,
}

impl Stream for Replayed {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match ready!(self.inner.as_mut().poll_next(cx)) {
            Some(Ok(chunk)) => Poll::Ready(Some(Ok(self.replay.write(chunk)))),
            Some(Err(e)) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
            None => {
                self.done = true;
                let out = self.replay.finish();
                let matched = !self.replay.mismatch();
                self.slot.cache.replayed(&self.slot.key, matched);
                if matched {
                    for (i, n) in self.plan.by_partner.iter().enumerate() {
                        self.tally.add(i, *n);
                    }
                    self.tally.flush();
                }
                Poll::Ready(Some(Ok(out)))
            }
        }
    }
}

/// A byte stream as a body of data frames.
struct Frames(ByteStream);

impl Body for Frames {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        loop {
            return match ready!(self.0.as_mut().poll_next(cx)) {
                Some(Ok(data)) if data.is_empty() => continue,
                Some(Ok(data)) => Poll::Ready(Some(Ok(Frame::data(data)))),
                Some(Err(e)) => Poll::Ready(Some(Err(e))),
                None => Poll::Ready(None),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_headers_are_told_from_raw_deflate() {
        assert!(is_zlib(&[0x78, 0x9c])); // zlib's default level
        assert!(is_zlib(&[0x78, 0x01]));
        assert!(is_zlib(&[0x78, 0xda]));
        assert!(!is_zlib(&[0x78, 0x9d]), "header check");
        assert!(!is_zlib(&[0x88, 0x98]), "window over 32 KiB");
        // Raw deflate: dynamic (0b101 = final, BTYPE 10), fixed, stored blocks.
        assert!(!is_zlib(&[0xed, 0xbd]));
        assert!(!is_zlib(&[0xf3, 0x48]));
        assert!(!is_zlib(&[0x01, 0x05]));
        assert!(!is_zlib(&[0x78]), "too short");
    }
}
