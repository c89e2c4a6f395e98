//! The edge's cache: bounded in bytes (moka, weighed by body, headers, key and each
//! entry's own overhead; the Vary names per URL in the same budget, spec §11: variants
//! and keys cannot outgrow `cache_mb`), keyed by origin URL plus the request's values of
//! the headers the response `Vary`s on, with
//! per-key serialised fills so that a flash crowd for a cold or stale object makes one
//! origin fetch.
//!
//! Lookup order: a fresh stored response is a hit without any lock; otherwise the request
//! joins the key's queue (`and_compute_with`), where the first in line fetches or
//! revalidates and the others find the result. Responses that may not be stored leave a
//! short "pass" mark so that later requests for them go straight to the origin instead of
//! queueing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{AGE, CONTENT_LENGTH, HeaderName, VARY};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use moka::ops::compute::Op;
use origin_map::Decoded;

use super::body::EdgeBody;
use super::fetch::{BackDoorClient, FetchError, Mode, Validators};
use super::freshness::{Storability, storability};
use super::hop;
use super::prefixed::Prefixed;
use super::stored::{StoredResponse, detached};

/// How long a "do not store" answer sends later requests straight to the origin.
const PASS_FOR: Duration = Duration::from_secs(30);

/// Weight of a pass mark or a Vary-names entry beyond its key: the entry's own memory
/// and moka's node (see `stored::ENTRY_OVERHEAD`).
const PASS_WEIGHT: u32 = 256;

/// The share of `cache_mb` kept for the Vary names of URLs: a sixteenth.
fn vary_budget(limits: CacheLimits) -> u64 {
    limits.capacity_bytes / 16
}

/// Size limits of the cache.
#[derive(Clone, Copy, Debug)]
pub struct CacheLimits {
    /// Total bytes kept (bodies, headers, keys).
    pub capacity_bytes: u64,
    /// Largest body stored; larger ones stream through uncached.
    pub max_object_bytes: usize,
}

impl CacheLimits {
    /// Limits for a cache of `mb` MiB: objects up to an eighth of it, at most 64 MiB.
    pub fn from_mb(mb: u64) -> Self {
        let capacity_bytes = mb.saturating_mul(1024 * 1024);
        let max = (capacity_bytes / 8).min(64 * 1024 * 1024);
        Self {
            capacity_bytes,
            max_object_bytes: usize::try_from(max).unwrap_or(usize::MAX),
        }
    }
}

/// What the cache holds under a key.
#[derive(Clone, Debug)]
enum Slot {
    Stored(Arc<StoredResponse>),
    /// Not storable: go to the origin directly until then.
    Pass(Instant),
}

/// How a request was answered, for the `X-Cache` header and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from a fresh stored copy.
    Hit,
    /// Stored copy confirmed by the origin (304).
    Revalidated,
    /// Fetched and stored.
    Miss,
    /// Fetched, not stored.
    Pass,
}

impl CacheStatus {
    /// `HIT`, `REVALIDATED`, `MISS` or `PASS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Revalidated => "REVALIDATED",
            Self::Miss => "MISS",
            Self::Pass => "PASS",
        }
    }
}

/// The cache's answer to a request.
pub(crate) enum Outcome {
    /// A stored response to serve (conditionals and ranges apply).
    Stored(Arc<StoredResponse>, CacheStatus),
    /// An origin response streamed through unstored.
    Passed(Response<EdgeBody>),
}

/// The edge's cache. Cheap to share behind an `Arc`.
pub(crate) struct Cache {
    objects: moka::future::Cache<Arc<str>, Slot>,
    /// Per origin URL, the header names its last response varied on.
    vary_of: moka::future::Cache<Arc<str>, Arc<[HeaderName]>>,
    limits: CacheLimits,
    origin_fetches: AtomicU64,
}

impl Cache {
    /// An empty cache with these limits.
    pub(crate) fn new(limits: CacheLimits) -> Self {
        let objects = moka::future::Cache::builder()
            .max_capacity(limits.capacity_bytes - vary_budget(limits))
            .weigher(|key: &Arc<str>, slot: &Slot| {
                let key = u32::try_from(key.len()).unwrap_or(u32::MAX);
                match slot {
                    Slot::Stored(r) => r.weight().saturating_add(key),
                    Slot::Pass(_) => key.saturating_add(PASS_WEIGHT),
                }
            })
            .build();
        // The Vary names per URL are weighed in the same budget (a flood of random
        // query strings whose answers vary makes one entry each).
        let vary_of = moka::future::Cache::builder()
            .max_capacity(vary_budget(limits))
            .weigher(|url: &Arc<str>, names: &Arc<[HeaderName]>| {
                let names: usize = names.iter().map(|n| n.as_str().len() + 32).sum();
                u32::try_from(url.len() + names + PASS_WEIGHT as usize).unwrap_or(u32::MAX)
            })
            .build();
        Self {
            objects,
            vary_of,
            limits,
            origin_fetches: AtomicU64::new(0),
        }
    }

