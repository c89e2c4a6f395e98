//! The front proxy's derived tables (sites by `Host`, the partners' URL forms) and how
//! they follow the control component's routing snapshot without a restart: a request
//! loads the snapshot once; when its generation is not the one the tables were built
//! from, one request rebuilds them (the others meanwhile keep the tables they have), and
//! every later request of that generation finds them ready.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use broker_config::deploy::{Customer, Partner};
use broker_policy::routing::{Routing, RoutingRefusal, SharedRouting};

use super::metrics::Metrics;
use super::sites::{self, PartnerRoute, RouteError, Sites};

/// The tables one request routes by.
pub(crate) struct Tables {
    /// The routing generation they were built from (0: the deployment file's).
    pub(crate) generation: u64,
    pub(crate) sites: Arc<Sites>,
    /// In the deployment's order: special ports index into it (control keeps the
    /// partners and their order fixed).
    pub(crate) partners: Arc<[PartnerRoute]>,
}

impl Tables {
    pub(crate) fn build(
        generation: u64,
        partners: &[Partner],
        customers: &[Customer],
        metrics: &Metrics,
    ) -> Result<Self, RouteError> {
        Ok(Self {
            generation,
            sites: Arc::new(Sites::new(customers)?),
            partners: sites::partner_routes(partners, metrics)?.into(),
        })
    }
}

/// Whether a front proxy can route by `routing`: origin-map builds every partner's URL
/// form and every customer's offload hosts (stricter in places than the deployment
/// file's validation). The control component runs it on every edit before the swap
/// (`Control::add_routing_check`), so that an edit the proxy could not use is refused at
/// once instead of being ignored here.
pub fn check_routing(routing: &Routing) -> Result<(), RoutingRefusal> {
    match Tables::build(
        routing.generation(),
        routing.partners(),
        routing.customers(),
        &Metrics::new(),
    ) {
        Ok(_) => Ok(()),
        Err(RouteError::Form { what, name, source }) => Err(RoutingRefusal {
            table: what,
            name,
            message: source.to_string(),
        }),
        Err(RouteError::NoOrigin { customer, host }) => Err(RoutingRefusal {
            table: "customer",
            name: customer,
            message: format!("site {host} has no origin"),
        }),
    }
}

/// The tables in force, and the snapshot they follow, if any.
pub(crate) struct LiveTables {
    tables: ArcSwap<Tables>,
    follows: Option<SharedRouting>,
    rebuilding: Mutex<()>,
}

impl LiveTables {
    pub(crate) fn fixed(tables: Tables) -> Self {
        Self {
            tables: ArcSwap::from_pointee(tables),
            follows: None,
            rebuilding: Mutex::new(()),
        }
    }

    /// From now on, follow `routing` (first rebuilt at the next request).
    pub(crate) fn follow(&mut self, routing: SharedRouting) {
        self.follows = Some(routing);
    }

    /// The tables for one request.
    pub(crate) fn current(&self, metrics: &Metrics) -> Arc<Tables> {
        let tables = self.tables.load_full();
        let Some(routing) = &self.follows else {
            return tables;
        };
        let snapshot = routing.load();
        if snapshot.generation() == tables.generation {
            return tables;
        }
        let Ok(_one) = self.rebuilding.try_lock() else {
            return tables; // another request is rebuilding them
        };
        let latest = self.tables.load_full();
        if latest.generation == snapshot.generation() {
            return latest;
        }
        let fresh = match Tables::build(
            snapshot.generation(),
            snapshot.partners(),
            snapshot.customers(),
            metrics,
        ) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                // Control validated these tables as the deployment file is validated; if
                // the proxy still cannot use them, it keeps routing by the last good ones.
                tracing::warn!(error = %e, generation = snapshot.generation(), "routing tables refused, keeping the previous ones");
                Arc::new(Tables {
                    generation: snapshot.generation(),
                    sites: Arc::clone(&latest.sites),
                    partners: Arc::clone(&latest.partners),
                })
            }
        };
        self.tables.store(Arc::clone(&fresh));
        fresh
    }

    /// The tables as they are now, without following (for setup).
    pub(crate) fn now(&self) -> Arc<Tables> {
        self.tables.load_full()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use broker_config::deploy::Deployment;
    use broker_policy::routing::Routing;

    use super::*;

    const DEPLOYMENT: &str = r#"[node]
name = "C"
[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
origin = { "www.xyz.com" = "http://127.0.0.1:8000" }
"#;

    #[test]
    fn the_check_refuses_what_origin_map_cannot_build() {
        let d = Deployment::parse(DEPLOYMENT, Path::new("c.toml")).unwrap();
        let ok = Routing::new(2, d.partners.clone(), d.customers.clone());
        assert_eq!(check_routing(&ok), Ok(()));
        // The file's validation takes an IP address as a host; a semantic suffix cannot be one.
        let text = DEPLOYMENT
            .replace("form = \"embedded\"", "form = \"semantic\"")
            .replace("foo.cdn-g.example", "192.0.2.1");
        let d = Deployment::parse(&text, Path::new("c.toml")).unwrap();
        let bad = Routing::new(3, d.partners.clone(), d.customers.clone());
        let refusal = check_routing(&bad).unwrap_err();
        assert_eq!((refusal.table, refusal.name.as_str()), ("partner", "G"));
        assert!(refusal.message.contains("IP address"), "{refusal:?}");
    }

    #[test]
    fn tables_follow_the_snapshot_once_per_generation() {
        let d = Deployment::parse(DEPLOYMENT, Path::new("c.toml")).unwrap();
        let metrics = Metrics::new();
        let mut live =
            LiveTables::fixed(Tables::build(0, &d.partners, &d.customers, &metrics).unwrap());
        let routing = Routing::new(1, d.partners.clone(), d.customers.clone()).shared();
        live.follow(Arc::clone(&routing));
        let first = live.current(&metrics);
        assert_eq!(first.generation, 1);
        assert!(Arc::ptr_eq(&first, &live.current(&metrics)), "built once");
        assert!(first.sites.find("www.abc.com").is_none());

        let mut customers = d.customers.clone();
        let mut abc = customers[0].clone();
        abc.name = broker_config::Name::new("abc").unwrap();
        let site = broker_config::deploy::HostPort::parse("www.abc.com").unwrap();
        abc.origin = [(site.clone(), abc.origin.values().next().unwrap().clone())].into();
        abc.site = vec![site];
        abc.offload.clear();
        customers.push(abc);
        routing.store(Arc::new(Routing::new(2, d.partners.clone(), customers)));
        let second = live.current(&metrics);
        assert_eq!(second.generation, 2);
        assert!(second.sites.find("www.abc.com").is_some());
        assert!(second.sites.find("www.xyz.com").is_some());
    }
}
