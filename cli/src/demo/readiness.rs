//! When is the demo ready? `run::serve` prints its roles' addresses but gives no signal
//! back, so the demo waits until every TCP socket the deployments name accepts a
//! connection. A role that `run` does not start (yet) never opens its sockets: after a
//! short patience the demo says so and goes on with what runs.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use super::world::World;

/// How often a closed socket is tried again.
const RETRY: Duration = Duration::from_millis(20);

/// A socket that should accept once its role runs.
#[derive(Clone, Debug)]
pub(crate) struct Probe {
    /// `[node] name` of its deployment.
    pub(crate) node: String,
    /// The §7 table of the role: `[dns]`, `[proxy]`...
    pub(crate) role: &'static str,
    pub(crate) addr: SocketAddr,
}

/// The TCP sockets of every role of `world`. Control ports (DNS control, management)
/// are left out: a probe connection there would be an empty transaction or batch.
pub(crate) fn probes(world: &World) -> Vec<Probe> {
    let mut out = Vec::new();
    for m in &world.deployments {
        let d = &m.deployment;
        let node = d.node.name.as_str().to_owned();
        let mut add = |role, addr| {
            out.push(Probe {
                node: node.clone(),
                role,
                addr,
            });
        };
        if let Some(dns) = &d.dns {
            dns.listen.iter().for_each(|a| add("[dns]", *a));
        }
        if let Some(c) = &d.control {
            c.api
                .iter()
                .chain(&c.alerts)
                .for_each(|a| add("[control]", *a));
        }
        if let Some(p) = &d.proxy {
            add("[proxy]", p.listen);
            p.special_ports.values().for_each(|a| add("[proxy]", *a));
        }
        if let Some(e) = &d.edge {
            add("[edge]", e.listen);
            e.status.iter().for_each(|a| add("[edge]", *a));
        }
    }
    out
}

/// Waits until every probe's socket accepts, or `patience` has passed; says which
/// accepted, in `probes`' order.
pub(crate) async fn wait(probes: &[Probe], patience: Duration) -> Vec<bool> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut up = vec![false; probes.len()];
    loop {
        for (i, p) in probes.iter().enumerate() {
            if !up[i] && TcpStream::connect(p.addr).await.is_ok() {
                up[i] = true;
            }
        }
        if up.iter().all(|u| *u) || tokio::time::Instant::now() >= deadline {
            return up;
        }
        tokio::time::sleep(RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bound_socket_is_up_and_a_closed_one_is_not_after_patience() {
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // A port that was just free: bound and dropped.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let probe = |addr| Probe {
            node: "C".into(),
            role: "[proxy]",
            addr,
        };
        let probes = [probe(open.local_addr().unwrap()), probe(closed)];
        let up = wait(&probes, Duration::from_millis(100)).await;
        assert_eq!(up, [true, false]);
    }
}
