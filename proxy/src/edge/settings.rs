//! What the edge is told: the `[edge]` role of a deployment (spec §7), turned into the
//! origin map and per-offloader facts the edge serves and reports with.

use std::path::PathBuf;
use std::time::Duration;

use broker_config::Name;
use broker_config::deploy::{EdgeRole, HttpUrl, Token};
use origin_map::{EdgeMap, EdgeMapErrors, OffloaderSpec};

use super::cache::CacheLimits;
use super::fetch::DEFAULT_FETCH_TIMEOUT;
use super::regions::Regions;

/// One offloading CDN as the status server and alerts know it. Index `i` of
/// [`EdgeSettings::offloaders`] is offloader `i` of the origin map.
#[derive(Clone, Debug)]
pub struct OffloaderFacts {
    /// Its name.
    pub name: Name,
    /// The bearer token it presents to the status server (and we present to its alert
    /// receiver).
    pub token: Token,
    /// Capacity reserved for it, kbps; `None`: no alerts.
    pub capacity_kbps: Option<u64>,
    /// Where its alerts go.
    pub alert: Vec<HttpUrl>,
    /// Trust roots for `alert`; `None`: the web PKI roots.
    pub ca: Option<PathBuf>,
}

/// Everything an [`Edge`](super::Edge) is built from.
#[derive(Clone, Debug)]
pub struct EdgeSettings {
    /// This CDN's id (`[node] name`): the CDN-ID of its alerts and its `Via` pseudonym.
    pub node: Name,
    /// The origin map: what each offloader may ask for.
    pub map: EdgeMap,
    /// Per offloader, in the map's order.
    pub offloaders: Vec<OffloaderFacts>,
    /// Cache size limits.
    pub cache: CacheLimits,
    /// Client regions for per-region load.
    pub regions: Regions,
    /// How long to wait for an origin's response head.
    pub fetch_timeout: Duration,
    /// Extra trust roots (PEM) for `https://` back doors, besides the web PKI's.
    pub origin_ca: Option<PathBuf>,
    /// Alerts: how often load is checked, and the least time between two alerts of one
    /// kind to one offloader.
    pub alert_interval: Duration,
    /// Client connections over the edge's HTTP and HTTPS listeners (spec §11).
    pub max_connections: usize,
}

impl EdgeSettings {
    /// Settings of `role`, for the node called `node`, with `regions` for reports.
    pub fn from_role(
        node: &Name,
        role: &EdgeRole,
        regions: Regions,
    ) -> Result<Self, EdgeMapErrors> {
        let specs = role.offloaders.iter().map(|o| OffloaderSpec {
            name: o.name.as_str().to_owned(),
            embedded_hosts: o.embedded_hosts.iter().map(ToString::to_string).collect(),
            semantic_suffix: o.semantic_suffix.as_ref().map(ToString::to_string),
            table: o
                .table
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            origins: o
                .origins
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        // The edge's own listen addresses are no back door (a loop). Port 0 is skipped:
        // the port is chosen at bind time, and the kernel's ephemeral ports are not ones
        // an origin is configured on.
        let own: Vec<String> = std::iter::once(role.listen)
            .chain(role.status)
            .filter(|addr| addr.port() != 0)
            .map(|addr| addr.to_string())
            .collect();
        let own: Vec<&str> = own.iter().map(String::as_str).collect();
        let map = EdgeMap::new(specs, &own)?;
        let offloaders = role
            .offloaders
            .iter()
            .map(|o| OffloaderFacts {
                name: o.name.clone(),
                token: o.token.clone(),
                capacity_kbps: o.capacity_kbps,
                alert: o.alert.clone(),
                ca: o.ca.clone(),
            })
            .collect();
        Ok(Self {
            node: node.clone(),
            map,
            offloaders,
            cache: CacheLimits::from_mb(role.cache_mb),
            regions,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
            origin_ca: None,
            alert_interval: Duration::from_secs(10),
            max_connections: role
                .max_connections
                .unwrap_or(broker_config::deploy::DEFAULT_MAX_CONNECTIONS),
        })
    }
}
