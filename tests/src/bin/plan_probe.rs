//! `plan-probe`: the alert-to-action figures of `bench/cluster-plan` (spec §8).
//!
//! Alternately posts `G Unavailable` and `G Load aggregate=0,0` to a control replica's
//! alert receiver (as partner G would) and measures, for each alert, when every real DNS
//! engine (UDP queries every 5 ms), every real front proxy (the page's picture URL, every
//! 10 ms) and every simulated watcher acts on it. A simulated watcher is what a proxy or
//! edge without `[control]` runs: its own etcd connection following `<prefix>/plan`, a
//! member registration, a live plan it picks from; N of them share this process.
//!
//! The world must send everything to G while G is up and everything to C once it is
//! not (`bench/cluster-plan/run.sh` writes such a world). Prints one line per alert and,
//! at the end, the 50th/99th percentile and maximum of "the last engine", "the last
//! proxy" and "the last watcher" over all alerts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_cluster::{Cluster, MemberInfo, MemberRole, PlanTargets};
use broker_config::DnsName;
use broker_policy::live::{LivePlan, SharedPlan};
use broker_policy::routing::Routing;
use clap::Parser;
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long one alert may take to reach everything before the probe gives up.
const ROUND_LIMIT: Duration = Duration::from_secs(20);
/// The same for the first round, in which each watcher also reads the region table.
const FIRST_ROUND_LIMIT: Duration = Duration::from_secs(180);

#[derive(Parser, Debug)]
#[command(about = "Measures how fast a partner's alert reaches every engine, proxy and watcher")]
struct Args {
    /// etcd client URLs, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    etcd: Vec<String>,
    /// The cluster's key prefix.
    #[arg(long)]
    prefix: String,
    /// The cluster's lease, seconds.
    #[arg(long, default_value_t = 3)]
    lease_s: u64,
    /// Simulated watchers.
    #[arg(long, default_value_t = 100)]
    watchers: usize,
    /// The alert receiver's URL (a replica's `/alert`).
    #[arg(long)]
    alert: String,
    /// G's bearer token at C.
    #[arg(long)]
    token: String,
    /// The CA that signed the alert receiver's certificate.
    #[arg(long)]
    ca: PathBuf,
    /// DNS engines (UDP), comma-separated.
    #[arg(long, value_delimiter = ',')]
    dns: Vec<SocketAddr>,
    /// Front proxies (HTTP), comma-separated.
    #[arg(long, value_delimiter = ',')]
    proxy: Vec<SocketAddr>,
    /// Alerts to send (alternately Unavailable and Load).
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// The DNS-outsourced name and plan customer.
    #[arg(long, default_value = "img.xyz.com")]
    name: String,
    /// G's host in the embedded URL form of the pages.
    #[arg(long, default_value = "foo.cdn-g.example")]
    partner_host: String,
    /// The site whose page the proxies serve.
    #[arg(long, default_value = "www.xyz.com")]
    site: String,
    /// C's address in DNS answers.
    #[arg(long, default_value = "192.0.2.10")]
    c_address: Ipv4Addr,
    /// G's address in DNS answers.
    #[arg(long, default_value = "192.0.2.20")]
    g_address: Ipv4Addr,
}

/// Where clients go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cdn {
    C,
    G,
}

