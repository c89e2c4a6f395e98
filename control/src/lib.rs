//! broker-control: the control component of cdnbroker (the seed's "Control"), the
//! `[control]` role of `cdnbroker run --config`.
//!
//! It owns the model of CDNs, customers and regions (`broker_policy::model`) and keeps
//! a load-balancing plan of it in force everywhere:
//!
//! - **config agent**: reads `regions.txt`, `cdn.txt`, `customer.txt` (spec §2) at start
//!   and on reset; a bad file is refused with `FILE:LINE:COL: message` and changes nothing.
//! - **load agent**: polls each `[[partner]]`'s status reports (spec §4) over HTTPS with
//!   its bearer token every [`ControlSettings::poll_period`]. A failed poll changes no
//!   figure; once a partner's feedback is older than the staleness limit it is put back
//!   on the capacity `cdn.txt` reserved, which the balancer then trusts less and less.
//! - **alert receiver**: `POST /alert` over HTTPS on `[control] alerts` (spec §4); an
//!   alert is applied and the new plan published before the 204 goes out.
//! - **management interface**: spec §3 batches over TCP on `[control] management`,
//!   `AUTH <token>` first, answered `OK <generation>` or `ERR LINE:COL message`.
//! - **HTTP API** on `[control] api`: the same operations in JSON or §3 text, the state,
//!   `/metrics` (routes, JSON forms and examples: `control/README.md`; `api::ui` serves the
//!   operator page, `/api/routing` the routing tables below).
//! - **engine drivers**: one per `[control] engines` entry, each bringing its DNS engine
//!   to the newest plan with spec §1 transactions (whole tables first and after a
//!   failure, `UPDATE CVG` diffs otherwise), retrying with capped back-off.
//!
//! # Routing tables
//!
//! The `[[partner]]` URL forms and `[[customer]]` site, offload and origin tables are
//! published as a [`SharedRouting`] ([`Control::routing`]) that an in-process front
//! proxy follows; `PUT /api/routing` (the operator page) replaces them whole, checked by
//! the deployment file's own validation, without a restart.
//!
//! # The event loop
//!
//! Every agent sends its events over one channel to a single task that owns the model:
//! management batches and API operations (all or nothing), resets, poll results,
//! alerts, and a timer tick. An event that changes the model re-runs
//! `broker_policy::balance::balance` with the plan in force (hysteresis); a changed plan
//! gets the next generation and is published at once, as a new
//! [`LivePlan`](broker_policy::live::LivePlan) swapped into the [`SharedPlan`] that
//! in-process proxies read ([`Control::plan`]), and to the engine drivers.
//!
//! # Ports
//!
//! [`Control::start`] binds every port of the role before it returns and prints each on
//! stdout (`control-api ADDR`, `management ADDR`, `alerts ADDR`), so a deployment may ask
//! for port 0. The future it returns serves until the shutdown token is cancelled.
//!
//! ```no_run
//! # async fn f() -> Result<(), broker_control::ControlError> {
//! use broker_config::deploy::Deployment;
//! use tokio_util::sync::CancellationToken;
//!
//! let deployment = Deployment::read("examples/c.toml".as_ref()).expect("a valid file");
//! let shutdown = CancellationToken::new();
//! let (control, serving) = broker_control::Control::start(&deployment, shutdown.clone()).await?;
//! let plan = control.plan(); // what a front proxy in this process reads
//! println!("plan generation {}", plan.load().generation());
//! serving.await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod alert_receiver;
mod api;
mod authority;
mod command;
mod config_agent;
mod core;
mod dns_names;
mod engine_driver;
mod error;
mod feedback;
mod http_server;
mod load_agent;
mod management;
mod metrics;
mod partner_record;
mod replica;
mod routing;
mod settings;
mod state_view;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use broker_config::deploy::Deployment;
use broker_policy::live::SharedPlan;
use broker_policy::routing::{RoutingCheck, SharedRouting};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

pub use config_agent::ConfigError;
pub use engine_driver::EngineStatus;
pub use error::{ControlError, TlsError};
pub use settings::ControlSettings;
pub use state_view::{
    CdnView, CustomerView, GroupView, PartnerView, PlanView, RegionView, StateView,
};

use crate::alert_receiver::AlertReceiver;
use crate::api::Api;
use crate::config_agent::ConfigPaths;
use crate::core::Core;
use crate::dns_names::DnsNames;
use crate::engine_driver::Driver;
use crate::management::Management;
use crate::metrics::Metrics;

/// Room for this many events in the loop's channel before agents wait.
const COMMAND_QUEUE: usize = 1024;

/// A started control component: its plan and where it listens.
pub struct Control {
    plan: SharedPlan,
    routing: Arc<routing::RoutingTables>,
    api: Option<SocketAddr>,
    management: Option<SocketAddr>,
    alerts: Option<SocketAddr>,
    engines: Vec<watch::Receiver<EngineStatus>>,
}

