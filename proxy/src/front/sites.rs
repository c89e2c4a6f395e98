//! The routing table built once at start from `[[customer]]` and `[[partner]]`: which
//! `Host` is a site, where its origin is, which hosts of its pages may be offloaded and
//! under which plan customer, and each partner's URL form.

use std::collections::HashMap;
use std::sync::Arc;

use broker_config::deploy::{Customer, HostPort, HttpUrl, Partner, UrlForm};
use broker_config::{DnsName, Name};
use http::HeaderValue;
use origin_map::{OffloadHosts, PartnerForm, PartnerFormError};
use prometheus_client::metrics::counter::Counter;

use super::metrics::Metrics;
use super::validator;

/// A partner we may offload to, with its form and counters.
pub(crate) struct PartnerRoute {
    pub(crate) name: Name,
    pub(crate) form: PartnerForm,
    /// The form's name (`embedded`, …) and a digest of its hosts, for page validators.
    pub(crate) form_kind: &'static str,
    pub(crate) form_digest: u32,
    /// URLs rewritten for it.
    pub(crate) rewrites: Counter,
    /// Pages whose pick was it.
    pub(crate) pages: Counter,
}

/// Offload hosts that share one name, picked together: `img.xyz.com` and
/// `img.xyz.com:8080` are one plan customer.
pub(crate) struct OffloadGroup {
    /// The plan customers to pick by, in order: the host's name (customer.txt lists the
    /// offloaded names, `ADD CST img.xyz.com`), then the `[[customer]]` name (`ADD CST xyz`).
    pub(crate) plan_keys: Vec<DnsName>,
    pub(crate) hosts: OffloadHosts,
    /// A digest of the hosts, for page validators.
    pub(crate) digest: u32,
}

/// A customer as the front proxy serves it.
pub(crate) struct CustomerRoute {
    pub(crate) groups: Vec<OffloadGroup>,
}

/// Where a site's pages are fetched from.
pub(crate) struct Site {
    pub(crate) customer: Arc<CustomerRoute>,
    /// Scheme and authority of the back door (`http`, `127.0.0.1:8000`), parsed once.
    pub(crate) origin_scheme: http::uri::Scheme,
    pub(crate) origin_authority: http::uri::Authority,
    /// The `Host` the origin is asked with: the site's own.
    pub(crate) host: HeaderValue,
}

/// Every site host, lower-case `host[:port]` as configured.
pub(crate) struct Sites {
    by_host: HashMap<Box<str>, Arc<Site>>,
}

/// Why the routing table cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A partner's form or an offload host that origin-map refuses.
    #[error("{what} {name}: {source}")]
    Form {
        /// `partner` or `customer`.
        what: &'static str,
        /// Its name.
        name: String,
        /// Why.
        source: PartnerFormError,
    },
    /// A site host with no origin (the config checker refuses this too).
    #[error("customer {customer}: site {host} has no origin")]
    NoOrigin {
        /// The customer.
        customer: String,
        /// The site host.
        host: String,
    },
}

impl Sites {
    pub(crate) fn new(customers: &[Customer]) -> Result<Self, RouteError> {
        let mut by_host = HashMap::new();
        for c in customers {
            let route = Arc::new(customer_route(c)?);
            for site in &c.site {
                let origin = c.origin.get(site).ok_or_else(|| RouteError::NoOrigin {
                    customer: c.name.to_string(),
                    host: site.to_string(),
                })?;
                let host = site.to_string();
                let bad = || RouteError::NoOrigin {
                    customer: c.name.to_string(),
                    host: site.to_string(),
                };
                let header = HeaderValue::from_str(&host).map_err(|_| bad())?;
                let (origin_scheme, origin_authority) = origin_parts(origin).ok_or_else(bad)?;
                by_host.insert(
                    host.into_boxed_str(),
                    Arc::new(Site {
                        customer: route.clone(),
                        origin_scheme,
                        origin_authority,
                        host: header,
                    }),
                );
            }
        }
        Ok(Self { by_host })
    }

