//! `cdnbroker run --config FILE`: starts every role the deployment names (spec §7) in one
//! process and serves until Ctrl-C or SIGTERM. Each role prints its bound addresses on
//! stdout (`edge ADDR`, `status ADDR`, `dns ADDR`...), so a caller that asked for port 0
//! learns them; a role that fails stops the others.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use broker_config::RegionsFile;
use broker_config::deploy::{Deployment, EdgeRole, ProxyRole};
use broker_proxy::edge::{Edge, EdgeListeners, EdgeSettings, Regions, SiteCert};
use broker_proxy::front::{Front, FrontListeners, FrontSettings};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use broker_cluster::MemberRole;

use crate::dns::{DnsArgs, serve_in};
use crate::membership::Membership;

/// Arguments of `cdnbroker run`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct RunArgs {
    /// The deployment file (spec §7).
    #[arg(long)]
    pub(crate) config: PathBuf,
    /// Region table (regions.txt, spec §2) for the edge's per-region load; default: every
    /// client in `DEFAULT`.
    #[arg(long = "edge-regions")]
    pub(crate) edge_regions: Option<PathBuf>,
    /// Also serve the edge's partner host names over TLS (HTTP/2 by ALPN) on this address,
    /// with the `[edge] tls` certificate (§7 has no key for it yet).
    #[arg(long = "edge-https")]
    pub(crate) edge_https: Option<std::net::SocketAddr>,
}

/// Runs `cdnbroker run` until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &RunArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        serve(args, shutdown).await
    })
}

/// Starts the roles of `args.config` and serves until `shutdown` or a role fails.
pub(crate) async fn serve(args: &RunArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let deployment = Deployment::read(&args.config)?;
    let membership = Membership::of(&deployment).await?;
    let mut roles: JoinSet<anyhow::Result<()>> = JoinSet::new();
    if let Some(dns) = &deployment.dns {
        let dns_args = DnsArgs::from_role(dns);
        let token = shutdown.clone();
        let member = membership.clone();
        roles.spawn(async move { serve_in(&dns_args, member, token).await.context("[dns]") });
    }
    // With [cluster] and no [control] here, proxies and edges follow the published plan.
    let followed = match (&membership, &deployment.control) {
        (Some(m), None) if deployment.proxy.is_some() || deployment.edge.is_some() => {
            Some(m.follow_plan(&deployment, shutdown.clone()))
        }
        _ => None,
    };
    if let Some(edge) = &deployment.edge {
        let regions = edge_regions(args.edge_regions.as_deref())?;
        let (edge, listeners) = start_edge(&deployment, edge, regions, args.edge_https).await?;
        if let (Some(m), Some((_, _, served))) = (&membership, &followed) {
            m.register(
                MemberRole::Edge,
                listeners.http_addr(),
                served.clone(),
                shutdown.clone(),
            );
        }
        let token = shutdown.clone();
        roles.spawn(async move {
            broker_proxy::edge::run(listeners, edge, token)
                .await
                .context("[edge]")
        });
    }
    // [control] starts before [proxy]: a front proxy in this process reads its plan, and
    // follows its routing tables (edited on the operator page).
    let mut control_routing = None;
    let mut control_plan: Option<broker_policy::live::SharedPlan> = match &deployment.control {
        Some(_) => {
            let (control, serving) = broker_control::Control::start(&deployment, shutdown.clone())
                .await
                .context("[control]")?;
            roles.spawn(async move {
                serving.await;
                Ok(())
            });
            if deployment.proxy.is_some() {
                // An edit the front proxy's origin-map refuses is refused at the API.
                control.add_routing_check(Box::new(broker_proxy::front::check_routing));
            }
            control_routing = Some(control.routing());
            Some(control.plan())
        }
        None => None,
    };
    if let Some((plan, routing, _)) = &followed {
        control_plan = Some(Arc::clone(plan));
        control_routing = Some(Arc::clone(routing));
    }
    if let Some(role) = &deployment.proxy {
        let (front, listeners) =
            start_front(&deployment, role, control_plan, control_routing).await?;
        if let (Some(m), Some((_, _, served))) = (&membership, &followed) {
            m.register(
                MemberRole::Proxy,
                listeners.http_addr(),
                served.clone(),
                shutdown.clone(),
            );
        }
        let token = shutdown.clone();
        roles.spawn(async move {
            broker_proxy::front::run(listeners, front, token).await;
            Ok(())
        });
    }
    if roles.is_empty() {
        anyhow::bail!("{}: no role to run", args.config.display());
    }
    let mut result = Ok(());
    while let Some(done) = roles.join_next().await {
        let done = done.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = done {
            // One role down: stop the others, report the first failure.
            shutdown.cancel();
            if result.is_ok() {
                result = Err(e);
            }
        }
    }
    result
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM. (The same as `dns`'s, which is private to
/// that module.)
async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {}
    }
    shutdown.cancel();
}

