//! What can go wrong between a role and etcd.

/// An etcd operation failed, or what it read does not make sense.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// No endpoint answered at start: the role does not start half-configured.
    #[error("etcd unreachable at {endpoints}: {source}")]
    Unreachable {
        /// The endpoints tried, comma-separated.
        endpoints: String,
        /// The last error.
        source: etcd_client::Error,
    },
    /// An endpoint did not answer within the deadline.
    #[error("etcd did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// A request failed.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// A file `[cluster]` names could not be read.
    #[error("{file}: {source}")]
    File {
        /// The file.
        file: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A guarded write found that this process no longer holds the leadership.
    #[error("not the leader any more (epoch {epoch})")]
    NotLeader {
        /// The epoch that was lost.
        epoch: u64,
    },
    /// A value under the prefix is malformed or foreign: it is never applied.
    #[error("{key}: {reason}")]
    BadValue {
        /// Its key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}
