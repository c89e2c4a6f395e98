//! Partner edge (issue 5) over real sockets: a counting origin, the edge on port 0, and
//! real clients (hyper, raw TCP). Modules live in `edge/`; `#[path]` keeps cargo from
//! taking them for test targets.

#[path = "edge/alerts.rs"]
mod alerts;
#[path = "edge/caching.rs"]
mod caching;
#[path = "edge/metrics.rs"]
mod metrics;
#[path = "edge/open_proxy.rs"]
mod open_proxy;
#[path = "edge/pki.rs"]
mod pki;
#[path = "edge/serving.rs"]
mod serving;
#[path = "edge/status.rs"]
mod status;
#[path = "edge/support.rs"]
mod support;
#[path = "edge/tls.rs"]
mod tls;
