//! Alerts a follower accepted (spec §8: an alert answered 204 by any replica reaches the
//! leader's plan within 1 s): the follower writes it under `<prefix>/inbox/` on a short
//! lease before it answers; the leader follows the inbox, applies each alert and
//! deletes it. An alert no leader took within the lease is gone, as its news would be.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use etcd_client::PutOptions;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::connection::Cluster;
use crate::election::Leadership;
use crate::error::ClusterError;
use crate::follow::{Update, follow_prefix};
use crate::state::{guarded, retrying};

/// How long an alert waits in the inbox for a leader.
const INBOX_LEASE: Duration = Duration::from_secs(30);

/// Writes an alert's text (spec §4 body) to the inbox.
pub async fn post_alert(cluster: &Cluster, text: &str) -> Result<(), ClusterError> {
    let client = cluster.client();
    let ttl = i64::try_from(INBOX_LEASE.as_secs()).unwrap_or(30);
    let lease = retrying(cluster, || {
        let mut client = client.clone();
        async move { client.lease_grant(ttl, None).await }
    })
    .await?;
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let key = format!(
        "{}{at:024}-{}",
        cluster.keys.inbox_dir(),
        std::process::id()
    );
    retrying(cluster, || {
        let (mut client, key) = (client.clone(), key.clone());
        let options = PutOptions::new().with_lease(lease.id());
        async move {
            client
                .put(key, text.as_bytes().to_vec(), Some(options))
                .await
        }
    })
    .await?;
    Ok(())
}

/// Follows the inbox until `shutdown`: every alert there (already, or new) comes out
/// once per appearance as (key, text).
pub fn follow_inbox(
    cluster: &Cluster,
    shutdown: CancellationToken,
) -> mpsc::Receiver<(String, String)> {
    let (tx, mut rx) = mpsc::channel(64);
    let (out_tx, out_rx) = mpsc::channel(64);
    let (reach, _) = tokio::sync::watch::channel(false);
    tokio::spawn(follow_prefix(
        cluster.clone(),
        cluster.keys.inbox_dir(),
        tx,
        reach,
        shutdown,
    ));
    tokio::spawn(async move {
        while let Some(update) = rx.recv().await {
            let items: Vec<(String, Vec<u8>)> = match update {
                Update::Reset(all) => all.into_iter().collect(),
                Update::Put(k, v) => vec![(k, v)],
                Update::Delete(_) => Vec::new(),
            };
            for (key, value) in items {
                let Ok(text) = String::from_utf8(value) else {
                    tracing::warn!(%key, "inbox value not UTF-8 ignored");
                    continue;
                };
                if out_tx.send((key, text)).await.is_err() {
                    return;
                }
            }
        }
    });
    out_rx
}

/// The alerts waiting in the inbox now, oldest first: a new leader applies those left
/// while no replica could (the inbox's watch only tells of what arrives).
pub async fn pending(cluster: &Cluster) -> Result<Vec<(String, String)>, ClusterError> {
    let resp = cluster
        .client()
        .get(
            cluster.keys.inbox_dir(),
            Some(etcd_client::GetOptions::new().with_prefix()),
        )
        .await?;
    Ok(resp
        .kvs()
        .iter()
        .filter_map(|kv| {
            let key = kv.key_str().ok()?.to_owned();
            match String::from_utf8(kv.value().to_vec()) {
                Ok(text) => Some((key, text)),
                Err(_) => {
                    tracing::warn!(%key, "inbox value not UTF-8 ignored");
                    None
                }
            }
        })
        .collect())
}

/// Deletes an inbox entry, as leader (once applied).
pub async fn take(cluster: &Cluster, leader: &Leadership, key: &str) -> Result<(), ClusterError> {
    guarded(cluster, leader, vec![etcd_client::TxnOp::delete(key, None)]).await
}