    /// How many requests this cache has sent to origins.
    pub(crate) fn origin_fetches(&self) -> u64 {
        self.origin_fetches.load(Ordering::Relaxed)
    }

    /// Bytes currently weighed in the cache (after pending maintenance).
    pub(crate) async fn weighted_size(&self) -> u64 {
        self.objects.run_pending_tasks().await;
        self.objects.weighted_size()
    }

    /// Answers a GET (or HEAD) for `decoded` with the client's `headers`: from a fresh
    /// copy, after one (shared) fetch or revalidation, or by streaming an unstorable
    /// response through.
    pub(crate) async fn lookup(
        &self,
        decoded: &Decoded<'_>,
        headers: &HeaderMap,
        client: &BackDoorClient,
    ) -> Result<Outcome, FetchError> {
        let url: Arc<str> = decoded.origin_url().into();
        let names = self.vary_of.get(&url).await;
        let key = variant_key(&url, names.as_deref().unwrap_or(&[]), headers);
        let now = Instant::now();
        match self.objects.get(&key).await {
            Some(Slot::Stored(r)) if r.is_fresh(now) => {
                return Ok(Outcome::Stored(r, CacheStatus::Hit));
            }
            Some(Slot::Pass(until)) if until > now => {
                return self.pass(decoded, headers, client).await;
            }
            _ => {}
        }
        let mut result: Option<Result<Outcome, FetchError>> = None;
        let slot = &mut result;
        self.objects
            .entry(key.clone())
            .and_compute_with(|current| async move {
                let now = Instant::now();
                let current = current.map(|e| e.into_value());
                let validators = match current {
                    Some(Slot::Stored(r)) if r.is_fresh(now) => {
                        *slot = Some(Ok(Outcome::Stored(r, CacheStatus::Hit)));
                        return Op::Nop;
                    }
                    Some(Slot::Pass(until)) if until > now => return Op::Nop,
                    Some(Slot::Stored(ref r)) => r.validators(),
                    _ => Validators::default(),
                };
                let stale = match current {
                    Some(Slot::Stored(r)) if validators.any() => Some(r),
                    _ => None,
                };
                let (op, outcome) = self
                    .fill(decoded, headers, client, &url, &key, stale, validators)
                    .await;
                *slot = Some(outcome);
                op
            })
            .await;
        match result {
            Some(outcome) => outcome,
            // Found a pass mark while queued.
            None => self.pass(decoded, headers, client).await,
        }
    }

    /// Fetches (or revalidates `stale`) for `key`; says what to keep and what to answer.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the parts of one fill"
    )]
    async fn fill(
        &self,
        decoded: &Decoded<'_>,
        headers: &HeaderMap,
        client: &BackDoorClient,
        url: &Arc<str>,
        key: &Arc<str>,
        stale: Option<Arc<StoredResponse>>,
        validators: Validators,
    ) -> (Op<Slot>, Result<Outcome, FetchError>) {
        self.origin_fetches.fetch_add(1, Ordering::Relaxed);
        let resp = match client.get(decoded, headers, &validators, Mode::Fill).await {
            Ok(resp) => resp,
            Err(e) => return (Op::Nop, Err(e)),
        };
        let (mut parts, body) = resp.into_parts();
        hop::strip(&mut parts.headers);
        if let (Some(stale), StatusCode::NOT_MODIFIED) = (&stale, parts.status) {
            parts.headers.remove(AGE);
            parts.headers = detached(&parts.headers);
            let mut merged = stale.headers.clone();
            merged.extend(parts.headers.clone());
            let refreshed = match storability(stale.status, headers, &merged, SystemTime::now()) {
                Storability::Yes {
                    lifetime,
                    initial_age,
                } => stale.refreshed(&parts.headers, lifetime, initial_age),
                Storability::No => stale.refreshed(&parts.headers, Duration::ZERO, Duration::ZERO),
            };
            let refreshed = Arc::new(refreshed);
            return (
                Op::Put(Slot::Stored(refreshed.clone())),
                Ok(Outcome::Stored(refreshed, CacheStatus::Revalidated)),
            );
        }
        let store = storability(parts.status, headers, &parts.headers, SystemTime::now());
        let (lifetime, initial_age) = match store {
            Storability::Yes {
                lifetime,
                initial_age,
            } if !lifetime.is_zero() || has_validators(&parts.headers) => (lifetime, initial_age),
            _ => {
                // A failing origin gets no pass mark: later requests keep queueing one
                // at a time instead of all going to it at once.
                let op = if parts.status.is_server_error() {
                    Op::Nop
                } else {
                    pass_mark()
                };
                return (op, Ok(Outcome::Passed(stream(parts, body.boxed()))));
            }
        };
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.limits.max_object_bytes as u64) {
            return (
                pass_mark(),
                Ok(Outcome::Passed(stream(parts, body.boxed()))),
            );
        }
        let body = match read_limited(body, self.limits.max_object_bytes).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err((prefix, rest))) => {
                let body = Prefixed::new(prefix, rest).boxed();
                return (pass_mark(), Ok(Outcome::Passed(stream(parts, body))));
            }
            Err(e) => return (Op::Nop, Err(FetchError::Body(e))),
        };
        parts.headers.remove(AGE);
        let vary = vary_names(&parts.headers);
        let stored = Arc::new(StoredResponse {
            status: parts.status,
            headers: detached(&parts.headers),
            body,
            stored_at: Instant::now(),
            initial_age,
            lifetime,
        });
        let outcome = Ok(Outcome::Stored(stored.clone(), CacheStatus::Miss));
        let known = self.vary_of.get(url).await;
        if known.as_deref().unwrap_or(&[]) == &vary[..] {
            return (Op::Put(Slot::Stored(stored)), outcome);
        }
        // The response varies on other headers than the key was made with: keep it under
        // the right key, and remember the names for later requests.
        let right_key = variant_key(url, &vary, headers);
        if vary.is_empty() {
            self.vary_of.invalidate(url).await;
        } else {
            self.vary_of.insert(url.clone(), vary.into()).await;
        }
        if right_key == *key {
            return (Op::Put(Slot::Stored(stored)), outcome);
        }
        self.objects.insert(right_key, Slot::Stored(stored)).await;
        (Op::Nop, outcome)
    }

    /// Streams the origin's answer through without storing it.
    async fn pass(
        &self,
        decoded: &Decoded<'_>,
        headers: &HeaderMap,
        client: &BackDoorClient,
    ) -> Result<Outcome, FetchError> {
        self.origin_fetches.fetch_add(1, Ordering::Relaxed);
        let resp = client
            .get(decoded, headers, &Validators::default(), Mode::Pass)
            .await?;
        let (mut parts, body) = resp.into_parts();
        hop::strip(&mut parts.headers);
        Ok(Outcome::Passed(stream(parts, body.boxed())))
    }
}

