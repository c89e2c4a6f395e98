//! The control's run-time inputs in etcd (spec §8 "State in etcd"): the §2 files the
//! state started from (the **seed**), then every accepted operator input since, in
//! order (the **journal**: §3 batches and routing-table edits), and the latest that is
//! known of each partner's reports and alerts. A new leader, or every replica restarted,
//! rebuilds exactly the model the last leader had from these.
//!
//! Every write but the first seed is guarded by the writer's epoch (the leader key's
//! create revision must still be that epoch), so a replica that lost its leadership can
//! no longer change the state, whatever its clock says.

use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, DeleteOptions, GetOptions, Txn, TxnOp};
use serde::{Deserialize, Serialize};

use crate::blobs::{BlobRef, get_blob, put_blob};
use crate::connection::Cluster;
use crate::election::Leadership;
use crate::error::ClusterError;

/// The three §2 files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedTexts {
    /// regions.txt.
    pub regions: String,
    /// cdn.txt.
    pub cdns: String,
    /// customer.txt.
    pub customers: String,
}

/// The seed document: the files as stored blobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seed {
    /// regions.txt.
    pub regions: BlobRef,
    /// cdn.txt.
    pub cdns: BlobRef,
    /// customer.txt.
    pub customers: BlobRef,
}

/// One journal entry: an accepted operator input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A §3 batch as it was accepted (no `RESET!`: a reset writes a new seed instead).
    Batch {
        /// The batch, §3 text.
        text: String,
    },
    /// New routing tables (partners' URL forms, customers' sites and origins), as the
    /// deployment file's TOML.
    Routing {
        /// The tables.
        toml: String,
    },
}

/// Everything stored, as read at one revision.
#[derive(Clone, Debug, Default)]
pub struct StoredState {
    /// The seed files, or `None` when the prefix is empty or the seed is the one the
    /// caller said it knows (see [`load_state_since`]).
    pub seed: Option<SeedTexts>,
    /// The seed document (blob references), when there is one.
    pub seed_doc: Option<Seed>,
    /// The journal, in order, with each entry's sequence number. Malformed entries are
    /// logged and left out.
    pub journal: Vec<(u64, Entry)>,
    /// Per partner, the JSON the leader stored (the control's own format).
    pub partners: BTreeMap<String, Vec<u8>>,
    /// The revision the state was read at.
    pub revision: i64,
}

impl StoredState {
    /// The sequence number the next journal entry takes.
    pub fn next_seq(&self) -> u64 {
        self.journal.last().map_or(1, |(s, _)| s + 1)
    }
}

/// Reads the seed, the journal and the partners' state.
pub async fn load_state(cluster: &Cluster) -> Result<StoredState, ClusterError> {
    load_state_since(cluster, None).await
}

/// [`load_state`], without reading the seed files again when the seed document is still
/// `known` (`seed` is then `None` and `seed_doc` equals `known`): a replica that takes
/// the leadership over a million-prefix table needs only the journal's new entries.
pub async fn load_state_since(
    cluster: &Cluster,
    known: Option<&Seed>,
) -> Result<StoredState, ClusterError> {
    let client = cluster.client();
    let seed_key = cluster.keys.seed();
    let txn = Txn::new().and_then([
        TxnOp::get(seed_key.as_str(), None),
        TxnOp::get(
            cluster.keys.journal_dir(),
            Some(GetOptions::new().with_prefix()),
        ),
        TxnOp::get(
            cluster.keys.partners_dir(),
            Some(GetOptions::new().with_prefix()),
        ),
    ]);
    let resp = retrying(cluster, || {
        let (mut client, txn) = (client.clone(), txn.clone());
        async move { client.txn(txn).await }
    })
    .await?;
    let revision = resp.header().map_or(0, |h| h.revision());
    let mut gets = resp.op_responses().into_iter().filter_map(|r| match r {
        etcd_client::TxnOpResponse::Get(g) => Some(g),
        _ => None,
    });
    let (Some(seed), Some(journal), Some(partners)) = (gets.next(), gets.next(), gets.next())
    else {
        return Err(ClusterError::BadValue {
            key: seed_key,
            reason: "short transaction answer".into(),
        });
    };
    let mut state = StoredState {
        revision,
        ..StoredState::default()
    };
    if let Some(kv) = seed.kvs().first() {
        let doc: Seed = serde_json::from_slice(kv.value()).map_err(|e| ClusterError::BadValue {
            key: seed_key.clone(),
            reason: e.to_string(),
        })?;
        if known != Some(&doc) {
            state.seed = Some(SeedTexts {
                regions: get_blob(cluster, &doc.regions).await?,
                cdns: get_blob(cluster, &doc.cdns).await?,
                customers: get_blob(cluster, &doc.customers).await?,
            });
        }
        state.seed_doc = Some(doc);
    }
    let dir = cluster.keys.journal_dir();
    for kv in journal.kvs() {
        let key = kv.key_str().unwrap_or_default();
        match parse_entry(key, &dir, kv.value()) {
            Ok(e) => state.journal.push(e),
            Err(reason) => tracing::warn!(%key, %reason, "journal entry ignored"),
        }
    }
    let dir = cluster.keys.partners_dir();
    for kv in partners.kvs() {
        if let Some(name) = kv.key_str().ok().and_then(|k| k.strip_prefix(dir.as_str())) {
            state.partners.insert(name.to_owned(), kv.value().to_vec());
        }
    }
    Ok(state)
}

