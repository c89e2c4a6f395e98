//! A clustered control's tasks besides the event loop (spec §8): the campaign for the
//! leadership, the publication of each plan to etcd, the engines that register as
//! members, and the alerts that followers left in the inbox. Each only acts through the
//! loop's commands or while [`Authority`] says this replica leads.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker_cluster::plan_doc::routing_toml;
use broker_cluster::{
    Cluster, LeaderInfo, MemberRole, Publication, Publisher, campaign, current_leader, inbox,
    watch_members,
};
use broker_config::Name;
use broker_config::status::Alert;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::authority::Authority;
use crate::command::Command;
use crate::core::Published;
use crate::engine_driver::{Driver, EngineStatus};
use crate::metrics::ClusterGauges;
use crate::routing::RoutingTables;

/// Campaigns, leads until the leadership is lost, then follows and campaigns again.
pub(crate) async fn elect(
    cluster: Cluster,
    info: LeaderInfo,
    commands: mpsc::Sender<Command>,
    shutdown: CancellationToken,
) {
    loop {
        // Followers learn who leads, for their refusals and redirects.
        let leader = current_leader(&cluster).await.ok().flatten();
        if commands.send(Command::Follow { leader }).await.is_err() {
            return;
        }
        let watcher = tokio::spawn(tell_leader(
            cluster.clone(),
            commands.clone(),
            shutdown.child_token(),
        ));
        let won = campaign(&cluster, &info, &shutdown).await;
        watcher.abort();
        let Some(leadership) = won else { return };
        let leadership = Arc::new(leadership);
        let lost = leadership.lost();
        let (reply, done) = oneshot::channel();
        let lead = Command::Lead {
            leadership: Arc::clone(&leadership),
            reply,
        };
        if commands.send(lead).await.is_err() {
            leadership.resign().await;
            return;
        }
        let _ = done.await;
        tokio::select! {
            () = shutdown.cancelled() => {
                // Hand over now rather than after a lease.
                leadership.resign().await;
                return;
            }
            () = lost.cancelled() => {
                tracing::warn!(epoch = leadership.epoch(), "leadership lost; following");
            }
        }
    }
}

