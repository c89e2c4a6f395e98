//! One request through the edge, in phases:
//!
//! ```text
//! loop check (our Via? 508) → method (GET/HEAD, else 405) → decode (origin-map: 403/404,
//! no outbound connection) → cache (hit | one shared fetch or revalidation | pass)
//! → answer (conditionals: 304, Range: 206/416, HEAD: no body) → Via, X-Cache, meter
//! ```
//!
//! Every request is counted in the edge's metrics: refusals by status against the
//! offloader their `Host` names, the rest by how the cache answered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::{
    ALLOW, CONTENT_LENGTH, CONTENT_LOCATION, CONTENT_RANGE, CONTENT_TYPE, DATE, ETAG, EXPIRES,
    HOST, HeaderName, HeaderValue, LAST_MODIFIED, VARY,
};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use origin_map::{EdgeRequest, Scheme};

use super::Edge;
use super::body::{EdgeBody, empty, full};
use super::cache::{CacheStatus, Outcome};
use super::conditional::{Selection, select};
use super::meter::Tally;
use super::stored::StoredResponse;

/// Reports how the cache answered: `HIT`, `MISS`, `REVALIDATED` or `PASS`.
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// Answers one client request that arrived over `scheme` from `peer`.
pub async fn handle<B>(
    edge: Arc<Edge>,
    scheme: Scheme,
    peer: SocketAddr,
    req: Request<B>,
) -> Response<EdgeBody> {
    // An absolute-form target's authority overrides `Host` (RFC 9112 §3.2.2); HTTP/2
    // carries it as `:authority`, which hyper puts in the URI.
    let host = match req.uri().authority() {
        Some(a) => Some(a.as_str()),
        None => req.headers().get(HOST).and_then(|h| h.to_str().ok()),
    };
    if edge.via.seen_in(req.headers()) {
        return refused(
            &edge,
            scheme,
            host,
            StatusCode::LOOP_DETECTED,
            "request loop: it already went through this edge",
        );
    }
    let head = req.method() == Method::HEAD;
    if !head && req.method() != Method::GET {
        let status = StatusCode::METHOD_NOT_ALLOWED;
        let mut resp = refused(&edge, scheme, host, status, "only GET and HEAD");
        resp.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let Some(host) = host else {
        return refused(
            &edge,
            scheme,
            None,
            StatusCode::BAD_REQUEST,
            "no Host header",
        );
    };
    let snapshot = edge.snapshot.clone();
    let decode = snapshot.map.decode(&EdgeRequest {
        scheme,
        host,
        path: req.uri().path(),
        query: req.uri().query(),
    });
    let decoded = match decode {
        Ok(d) => d,
        Err(refusal) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::FORBIDDEN);
            return refused(&edge, scheme, Some(host), status, &refusal.to_string());
        }
    };
    let offloader = decoded.offloader.index();
    let tally = Tally::new(
        edge.meter.clone(),
        &snapshot.regions,
        offloader,
        peer.ip(),
        edge.metrics.offloader(offloader).bytes,
    );
    let outcome = edge
        .cache
        .lookup(&decoded, req.headers(), &edge.client)
        .await;
    let cache_status = match &outcome {
        Ok(Outcome::Stored(_, status)) => Some(*status),
        Ok(Outcome::Passed(_)) => Some(CacheStatus::Pass),
        Err(_) => None,
    };
    edge.metrics.served(offloader, cache_status);
    let mut resp = match outcome {
        Ok(Outcome::Stored(stored, status)) => from_stored(&stored, status, req.headers()),
        Ok(Outcome::Passed(resp)) => {
            let mut resp = resp;
            resp.headers_mut()
                .insert(X_CACHE, HeaderValue::from_static("PASS"));
            resp
        }
        Err(e) => {
            tracing::debug!(error = %e, origin = %decoded.origin, "back-door fetch failed");
            edge.origin_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            refuse(e.status(), &e.to_string())
        }
    };
    edge.via.append_to(resp.headers_mut());
    tally.hit();
    if head {
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, empty());
    }
    let (parts, body) = resp.into_parts();
    Response::from_parts(parts, tally.count(body))
}

/// A stored response as the client's conditionals and range make it.
fn from_stored(
    stored: &StoredResponse,
    status: CacheStatus,
    request: &HeaderMap,
) -> Response<EdgeBody> {
    let selection = if stored.status == StatusCode::OK {
        select(request, &stored.headers, stored.body.len())
    } else {
        Selection::Whole
    };
    let len = stored.body.len();
    let (code, mut headers, body) = match selection {
        Selection::Whole => (
            stored.status,
            stored.headers.clone(),
            full(stored.body.clone()),
        ),
        Selection::NotModified => (
            StatusCode::NOT_MODIFIED,
            not_modified_headers(&stored.headers),
            empty(),
        ),
        Selection::Partial(range) => {
            let mut headers = stored.headers.clone();
            let range_header = format!("bytes {}-{}/{len}", range.start, range.end - 1);
            if let Ok(v) = HeaderValue::from_str(&range_header) {
                headers.insert(CONTENT_RANGE, v);
            }
            headers.insert(CONTENT_LENGTH, HeaderValue::from(range.len()));
            let body = full(stored.body.slice(range));
            (StatusCode::PARTIAL_CONTENT, headers, body)
        }
        Selection::Unsatisfiable => {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                headers.insert(CONTENT_RANGE, v);
            }
            (StatusCode::RANGE_NOT_SATISFIABLE, headers, empty())
        }
    };
    if code == stored.status {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    if code != StatusCode::RANGE_NOT_SATISFIABLE && code != StatusCode::NOT_MODIFIED {
        headers.insert(
            http::header::ACCEPT_RANGES,
            HeaderValue::from_static("bytes"),
        );
    }
    headers.insert(http::header::AGE, stored.age_header(Instant::now()));
    headers.insert(X_CACHE, HeaderValue::from_static(status.as_str()));
    let mut resp = Response::new(body);
    *resp.status_mut() = code;
    *resp.headers_mut() = headers;
    resp
}

/// The fields a 304 carries (RFC 9110 §15.4.5).
fn not_modified_headers(stored: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in [
        http::header::CACHE_CONTROL,
        CONTENT_LOCATION,
        DATE,
        ETAG,
        EXPIRES,
        VARY,
        LAST_MODIFIED,
    ] {
        for v in stored.get_all(&name) {
            out.append(name.clone(), v.clone());
        }
    }
    out
}

/// [`refuse`], counted against the offloader that `host` names (if any).
fn refused(
    edge: &Edge,
    scheme: Scheme,
    host: Option<&str>,
    status: StatusCode,
    reason: &str,
) -> Response<EdgeBody> {
    let offloader = host.and_then(|h| edge.snapshot.map.offloader_of_host(scheme, h));
    edge.metrics
        .refused(offloader.map(|o| o.name().as_str()), status);
    refuse(status, reason)
}

/// A short plain-text refusal: the status and a one-line reason.
pub fn refuse(status: StatusCode, reason: &str) -> Response<EdgeBody> {
    let mut resp = Response::new(full(format!("{reason}\n")));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