fn pass_mark() -> Op<Slot> {
    Op::Put(Slot::Pass(Instant::now() + PASS_FOR))
}

fn has_validators(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::ETAG) || headers.contains_key(http::header::LAST_MODIFIED)
}

fn stream(parts: http::response::Parts, body: EdgeBody) -> Response<EdgeBody> {
    Response::from_parts(parts, body)
}

/// Reads `body` whole if it is at most `limit` bytes; otherwise hands back what was read
/// and the rest.
async fn read_limited(
    mut body: Incoming,
    limit: usize,
) -> Result<Result<Bytes, (Bytes, Incoming)>, hyper::Error> {
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buf.extend_from_slice(&data);
            if buf.len() > limit {
                return Ok(Err((buf.freeze(), body)));
            }
        }
    }
    // A grown buffer may hold up to twice its length: stored bodies are weighed by
    // length, so keep exactly that.
    if buf.capacity() > buf.len() + buf.len() / 8 + 64 {
        return Ok(Ok(Bytes::copy_from_slice(&buf)));
    }
    Ok(Ok(buf.freeze()))
}

/// The lower-cased, sorted header names of `Vary`.
fn vary_names(headers: &HeaderMap) -> Vec<HeaderName> {
    let mut names: Vec<HeaderName> = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    names.dedup();
    names
}

/// `url`, then for each varying header its request values: one key per variant.
fn variant_key(url: &Arc<str>, names: &[HeaderName], headers: &HeaderMap) -> Arc<str> {
    if names.is_empty() {
        return url.clone();
    }
    let mut key = String::from(&**url);
    for name in names {
        key.push('\n');
        key.push_str(name.as_str());
        key.push(':');
        for (i, value) in headers.get_all(name).iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            key.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
    }
    key.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn variant_keys_differ_by_the_varying_values_only() {
        let url: Arc<str> = "http://a/x".into();
        let names = [http::header::ACCEPT_ENCODING];
        let mut gzip = HeaderMap::new();
        gzip.insert("accept-encoding", HeaderValue::from_static("gzip"));
        gzip.insert("user-agent", HeaderValue::from_static("a"));
        let mut gzip_b = gzip.clone();
        gzip_b.insert("user-agent", HeaderValue::from_static("b"));
        let none = HeaderMap::new();
        assert_eq!(
            variant_key(&url, &names, &gzip),
            variant_key(&url, &names, &gzip_b)
        );
        assert_ne!(
            variant_key(&url, &names, &gzip),
            variant_key(&url, &names, &none)
        );
        assert_eq!(&*variant_key(&url, &[], &gzip), "http://a/x");
    }

    #[test]
    fn vary_names_are_sorted_and_unique() {
        let mut h = HeaderMap::new();
        h.append(
            "vary",
            HeaderValue::from_static("User-Agent, accept-encoding"),
        );
        h.append("vary", HeaderValue::from_static("Accept-Encoding"));
        let names = vary_names(&h);
        let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["accept-encoding", "user-agent"]);
    }

    #[test]
    fn limits_scale_with_the_size() {
        let l = CacheLimits::from_mb(64);
        assert_eq!(l.capacity_bytes, 64 << 20);
        assert_eq!(l.max_object_bytes, 8 << 20);
        assert_eq!(CacheLimits::from_mb(4096).max_object_bytes, 64 << 20);
    }
}
