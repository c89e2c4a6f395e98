//! Large texts (a region table of a million prefixes is ~20 MB; etcd takes requests of
//! 1.5 MiB by default) stored once under their digest, in chunks: a document that needs
//! one names it by [`BlobRef`], so a plan that does not change the regions writes none of
//! their bytes again.

use etcd_client::{GetOptions, PutOptions};
use serde::{Deserialize, Serialize};

use crate::connection::Cluster;
use crate::error::ClusterError;

/// Bytes per chunk: well under etcd's default request limit.
const CHUNK: usize = 512 * 1024;

/// A stored text: its digest (FNV-1a 64 and length) and how many chunks hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// `<fnv64 hex>-<length>`.
    pub digest: String,
    /// Number of chunks.
    pub chunks: usize,
}

impl BlobRef {
    /// The reference `text` would be stored under.
    pub fn of(text: &str) -> Self {
        Self {
            digest: digest(text.as_bytes()),
            chunks: text.len().div_ceil(CHUNK).max(1),
        }
    }
}

/// Stores `text` unless a blob with its digest is there already; returns its reference
/// and the bytes written (0 when it was there).
pub async fn put_blob(cluster: &Cluster, text: &str) -> Result<(BlobRef, usize), ClusterError> {
    let blob = BlobRef::of(text);
    let mut client = cluster.client();
    let last = cluster.keys.blob_chunk(&blob.digest, blob.chunks - 1);
    let present = client
        .get(last.as_str(), Some(GetOptions::new().with_count_only()))
        .await?
        .count()
        > 0;
    if present {
        return Ok((blob, 0));
    }
    // Chunks are written in order and the last one last: a reader that finds the last
    // chunk finds them all.
    let bytes = text.as_bytes();
    for (n, chunk) in bytes.chunks(CHUNK).enumerate() {
        let key = cluster.keys.blob_chunk(&blob.digest, n);
        client
            .put(key.as_str(), chunk.to_vec(), None::<PutOptions>)
            .await?;
    }
    if bytes.is_empty() {
        let key = cluster.keys.blob_chunk(&blob.digest, 0);
        client.put(key.as_str(), Vec::new(), None).await?;
    }
    Ok((blob, bytes.len()))
}

/// Reads a stored text back, checking its digest.
pub async fn get_blob(cluster: &Cluster, blob: &BlobRef) -> Result<String, ClusterError> {
    let dir = cluster.keys.blob_dir(&blob.digest);
    let bad = |reason: String| ClusterError::BadValue {
        key: dir.clone(),
        reason,
    };
    // One request per chunk: a whole million-prefix table in one answer would pass
    // gRPC's message limit and a request's time bound.
    let client = cluster.client();
    let mut bytes = Vec::new();
    for n in 0..blob.chunks {
        let key = cluster.keys.blob_chunk(&blob.digest, n);
        let resp = crate::state::retrying(cluster, || {
            let (mut client, key) = (client.clone(), key.clone());
            async move { client.get(key, None).await }
        })
        .await?;
        let Some(kv) = resp.kvs().first() else {
            return Err(bad(format!("chunk {n} of {} missing", blob.chunks)));
        };
        bytes.extend_from_slice(kv.value());
    }
    if digest(&bytes) != blob.digest {
        return Err(bad("digest mismatch".into()));
    }
    String::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))
}

/// Deletes every blob whose digest is not in `keep`.
pub async fn prune_blobs(cluster: &Cluster, keep: &[&BlobRef]) -> Result<(), ClusterError> {
    let dir = cluster.keys.blobs();
    let mut client = cluster.client();
    let resp = client
        .get(
            dir.as_str(),
            Some(GetOptions::new().with_prefix().with_keys_only()),
        )
        .await?;
    let mut stale: Vec<String> = Vec::new();
    for kv in resp.kvs() {
        let Ok(key) = kv.key_str() else { continue };
        let Some(digest) = key
            .strip_prefix(dir.as_str())
            .and_then(|r| r.split('/').next())
        else {
            continue;
        };
        if !keep.iter().any(|b| b.digest == digest) && !stale.iter().any(|d| d == digest) {
            stale.push(digest.to_owned());
        }
    }
    for digest in stale {
        let key = cluster.keys.blob_dir(&digest);
        client
            .delete(
                key.as_str(),
                Some(etcd_client::DeleteOptions::new().with_prefix()),
            )
            .await?;
    }
    Ok(())
}

fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}-{}", bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_depend_on_content_and_count_chunks() {
        let a = BlobRef::of("ADD REG A { 10.0.0.0, 8; }!");
        assert_eq!(a, BlobRef::of("ADD REG A { 10.0.0.0, 8; }!"));
        assert_ne!(a.digest, BlobRef::of("ADD REG A { 10.0.0.0, 9; }!").digest);
        assert_eq!(a.chunks, 1);
        assert_eq!(BlobRef::of(&"x".repeat(CHUNK + 1)).chunks, 2);
        assert_eq!(BlobRef::of("").chunks, 1);
    }
}