/// What one target reported for one alert.
#[derive(Debug)]
enum Kind {
    Engine,
    Proxy,
    Watcher,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Arc::new(Args::parse());
    let cluster_role = cluster_role(&args)?;
    let shutdown = CancellationToken::new();
    let customer = DnsName::new(&args.name).map_err(|e| e.to_string())?;
    let mut watchers = Vec::new();
    for i in 0..args.watchers {
        let cluster = Cluster::connect(&cluster_role)
            .await
            .map_err(|e| e.to_string())?;
        watchers.push(watcher(cluster, i, shutdown.clone()));
    }
    let (want_tx, want) = watch::channel((0usize, Cdn::G, Instant::now()));
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    for plan in watchers {
        tokio::spawn(watch_plan(
            plan,
            customer.clone(),
            want.clone(),
            seen_tx.clone(),
        ));
    }
    for &dns in &args.dns {
        tokio::spawn(probe_engine(
            Arc::clone(&args),
            dns,
            want.clone(),
            seen_tx.clone(),
        ));
    }
    for &proxy in &args.proxy {
        tokio::spawn(probe_proxy(
            Arc::clone(&args),
            proxy,
            want.clone(),
            seen_tx.clone(),
        ));
    }
    let targets = args.watchers + args.dns.len() + args.proxy.len();
    let mut lasts: [Vec<Duration>; 3] = Default::default();
    // Round 0 only brings everything to G, unmeasured.
    for round in 0..=args.rounds {
        let to = if round % 2 == 1 { Cdn::C } else { Cdn::G };
        let body = match to {
            Cdn::C => "G Unavailable",
            Cdn::G => "G Load aggregate=0,0",
        };
        let t0 = Instant::now();
        want_tx.send_replace((round, to, t0));
        post_alert(&args, body)?;
        let mut last = [Duration::ZERO; 3];
        let mut got = 0;
        while got < targets {
            let limit = if round == 0 {
                FIRST_ROUND_LIMIT
            } else {
                ROUND_LIMIT
            };
            let (r, kind, at) = tokio::time::timeout(limit, seen.recv())
                .await
                .map_err(|_| format!("round {round}: only {got} of {targets} acted"))?
                .ok_or("probes ended")?;
            if r != round {
                continue;
            }
            got += 1;
            let i = kind as usize;
            last[i] = last[i].max(at);
        }
        if round > 0 {
            println!(
                "alert {round} ({body}): last engine {:.1} ms, last proxy {:.1} ms, last watcher {:.1} ms",
                ms(last[0]),
                ms(last[1]),
                ms(last[2])
            );
            for (all, l) in lasts.iter_mut().zip(last) {
                all.push(l);
            }
        }
    }
    for (name, all) in ["engine", "proxy", "watcher"].iter().zip(&mut lasts) {
        all.sort();
        if all.is_empty() || all.iter().all(|d| d.is_zero()) {
            continue;
        }
        println!(
            "last {name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} alerts",
            ms(percentile(all, 50)),
            ms(percentile(all, 99)),
            ms(*all.last().unwrap_or(&Duration::ZERO)),
            all.len()
        );
    }
    shutdown.cancel();
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p`-th percentile of sorted `all` (nearest rank).
fn percentile(all: &[Duration], p: usize) -> Duration {
    let rank = (all.len() * p).div_ceil(100).max(1);
    all[rank.min(all.len()) - 1]
}

/// `[cluster]` of the arguments, checked as a deployment file's.
fn cluster_role(args: &Args) -> Result<broker_config::deploy::ClusterRole, String> {
    let lease = format!("lease_s = {}\n", args.lease_s);
    broker_tests::etcd::cluster_role(&args.etcd, &args.prefix, &lease)
}

/// One simulated watcher: follows the plan and registers as member `sim-<i>`.
fn watcher(cluster: Cluster, i: usize, shutdown: CancellationToken) -> SharedPlan {
    let plan = LivePlan::serve_all_ourselves().shared();
    let routing = Routing::new(1, Vec::new(), Vec::new()).shared();
    let (served, seen) = watch::channel((0, None));
    let (reachable, _) = watch::channel(false);
    let info = MemberInfo {
        role: MemberRole::Proxy,
        address: format!("sim-{i}"),
        node: "C".into(),
        generation: 0,
        epoch: None,
    };
    tokio::spawn(broker_cluster::register(
        cluster.clone(),
        info,
        seen,
        shutdown.clone(),
    ));
    let targets = PlanTargets {
        plan: Arc::clone(&plan),
        routing,
        served,
    };
    tokio::spawn(broker_cluster::follow_plan(
        cluster, targets, reachable, shutdown,
    ));
    plan
}

type Want = watch::Receiver<(usize, Cdn, Instant)>;
type Seen = mpsc::UnboundedSender<(usize, Kind, Duration)>;

/// Reports, per round, when the watcher's plan first sends a client to the wanted CDN.
async fn watch_plan(plan: SharedPlan, customer: DnsName, mut want: Want, seen: Seen) {
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut done = usize::MAX;
    loop {
        let (round, to, t0) = *want.borrow_and_update();
        if done != round {
            let cdn = plan
                .load()
                .pick(&customer, client)
                .cdn
                .map(ToString::to_string);
            if cdn.as_deref() == Some(name_of(to)) {
                let _ = seen.send((round, Kind::Watcher, t0.elapsed()));
                done = round;
                continue;
            }
        }
        // A plan swap is not announced to the data path: it is read at each use.
        tokio::select! {
            r = want.changed() => if r.is_err() { return },
            () = tokio::time::sleep(Duration::from_millis(2)) => {}
        }
    }
}

fn name_of(cdn: Cdn) -> &'static str {
    match cdn {
        Cdn::C => "C",
        Cdn::G => "G",
    }
}

/// Reports, per round, when the engine first answers with the wanted CDN's address.
async fn probe_engine(args: Arc<Args>, dns: SocketAddr, mut want: Want, seen: Seen) {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0").await else {
        return;
    };
    let mut done = usize::MAX;
    let mut id = 0u16;
    let mut buf = vec![0u8; 4096];
    loop {
        let (round, to, t0) = *want.borrow_and_update();
        if done != round {
            id = id.wrapping_add(1);
            let mut q = Message::query();
            q.metadata.id = id;
            if let Ok(name) = Name::from_ascii(&args.name) {
                q.add_query(Query::query(name, RecordType::A));
            }
            let address = match to {
                Cdn::C => args.c_address,
                Cdn::G => args.g_address,
            };
            if let Ok(bytes) = q.to_vec()
                && socket.send_to(&bytes, dns).await.is_ok()
                && let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf)).await
                && first_a(&buf[..n], id) == Some(address)
            {
                let _ = seen.send((round, Kind::Engine, t0.elapsed()));
                done = round;
            }
        }
        tokio::select! {
            r = want.changed() => if r.is_err() { return },
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
}

fn first_a(resp: &[u8], id: u16) -> Option<Ipv4Addr> {
    let m = Message::from_vec(resp).ok()?;
    if m.metadata.id != id {
        return None;
    }
    m.answers.iter().find_map(|r| match &r.data {
        RData::A(a) => Some(a.0),
        _ => None,
    })
}

/// Reports, per round, when the proxy's page first points its picture at the wanted CDN.
async fn probe_proxy(args: Arc<Args>, proxy: SocketAddr, mut want: Want, seen: Seen) {
    let mut done = usize::MAX;
    loop {
        let (round, to, t0) = *want.borrow_and_update();
        if done != round && page_cdn(&args, proxy).await == Some(to) {
            let _ = seen.send((round, Kind::Proxy, t0.elapsed()));
            done = round;
        }
        tokio::select! {
            r = want.changed() => if r.is_err() { return },
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
}

/// Where the page's picture points, by the partner's URL form in it.
async fn page_cdn(args: &Args, proxy: SocketAddr) -> Option<Cdn> {
    let mut s = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(proxy))
        .await
        .ok()?
        .ok()?;
    let req = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        args.site
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut page = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut page))
        .await
        .ok()?
        .ok()?;
    let page = String::from_utf8_lossy(&page);
    let embedded = format!("{}/{}/", args.partner_host, args.name);
    if page.contains(&embedded) {
        Some(Cdn::G)
    } else if page.contains(&format!("//{}/", args.name)) {
        Some(Cdn::C)
    } else {
        None
    }
}

/// Posts one alert body with curl (it speaks HTTPS with the given CA).
fn post_alert(args: &Args, body: &str) -> Result<(), String> {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .arg("--cacert")
        .arg(&args.ca)
        .args(["-H", &format!("Authorization: Bearer {}", args.token)])
        .args(["--data-binary", body, &args.alert])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    let code = String::from_utf8_lossy(&out.stdout);
    if code.trim() == "204" {
        Ok(())
    } else {
        Err(format!("alert {body:?} answered {code}"))
    }
}