/// While following: re-reads who leads every lease, so refusals name the current one.
async fn tell_leader(cluster: Cluster, commands: mpsc::Sender<Command>, stop: CancellationToken) {
    let mut last = None;
    loop {
        let leader = current_leader(&cluster).await.ok().flatten();
        if leader != last {
            last.clone_from(&leader);
            if commands.send(Command::Follow { leader }).await.is_err() {
                return;
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(cluster.lease() / 2) => {}
        }
    }
}

/// Writes each published plan (and every routing edit) to etcd while this replica
/// leads; plans published meanwhile are coalesced to the newest.
pub(crate) async fn publish_to_etcd(
    cluster: Cluster,
    node: Name,
    mut plans: watch::Receiver<Arc<Published>>,
    mut authority: watch::Receiver<Authority>,
    routing: Arc<RoutingTables>,
    shutdown: CancellationToken,
) {
    let mut publisher: Option<(u64, Publisher)> = None;
    let mut done: Option<(u64, u64, u64)> = None; // (epoch, plan generation, routing generation)
    loop {
        let auth = authority.borrow_and_update().clone();
        if let Authority::Leading(leader) = &auth
            && leader.is_held()
        {
            let plan = Arc::clone(&plans.borrow_and_update());
            let tables = routing.current();
            let now = (leader.epoch(), plan.generation, tables.generation());
            if done != Some(now) {
                if publisher.as_ref().is_none_or(|(e, _)| *e != leader.epoch()) {
                    publisher = Some((leader.epoch(), Publisher::new(cluster.clone())));
                }
                let toml = routing_toml(&node, tables.partners(), tables.customers());
                let p = Publication {
                    generation: plan.generation,
                    plan: &plan.plan,
                    regions: &plan.regions,
                    routing: (tables.generation(), &toml),
                };
                if let Some((_, publisher)) = publisher.as_mut() {
                    match publisher.publish(leader, &p).await {
                        Ok(w) => {
                            tracing::info!(
                                generation = plan.generation,
                                plan_bytes = w.plan_bytes,
                                region_bytes = w.region_bytes,
                                "plan written to etcd"
                            );
                            done = Some(now);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "plan not written to etcd; retrying");
                        }
                    }
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            r = plans.changed() => if r.is_err() { return },
            r = authority.changed() => if r.is_err() { return },
            // Routing edits have no channel of their own; failed writes retry here too.
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// One driver per DNS engine registered as a member (besides `[control] engines`), for
/// as long as it stays registered.
pub(crate) struct MemberEngines {
    pub(crate) configured: Vec<SocketAddr>,
    pub(crate) make: Box<dyn Fn(SocketAddr, watch::Sender<EngineStatus>) -> Driver + Send>,
    pub(crate) statuses: Arc<Mutex<BTreeMap<SocketAddr, watch::Receiver<EngineStatus>>>>,
}

impl MemberEngines {
    pub(crate) async fn run(self, cluster: Cluster, shutdown: CancellationToken) {
        let (mut members, _) = watch_members(&cluster, shutdown.clone());
        let mut running: BTreeMap<SocketAddr, CancellationToken> = BTreeMap::new();
        loop {
            let wanted: Vec<SocketAddr> = members
                .borrow_and_update()
                .keys()
                .filter(|(role, _)| *role == MemberRole::Dns)
                .filter_map(|(_, addr)| addr.parse().ok())
                .filter(|a| !self.configured.contains(a))
                .collect();
            running.retain(|addr, stop| {
                let keep = wanted.contains(addr);
                if !keep {
                    tracing::info!(engine = %addr, "engine left; its driver stops");
                    stop.cancel();
                    if let Ok(mut s) = self.statuses.lock() {
                        s.remove(addr);
                    }
                }
                keep
            });
            for addr in wanted {
                if running.contains_key(&addr) {
                    continue;
                }
                tracing::info!(engine = %addr, "engine registered; driving it");
                let (status, seen) = watch::channel(EngineStatus::new(addr));
                if let Ok(mut s) = self.statuses.lock() {
                    s.insert(addr, seen);
                }
                let stop = shutdown.child_token();
                tokio::spawn((self.make)(addr, status).run(stop.clone()));
                running.insert(addr, stop);
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                r = members.changed() => if r.is_err() { return },
            }
        }
    }
}

/// Hands the alerts followers left in etcd to the loop (it applies them only as leader).
/// Besides each new entry, whatever still waits there is handed over again every lease:
/// an alert the leader could not keep yet (etcd busy) is not forgotten.
pub(crate) async fn take_inbox(
    cluster: Cluster,
    commands: mpsc::Sender<Command>,
    shutdown: CancellationToken,
) {
    let mut inbox = inbox::follow_inbox(&cluster, shutdown.clone());
    let mut again = tokio::time::interval(cluster.lease());
    again.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let entries = tokio::select! {
            () = shutdown.cancelled() => return,
            entry = inbox.recv() => match entry {
                Some(entry) => vec![entry],
                None => return,
            },
            _ = again.tick() => inbox::pending(&cluster).await.unwrap_or_default(),
        };
        for (key, text) in entries {
            match Alert::parse(text.as_bytes()) {
                Ok(alert) => {
                    if commands
                        .send(Command::InboxAlert { key, alert })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => tracing::warn!(%key, error = %e, "inbox alert ignored"),
            }
        }
    }
}

/// Keeps the cluster gauges up to date: leading and epoch from `authority`, etcd's
/// reachability and the member count from the members' watch.
pub(crate) async fn report(
    gauges: ClusterGauges,
    mut authority: watch::Receiver<Authority>,
    mut members: watch::Receiver<broker_cluster::Members>,
    mut reachable: watch::Receiver<bool>,
    shutdown: CancellationToken,
) {
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    loop {
        let auth = authority.borrow_and_update().clone();
        gauges.leading.set(i64::from(auth.may_act()));
        gauges.epoch.set(clamp(auth.epoch().unwrap_or(0)));
        let count = members.borrow_and_update().len() as u64;
        gauges.members.set(clamp(count));
        let up = *reachable.borrow_and_update();
        gauges.etcd_reachable.set(i64::from(up));
        tokio::select! {
            () = shutdown.cancelled() => return,
            r = authority.changed() => if r.is_err() { return },
            r = members.changed() => if r.is_err() { return },
            r = reachable.changed() => if r.is_err() { return },
        }
    }
}
