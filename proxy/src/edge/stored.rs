//! One stored response: status, headers, body and the clock of its freshness.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, ETAG, HeaderValue, LAST_MODIFIED};
use http::{HeaderMap, StatusCode};

use super::fetch::Validators;

/// A complete response kept by the cache. Immutable: revalidation makes a new one.
#[derive(Debug)]
pub(crate) struct StoredResponse {
    /// Status as the origin sent it.
    pub(crate) status: StatusCode,
    /// End-to-end headers as the origin sent them (no hop-by-hop, no `Age`).
    pub(crate) headers: HeaderMap,
    /// The whole body.
    pub(crate) body: Bytes,
    /// When it arrived (or was last revalidated).
    pub(crate) stored_at: Instant,
    /// Its age on arrival.
    pub(crate) initial_age: Duration,
    /// How long it is fresh for, counted in age.
    pub(crate) lifetime: Duration,
}

/// Memory of one header beyond its name and value: the map's bucket and index, the
/// value's own allocation (measured: ~90 bytes with hyper's `HeaderMap`).
const HEADER_OVERHEAD: usize = 96;
/// Memory of one cache entry beyond its body, headers and key: this struct, the
/// `HeaderMap`'s tables, the `Arc`, and moka's node, deques and hash table slot. Counted
/// so that many tiny variants (one per value of a `Vary` header, spec §11) cannot
/// outgrow `cache_mb` while their bodies alone look small.
pub(crate) const ENTRY_OVERHEAD: usize = 640;

/// `headers` with every value in an allocation of its own. hyper's parsed values are
/// slices of the connection's read buffer: a stored copy would pin that whole buffer
/// (kilobytes) for as long as it stays in the cache, outside its weight (measured by
/// bench/abuse: 215 MiB resident for a 64 MiB cache).
pub(crate) fn detached(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let mut copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        copy.set_sensitive(value.is_sensitive());
        out.append(name.clone(), copy);
    }
    out
}

impl StoredResponse {
    /// Its current age (RFC 9111 §4.2.3, with the arrival time as the request time).
    pub(crate) fn age(&self, now: Instant) -> Duration {
        self.initial_age + now.saturating_duration_since(self.stored_at)
    }

    /// True while it may be served without asking the origin.
    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        self.age(now) < self.lifetime
    }

    /// Its `ETag` and `Last-Modified`, for revalidation.
    pub(crate) fn validators(&self) -> Validators {
        Validators {
            etag: self.headers.get(ETAG).cloned(),
            last_modified: self.headers.get(LAST_MODIFIED).cloned(),
        }
    }

    /// Bytes it costs in the cache: body, headers and a fixed overhead.
    pub(crate) fn weight(&self) -> u32 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + HEADER_OVERHEAD)
            .sum();
        u32::try_from(self.body.len() + headers + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
    }

    /// This response updated by a 304's headers (RFC 9111 §4.3.4): the 304's fields
    /// replace the stored ones, except the body's own length.
    pub(crate) fn refreshed(
        &self,
        not_modified: &HeaderMap,
        lifetime: Duration,
        initial_age: Duration,
    ) -> Self {
        let mut headers = self.headers.clone();
        for name in not_modified.keys() {
            if name == CONTENT_LENGTH {
                continue;
            }
            headers.remove(name);
            for value in not_modified.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        Self {
            status: self.status,
            headers,
            body: self.body.clone(),
            stored_at: Instant::now(),
            initial_age,
            lifetime,
        }
    }

    /// The `Age` header value for `now`.
    pub(crate) fn age_header(&self, now: Instant) -> HeaderValue {
        HeaderValue::from(self.age(now).as_secs())
    }
}
