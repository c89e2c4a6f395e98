//! Spec §4 status reports: `GET /load?...` and `GET /capacity?...` over HTTPS, each
//! offloader authenticated by its bearer token and told about its own traffic only.

use std::sync::Arc;

use broker_config::status::{Figures, Load, Metric, RegionId, Scope, StatusQuery, StatusReport};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};

use super::Edge;
use super::body::{EdgeBody, full};
use super::meter::WINDOW_SECS;
use super::request::refuse;

/// Answers one status request.
pub(crate) fn handle<B>(edge: &Arc<Edge>, req: &Request<B>) -> Response<EdgeBody> {
    let Some(offloader) = authenticate(edge, req) else {
        let mut resp = refuse(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        resp.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"status\""),
        );
        return resp;
    };
    if req.method() != Method::GET {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "only GET");
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.uri().path(), |pq| pq.as_str());
    let query = match StatusQuery::parse(target.as_bytes()) {
        Ok(q) => q,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let report = report(edge, offloader, &query);
    let mut resp = Response::new(full(format!("{report}\n")));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The offloader whose token the request carries.
fn authenticate<B>(edge: &Edge, req: &Request<B>) -> Option<usize> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim().as_bytes();
    edge.snapshot
        .offloaders
        .iter()
        .position(|o| constant_time_eq(o.token.expose().as_bytes(), token))
}

/// Compares without stopping at the first difference, so timing tells nothing of a token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The report answering `query` for offloader number `offloader`.
pub(crate) fn report(edge: &Edge, offloader: usize, query: &StatusQuery) -> StatusReport {
    let now = edge.meter.now();
    // The meter keeps WINDOW_SECS of history; a longer period averages over that.
    let period = u64::from(query.period_secs).min(WINDOW_SECS);
    let regions = &edge.snapshot.regions;
    let load = |region: Option<u16>| {
        let rate = edge.meter.rate(offloader, region, now, period);
        Load {
            kbps: rate.kbps,
            hits_per_s: Some(rate.hits_per_s),
        }
    };
    match (query.metric, &query.scope) {
        (Metric::Load, Scope::Aggregate) => StatusReport::Load(Figures::Aggregate(load(None))),
        (Metric::Load, Scope::AllRegions) => StatusReport::Load(Figures::Regions(
            regions
                .names()
                .iter()
                .zip(0u16..)
                .map(|(id, i)| (id.clone(), load(Some(i))))
                .collect(),
        )),
        (Metric::Load, Scope::Regions(ids)) => {
            let figures: Option<Vec<(RegionId, Load)>> = ids
                .iter()
                .map(|id| {
                    regions
                        .index_of(id.as_str())
                        .map(|i| (id.clone(), load(Some(i))))
                })
                .collect();
            figures.map_or(StatusReport::Unavailable, |f| {
                StatusReport::Load(Figures::Regions(f))
            })
        }
        (Metric::Capacity, Scope::Aggregate) => {
            match edge
                .snapshot
                .offloaders
                .get(offloader)
                .and_then(|o| o.capacity_kbps)
            {
                Some(capacity) => StatusReport::Capacity(Figures::Aggregate(
                    capacity.saturating_sub(load(None).kbps),
                )),
                None => StatusReport::Unavailable,
            }
        }
        // Capacity is reserved for an offloader as a whole (`capacity_kbps`), not per
        // region: there are no per-region figures to give.
        (Metric::Capacity, _) => StatusReport::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secre"));
    }
}
