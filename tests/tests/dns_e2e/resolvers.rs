//! Real resolvers in front of the engine: hickory's stub resolver, and unbound as a
//! recursive resolver whose stub zone is the engine, following a CNAME and an NS
//! referral into a partner zone served by NSD.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use tokio::process::{Child, Command};

use crate::support::{EXAMPLE, TestEngine, dig, free_port, require, section};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hickory_resolver_gets_a_and_aaaa() {
    let e = TestEngine::start().await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    let mut udp = ConnectionConfig::udp();
    udp.port = e.dns.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = e.dns.port();
    let ns = NameServerConfig::new(e.dns.ip(), true, vec![udp, tcp]);
    let resolver = Resolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    )
    .build()
    .unwrap();
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("img.xyz.com.")
        .await
        .unwrap()
        .iter()
        .collect();
    assert!(ips.contains(&"192.0.2.10".parse().unwrap()), "{ips:?}");
    assert!(ips.contains(&"2001:db8::10".parse().unwrap()), "{ips:?}");
    e.stop().await;
}

/// A process killed when the test ends.
pub(crate) struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

pub(crate) fn spawn(program: &str, args: &[&str], dir: &Path) -> Daemon {
    let log = std::fs::File::create(dir.join(format!("{program}.out"))).unwrap();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"));
    Daemon(child)
}

/// Waits until `server` answers `name` (the daemon is ready), for at most 10 s.
pub(crate) async fn wait_ready(
    server: std::net::SocketAddr,
    name: &str,
    dir: &Path,
    program: &str,
) {
    for _ in 0..100 {
        let out = dig(server, &["+time=1", "+tries=1", name, "A"]).await;
        if out.contains("status: NOERROR") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(dir.join(format!("{program}.out"))).unwrap_or_default();
    panic!("{program} on {server} never answered {name}: {log}");
}

/// The partner's NSD on port 53 of a loopback address of its own (resolvers follow
/// referrals to port 53 only; root may bind it), serving the partner's zone and the zone
/// the engine refers to it.
fn start_nsd(dir: &Path, ip: Ipv4Addr) -> Daemon {
    let d = dir.display();
    std::fs::write(
        dir.join("cdn-g.example.zone"),
        format!(
            "$ORIGIN cdn-g.example.\n$TTL 60\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A {ip}\n* IN A 203.0.113.77\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("ref.xyz.com.zone"),
        "$ORIGIN ref.xyz.com.\n$TTL 60\n@ IN SOA ns1.cdn-g.example. hostmaster.cdn-g.example. 1 3600 600 86400 60\n@ IN NS ns1.cdn-g.example.\n@ IN A 203.0.113.88\n",
    )
    .unwrap();
    let conf = format!(
        "server:\n  ip-address: {ip}\n  port: 53\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  logfile: \"{d}/nsd.log\"\n  server-count: 1\n  rrl-ratelimit: 0\n  do-ip6: no\nremote-control:\n  control-enable: no\nzone:\n  name: cdn-g.example\n  zonefile: cdn-g.example.zone\nzone:\n  name: ref.xyz.com\n  zonefile: ref.xyz.com.zone\n"
    );
    std::fs::write(dir.join("nsd.conf"), conf).unwrap();
    spawn("nsd", &["-d", "-c", &format!("{d}/nsd.conf")], dir)
}

fn start_unbound(dir: &Path, port: u16, engine: std::net::SocketAddr, partner: Ipv4Addr) -> Daemon {
    let d = dir.display();
    let conf = format!(
        "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  do-ip6: no\n  do-not-query-localhost: no\n  qname-minimisation: no\n  module-config: \"iterator\"\n  access-control: 127.0.0.0/8 allow\n  target-fetch-policy: \"0 0 0 0 0\"\n  so-reuseport: no\nremote-control:\n  control-enable: no\nstub-zone:\n  name: \"xyz.com\"\n  stub-addr: {}@{}\nstub-zone:\n  name: \"cdn-g.example\"\n  stub-addr: {partner}@53\n",
        engine.ip(),
        engine.port()
    );
    std::fs::write(dir.join("unbound.conf"), conf).unwrap();
    spawn("unbound", &["-d", "-c", &format!("{d}/unbound.conf")], dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_follows_cname_and_referral_into_the_partner_zone() {
    require("unbound", "unbound");
    require("nsd", "nsd");
    let dir = tempfile::tempdir().unwrap();
    let e = TestEngine::start().await;
    // A loopback address of this test's own for the partner's port 53.
    let partner = Ipv4Addr::new(127, 77, (std::process::id() % 250) as u8 + 1, 1);
    let tx = format!(
        "ADD CVG cname {{ DEFAULT, [1 = C:.cdn-g.example;]; }}!\n\
         ADD CVG refer {{ DEFAULT, [1 = N:(ns1.cdn-g.example {partner});]; }}!\n\
         ADD CST img.xyz.com {{ cname; }}!\n\
         ADD CST ref.xyz.com {{ refer; }}!\nEND\n"
    );
    assert_eq!(e.transact(&tx).await, "OK 1\n");
    let _nsd = start_nsd(dir.path(), partner);
    wait_ready(
        (partner, 53).into(),
        "ns1.cdn-g.example.",
        dir.path(),
        "nsd",
    )
    .await;
    let port = free_port();
    let _unbound = start_unbound(dir.path(), port, e.dns, partner);
    let resolver = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(resolver, "ns1.cdn-g.example.", dir.path(), "unbound").await;

    // CNAME: the engine aliases into the partner's zone, NSD holds the address.
    let out = dig(resolver, &["img.xyz.com", "A"]).await;
    let answer = section(&out, "ANSWER");
    assert_eq!(
        answer,
        [
            (
                "img.xyz.com.".into(),
                "CNAME".into(),
                "img.xyz.com.cdn-g.example.".into()
            ),
            (
                "img.xyz.com.cdn-g.example.".into(),
                "A".into(),
                "203.0.113.77".into()
            ),
        ],
        "{out}"
    );
    // Referral: the engine delegates ref.xyz.com to the partner's server.
    let out = dig(resolver, &["ref.xyz.com", "A"]).await;
    assert_eq!(
        section(&out, "ANSWER"),
        [("ref.xyz.com.".into(), "A".into(), "203.0.113.88".into())],
        "{out}"
    );
    e.stop().await;
}
