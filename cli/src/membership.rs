//! The roles of `cdnbroker run` that join a cluster (spec §8) without being a control:
//! a DNS engine registers its control port as a member (the leader then drives it); a
//! front proxy or an edge follows the published plan and registers where clients reach
//! it, each saying which plan generation it serves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use broker_cluster::{Cluster, MemberInfo, MemberRole, PlanTargets};
use broker_config::deploy::Deployment;
use broker_dns::Engine;
use broker_policy::live::{LivePlan, SharedPlan};
use broker_policy::routing::{Routing, SharedRouting};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A process's place in the cluster.
#[derive(Clone, Debug)]
pub(crate) struct Membership {
    pub(crate) cluster: Cluster,
    node: String,
    advertise: Option<String>,
}

impl Membership {
    /// Connects when the deployment has `[cluster]`; an unreachable etcd is an error
    /// naming the endpoints (the process does not start half-configured).
    pub(crate) async fn of(deployment: &Deployment) -> anyhow::Result<Option<Self>> {
        let Some(role) = &deployment.cluster else {
            return Ok(None);
        };
        let cluster = Cluster::connect(role).await.context("[cluster]")?;
        Ok(Some(Self {
            cluster,
            node: deployment.node.name.to_string(),
            advertise: role.advertise.as_ref().map(ToString::to_string),
        }))
    }

    /// The address others reach `addr` at: `advertise` for a wildcard listen address.
    fn reach(&self, addr: SocketAddr) -> String {
        match &self.advertise {
            Some(host) if addr.ip().is_unspecified() => format!("{host}:{}", addr.port()),
            _ => addr.to_string(),
        }
    }

    /// Registers a member until `shutdown`, its generation read from `served`.
    pub(crate) fn register(
        &self,
        role: MemberRole,
        addr: SocketAddr,
        served: watch::Receiver<(u64, Option<u64>)>,
        shutdown: CancellationToken,
    ) {
        let info = MemberInfo {
            role,
            address: self.reach(addr),
            node: self.node.clone(),
            generation: 0,
            epoch: None,
        };
        tokio::spawn(broker_cluster::register(
            self.cluster.clone(),
            info,
            served,
            shutdown,
        ));
    }

    /// Registers a DNS engine by its control port; its generation and epoch are read
    /// from the engine's tables as they commit.
    pub(crate) fn register_engine(
        &self,
        engine: Arc<Engine>,
        control: SocketAddr,
        shutdown: CancellationToken,
    ) {
        let (tx, rx) = watch::channel((engine.generation(), engine.epoch()));
        self.register(MemberRole::Dns, control, rx, shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                tx.send_if_modified(|v| {
                    let now = (engine.generation(), engine.epoch());
                    let changed = *v != now;
                    *v = now;
                    changed
                });
            }
        });
    }

    /// The plan and routing tables a proxy or edge without `[control]` serves by,
    /// following `<prefix>/plan`: nothing is offloaded until the first plan arrives;
    /// with etcd away the last plan stays. The receiver tells each plan applied.
    pub(crate) fn follow_plan(
        &self,
        deployment: &Deployment,
        shutdown: CancellationToken,
    ) -> (
        SharedPlan,
        SharedRouting,
        watch::Receiver<(u64, Option<u64>)>,
    ) {
        let plan = LivePlan::serve_all_ourselves().shared();
        let routing =
            Routing::new(1, deployment.partners.clone(), deployment.customers.clone()).shared();
        let (served, seen) = watch::channel((0, None));
        let (reachable, _) = watch::channel(false);
        let targets = PlanTargets {
            plan: Arc::clone(&plan),
            routing: Arc::clone(&routing),
            served,
        };
        tokio::spawn(broker_cluster::follow_plan(
            self.cluster.clone(),
            targets,
            reachable,
            shutdown,
        ));
        (plan, routing, seen)
    }
}
