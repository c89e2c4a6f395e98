//! [`Cluster`]: one etcd client for a process, with `[cluster]`'s prefix and lease.

use std::time::Duration;

use broker_config::deploy::{ClusterRole, Scheme};
use etcd_client::{Certificate, Client, ConnectOptions, TlsOptions};

use crate::error::ClusterError;
use crate::keys::Keys;

/// The pause between two attempts to reach etcd at start.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// A connected etcd client and this CDN's place in it. Cheap to clone (one channel).
#[derive(Clone)]
pub struct Cluster {
    pub(crate) client: Client,
    pub(crate) keys: Keys,
    lease: Duration,
    endpoints: Vec<String>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("prefix", &self.keys.prefix())
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects to `role`'s endpoints and checks that one answers within `lease_s`: an
    /// unreachable etcd at start is an error naming the endpoints.
    pub async fn connect(role: &ClusterRole) -> Result<Self, ClusterError> {
        let endpoints: Vec<String> = role
            .etcd
            .iter()
            .map(|u| u.to_string().trim_end_matches('/').to_owned())
            .collect();
        let lease = role.lease;
        // Each request gets at most half a lease, so a leader learns of trouble in time
        // to stop before its lease can run out.
        let mut options = ConnectOptions::new()
            .with_connect_timeout(lease / 2)
            .with_timeout(lease / 2)
            .with_keep_alive(lease / 2, lease / 2)
            .with_keep_alive_while_idle(true);
        if let Some(auth) = &role.auth {
            let text = read(&auth.password_file)?;
            let password = text.lines().next().unwrap_or("").to_owned();
            options = options.with_user(auth.user.clone(), password);
        }
        if role.etcd.iter().any(|u| u.scheme == Scheme::Https) {
            let mut tls = TlsOptions::new();
            if let Some(ca) = &role.ca {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            options = options.with_tls(tls);
        }
        let unreachable = |source| ClusterError::Unreachable {
            endpoints: endpoints.join(", "),
            source,
        };
        let mut client = Client::connect(&endpoints, Some(options))
            .await
            .map_err(unreachable)?;
        // Requests are spread over the endpoints, and one to a member that is down fails
        // at once: asked again until one answers or the lease has passed, so that a role
        // starts while any member of the cluster is up.
        let deadline = tokio::time::Instant::now() + lease;
        loop {
            let error = match tokio::time::timeout_at(deadline, client.status()).await {
                Ok(Ok(_)) => break,
                Ok(Err(e)) => e,
                Err(_) => etcd_client::Error::InvalidArgs(format!("no answer within {lease:?}")),
            };
            if tokio::time::Instant::now() + RETRY_AFTER >= deadline {
                return Err(unreachable(error));
            }
            tokio::time::sleep(RETRY_AFTER).await;
        }
        let cluster = Self {
            client,
            keys: Keys::new(&role.prefix),
            lease,
            endpoints,
        };
        if cluster.endpoints.len() > 1 {
            tokio::spawn(avoid_dead_members(cluster.clone()));
        }
        Ok(cluster)
    }

    /// The key prefix of this CDN's state.
    pub fn prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// The leader lease and member liveness.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// The endpoints, as configured.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// A client handle for one task (they share the channel).
    pub(crate) fn client(&self) -> Client {
        self.client.clone()
    }
}

fn read(file: &std::path::Path) -> Result<String, ClusterError> {
    std::fs::read_to_string(file).map_err(|source| ClusterError::File {
        file: file.to_owned(),
        source,
    })
}

/// Keeps the members that do not take connections out of the client's balanced channel,
/// and puts them back once they do: the channel would otherwise send every other
/// request to a member that is down, each failing or waiting out its time bound (etcd's
/// own Go client steers around unhealthy endpoints the same way). At least one endpoint
/// always stays. Runs for the life of the process, a probe per endpoint every third of
/// the lease.
async fn avoid_dead_members(cluster: Cluster) {
    let period = cluster.lease / 3;
    let mut removed: Vec<String> = Vec::new();
    loop {
        tokio::time::sleep(period).await;
        for endpoint in &cluster.endpoints {
            let Some(addr) = authority(endpoint) else {
                continue;
            };
            let up = matches!(
                tokio::time::timeout(period, tokio::net::TcpStream::connect(addr)).await,
                Ok(Ok(_))
            );
            let out = removed.contains(endpoint);
            if up && out {
                if cluster.client.add_endpoint(endpoint).await.is_ok() {
                    tracing::info!(%endpoint, "etcd member answers again; in use");
                    removed.retain(|e| e != endpoint);
                }
            } else if !up
                && !out
                && removed.len() + 1 < cluster.endpoints.len()
                && cluster.client.remove_endpoint(endpoint).await.is_ok()
            {
                tracing::warn!(%endpoint, "etcd member takes no connection; not used until it does");
                removed.push(endpoint.clone());
            }
        }
    }
}

/// `host:port` of an endpoint URL.
fn authority(endpoint: &str) -> Option<&str> {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split('/').next().filter(|a| !a.is_empty())
}
