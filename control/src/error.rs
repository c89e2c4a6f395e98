//! Why the control component could not start.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config_agent::ConfigError;

/// A start-up failure; once started, failures are reported per agent (API, logs).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The deployment has no `[control]` table.
    #[error("the deployment has no [control] role")]
    NoRole,
    /// The agent files (spec §2) are bad: one `FILE:LINE:COL: message` per line.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A port could not be bound.
    #[error("[control] {what} {addr}: {source}")]
    Bind {
        /// Which port.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// TLS material could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// `[cluster]`: etcd could not be reached or its state read (spec §8).
    #[error("[cluster] {0}")]
    Cluster(#[from] broker_cluster::ClusterError),
}

/// TLS material that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file that cannot be read or holds nothing usable.
    #[error("{}: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error("certificate and key: {0}")]
    Rustls(#[from] rustls::Error),
}
