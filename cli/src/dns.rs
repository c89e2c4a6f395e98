//! `cdnbroker dns`: the brokering DNS engine alone (also the `[dns]` role of `run`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use broker_config::DnsName;
use broker_dns::control::ControlLimits;
use broker_dns::engine::Dnssec;
use broker_dns::triangle::Triangle;
use broker_dns::{Engine, Listeners, Options, Settings};
use tokio_util::sync::CancellationToken;

/// Arguments of `cdnbroker dns`.
#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct DnsArgs {
    /// A tool instead of the engine.
    #[command(subcommand)]
    pub(crate) tool: Option<DnsTool>,
    /// Address answering DNS over UDP and TCP (repeatable; port 0 picks a free one).
    #[arg(long, required = true)]
    pub(crate) listen: Vec<SocketAddr>,
    /// Control port for spec §1 transactions.
    #[arg(long)]
    pub(crate) control: Option<SocketAddr>,
    /// Name server names put in the SOA and NS of bound domains (repeatable).
    #[arg(long = "ns")]
    pub(crate) ns: Vec<String>,
    /// TTL of answers, seconds.
    #[arg(long, default_value_t = 20)]
    pub(crate) ttl: u32,
    /// A transaction (spec §1) committed before serving.
    #[arg(long)]
    pub(crate) load: Option<PathBuf>,
    /// Append one line per query to this file.
    #[arg(long = "query-log")]
    pub(crate) query_log: Option<PathBuf>,
    /// Serve Prometheus metrics on this address (GET /metrics).
    #[arg(long)]
    pub(crate) metrics: Option<SocketAddr>,
    /// Seconds an idle control connection is kept before its transaction is aborted.
    #[arg(long, default_value_t = 30)]
    pub(crate) control_timeout: u64,
    /// UDP sockets per listen address (SO_REUSEPORT), e.g. one per core.
    #[arg(long, default_value_t = 1)]
    pub(crate) udp_sockets: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Port of the servers named in R: and T: lookups.
    #[arg(long, default_value_t = 53)]
    pub(crate) forward_port: u16,
    /// Sticky picks: one client network (/24, /56) always gets the same lookup.
    #[arg(long)]
    pub(crate) sticky: bool,
    /// Folder of DNSSEC key pairs in BIND's format: the zones they name are signed
    /// (spec §10).
    #[arg(long)]
    pub(crate) dnssec: Option<PathBuf>,
    /// Validity of each signature, days (1 to 90).
    #[arg(long, default_value_t = broker_config::deploy::DEFAULT_SIGNATURE_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=90))]
    pub(crate) signature_days: u32,
    /// Spec §11's caps and control token, from `[dns]` (defaults on the command line).
    #[arg(skip)]
    pub(crate) limits: broker_config::deploy::DnsLimits,
}

/// Tools of `cdnbroker dns`.
#[derive(clap::Subcommand, Debug, Clone)]
pub(crate) enum DnsTool {
    /// Print the DS record (SHA-256) of a key for the parent zone (spec §10).
    Ds {
        /// The key's `.key` file, as `dnssec-keygen` writes it (its `.private` beside it).
        keyfile: PathBuf,
    },
}

impl DnsArgs {
    /// The arguments equivalent to a deployment's `[dns]` table.
    #[allow(dead_code, reason = "for `run --config` to start its [dns] role")]
    pub(crate) fn from_role(role: &broker_config::deploy::DnsRole) -> Self {
        Self {
            tool: None,
            listen: role.listen.clone(),
            control: Some(role.control),
            ns: role.ns.iter().map(|n| n.to_string()).collect(),
            ttl: role.ttl,
            load: role.load.clone(),
            query_log: role.query_log.clone(),
            metrics: role.metrics,
            control_timeout: 30,
            udp_sockets: 1,
            threads: None,
            forward_port: 53,
            sticky: false,
            dnssec: role.dnssec.clone(),
            signature_days: role.signature_days,
            limits: role.limits.clone(),
        }
    }
}

/// `cdnbroker dns ds KEYFILE`: the pair is read whole (a DS for a key whose private half
/// does not match would point the parent at a key that signs nothing).
fn print_ds(keyfile: &std::path::Path) -> anyhow::Result<()> {
    let pair = broker_config::dnssec_key::read_pair(keyfile).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", pair.public.ds_record());
    Ok(())
}

/// Runs `cdnbroker dns` until Ctrl-C or SIGTERM.
pub(crate) fn run(args: &DnsArgs) -> anyhow::Result<()> {
    if let Some(DnsTool::Ds { keyfile }) = &args.tool {
        return print_ds(keyfile);
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build()?;
    rt.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        serve(args, shutdown).await
    })
}

/// Starts the engine of `args` and serves until `shutdown`; prints the bound addresses
/// on stdout first (one `dns`, `control`, `metrics` line each), so that a caller that
/// asked for port 0 learns them.
pub(crate) async fn serve(args: &DnsArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    serve_in(args, None, shutdown).await
}

/// [`serve`], registering the engine as a member of `cluster` when given (spec §8).
pub(crate) async fn serve_in(
    args: &DnsArgs,
    cluster: Option<crate::membership::Membership>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ns = args
        .ns
        .iter()
        .map(|n| DnsName::new(n).map_err(|why| anyhow::anyhow!("--ns {n}: {why}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut settings = Settings {
        ttl: args.ttl,
        forward_port: args.forward_port,
        sticky: args.sticky,
        ..Settings::default()
    };
    if !ns.is_empty() {
        settings.ns = ns;
    }
    let triangle = match Triangle::open() {
        Ok(t) => Some(Arc::new(t)),
        Err(e) => {
            tracing::info!(error = %e, "no raw socket: T: lookups will be refused at commit");
            None
        }
    };
    let mut engine = Engine::new(settings, triangle.is_some());
    if let Some(folder) = &args.dnssec {
        engine = engine
            .with_dnssec(Dnssec {
                folder: folder.clone(),
                signature_days: args.signature_days,
            })
            .map_err(|e| anyhow::anyhow!("[dns] dnssec: {e}"))?;
    }
    let engine = Arc::new(engine);
    tokio::spawn(Arc::clone(&engine).keep_signatures_fresh(shutdown.clone()));
    if let Some(path) = &args.load {
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        engine
            .commit(text)
            .await
            .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    }
    let listeners = Listeners::bind(&args.listen, args.control, args.metrics, args.udp_sockets)
        .context("binding the engine's sockets")?;
    for a in listeners.dns_addrs() {
        println!("dns {a}");
    }
    if let Some(a) = listeners.control_addr() {
        println!("control {a}");
        if let Some(m) = &cluster {
            m.register_engine(Arc::clone(&engine), a, shutdown.clone());
        }
    }
    if let Some(a) = listeners.metrics_addr() {
        println!("metrics {a}");
    }
    let options = Options {
        control: ControlLimits {
            idle: Duration::from_secs(args.control_timeout),
            max_bytes: args.limits.max_transaction_bytes(),
            token: args.limits.token.clone(),
            ..ControlLimits::default()
        },
        query_log: args.query_log.clone(),
        triangle,
        rrl: args.limits.rrl,
        max_tcp: args.limits.max_tcp(),
        relay_in_flight: args.limits.relay_in_flight(),
        ..Options::default()
    };
    broker_dns::run(listeners, engine, options, shutdown).await?;
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {}
    }
    shutdown.cancel();
}