/// A journal key and value as an entry, or why not.
pub fn parse_entry(key: &str, dir: &str, value: &[u8]) -> Result<(u64, Entry), String> {
    let seq = key
        .strip_prefix(dir)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or("not a journal key")?;
    let entry: Entry = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    Ok((seq, entry))
}

/// Writes `texts` as the seed if the prefix has none yet (the §2 files seed an empty
/// prefix only). Returns true when this call wrote it.
pub async fn seed_if_empty(cluster: &Cluster, texts: &SeedTexts) -> Result<bool, ClusterError> {
    let doc = store_texts(cluster, texts).await?;
    let key = cluster.keys.seed();
    let txn = Txn::new()
        .when([Compare::create_revision(key.as_str(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(key.as_str(), json(&doc), None)]);
    Ok(cluster.client().txn(txn).await?.succeeded())
}

/// Replaces the seed and empties the journal (a reset re-read the files), as leader.
pub async fn reseed(
    cluster: &Cluster,
    leader: &Leadership,
    texts: &SeedTexts,
) -> Result<(), ClusterError> {
    let doc = store_texts(cluster, texts).await?;
    guarded(
        cluster,
        leader,
        vec![
            TxnOp::put(cluster.keys.seed(), json(&doc), None),
            TxnOp::delete(
                cluster.keys.journal_dir(),
                Some(DeleteOptions::new().with_prefix()),
            ),
        ],
    )
    .await
}

/// Appends `entry` as journal entry `seq`, as leader.
pub async fn append(
    cluster: &Cluster,
    leader: &Leadership,
    seq: u64,
    entry: &Entry,
) -> Result<(), ClusterError> {
    guarded(
        cluster,
        leader,
        vec![TxnOp::put(cluster.keys.journal(seq), json(entry), None)],
    )
    .await
}

/// Stores what is known of partner `name` (the control's JSON), as leader.
pub async fn put_partner(
    cluster: &Cluster,
    leader: &Leadership,
    name: &str,
    value: Vec<u8>,
) -> Result<(), ClusterError> {
    guarded(
        cluster,
        leader,
        vec![TxnOp::put(cluster.keys.partner(name), value, None)],
    )
    .await
}

/// Runs `ops` only while `leader`'s epoch still holds the leader key.
pub(crate) async fn guarded(
    cluster: &Cluster,
    leader: &Leadership,
    ops: Vec<TxnOp>,
) -> Result<(), ClusterError> {
    let epoch = leader.epoch();
    let key = cluster.keys.leader();
    let txn = Txn::new()
        .when([Compare::create_revision(
            key.as_str(),
            CompareOp::Equal,
            i64::try_from(epoch).unwrap_or(i64::MAX),
        )])
        .and_then(ops);
    if !leader.is_held() {
        return Err(ClusterError::NotLeader { epoch });
    }
    // Every write here is idempotent (puts and deletes of whole keys): safe to try again.
    let resp = retrying(cluster, || {
        let (mut client, txn) = (cluster.client(), txn.clone());
        async move { client.txn(txn).await }
    })
    .await?;
    if resp.succeeded() {
        Ok(())
    } else {
        Err(ClusterError::NotLeader { epoch })
    }
}

/// Runs `call` again while it fails to reach etcd (a member down, an etcd election),
/// within a lease: each try may go to another member.
pub(crate) async fn retrying<T, F, Fut>(
    cluster: &Cluster,
    mut call: F,
) -> Result<T, etcd_client::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
{
    let deadline = tokio::time::Instant::now() + cluster.lease();
    loop {
        match call().await {
            Err(e) if transient(&e) && tokio::time::Instant::now() + RETRY_PAUSE < deadline => {
                tracing::debug!(error = %e, "etcd request tried again");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            other => return other,
        }
    }
}

/// The pause before a write is tried again.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// True for errors of reaching etcd (worth another try), not of the request itself.
pub(crate) fn transient(e: &etcd_client::Error) -> bool {
    use tonic::Code;
    match e {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(s) => matches!(
            s.code(),
            Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Unknown
        ),
        _ => false,
    }
}

async fn store_texts(cluster: &Cluster, texts: &SeedTexts) -> Result<Seed, ClusterError> {
    Ok(Seed {
        regions: put_blob(cluster, &texts.regions).await?.0,
        cdns: put_blob(cluster, &texts.cdns).await?.0,
        customers: put_blob(cluster, &texts.customers).await?.0,
    })
}

pub(crate) fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // Plain data of strings, numbers and maps with string keys: cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}
