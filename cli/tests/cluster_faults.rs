//! Many hosts, one plan (spec §8): the faults a CDN meets, over real processes on test
//! hosts (network namespaces, or 127.0.k.x where they cannot be made). Three etcd members
//! (hosts 0-2), two control replicas, two DNS engines, two front proxies (B on host 3 of
//! its own), partner CDN G's edge and xyz's origin, each a `cdnbroker run` process but the
//! origin.
//!
//! G covers everyone well and C badly, so every answer and every page goes to G while G
//! is up, and to C once G says `Unavailable` (its edge stopping posts that alert to the
//! replicas' alert URLs, tried in order). After each fault the test makes G alert and
//! asserts that both engines (dig) and both proxies (the page's picture URL) move to C,
//! then restarts G's edge and waits for them to come back to G (the leader's poll):
//! 1. kill -9 of the leader: the other replica leads within `lease_s` + 1 s, no dig query
//!    to either engine goes unanswered;
//! 2. proxy B's host cut off (its link down; on loopback, the relays it reaches etcd
//!    through): B keeps serving its last plan (asked from inside its host, where xyz's
//!    origin has a copy) while the rest moves, and catches up once healed;
//! 3. a DNS engine restarted: it gets the full tables within 1 s of listening; then one
//!    etcd member killed: alerts still reach everything;
//! 4. every replica killed and started again while G is `Unavailable`: G stays out (the
//!    alert was kept in etcd), and the operator's edits (a capacity, a routing-table edit)
//!    are all still there.
//!
//! A leader paused past its lease is `cluster_failover.rs`'s.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/cluster_world.rs"]
mod cluster_world;
#[path = "support/run_process.rs"]
mod run_process;

use broker_tests::etcd::EtcdCluster;
use broker_tests::hosts::{Host, Hosts, Mode};
use broker_tests::relay::Relay;
use cluster_world::{
    LIMIT, LOG, QueryLoop, Replica, TOKEN, curl, dig, leader_of, manage, wait_for,
};
use run_process::Running as Process;

const LEASE_S: u64 = 2;
const NAME: &str = "img.xyz.com";
const G_TOKEN: &str = "cluster-c-to-g-token";
/// The capacity the operator sets before the faults, to find after them.
const C_CAPACITY: u64 = 123_456;

/// Where the plan sends clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cdn {
    C,
    G,
}

impl Cdn {
    /// The A record an engine answers for it.
    fn address(self) -> &'static str {
        match self {
            Self::C => "192.0.2.10",
            Self::G => "192.0.2.20",
        }
    }
}