/// Builds the `[proxy]` role, picking by `control_plan` when `[control]` runs in this
/// process, and binds its sockets; prints `proxy ADDR`, `proxy-special NAME ADDR`,
/// `proxy-https ADDR` and `proxy-metrics ADDR`.
async fn start_front(
    deployment: &Deployment,
    role: &ProxyRole,
    control_plan: Option<broker_policy::live::SharedPlan>,
    control_routing: Option<broker_policy::routing::SharedRouting>,
) -> anyhow::Result<(Arc<Front>, FrontListeners)> {
    let plan = match control_plan {
        Some(plan) => plan,
        None => front_plan(deployment)?,
    };
    let mut front = Front::new(deployment, plan, FrontSettings::default()).context("[proxy]")?;
    if let Some(routing) = control_routing {
        front = front.follow_routing(routing);
    }
    let front = Arc::new(front);
    let listeners = FrontListeners::bind(&front, role)
        .await
        .context("[proxy]")?;
    println!("proxy {}", listeners.http_addr());
    for (partner, addr) in listeners.special_addrs() {
        println!("proxy-special {partner} {addr}");
    }
    if let Some(a) = listeners.https_addr() {
        println!("proxy-https {a}");
    }
    if let Some(a) = listeners.metrics_addr() {
        println!("proxy-metrics {a}");
    }
    Ok((front, listeners))
}

/// The plan of a front proxy with no control component in this process: computed once
/// from the `[control]` files when the deployment names them, else one under which this
/// CDN serves everything.
fn front_plan(deployment: &Deployment) -> anyhow::Result<broker_policy::live::SharedPlan> {
    use broker_policy::live::LivePlan;
    let Some(control) = &deployment.control else {
        return Ok(LivePlan::serve_all_ourselves().shared());
    };
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
    };
    let files = broker_config::AgentFiles::parse(
        &read(&control.regions)?,
        &read(&control.cdns)?,
        &read(&control.customers)?,
    )
    .map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("[proxy] plan: {}", lines.join("\n"))
    })?;
    let plan = LivePlan::from_agent_files(&files).context("[proxy] plan")?;
    Ok(plan.shared())
}