impl Control {
    /// Starts the `[control]` role of `deployment` with the default settings: reads the
    /// agent files, makes the first plan, binds every port (printing them). The returned
    /// future runs the event loop, agents and drivers until `shutdown`.
    pub async fn start(
        deployment: &Deployment,
        shutdown: CancellationToken,
    ) -> Result<(Self, impl Future<Output = ()> + Send + 'static), ControlError> {
        Self::start_with(deployment, ControlSettings::default(), shutdown).await
    }

    /// [`Control::start`] with explicit periods and tuning.
    pub async fn start_with(
        deployment: &Deployment,
        settings: ControlSettings,
        shutdown: CancellationToken,
    ) -> Result<(Self, impl Future<Output = ()> + Send + 'static), ControlError> {
        let role = deployment.control.as_ref().ok_or(ControlError::NoRole)?;
        // The deployment's own periods win over the caller's defaults.
        let mut settings = settings;
        settings.poll_period = role.poll_period.unwrap_or(settings.poll_period);
        settings.poll_timeout = role.poll_timeout.unwrap_or(settings.poll_timeout);
        let paths = ConfigPaths::of(role);
        let loaded = config_agent::read(&paths)?;
        // With [cluster]: the files seed an empty prefix only; the state in etcd wins.
        let clustered = match &deployment.cluster {
            Some(c) => {
                let cluster = broker_cluster::Cluster::connect(c).await?;
                let texts = config_agent::read_texts(&paths)?;
                if broker_cluster::state::seed_if_empty(&cluster, &texts).await? {
                    tracing::info!(
                        prefix = cluster.prefix(),
                        "empty prefix seeded from the files"
                    );
                }
                let stored = broker_cluster::state::load_state(&cluster).await?;
                Some((cluster, stored))
            }
            None => None,
        };
        // One cap for the management, API and alert ports together (spec §11).
        let cap = broker_net::ConnectionCap::new(
            role.max_connections
                .unwrap_or(broker_config::deploy::DEFAULT_CONTROL_CONNECTIONS),
        );
        let mut metrics = Metrics::new();
        metrics.register_cap(&cap);
        let metrics = Arc::new(metrics);
        let names = DnsNames::of(&deployment.customers);
        let clock = Instant::now();
        let routing = Arc::new(routing::RoutingTables::new(deployment));
        let core = Core::new(
            settings.clone(),
            paths,
            loaded,
            Arc::clone(&routing),
            names.clone(),
            Arc::clone(&metrics),
            clock,
        );
        let mut core = core;
        if let Some((cluster, stored)) = &clustered {
            core.join_cluster(cluster.clone(), stored);
        }
        let plan = core.shared();
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let mut tasks: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>> = Vec::new();

        let names = Arc::new(names);
        // One way to make a driver, for configured and for registered engines.
        let make_driver = {
            let (plans, authority) = (core.subscribe(), core.authority());
            let (names, settings, metrics) =
                (Arc::clone(&names), settings.clone(), Arc::clone(&metrics));
            let engine_token = role.engine_token.clone();
            move |addr, status| Driver {
                engine_token: engine_token.clone(),
                addr,
                plans: plans.clone(),
                status,
                names: Arc::clone(&names),
                settings: settings.clone(),
                metrics: Arc::clone(&metrics),
                authority: authority.clone(),
            }
        };
        let mut engines = Vec::new();
        for &addr in &role.engines {
            let (status, seen) = watch::channel(EngineStatus::new(addr));
            engines.push(seen);
            tasks.push(Box::pin(make_driver(addr, status).run(shutdown.clone())));
        }
        let member_engines = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
        for poller in load_agent::pollers(&deployment.partners, &settings)? {
            tasks.push(Box::pin(poller.run(
                tx.clone(),
                clock,
                core.authority(),
                shutdown.clone(),
            )));
        }

        let token = role.token.clone();
        if let Some((cluster, _)) = &clustered {
            tasks.push(Box::pin(replica::publish_to_etcd(
                cluster.clone(),
                deployment.node.name.clone(),
                core.subscribe(),
                core.authority(),
                Arc::clone(&routing),
                shutdown.clone(),
            )));
            tasks.push(Box::pin(replica::take_inbox(
                cluster.clone(),
                tx.clone(),
                shutdown.clone(),
            )));
            let engines = replica::MemberEngines {
                configured: role.engines.clone(),
                make: Box::new(make_driver.clone()),
                statuses: Arc::clone(&member_engines),
            };
            tasks.push(Box::pin(engines.run(cluster.clone(), shutdown.clone())));
        }
        let mut control = Self {
            plan,
            routing: Arc::clone(&routing),
            api: None,
            management: None,
            alerts: None,
            engines: engines.clone(),
        };
        // One watch of the members, for the API, the page and the gauges.
        let members = clustered.as_ref().map(|(c, _)| {
            let (members, reachable) = broker_cluster::watch_members(c, shutdown.clone());
            tasks.push(Box::pin(replica::report(
                metrics.cluster.clone(),
                core.authority(),
                members.clone(),
                reachable,
                shutdown.clone(),
            )));
            members
        });
        if let (Some(addr), Some(token)) = (role.api, token.clone()) {
            let listener = bind("api", addr).await?;
            control.api = Some(local(&listener, addr));
            let api = Arc::new(Api {
                token,
                commands: tx.clone(),
                engines,
                metrics: Arc::clone(&metrics),
                max_body: settings.max_batch_bytes,
                body_deadline: settings.body_deadline,
                routing,
                authority: core.authority(),
                member_engines: Arc::clone(&member_engines),
                members: members.clone(),
            });
            let handler = move |req| Arc::clone(&api).handle(req);
            tasks.push(Box::pin(http_server::serve(
                listener,
                None,
                handler,
                cap.clone(),
                shutdown.clone(),
            )));
        }
        if let (Some(addr), Some(token)) = (role.management, token) {
            let listener = bind("management", addr).await?;
            control.management = Some(local(&listener, addr));
            let management = Management {
                token,
                commands: tx.clone(),
                idle: settings.management_idle,
                deadline: settings.body_deadline,
                max_bytes: settings.max_batch_bytes,
                metrics: Arc::clone(&metrics),
            };
            tasks.push(Box::pin(management.serve(
                listener,
                cap.clone(),
                shutdown.clone(),
            )));
        }
        if let (Some(addr), Some(files)) = (role.alerts, &role.tls) {
            let config = tls::server_config(&files.cert, &files.key)?;
            let listener = bind("alerts", addr).await?;
            control.alerts = Some(local(&listener, addr));
            let receiver = Arc::new(AlertReceiver::new(
                &deployment.partners,
                tx.clone(),
                Arc::clone(&metrics),
                settings.body_deadline,
            ));
            let handler = move |req| Arc::clone(&receiver).handle(req);
            tasks.push(Box::pin(http_server::serve(
                listener,
                Some(TlsAcceptor::from(config)),
                handler,
                cap.clone(),
                shutdown.clone(),
            )));
        }
        if let Some((cluster, _)) = &clustered {
            let advertise = deployment
                .cluster
                .as_ref()
                .and_then(|c| c.advertise.as_ref().map(ToString::to_string));
            let reach = |addr: Option<SocketAddr>| {
                addr.map(|a| match &advertise {
                    Some(host) if a.ip().is_unspecified() => format!("{host}:{}", a.port()),
                    _ => a.to_string(),
                })
            };
            let info = broker_cluster::LeaderInfo {
                replica: format!(
                    "{}@{}/{}",
                    deployment.node.name,
                    advertise.clone().unwrap_or_else(|| "localhost".into()),
                    std::process::id()
                ),
                api: reach(control.api).map(|a| format!("http://{a}")),
                management: reach(control.management),
            };
            tasks.push(Box::pin(replica::elect(
                cluster.clone(),
                info,
                tx.clone(),
                shutdown.clone(),
            )));
        }
        drop(tx);
        tasks.push(Box::pin(core.run(rx, shutdown)));

        for (what, addr) in [
            ("control-api", control.api),
            ("management", control.management),
            ("alerts", control.alerts),
        ] {
            if let Some(a) = addr {
                println!("{what} {a}");
            }
        }
        let serving = async move {
            let mut set = JoinSet::new();
            for t in tasks {
                set.spawn(t);
            }
            while set.join_next().await.is_some() {}
        };
        Ok((control, serving))
    }

