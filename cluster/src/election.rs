//! Leader election among control replicas (spec §8), on one key with a lease.
//!
//! A replica wins when it creates `<prefix>/leader` (a transaction that succeeds only
//! while the key is absent) on a lease of `lease_s`; the key's create revision is the
//! leadership's **epoch**, which only grows. The winner keeps the lease alive every third
//! of `lease_s`; the others watch the key and try again when it goes.
//!
//! A leader fences itself: it holds a local deadline that each answered keep-alive
//! pushes to (time the keep-alive was sent) + (TTL the server granted), which is never
//! later than the server's own expiry. When the deadline passes (etcd unreachable, the
//! process paused), [`Leadership::lost`] fires and [`Leadership::is_held`] turns false at
//! once, before another replica can have won; engines refuse its stale epoch anyway (§1).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{Compare, CompareOp, EventType, PutOptions, Txn, TxnOp, WatchOptions};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::connection::Cluster;
use crate::error::ClusterError;

/// How much earlier than the computed lease expiry a leader stops, for clock drift
/// between this host and etcd's.
const FENCE_MARGIN: Duration = Duration::from_millis(250);

/// The pause before a keep-alive round that follows a failed one.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// What the leader key says: who leads and where its ports are, so that followers can
/// point writers at it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    /// The replica: node name, host and process id.
    pub replica: String,
    /// Its HTTP API, `http://host:port`, if open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Its management port, `host:port`, if open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management: Option<String>,
}

/// A won leadership.
#[derive(Debug)]
pub struct Leadership {
    epoch: u64,
    lease_id: i64,
    base: Instant,
    /// Nanoseconds after `base` at which the lease may be gone.
    deadline: Arc<AtomicU64>,
    lost: CancellationToken,
    cluster: Cluster,
}

impl Leadership {
    /// The epoch: the leader key's create revision.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// True while the lease is surely held (checked against the local deadline, so a
    /// process resumed after a pause sees `false` before it does anything).
    pub fn is_held(&self) -> bool {
        !self.lost.is_cancelled() && Instant::now() < self.deadline()
    }