/// xyz's origin on 127.0.0.1:`port` (0: any free port) of the test process, or of test
/// host network namespace `netns`: a page with one picture. Returns its port.
fn origin(netns: Option<String>, port: u16) -> u16 {
    let (bound, port_rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        if let Some(ns) = netns {
            // This thread's sockets live in the host's namespace from here on.
            let file = fs::File::open(format!("/run/netns/{ns}")).expect("the host's namespace");
            // SAFETY: setns on a valid namespace descriptor changes only this thread's
            // network namespace.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns into {ns}");
        }
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("origin binds");
        let _ = bound.send(listener.local_addr().expect("bound").port());
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let page = "<html><body><img src=\"http://img.xyz.com/a.gif\"></body></html>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port_rx.recv_timeout(LIMIT).expect("the origin listens")
}

/// Where a page fetched through `proxy` sends its picture; `None` when no page came.
fn page_cdn(proxy: SocketAddr) -> Option<Cdn> {
    page_cdn_from(None, proxy)
}

/// [`page_cdn`] asked from `host` (curl runs there).
fn page_cdn_from(host: Option<&Host>, proxy: SocketAddr) -> Option<Cdn> {
    let mut curl = match host {
        Some(h) => h.command("curl"),
        None => Command::new("curl"),
    };
    let out = curl
        .args(["-s", "--max-time", "2", "-H", "Host: www.xyz.com"])
        .arg(format!("http://{proxy}/"))
        .output()
        .ok()?;
    let page = String::from_utf8_lossy(&out.stdout);
    if page.contains("cdn-g.example/img.xyz.com/a.gif") {
        Some(Cdn::G)
    } else if page.contains("src=\"http://img.xyz.com/a.gif\"") {
        Some(Cdn::C)
    } else {
        None
    }
}

/// True when `dns` answers `cdn` three times in a row (a plan's weights are 1 or 0 here).
fn engine_on(dns: SocketAddr, cdn: Cdn) -> bool {
    (0..3).all(|_| dig(dns, NAME).as_deref() == Some(cdn.address()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The ports fixed before start (the files name each other's).
struct Ports {
    origin: u16,
    alerts: [u16; 2],
    edge: u16,
    status: u16,
}

/// The deployment files of the world; `proxy_b_etcd`: the endpoints proxy B reaches etcd at.
struct World {
    controls: [PathBuf; 2],
    engines: [PathBuf; 2],
    proxies: [PathBuf; 2],
    edge: PathBuf,
}

fn write_world(
    dir: &Path,
    etcd: &[String],
    proxy_b: (Ipv4Addr, &[String]),
    ports: &Ports,
) -> World {
    broker_tests::copy_example_certs(dir).expect("the example certificates");
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        fs::write(&path, text).expect("a file of the world");
        path
    };
    write(
        "regions.txt",
        "ADD REG FRANCE { 198.54.234.0, 23; }!\n".into(),
    );
    // G covers every client well, C badly: G gets all while it is up.
    write(
        "cdn.txt",
        "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:10; DEFAULT:10; ]!\n\
         ADD CDN G:100000 {A:192.0.2.20} [ FRANCE:80; DEFAULT:80; ]!\n"
            .into(),
    );
    write("customer.txt", format!("ADD CST {NAME} [ C; G; ]!\n"));
    let cluster = |endpoints: &[String]| {
        let list: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
        format!(
            "[cluster]\netcd = [{}]\nprefix = \"/cdnbroker/faults{}\"\nlease_s = {LEASE_S}\n",
            list.join(", "),
            std::process::id()
        )
    };
    let tables = format!(
        "[[partner]]\nname = \"G\"\nform = \"embedded\"\nhost = \"foo.cdn-g.example\"\n\
         status = \"https://127.0.0.1:{status}\"\ntoken = \"{G_TOKEN}\"\nca = \"test-ca.pem\"\n\
         [[customer]]\nname = \"xyz\"\nsite = [\"www.xyz.com\"]\noffload = [\"img.xyz.com\"]\n\
         dns = [\"{NAME}\"]\norigin = {{ \"www.xyz.com\" = \"http://127.0.0.1:{origin}\", \
         \"img.xyz.com\" = \"http://127.0.0.1:{origin}\" }}\n",
        status = ports.status,
        origin = ports.origin,
    );
    let control = |i: usize| {
        write(
            &format!("control-{i}.toml"),
            format!(
                "[node]\nname = \"C\"\n[control]\nregions = \"regions.txt\"\ncdns = \"cdn.txt\"\n\
                 customers = \"customer.txt\"\nengines = []\nmanagement = \"127.0.0.1:0\"\n\
                 api = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\nalerts = \"127.0.0.1:{}\"\n\
                 tls = {{ cert = \"c-alerts.pem\", key = \"c-alerts.key\" }}\npoll_period_s = 1\n\
                 {tables}{}",
                ports.alerts[i],
                cluster(etcd)
            ),
        )
    };
    let engine = |i: usize| {
        write(
            &format!("dns-{i}.toml"),
            format!(
                "[node]\nname = \"C\"\n[dns]\nlisten = [\"127.0.0.1:0\"]\ncontrol = \"127.0.0.1:0\"\n\
                 ns = [\"ns1.cdn-c.example\"]\nttl = 1\n{}",
                cluster(etcd)
            ),
        )
    };
    let proxy = |i: usize, ip: Ipv4Addr, endpoints: &[String]| {
        write(
            &format!("proxy-{i}.toml"),
            format!(
                "[node]\nname = \"C\"\n[proxy]\nlisten = \"{ip}:0\"\n{tables}{}",
                cluster(endpoints)
            ),
        )
    };
    let alerts: Vec<String> = ports
        .alerts
        .iter()
        .map(|p| format!("\"https://127.0.0.1:{p}/alert\""))
        .collect();
    let edge = write(
        "g.toml",
        format!(
            "[node]\nname = \"G\"\n[edge]\nlisten = \"127.0.0.1:{}\"\nstatus = \"127.0.0.1:{}\"\n\
             tls = {{ cert = \"g-status.pem\", key = \"g-status.key\" }}\n\
             [[edge.offloader]]\nname = \"C\"\ntoken = \"{G_TOKEN}\"\ncapacity_kbps = 100000\n\
             embedded_hosts = [\"foo.cdn-g.example\", \"bar.cdn-g.example\"]\n\
             origins = {{ \"img.xyz.com\" = \"http://127.0.0.1:{}\" }}\nalert = [{}]\n\
             ca = \"test-ca.pem\"\n",
            ports.edge,
            ports.status,
            ports.origin,
            alerts.join(", ")
        ),
    );
    World {
        controls: [control(0), control(1)],
        engines: [engine(0), engine(1)],
        proxies: [
            proxy(0, Ipv4Addr::LOCALHOST, etcd),
            proxy(1, proxy_b.0, proxy_b.1),
        ],
        edge,
    }
}

/// How proxy B is cut from etcd: its host's link set down, or, on loopback (no link to
/// cut), the relays it reaches etcd through.
enum EtcdLink {
    Link(Host),
    Relays(Vec<Relay>),
}

impl EtcdLink {
    fn cut(&self) {
        match self {
            Self::Link(host) => host.cut().expect("link down"),
            Self::Relays(relays) => relays.iter().for_each(Relay::cut),
        }
    }

    fn heal(&self) {
        match self {
            Self::Link(host) => host.heal().expect("link up"),
            Self::Relays(relays) => {
                for r in relays {
                    r.heal().expect("relay healed");
                }
            }
        }
    }

    /// The host to ask proxy B from while it is cut.
    fn inside(&self) -> Option<&Host> {
        match self {
            Self::Link(host) => Some(host),
            Self::Relays(_) => None,
        }
    }
}

/// The running world.
struct Cdns {
    engines: Vec<(Process, SocketAddr)>,
    proxies: Vec<SocketAddr>,
    edge: Option<Process>,
    edge_config: PathBuf,
}

impl Cdns {
    fn dns(&self) -> Vec<SocketAddr> {
        self.engines.iter().map(|(_, a)| *a).collect()
    }

    /// Waits until every engine and every proxy sends clients to `cdn`; how long it took.
    fn everywhere(&self, cdn: Cdn, what: &str) -> Duration {
        self.places(cdn, what, &self.proxies)
    }

    fn places(&self, cdn: Cdn, what: &str, proxies: &[SocketAddr]) -> Duration {
        wait_for(what, LIMIT, || {
            self.dns().into_iter().all(|dns| engine_on(dns, cdn))
                && proxies.iter().all(|&p| page_cdn(p) == Some(cdn))
        })
    }

    fn start_edge(&mut self) {
        let mut edge = Process::start(&self.edge_config, LOG);
        let _ = edge.addr("status");
        self.edge = Some(edge);
    }

    /// G's edge stops, posting `G Unavailable` to the replicas; returns when it is gone.
    fn stop_edge(&mut self) {
        let mut edge = self.edge.take().expect("the edge runs");
        assert!(edge.stop("-TERM", LIMIT), "the edge stops");
    }

    /// G alerts: everything moves to C; then G comes back: everything moves to G again.
    fn alert_and_recover(&mut self, after: &str) {
        let t0 = Instant::now();
        self.stop_edge();
        self.everywhere(Cdn::C, &format!("{after}: everything on C after G's alert"));
        eprintln!(
            "{after}: G's alert to every engine and proxy in {:?}",
            t0.elapsed()
        );
        self.start_edge();
        self.everywhere(Cdn::G, &format!("{after}: everything back on G"));
    }
}

#[test]
fn the_plan_survives_the_faults_of_hosts_etcd_and_replicas() {
    assert!(
        broker_tests::installed("etcd")
            && broker_tests::installed("dig")
            && broker_tests::installed("curl"),
        "etcd, dig and curl are needed: run scripts/setup"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let hosts = Hosts::new(4).expect("test hosts");
    let mut etcd = EtcdCluster::start(&hosts[..3], dir.path()).expect("a 3-member etcd cluster");
    let origin_port = origin(None, 0);
    let ports = Ports {
        origin: origin_port,
        alerts: [free_port(), free_port()],
        edge: free_port(),
        status: free_port(),
    };
    let b_host = hosts[3].clone();
    let (link, b_endpoints) = match hosts.mode() {
        Mode::Namespaces => {
            // B's own copy of the origin, at the same address in its namespace.
            let ns = b_host.netns().map(str::to_owned);
            assert_eq!(origin(ns, origin_port), origin_port);
            (EtcdLink::Link(b_host.clone()), etcd.endpoints())
        }
        Mode::Loopback => {
            let relays: Vec<Relay> = (0..3)
                .map(|i| {
                    Relay::start(SocketAddr::from((b_host.ip(), 0)), etcd.client_addr(i))
                        .expect("a relay to etcd")
                })
                .collect();
            let endpoints = relays
                .iter()
                .map(|r| format!("http://{}", r.addr()))
                .collect();
            (EtcdLink::Relays(relays), endpoints)
        }
    };
    let world = write_world(
        dir.path(),
        &etcd.endpoints(),
        (b_host.ip(), &b_endpoints),
        &ports,
    );

    let mut engines = Vec::new();
    for config in &world.engines {
        let mut p = Process::start(config, LOG);
        let addr = p.addr("dns");
        engines.push((p, addr));
    }
    let mut replicas = [
        Replica::start(world.controls[0].clone()),
        Replica::start(world.controls[1].clone()),
    ];
    wait_for("one leader", LIMIT, || {
        leader_of(&[&replicas[0], &replicas[1]]).is_some()
    });
    let mut proxy_a = Process::start(&world.proxies[0], LOG);
    let a_addr = proxy_a.addr("proxy");
    let mut proxy_b =
        Process::start_with(b_host.command(Process::binary()), &world.proxies[1], LOG);
    let b_addr = proxy_b.addr("proxy");
    let mut cdns = Cdns {
        engines,
        proxies: vec![a_addr, b_addr],
        edge: None,
        edge_config: world.edge.clone(),
    };
    cdns.start_edge();
    cdns.everywhere(Cdn::G, "everything on G at start");

    // The operator's edits, to find after every fault: a capacity and a routing edit.
    let leader = leader_of(&[&replicas[0], &replicas[1]]).expect("a leader");
    let metrics = curl(&["-s", &format!("http://{}/metrics", leader.api)]).expect("metrics");
    for gauge in [
        "cdnbroker_control_cluster_leading 1",
        "cdnbroker_control_cluster_etcd_reachable 1",
        "cdnbroker_control_cluster_members 4",
    ] {
        assert!(metrics.contains(gauge), "{gauge} in:\n{metrics}");
    }
    let ok = manage(
        leader.management,
        &format!("CAPACITY C,CDNTOTAL:{C_CAPACITY}!"),
    );
    assert!(ok.starts_with("OK"), "{ok}");
    let routing = leader.get("/api/routing").expect("the routing tables");
    let edited = routing["toml"]
        .as_str()
        .expect("TOML")
        .replace("foo.cdn-g.example", "bar.cdn-g.example");
    let put = curl(&[
        "-s",
        "-X",
        "PUT",
        "--data-binary",
        &edited,
        &format!("http://{}/api/routing", leader.api),
    ])
    .expect("PUT /api/routing answers");
    assert!(put.contains("generation"), "{put}");
    wait_for("pages in the edited form", LIMIT, || {
        cdns.proxies.iter().all(|&p| {
            curl(&["-s", "-H", "Host: www.xyz.com", &format!("http://{p}/")])
                .is_some_and(|page| page.contains("bar.cdn-g.example/img.xyz.com/a.gif"))
        })
    });

    // 1. kill -9 of the leader.
    let queries = QueryLoop::start(cdns.dns(), NAME);
    let (dead, alive) = if replicas[0].role().as_deref() == Some("leader") {
        (0, 1)
    } else {
        (1, 0)
    };
    replicas[dead].process.signal("-KILL");
    let took = wait_for("the other replica leading", LIMIT, || {
        replicas[alive].role().as_deref() == Some("leader")
    });
    assert!(
        took <= Duration::from_secs(LEASE_S + 1),
        "failover took {took:?}"
    );
    cdns.alert_and_recover("after kill -9 of the leader");
    let (sent, lost) = queries.finish();
    assert!(sent > 20, "the query loop ran ({sent})");
    assert_eq!(lost, 0, "{lost} of {sent} queries unanswered");
    eprintln!("failover in {took:?}; {sent} queries, none unanswered");
    replicas[dead] = Replica::start(replicas[dead].config.clone());
    wait_for("the restarted replica following", LIMIT, || {
        replicas[dead].role().as_deref() == Some("follower")
    });

    // 2. proxy B cut from etcd: it keeps its plan while the rest moves; healed, it follows.
    link.cut();
    cdns.stop_edge();
    cdns.places(Cdn::C, "engines and proxy A on C, B cut", &[a_addr]);
    assert_eq!(
        page_cdn_from(link.inside(), b_addr),
        Some(Cdn::G),
        "proxy B, cut from etcd, serves its last plan"
    );
    link.heal();
    let caught_up = wait_for("proxy B caught up after the cut", LIMIT, || {
        page_cdn(b_addr) == Some(Cdn::C)
    });
    eprintln!("proxy B on the current plan {caught_up:?} after its link to etcd came back");
    cdns.start_edge();
    cdns.everywhere(Cdn::G, "everything back on G after the cut");

    // 3. a DNS engine restarted gets the full tables; then one etcd member is killed.
    let (old, _) = cdns.engines.remove(1);
    old.signal("-KILL");
    let mut engine = Process::start(&world.engines[1], LOG);
    let dns = engine.addr("dns");
    let ready = Instant::now();
    wait_for("the restarted engine on the plan", LIMIT, || {
        dig(dns, NAME).as_deref() == Some(Cdn::G.address())
    });
    let full_tables = ready.elapsed();
    eprintln!("a restarted engine answered from the plan {full_tables:?} after listening");
    assert!(
        full_tables <= Duration::from_secs(1),
        "full tables took {full_tables:?}"
    );
    cdns.engines.push((engine, dns));
    let before = leader_of(&[&replicas[0], &replicas[1]]).map(|r| r.api);
    etcd.kill(0).expect("etcd member killed");
    cdns.alert_and_recover("with one etcd member down");
    let after = leader_of(&[&replicas[0], &replicas[1]]).map(|r| r.api);
    eprintln!(
        "one etcd member down: the control leadership {}",
        if before == after { "stayed" } else { "moved" }
    );
    etcd.restart(0).expect("etcd member back");

    // 4. every replica restarted while G is Unavailable: G stays out, the edits stay.
    cdns.stop_edge();
    cdns.everywhere(Cdn::C, "everything on C before the restart");
    for r in &replicas {
        r.process.signal("-KILL");
    }
    replicas = [
        Replica::start(world.controls[0].clone()),
        Replica::start(world.controls[1].clone()),
    ];
    wait_for("a leader after the restart", LIMIT, || {
        leader_of(&[&replicas[0], &replicas[1]]).is_some()
    });
    let leader = leader_of(&[&replicas[0], &replicas[1]]).expect("a leader");
    // Its plan is out before it may drive; two leases more and polls have failed too.
    let until = Instant::now() + Duration::from_secs(2 * LEASE_S);
    while Instant::now() < until {
        for dns in cdns.dns() {
            assert_eq!(
                dig(dns, NAME).as_deref(),
                Some(Cdn::C.address()),
                "G came back without saying so: its alert was lost"
            );
        }
    }
    let state = leader.get("/api/state").expect("the state");
    let c = state["cdns"]
        .as_array()
        .and_then(|cdns| cdns.iter().find(|c| c["name"] == "C"))
        .expect("C in the state");
    assert_eq!(c["capacity_kbps"].as_u64(), Some(C_CAPACITY), "{c}");
    let routing = leader.get("/api/routing").expect("the routing tables");
    assert_eq!(routing["partners"][0]["host"], "bar.cdn-g.example");
    cdns.start_edge();
    cdns.everywhere(Cdn::G, "everything back on G after the restart");
    wait_for("pages in the edited form after the restart", LIMIT, || {
        cdns.proxies.iter().all(|&p| {
            curl(&["-s", "-H", "Host: www.xyz.com", &format!("http://{p}/")])
                .is_some_and(|page| page.contains("bar.cdn-g.example/img.xyz.com/a.gif"))
        })
    });
    drop(proxy_a);
    drop(proxy_b);
}
