//! Members (spec §8): every DNS engine, front proxy and edge with `[cluster]` registers
//! under `<prefix>/members/<role>/<address>` on a lease of `lease_s`, so a crashed host
//! disappears within `lease_s`; the value says which plan generation it serves. The
//! leader drives every registered DNS engine; the API and page list them all.

use std::collections::BTreeMap;
use std::time::Duration;

use etcd_client::PutOptions;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::connection::Cluster;
use crate::follow::{Update, follow_prefix};

/// The roles that register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// A DNS engine; its address is its control port (spec §1).
    Dns,
    /// A front proxy; its address is where clients connect.
    Proxy,
    /// A partner edge; its address is where clients connect.
    Edge,
}

impl MemberRole {
    /// The key segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Proxy => "proxy",
            Self::Edge => "edge",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "dns" => Some(Self::Dns),
            "proxy" => Some(Self::Proxy),
            "edge" => Some(Self::Edge),
            _ => None,
        }
    }
}

/// A member's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Its role.
    pub role: MemberRole,
    /// The address others reach it at (the control port for an engine).
    pub address: String,
    /// The CDN node name of its deployment.
    pub node: String,
    /// The plan generation it serves (an engine: its last committed table generation).
    pub generation: u64,
    /// The epoch of that plan, if known.
    #[serde(default)]
    pub epoch: Option<u64>,
}

/// Registers `info` and keeps it registered until `shutdown`: renews the lease, puts the
/// value again with every new `generation` sent on `served`, and registers again after
/// etcd was gone long enough for the lease to run out.
pub async fn register(
    cluster: Cluster,
    info: MemberInfo,
    mut served: watch::Receiver<(u64, Option<u64>)>,
    shutdown: CancellationToken,
) {
    let key = cluster.keys.member(info.role.as_str(), &info.address);
    let mut info = info;
    let ttl = i64::try_from(cluster.lease().as_secs()).unwrap_or(5);
    let mut client = cluster.client();
    let retry = Duration::from_millis(500);
    'register: loop {
        if shutdown.is_cancelled() {
            return;
        }
        (info.generation, info.epoch) = *served.borrow_and_update();
        let lease = match client.lease_grant(ttl, None).await {
            Ok(l) => l.id(),
            Err(e) => {
                tracing::warn!(error = %e, "member registration failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(retry) => continue,
                }
            }
        };
        let put = |client: &mut etcd_client::Client, info: &MemberInfo| {
            let value = serde_json::to_vec(info).unwrap_or_default();
            let key = key.clone();
            let mut client = client.clone();
            async move {
                client
                    .put(key, value, Some(PutOptions::new().with_lease(lease)))
                    .await
            }
        };
        if put(&mut client, &info).await.is_err() {
            continue;
        }
        let Ok((mut keeper, mut answers)) = client.lease_keep_alive(lease).await else {
            continue;
        };
        let period = cluster.lease() / 3;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => {
                    let _ = client.lease_revoke(lease).await;
                    return;
                }
                changed = served.changed() => {
                    if changed.is_err() {
                        let _ = client.lease_revoke(lease).await;
                        return;
                    }
                    (info.generation, info.epoch) = *served.borrow_and_update();
                    if put(&mut client, &info).await.is_err() {
                        continue 'register;
                    }
                }
                () = tokio::time::sleep(period) => {
                    let alive = async {
                        keeper.keep_alive().await?;
                        answers.message().await
                    };
                    match tokio::time::timeout(period, alive).await {
                        Ok(Ok(Some(r))) if r.ttl() > 0 => {}
                        // The stream may have died with an etcd member: the same lease
                        // on a new stream first (the key stays), else a new lease and
                        // the value again.
                        _ => match renew(&mut client, lease, cluster.lease() / 2).await {
                            Some(stream) => (keeper, answers) = stream,
                            None => continue 'register,
                        },
                    }
                }
            }
        }
    }
}

/// The members, keyed by (role, address).
pub type Members = BTreeMap<(MemberRole, String), MemberInfo>;

/// Follows the members until `shutdown`: the receiver always holds the current set;
/// `reachable` says whether etcd answers (when it does not, the set is the last known).
pub fn watch_members(
    cluster: &Cluster,
    shutdown: CancellationToken,
) -> (watch::Receiver<Members>, watch::Receiver<bool>) {
    let (tx, rx) = mpsc::channel(64);
    let (reach_tx, reach_rx) = watch::channel(false);
    let (members_tx, members_rx) = watch::channel(Members::new());
    let dir = cluster.keys.members_dir();
    tokio::spawn(follow_prefix(
        cluster.clone(),
        dir.clone(),
        tx,
        reach_tx,
        shutdown,
    ));
    tokio::spawn(async move {
        let mut rx = rx;
        let mut all: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        while let Some(update) = rx.recv().await {
            match update {
                Update::Reset(m) => all = m,
                Update::Put(k, v) => {
                    all.insert(k, v);
                }
                Update::Delete(k) => {
                    all.remove(&k);
                }
            }
            let members = parse_members(&dir, &all);
            members_tx.send_if_modified(|m| {
                let changed = *m != members;
                *m = members;
                changed
            });
        }
    });
    (members_rx, reach_rx)
}

fn parse_members(dir: &str, all: &BTreeMap<String, Vec<u8>>) -> Members {
    let mut out = Members::new();
    for (key, value) in all {
        let Some((role, address)) = key.strip_prefix(dir).and_then(|r| r.split_once('/')) else {
            continue;
        };
        let Some(role) = MemberRole::parse(role) else {
            tracing::warn!(%key, "member of an unknown role ignored");
            continue;
        };
        match serde_json::from_slice::<MemberInfo>(value) {
            Ok(info) if info.role == role && info.address == address => {
                out.insert((role, address.to_owned()), info);
            }
            _ => tracing::warn!(%key, "malformed member value ignored"),
        }
    }
    out
}

/// A new keep-alive stream for `lease`, renewed once, within `limit`: `None` when etcd
/// did not renew it (gone, or no member answered in time).
async fn renew(
    client: &mut etcd_client::Client,
    lease: i64,
    limit: Duration,
) -> Option<(etcd_client::LeaseKeeper, etcd_client::LeaseKeepAliveStream)> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let attempt = async {
            let (mut keeper, mut answers) = client.lease_keep_alive(lease).await.ok()?;
            keeper.keep_alive().await.ok()?;
            let answer = answers.message().await.ok()??;
            (answer.ttl() > 0).then_some((keeper, answers))
        };
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(Some(stream)) => return Some(stream),
            Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(_) => return None,
        }
    }
    None
}