    /// The plan in force, as in-process proxies read it; swapped on every change.
    pub fn plan(&self) -> SharedPlan {
        Arc::clone(&self.plan)
    }

    /// The routing tables in force (partners' URL forms, customers' site, offload and
    /// origin tables), as in-process front proxies read them; swapped on every edit
    /// accepted by `PUT /api/routing`.
    pub fn routing(&self) -> SharedRouting {
        self.routing.shared()
    }

    /// Every later routing edit must pass `check` too (a front proxy in this process
    /// refusing URL forms its origin-map cannot build): a refusal is answered at the
    /// `LINE:COL` of that partner's or customer's name, and nothing changes.
    pub fn add_routing_check(&self, check: RoutingCheck) {
        self.routing.add_check(check);
    }

    /// Where the HTTP API listens, if it is open.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api
    }

    /// Where the management interface listens, if it is open.
    pub fn management_addr(&self) -> Option<SocketAddr> {
        self.management
    }

    /// Where the alert receiver listens, if it is open.
    pub fn alerts_addr(&self) -> Option<SocketAddr> {
        self.alerts
    }

    /// Each driven engine's status, in `[control] engines` order; a receiver wakes on
    /// every change.
    pub fn engines(&self) -> Vec<watch::Receiver<EngineStatus>> {
        self.engines.clone()
    }
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ControlError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ControlError::Bind { what, addr, source })
}

fn local(listener: &TcpListener, asked: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(asked)
}