fn edge_regions(path: Option<&std::path::Path>) -> anyhow::Result<Regions> {
    let Some(path) = path else {
        return Ok(Regions::default_only());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file = RegionsFile::parse(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    Regions::from_file(&file).with_context(|| path.display().to_string())
}

/// Builds the `[edge]` role and binds its sockets; prints `edge ADDR` (and `status ADDR`,
/// `edge-metrics ADDR`).
async fn start_edge(
    deployment: &Deployment,
    role: &EdgeRole,
    regions: Regions,
    https: Option<std::net::SocketAddr>,
) -> anyhow::Result<(Arc<Edge>, EdgeListeners)> {
    let settings = EdgeSettings::from_role(&deployment.node.name, role, regions)
        .map_err(|e| anyhow::anyhow!("[edge]: {e}"))?;
    let edge = Arc::new(Edge::new(settings)?);
    let status = match (role.status, &role.tls) {
        (Some(addr), Some(tls)) => Some((addr, tls.cert.as_path(), tls.key.as_path())),
        _ => None,
    };
    let mut listeners = EdgeListeners::bind(role.listen, status).await?;
    if let Some(addr) = https {
        let tls = role
            .tls
            .as_ref()
            .context("--edge-https needs a certificate: [edge] tls")?;
        // One certificate for every name: the resolver falls back to it whatever the SNI.
        let site = SiteCert {
            names: Vec::new(),
            cert: tls.cert.clone(),
            key: tls.key.clone(),
        };
        listeners = listeners.with_https(addr, &[site]).await?;
    }
    if let Some(addr) = role.metrics {
        listeners = listeners.with_metrics(addr).await?;
    }
    println!("edge {}", listeners.http_addr());
    if let Some(a) = listeners.https_addr() {
        println!("edge-https {a}");
    }
    if let Some(a) = listeners.status_addr() {
        println!("status {a}");
    }
    if let Some(a) = listeners.metrics_addr() {
        println!("edge-metrics {a}");
    }
    Ok((edge, listeners))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// `run` with the example G deployment, moved to port 0, serves and refuses as the
    /// edge does, then stops on shutdown.
    #[tokio::test]
    async fn runs_the_edge_role_of_a_deployment() {
        let dir = tempfile::tempdir().unwrap();
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
        let text = std::fs::read_to_string(format!("{example}g.toml"))
            .unwrap()
            .replace("127.0.0.1:8090\"\nstatus", "127.0.0.1:0\"\nstatus")
            .replace("127.0.0.1:8443", "127.0.0.1:0");
        for f in ["g-status.pem", "g-status.key", "test-ca.pem"] {
            std::fs::copy(format!("{example}{f}"), dir.path().join(f)).unwrap();
        }
        let config = dir.path().join("g.toml");
        std::fs::write(&config, text).unwrap();
        let deployment = Deployment::read(&config).unwrap();
        let role = deployment.edge.as_ref().unwrap();
        let https = Some("127.0.0.1:0".parse().unwrap());
        let (edge, listeners) = start_edge(&deployment, role, Regions::default_only(), https)
            .await
            .unwrap();
        assert!(listeners.status_addr().is_some());
        assert!(listeners.https_addr().is_some());
        let addr = listeners.http_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(broker_proxy::edge::run(listeners, edge, shutdown.clone()));
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            b"GET /evil.example/x HTTP/1.1\r\nHost: 127.0.0.1:8090\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        shutdown.cancel();
        task.await.unwrap().unwrap();
    }

    /// The [proxy] role of the example C deployment (ports moved to 0, origin a test
    /// server), without [control] in the process: its plan comes from the example's
    /// control files, which name the customer `xyz`; the special port forces G.
    #[tokio::test]
    async fn runs_the_proxy_role_of_a_deployment() {
        let origin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin_addr = origin.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = origin.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let page = "<img src=\"http://img.xyz.com/a.gif\">";
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{page}",
                        page.len()
                    );
                    let _ = s.write_all(resp.as_bytes()).await;
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
        let text = std::fs::read_to_string(format!("{example}c.toml"))
            .unwrap()
            .replace("127.0.0.1:8080", "127.0.0.1:0")
            .replace("127.0.0.1:8081", "127.0.0.1:0")
            .replace("127.0.0.1:8000", &origin_addr.to_string());
        for f in ["regions.txt", "cdn.txt", "customer.txt"] {
            std::fs::copy(format!("{example}{f}"), dir.path().join(f)).unwrap();
        }
        let config = dir.path().join("c.toml");
        std::fs::write(&config, text).unwrap();
        let deployment = Deployment::read(&config).unwrap();
        let plan = front_plan(&deployment).unwrap();
        let xyz = broker_config::DnsName::new("xyz").unwrap();
        assert!(plan.load().plan().group_of(&xyz).is_some());
        let role = deployment.proxy.as_ref().unwrap();
        let (front, listeners) = start_front(&deployment, role, Some(plan), None)
            .await
            .unwrap();
        let special = listeners.special_addrs()[0].1;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(broker_proxy::front::run(listeners, front, shutdown.clone()));
        let mut s = tokio::net::TcpStream::connect(special).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: www.xyz.com\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer.contains("<img src=\"http://127.0.0.1:8090/img.xyz.com/a.gif\">"),
            "{answer}"
        );
        shutdown.cancel();
        task.await.unwrap();
    }
}