    /// The site a request's `Host` (or `:authority`) names. A site listed without a port
    /// matches whatever port the client used (it reached one of our listeners); one
    /// listed with a port matches only that.
    pub(crate) fn find(&self, host: &str) -> Option<&Arc<Site>> {
        let host = host.trim_end_matches('.');
        if let Some(site) = self.by_host.get(host) {
            return Some(site);
        }
        let lower;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = host.to_ascii_lowercase();
            if let Some(site) = self.by_host.get(lower.as_str()) {
                return Some(site);
            }
            lower.as_str()
        } else {
            host
        };
        // `name:port` (never `[v6]` here: sites are DNS names).
        let (name, _port) = host.rsplit_once(':')?;
        self.by_host.get(name.trim_end_matches('.'))
    }
}

/// The back door's scheme and `host:port` (the path of an origin URL is not used: the
/// request's own target is sent).
fn origin_parts(url: &HttpUrl) -> Option<(http::uri::Scheme, http::uri::Authority)> {
    let scheme = match url.scheme {
        broker_config::deploy::Scheme::Http => http::uri::Scheme::HTTP,
        broker_config::deploy::Scheme::Https => http::uri::Scheme::HTTPS,
    };
    let authority = format!("{}:{}", url.host, url.port_or_default());
    Some((scheme, authority.parse().ok()?))
}

fn customer_route(c: &Customer) -> Result<CustomerRoute, RouteError> {
    let form_error = |source| RouteError::Form {
        what: "customer",
        name: c.name.to_string(),
        source,
    };
    let own_key = DnsName::new(c.name.as_str()).ok();
    let mut by_name: Vec<(&DnsName, Vec<&HostPort>)> = Vec::new();
    for host in &c.offload {
        match by_name.iter_mut().find(|(n, _)| **n == host.host) {
            Some((_, hosts)) => hosts.push(host),
            None => by_name.push((&host.host, vec![host])),
        }
    }
    let groups = by_name
        .into_iter()
        .map(|(name, hosts)| {
            let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
            let digest = validator::digest(names.iter().map(String::as_bytes));
            let hosts = OffloadHosts::new(names).map_err(form_error)?;
            let mut plan_keys = vec![name.clone()];
            plan_keys.extend(own_key.clone().filter(|k| k != name));
            Ok(OffloadGroup {
                plan_keys,
                hosts,
                digest,
            })
        })
        .collect::<Result<_, RouteError>>()?;
    Ok(CustomerRoute { groups })
}

/// The partners' routes, in file order.
pub(crate) fn partner_routes(
    partners: &[Partner],
    metrics: &Metrics,
) -> Result<Vec<PartnerRoute>, RouteError> {
    partners
        .iter()
        .map(|p| {
            let form = match (p.form, &p.host) {
                (UrlForm::Embedded, Some(host)) => PartnerForm::embedded(&host.to_string()),
                (UrlForm::Semantic, Some(host)) => PartnerForm::semantic(&host.to_string()),
                _ => PartnerForm::table(
                    p.table
                        .iter()
                        .map(|(origin, partner)| (origin.to_string(), partner.to_string())),
                ),
            }
            .map_err(|source| RouteError::Form {
                what: "partner",
                name: p.name.to_string(),
                source,
            })?;
            let host = p.host.as_ref().map(ToString::to_string).unwrap_or_default();
            let table: Vec<String> = p.table.iter().map(|(o, h)| format!("{o}={h}")).collect();
            let form_digest = validator::digest(
                [p.form.as_str(), host.as_str()]
                    .into_iter()
                    .chain(table.iter().map(String::as_str))
                    .map(str::as_bytes),
            );
            Ok(PartnerRoute {
                name: p.name.clone(),
                form,
                form_kind: p.form.as_str(),
                form_digest,
                rewrites: metrics.rewrites_for(p.name.as_str()),
                pages: metrics.pages_for(p.name.as_str()),
            })
        })
        .collect()
}
