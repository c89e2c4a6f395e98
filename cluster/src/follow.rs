//! Following a prefix: a full read, then a watch from the revision after it, and again
//! from the start whenever the watch cannot go on. The traps this avoids (APISIX learnt
//! each of them): a watch resumed from a compacted revision is cancelled, so the prefix
//! is read again and watched from that read's revision; a stream can die silently, so a
//! progress request goes out every `lease_s` and a stream that answers nothing for two
//! of them is dropped; and revisions are only ever taken from this connection's own read.

use std::collections::BTreeMap;
use std::time::Duration;

use etcd_client::{EventType, GetOptions, WatchOptions};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::connection::Cluster;

/// What changed under the followed prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// Everything under the prefix, read whole (at start and after every resync):
    /// replaces what the follower had.
    Reset(BTreeMap<String, Vec<u8>>),
    /// A key was written.
    Put(String, Vec<u8>),
    /// A key was deleted (or its lease ran out).
    Delete(String),
}

/// Follows `prefix` until `shutdown`, sending each update to `tx` and whether etcd is
/// reachable to `reachable`. Never gives up: with etcd gone it retries with capped
/// back-off, and the consumer keeps what it had.
pub async fn follow_prefix(
    cluster: Cluster,
    prefix: String,
    tx: mpsc::Sender<Update>,
    reachable: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    let cap = cluster.lease();
    loop {
        let round = follow_once(&cluster, &prefix, &tx, &reachable);
        let ended = tokio::select! {
            () = shutdown.cancelled() => return,
            e = round => e,
        };
        if tx.is_closed() {
            return;
        }
        if reachable.send_replace(false) {
            tracing::warn!(%prefix, reason = %ended, "etcd watch lost; keeping the last state");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(cap);
        if *reachable.borrow() {
            backoff = Duration::from_millis(100);
        }
    }
}

/// One read and watch; returns why it stopped.
async fn follow_once(
    cluster: &Cluster,
    prefix: &str,
    tx: &mpsc::Sender<Update>,
    reachable: &watch::Sender<bool>,
) -> String {
    let mut client = cluster.client();
    let resp = match client
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await
    {
        Ok(r) => r,
        Err(e) => return format!("read: {e}"),
    };
    let revision = resp.header().map_or(0, |h| h.revision());
    let all: BTreeMap<String, Vec<u8>> = resp
        .kvs()
        .iter()
        .filter_map(|kv| Some((kv.key_str().ok()?.to_owned(), kv.value().to_vec())))
        .collect();
    if tx.send(Update::Reset(all)).await.is_err() {
        return "consumer gone".into();
    }
    let options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1)
        .with_progress_notify();
    let mut stream = match client.watch(prefix, Some(options)).await {
        Ok(s) => s,
        Err(e) => return format!("watch: {e}"),
    };
    if !reachable.send_replace(true) {
        tracing::info!(%prefix, revision, "following etcd");
    }
    let quiet = cluster.lease();
    let mut asked = false;
    loop {
        let msg = match tokio::time::timeout(quiet, stream.message()).await {
            Ok(Ok(Some(m))) => m,
            Ok(Ok(None)) => return "stream ended".into(),
            Ok(Err(e)) => return format!("stream: {e}"),
            Err(_) if asked => return "no answer to a progress request".into(),
            Err(_) => {
                asked = true;
                if let Err(e) = stream.request_progress().await {
                    return format!("progress request: {e}");
                }
                continue;
            }
        };
        asked = false;
        if msg.canceled() || msg.compact_revision() > 0 {
            return format!("watch cancelled ({})", msg.cancel_reason());
        }
        for ev in msg.events() {
            let Some(kv) = ev.kv() else { continue };
            let Ok(key) = kv.key_str() else { continue };
            let update = match ev.event_type() {
                EventType::Put => Update::Put(key.to_owned(), kv.value().to_vec()),
                EventType::Delete => Update::Delete(key.to_owned()),
            };
            if tx.send(update).await.is_err() {
                return "consumer gone".into();
            }
        }
    }
}
