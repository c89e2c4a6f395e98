//! `cdnbroker demo`: a whole small world in one process on 127.0.0.1: xyz's origin web
//! site, CDN C (DNS engine, control component, front proxy) and partner CDN G (edge with
//! status reports over HTTPS), each CDN started exactly as `cdnbroker run` starts a
//! deployment. It prints the addresses, the commands to try and `demo ready`; Ctrl-C or
//! SIGTERM stops everything and it prints `demo stopped`.
//!
//! The built-in world is a folder of ordinary files (see [`builtin`]), written to a
//! temporary folder at start with ports from `--port-base` and fresh certificates, then
//! read back like `--config DIR/demo.toml`; `--write-config DIR` writes it out to edit.

mod banner;
mod builtin;
mod certs;
mod origin;
mod parts;
mod picture;
mod png;
mod ports;
mod readiness;
mod site;
mod world;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use tokio_util::sync::CancellationToken;

use crate::run::{RunArgs, serve as serve_deployment};
use origin::Origin;
use parts::Parts;
use ports::Layout;
use world::World;

/// How long the demo waits for a role's sockets before saying it is not running.
const PATIENCE: Duration = Duration::from_secs(3);

/// Arguments of `cdnbroker demo`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DemoArgs {
    /// Every port is this plus a fixed offset: origin +0, C's DNS +53 (control +54,
    /// management +55), front proxy +80 (special port for G +81), G's edge +90, control
    /// API +99, G's status reports +443, C's alert receiver +444.
    #[arg(long, default_value_t = ports::DEFAULT_BASE)]
    port_base: u16,
    /// Run the world of this demo.toml (as written by --write-config) instead of the
    /// built-in one.
    #[arg(long, conflicts_with = "write_config")]
    config: Option<PathBuf>,
    /// Write the built-in world (demo.toml, C's and G's deployments, agent files,
    /// certificates) into this folder and exit.
    #[arg(long, value_name = "DIR")]
    write_config: Option<PathBuf>,
}

/// Runs `cdnbroker demo` until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let layout = Layout::new(args.port_base)?;
    if let Some(dir) = &args.write_config {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let file = builtin::write(dir, layout)?;
        println!("wrote the demo world into {}", dir.display());
        println!("run it with: cdnbroker demo --config {}", file.display());
        return Ok(());
    }
    // Kept until the end: dropping it removes the built-in world's folder.
    let mut temp = None;
    let file = match &args.config {
        Some(file) => file.clone(),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("cdnbroker-demo-")
                .tempdir()
                .context("creating a folder for the demo's files")?;
            let file = builtin::write(dir.path(), layout)?;
            temp = Some(dir);
            file
        }
    };
    let world = World::read(&file)?;
    let folder = file.parent().unwrap_or(Path::new(".")).to_owned();
    let files = site::catalog().context("drawing the demo site's pictures")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        serve(&world, files, &folder, shutdown).await
    });
    drop(temp);
    result
}

/// Starts the origin and every deployment, prints the banner once their sockets accept,
/// and serves until `shutdown` or until one part fails; then stops them all, last first.
async fn serve(
    world: &World,
    files: site::Catalog,
    folder: &Path,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let origin = Origin::bind(world.origin, files).await?;
    let mut parts = Parts::new();
    parts.spawn(|stop| origin.run(stop));
    for m in &world.deployments {
        let args = run_args(&m.config, m.edge_regions.as_deref())?;
        let name = m.config.display().to_string();
        parts.spawn(|stop| async move { serve_deployment(&args, stop).await.context(name) });
    }
    let probes = readiness::probes(world);
    let up = tokio::select! {
        up = readiness::wait(&probes, PATIENCE) => up,
        // Something ended before the world was up: a failure (a busy port...).
        first = parts.first_end() => return parts.stop(first).await,
        () = shutdown.cancelled() => return parts.stop(Ok(())).await,
    };
    print!("{}", banner::text(world, folder, &probes, &up));
    println!("demo ready");
    let first = tokio::select! {
        () = shutdown.cancelled() => Ok(()),
        first = parts.first_end() => first,
    };
    let result = parts.stop(first).await;
    println!("demo stopped");
    result
}

/// The arguments `cdnbroker run --config FILE [--edge-regions R]` would get, parsed by
/// `run`'s own definition so that options it adds later keep their defaults.
fn run_args(config: &Path, edge_regions: Option<&Path>) -> anyhow::Result<RunArgs> {
    #[derive(clap::Parser)]
    struct RunCommand {
        #[command(flatten)]
        args: RunArgs,
    }
    let mut argv = vec![
        "run".into(),
        "--config".into(),
        config.as_os_str().to_owned(),
    ];
    if let Some(r) = edge_regions {
        argv.extend(["--edge-regions".into(), r.as_os_str().to_owned()]);
    }
    Ok(RunCommand::try_parse_from::<_, std::ffi::OsString>(argv)?.args)
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {}
    }
    shutdown.cancel();
}
