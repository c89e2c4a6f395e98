//! What the edge really served, per offloader and per client region: bytes and hits in
//! one-second buckets, so that status reports and alerts can average any recent period.
//!
//! Counting is lock-free (atomics in a ring of [`WINDOW_SECS`] buckets). A bucket is
//! reused when its second comes round again; a count racing with that reset may be lost,
//! an error of at most a few requests per minute-scale window.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;

use super::body::EdgeBody;
use super::regions::Regions;

/// The longest averaging period the meter can answer, in seconds; longer periods are
/// clamped to it.
pub const WINDOW_SECS: u64 = 900;

#[derive(Default)]
struct Bucket {
    second: AtomicU64,
    bytes: AtomicU64,
    hits: AtomicU64,
}

/// A ring of per-second counts.
struct Ring {
    buckets: Box<[Bucket]>,
}

impl Ring {
    fn new() -> Self {
        Self {
            buckets: (0..WINDOW_SECS).map(|_| Bucket::default()).collect(),
        }
    }

    fn bucket(&self, second: u64) -> &Bucket {
        // `WINDOW_SECS` buckets: the index is always in range.
        &self.buckets[usize::try_from(second % WINDOW_SECS).unwrap_or(0)]
    }

    fn add(&self, second: u64, bytes: u64, hits: u64) {
        let b = self.bucket(second);
        let seen = b.second.load(Ordering::Acquire);
        if seen != second
            && b.second
                .compare_exchange(seen, second, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            b.bytes.store(0, Ordering::Release);
            b.hits.store(0, Ordering::Release);
        }
        b.bytes.fetch_add(bytes, Ordering::AcqRel);
        b.hits.fetch_add(hits, Ordering::AcqRel);
    }

    /// Bytes and hits of the `period` seconds ending with second `now` (inclusive).
    fn sum(&self, now: u64, period: u64) -> (u64, u64) {
        let period = period.clamp(1, WINDOW_SECS);
        let first = now.saturating_sub(period - 1);
        let (mut bytes, mut hits) = (0, 0);
        for second in first..=now {
            let b = self.bucket(second);
            if b.second.load(Ordering::Acquire) == second {
                bytes += b.bytes.load(Ordering::Acquire);
                hits += b.hits.load(Ordering::Acquire);
            }
        }
        (bytes, hits)
    }
}

/// Average load over a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Kilobits per second (1000 bits).
    pub kbps: u64,
    /// Requests per second.
    pub hits_per_s: u64,
}

/// Counts for every (offloader, region).
pub(crate) struct Meter {
    start: Instant,
    regions: usize,
    /// `offloader * regions + region`.
    rings: Box<[Ring]>,
}

impl Meter {
    /// A meter for `offloaders` offloaders and `regions` regions.
    pub(crate) fn new(offloaders: usize, regions: &Regions) -> Self {
        let regions = regions.names().len();
        Self {
            start: Instant::now(),
            regions,
            rings: (0..offloaders * regions).map(|_| Ring::new()).collect(),
        }
    }

    /// Seconds since the meter started: the clock of its buckets.
    pub(crate) fn now(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    /// Counts `bytes` and `hits` for offloader number `offloader` in region `region` at
    /// second `now`.
    pub(crate) fn add(&self, offloader: usize, region: u16, now: u64, bytes: u64, hits: u64) {
        if let Some(ring) = self
            .rings
            .get(offloader * self.regions + usize::from(region))
        {
            ring.add(now, bytes, hits);
        }
    }

    /// The average over the `period` seconds ending at `now`, in region `region` or
    /// (for `None`) all regions.
    pub(crate) fn rate(
        &self,
        offloader: usize,
        region: Option<u16>,
        now: u64,
        period: u64,
    ) -> Rate {
        let range = match region {
            Some(r) => usize::from(r)..usize::from(r) + 1,
            None => 0..self.regions,
        };
        let (mut bytes, mut hits) = (0u64, 0u64);
        for r in range {
            if let Some(ring) = self.rings.get(offloader * self.regions + r) {
                let (b, h) = ring.sum(now, period);
                bytes += b;
                hits += h;
            }
        }
        let period = period.clamp(1, WINDOW_SECS);
        Rate {
            kbps: bytes * 8 / 1000 / period,
            hits_per_s: hits / period,
        }
    }
}

/// Where one response's bytes are counted.
#[derive(Clone)]
pub(crate) struct Tally {
    /// The meter.
    pub(crate) meter: Arc<Meter>,
    /// Offloader number.
    pub(crate) offloader: usize,
    /// Client region number.
    pub(crate) region: u16,
    /// The offloader's Prometheus byte counter.
    pub(crate) bytes: Counter,
}

impl Tally {
    /// The tally for a client at `addr` of offloader number `offloader`, whose bytes
    /// also go to the Prometheus counter `bytes`.
    pub(crate) fn new(
        meter: Arc<Meter>,
        regions: &Regions,
        offloader: usize,
        addr: IpAddr,
        bytes: Counter,
    ) -> Self {
        Self {
            region: regions.region_of(addr),
            meter,
            offloader,
            bytes,
        }
    }

    /// Counts one hit (a response started).
    pub(crate) fn hit(&self) {
        let now = self.meter.now();
        self.meter.add(self.offloader, self.region, now, 0, 1);
    }

    /// Wraps `body` so that every data byte sent is counted when it is sent.
    pub(crate) fn count(self, body: EdgeBody) -> EdgeBody {
        use http_body_util::BodyExt;
        Metered {
            inner: body,
            tally: self,
        }
        .boxed()
    }
}

/// A body that counts its data frames into a [`Tally`] as they go out.
struct Metered {
    inner: EdgeBody,
    tally: Tally,
}

impl Body for Metered {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let t = &self.tally;
            let len = data.len() as u64;
            t.meter.add(t.offloader, t.region, t.meter.now(), len, 0);
            t.bytes.inc_by(len);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_averages_over_the_period() {
        let regions = Regions::new([("a", vec![]), ("b", vec![])]).unwrap();
        let m = Meter::new(2, &regions);
        // 125_000 bytes a second for 10 s in region a = 1000 kbps.
        for s in 100..110 {
            m.add(0, 0, s, 125_000, 5);
        }
        m.add(0, 1, 109, 1_250_000, 10);
        m.add(1, 0, 109, 999_999_999, 1);
        assert_eq!(
            m.rate(0, Some(0), 109, 10),
            Rate {
                kbps: 1000,
                hits_per_s: 5
            }
        );
        assert_eq!(
            m.rate(0, Some(1), 109, 10),
            Rate {
                kbps: 1000,
                hits_per_s: 1
            }
        );
        assert_eq!(
            m.rate(0, None, 109, 10),
            Rate {
                kbps: 2000,
                hits_per_s: 6
            }
        );
        assert_eq!(
            m.rate(0, Some(0), 109, 5),
            Rate {
                kbps: 1000,
                hits_per_s: 5
            }
        );
    }

    #[test]
    fn old_buckets_do_not_count_again() {
        let regions = Regions::default_only();
        let m = Meter::new(1, &regions);
        m.add(0, 0, 5, 1000, 1);
        assert_eq!(m.rate(0, None, 5 + WINDOW_SECS, 10).hits_per_s, 0);
        m.add(0, 0, 5 + WINDOW_SECS, 1000, 10);
        assert_eq!(m.rate(0, None, 5 + WINDOW_SECS, 1).hits_per_s, 10);
    }
}