    /// Fires when the leadership is lost (or given up).
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Gives the leadership up at once (revokes the lease, so a follower takes over now,
    /// not after `lease_s`).
    pub async fn resign(&self) {
        self.lost.cancel();
        let mut client = self.cluster.client();
        let _ =
            tokio::time::timeout(self.cluster.lease(), client.lease_revoke(self.lease_id)).await;
    }

    fn deadline(&self) -> Instant {
        self.base + Duration::from_nanos(self.deadline.load(Ordering::Acquire))
    }
}

/// Campaigns until this replica leads (or `shutdown`). Followers' waiting is cheap: a
/// watch on the leader key.
pub async fn campaign(
    cluster: &Cluster,
    info: &LeaderInfo,
    shutdown: &CancellationToken,
) -> Option<Leadership> {
    let mut backoff = Duration::from_millis(100);
    loop {
        if shutdown.is_cancelled() {
            return None;
        }
        match try_once(cluster, info).await {
            Ok(Attempt::Won(l)) => return Some(*l),
            Ok(Attempt::Taken { revision }) => {
                backoff = Duration::from_millis(100);
                wait_for_vacancy(cluster, revision, shutdown).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "campaign for leadership failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(cluster.lease() / 2);
            }
        }
    }
}

/// The current leader, if any.
pub async fn current_leader(cluster: &Cluster) -> Result<Option<LeaderInfo>, ClusterError> {
    let key = cluster.keys.leader();
    let resp = cluster.client().get(key.as_str(), None).await?;
    Ok(resp
        .kvs()
        .first()
        .and_then(|kv| serde_json::from_slice(kv.value()).ok()))
}

enum Attempt {
    Won(Box<Leadership>),
    Taken { revision: i64 },
}

async fn try_once(cluster: &Cluster, info: &LeaderInfo) -> Result<Attempt, ClusterError> {
    let mut client = cluster.client();
    let key = cluster.keys.leader();
    let ttl = i64::try_from(cluster.lease().as_secs()).unwrap_or(5);
    let base = Instant::now();
    let lease = client.lease_grant(ttl, None).await?;
    let value = serde_json::to_vec(info).unwrap_or_default();
    let txn = Txn::new()
        .when([Compare::create_revision(key.as_str(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(
            key.as_str(),
            value,
            Some(PutOptions::new().with_lease(lease.id())),
        )]);
    let resp = match client.txn(txn).await {
        Ok(r) => r,
        Err(e) => {
            let _ = client.lease_revoke(lease.id()).await;
            return Err(e.into());
        }
    };
    let revision = resp.header().map_or(0, |h| h.revision());
    if !resp.succeeded() {
        let _ = client.lease_revoke(lease.id()).await;
        return Ok(Attempt::Taken { revision });
    }
    let granted = Duration::from_secs(u64::try_from(lease.ttl()).unwrap_or(0));
    let deadline = Arc::new(AtomicU64::new(nanos(granted.saturating_sub(FENCE_MARGIN))));
    let lost = CancellationToken::new();
    let leadership = Leadership {
        epoch: u64::try_from(revision).unwrap_or(0),
        lease_id: lease.id(),
        base,
        deadline: Arc::clone(&deadline),
        lost: lost.clone(),
        cluster: cluster.clone(),
    };
    tokio::spawn(keep_alive(
        cluster.clone(),
        lease.id(),
        base,
        deadline,
        lost,
    ));
    tracing::info!(epoch = leadership.epoch, "won the leadership");
    Ok(Attempt::Won(Box::new(leadership)))
}

/// Renews the lease every third of `lease_s`, moving the deadline with each answer;
/// cancels `lost` when the deadline passes or the server says the lease is gone.
async fn keep_alive(
    cluster: Cluster,
    lease_id: i64,
    base: Instant,
    deadline: Arc<AtomicU64>,
    lost: CancellationToken,
) {
    let period = cluster.lease() / 3;
    let mut client = cluster.client();
    let mut stream = None;
    // After a failed round the next comes at once: a request that went to a member that
    // is down must not cost the lease (the next may go to another member).
    let mut pause = period;
    loop {
        let until = base + Duration::from_nanos(deadline.load(Ordering::Acquire));
        tokio::select! {
            () = lost.cancelled() => return,
            () = tokio::time::sleep_until(until.into()) => {
                tracing::warn!("leader lease not renewed in time: leadership lost");
                lost.cancel();
                return;
            }
            () = tokio::time::sleep(pause) => {}
        }
        pause = RETRY_PAUSE;
        if stream.is_none() {
            stream = tokio::time::timeout(period, client.lease_keep_alive(lease_id))
                .await
                .ok()
                .and_then(Result::ok);
        }
        let Some((keeper, answers)) = stream.as_mut() else {
            continue;
        };
        let sent = Instant::now();
        let answer = async {
            keeper.keep_alive().await?;
            answers.message().await
        };
        match tokio::time::timeout(period, answer).await {
            Ok(Ok(Some(r))) if r.ttl() > 0 => {
                let ttl = Duration::from_secs(u64::try_from(r.ttl()).unwrap_or(0));
                let at = (sent + ttl).saturating_duration_since(base);
                deadline.store(nanos(at.saturating_sub(FENCE_MARGIN)), Ordering::Release);
                pause = period;
            }
            Ok(Ok(Some(_))) => {
                tracing::warn!("leader lease expired at etcd: leadership lost");
                lost.cancel();
                return;
            }
            _ => stream = None, // reopened on the next round (another endpoint, maybe)
        }
    }
}

/// Returns when the leader key at `revision` is deleted, after a lease's time, or on
/// `shutdown` (the caller tries again in each case).
async fn wait_for_vacancy(cluster: &Cluster, revision: i64, shutdown: &CancellationToken) {
    let key = cluster.keys.leader();
    let mut client = cluster.client();
    let options = WatchOptions::new().with_start_revision(revision + 1);
    let wait = async {
        let Ok(mut stream) = client.watch(key.as_str(), Some(options)).await else {
            return;
        };
        while let Ok(Some(resp)) = stream.message().await {
            if resp.canceled()
                || resp
                    .events()
                    .iter()
                    .any(|e| e.event_type() == EventType::Delete)
            {
                return;
            }
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = wait => {}
        () = tokio::time::sleep(cluster.lease()) => {}
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
