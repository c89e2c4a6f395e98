//! The edge's Prometheus counters, per offloader, served as text on `[edge] metrics`
//! (spec §7): requests, cache hits and misses, origin fetches, refusals by status, and
//! body bytes served. Each edge has its own registry (tests run several edges).
//!
//! The data path touches only atomics: each offloader's counters are created once, at
//! start, and held by index; a refusal, off the serving path, looks its series up.

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::body::{EdgeBody, full};
use super::cache::CacheStatus;

/// Labels of the per-offloader counters: the offloader's name, empty for a request
/// whose `Host` names no offloader.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OffloaderLabel {
    offloader: String,
}

/// Labels of the refusal counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    offloader: String,
    status: u16,
}

/// One offloader's series, kept so that counting needs no lookup.
#[derive(Clone, Debug, Default)]
pub(crate) struct OffloaderCounters {
    requests: Counter,
    hits: Counter,
    misses: Counter,
    origin_fetches: Counter,
    /// Body bytes sent to clients (what the status reports' kbps measure too).
    pub(crate) bytes: Counter,
}

/// The families, registered once.
#[derive(Default)]
struct Families {
    requests: Family<OffloaderLabel, Counter>,
    hits: Family<OffloaderLabel, Counter>,
    misses: Family<OffloaderLabel, Counter>,
    origin_fetches: Family<OffloaderLabel, Counter>,
    bytes: Family<OffloaderLabel, Counter>,
    refused: Family<RefusalLabels, Counter>,
}

/// The edge's metrics and the registry that encodes them.
pub(crate) struct EdgeMetrics {
    registry: Registry,
    families: Families,
    /// Index `i` is offloader `i` of the origin map.
    offloaders: Box<[OffloaderCounters]>,
}

impl EdgeMetrics {
    /// Adds a connection cap's counters (`cdnbroker_edge_<prefix>_connections_*`).
    pub(crate) fn register_cap(&mut self, cap: &broker_net::ConnectionCap, prefix: &str) {
        cap.register(&mut self.registry, prefix);
    }

    /// Counters for the offloaders called `names`, in the origin map's order.
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let families = Families::default();
        let mut registry = Registry::with_prefix("cdnbroker_edge");
        let f = &families;
        let per_offloader = [
            (
                "requests",
                "Requests whose Host names the offloader, served or refused",
                &f.requests,
            ),
            (
                "cache_hits",
                "Requests answered from a fresh stored copy",
                &f.hits,
            ),
            (
                "cache_misses",
                "Requests that needed the origin (miss, revalidation, pass, failed fetch)",
                &f.misses,
            ),
            (
                "origin_fetches",
                "Requests sent to origins' back doors",
                &f.origin_fetches,
            ),
            (
                "bytes_served",
                "Response body bytes sent to clients",
                &f.bytes,
            ),
        ];
        for (name, help, family) in per_offloader {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "refused",
            "Requests refused before any origin fetch, per HTTP status (403, 404, 405, 508...)",
            f.refused.clone(),
        );
        let offloaders = names
            .into_iter()
            .map(|name| {
                let label = OffloaderLabel {
                    offloader: name.to_owned(),
                };
                OffloaderCounters {
                    requests: f.requests.get_or_create(&label).clone(),
                    hits: f.hits.get_or_create(&label).clone(),
                    misses: f.misses.get_or_create(&label).clone(),
                    origin_fetches: f.origin_fetches.get_or_create(&label).clone(),
                    bytes: f.bytes.get_or_create(&label).clone(),
                }
            })
            .collect();
        Self {
            registry,
            families,
            offloaders,
        }
    }

    /// Offloader number `index`'s counters (a detached set for an index out of range, so
    /// counting never fails).
    pub(crate) fn offloader(&self, index: usize) -> OffloaderCounters {
        self.offloaders.get(index).cloned().unwrap_or_default()
    }

    /// Counts a request for offloader `index` that the cache answered with `status`
    /// (`None`: the fetch failed).
    pub(crate) fn served(&self, index: usize, status: Option<CacheStatus>) {
        let Some(c) = self.offloaders.get(index) else {
            return;
        };
        c.requests.inc();
        if status == Some(CacheStatus::Hit) {
            c.hits.inc();
        } else {
            // Every other outcome is one back-door request made for this one.
            c.misses.inc();
            c.origin_fetches.inc();
        }
    }

    /// Counts a request refused with `status`, for the offloader called `offloader`
    /// (`None`: its `Host` names none).
    pub(crate) fn refused(&self, offloader: Option<&str>, status: StatusCode) {
        let offloader = offloader.unwrap_or_default().to_owned();
        self.families
            .requests
            .get_or_create(&OffloaderLabel {
                offloader: offloader.clone(),
            })
            .inc();
        self.families
            .refused
            .get_or_create(&RefusalLabels {
                offloader,
                status: status.as_u16(),
            })
            .inc();
    }

    /// Everything in Prometheus text format.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// `GET /metrics` (or `/`): the text; anything else 404 or 405.
pub(crate) fn handle<B>(metrics: &Arc<EdgeMetrics>, req: &Request<B>) -> Response<EdgeBody> {
    let (status, body) = if req.method() != Method::GET && req.method() != Method::HEAD {
        (StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_owned())
    } else if !matches!(req.uri().path(), "/metrics" | "/") {
        (
            StatusCode::NOT_FOUND,
            "only /metrics is served\n".to_owned(),
        )
    } else {
        match metrics.encode() {
            Ok(text) => (StatusCode::OK, text),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
        }
    };
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line starting with `series` (name and labels).
    fn sample(text: &str, series: &str) -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn counts_go_to_their_offloader_and_kind() {
        let m = EdgeMetrics::new(["C", "D"]);
        m.served(0, Some(CacheStatus::Miss));
        m.served(0, Some(CacheStatus::Hit));
        m.served(0, Some(CacheStatus::Hit));
        m.served(1, None);
        m.served(7, Some(CacheStatus::Hit));
        m.offloader(1).bytes.inc_by(10_240);
        m.refused(Some("C"), StatusCode::FORBIDDEN);
        m.refused(None, StatusCode::NOT_FOUND);
        let text = m.encode().unwrap();
        let c = "{offloader=\"C\"}";
        assert_eq!(
            sample(&text, &format!("cdnbroker_edge_requests_total{c}")),
            Some(4)
        );
        assert_eq!(
            sample(&text, &format!("cdnbroker_edge_cache_hits_total{c}")),
            Some(2)
        );
        assert_eq!(
            sample(&text, &format!("cdnbroker_edge_cache_misses_total{c}")),
            Some(1)
        );
        assert_eq!(
            sample(
                &text,
                "cdnbroker_edge_origin_fetches_total{offloader=\"D\"}"
            ),
            Some(1)
        );
        assert_eq!(
            sample(&text, "cdnbroker_edge_bytes_served_total{offloader=\"D\"}"),
            Some(10_240)
        );
        assert_eq!(
            sample(
                &text,
                "cdnbroker_edge_refused_total{offloader=\"C\",status=\"403\"}"
            ),
            Some(1)
        );
        assert_eq!(
            sample(
                &text,
                "cdnbroker_edge_refused_total{offloader=\"\",status=\"404\"}"
            ),
            Some(1)
        );
    }
}
