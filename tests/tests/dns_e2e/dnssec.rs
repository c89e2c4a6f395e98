//! Signed answers (spec §10) judged by outside validators: BIND's `delv` with the key as
//! trust anchor, unbound with the zone's DS as trust anchor and a stub zone to the engine
//! (every answer secure, a forged one bogus), through a key roll; keys made by
//! `dnssec-keygen`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use broker_config::dnssec_key::read_pair;
use tokio::net::UdpSocket;

use crate::resolvers::{Daemon, spawn, wait_ready};
use crate::support::{Setup, TestEngine, dig, free_port, require};

/// Both zones signed; `img.xyz.com` sends some clients to G by a suffix CNAME into
/// `cdn-g.example` (signed too, so that the whole chain validates).
const TABLES: &str = "
ADD REG FRANCE { 198.54.234.0, 23; }!
ADD CVG two {
  FRANCE, [70 = A:192.0.2.10; 30 = C:.cdn-g.example;];
  DEFAULT, [1 = A:192.0.2.20; 1 = A:2001:db8::20;];
}!
ADD CVG g { DEFAULT, [1 = C:.cdn-g.example;]; }!
ADD CVG edge { DEFAULT, [1 = A:203.0.113.7;]; }!
ADD CST img.xyz.com { two; }!
ADD CST alias.xyz.com { g; }!
ADD CST cdn-g.example { edge; }!
END
";

/// Runs `dnssec-keygen` for `zone` into `dir`; returns the `.key` file.
fn keygen(dir: &Path, zone: &str, algorithm: &str, ksk: bool) -> PathBuf {
    require("dnssec-keygen", "bind9-utils");
    let mut cmd = std::process::Command::new("dnssec-keygen");
    cmd.args(["-q", "-K"]).arg(dir).args(["-a", algorithm]);
    if ksk {
        cmd.args(["-f", "KSK"]);
    }
    let out = cmd.arg(zone).output().expect("dnssec-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stem = String::from_utf8(out.stdout).unwrap();
    dir.join(format!("{}.key", stem.trim()))
}

/// delv's trust anchor file for the keys of `key_files` (static keys).
fn delv_anchors(key_files: &[&Path]) -> String {
    let mut out = String::from("trust-anchors {\n");
    for f in key_files {
        let k = read_pair(f).unwrap().public;
        let b64: String = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .find(|l| !l.starts_with(';'))
            .unwrap()
            .split_whitespace()
            .skip(6)
            .collect();
        out.push_str(&format!(
            "  {}. static-key {} 3 {} \"{b64}\";\n",
            k.zone,
            k.flags,
            k.algorithm.number()
        ));
    }
    out.push_str("};\n");
    out
}

async fn delv(server: SocketAddr, anchors: &Path, root: &str, name: &str, qtype: &str) -> String {
    require("delv", "bind9-dnsutils");
    let out = tokio::process::Command::new("delv")
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string(), "-a"])
        .arg(anchors)
        .arg(format!("+root={root}"))
        .args([name, qtype])
        .output()
        .await
        .expect("delv runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn signed_engine(keys: &Path) -> TestEngine {
    let e = TestEngine::start_with(Setup {
        dnssec: Some(keys.to_owned()),
        ..Setup::default()
    })
    .await;
    assert_eq!(e.transact(TABLES).await, "OK 1\n");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delv_fully_validates_every_kind_of_answer_with_either_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let img = keygen(&keys, "img.xyz.com", "ECDSAP256SHA256", true);
    let alias = keygen(&keys, "alias.xyz.com", "ED25519", true);
    let anchors = dir.path().join("anchors.conf");
    std::fs::write(&anchors, delv_anchors(&[&img, &alias])).unwrap();
    let e = signed_engine(&keys).await;
    let cases = [
        ("img.xyz.com", "img.xyz.com", "A", "; fully validated"),
        ("img.xyz.com", "img.xyz.com", "AAAA", "; fully validated"),
        ("img.xyz.com", "img.xyz.com", "SOA", "; fully validated"),
        ("img.xyz.com", "img.xyz.com", "NS", "; fully validated"),
        ("img.xyz.com", "img.xyz.com", "DNSKEY", "; fully validated"),
        // Below the apex: a wildcard's expansion, one signature for every name.
        ("img.xyz.com", "www.img.xyz.com", "A", "; fully validated"),
        (
            "img.xyz.com",
            "a.b.img.xyz.com",
            "AAAA",
            "; fully validated",
        ),
        // A name sorting before `*`: the other NSEC of the chain covers it.
        ("img.xyz.com", "!.img.xyz.com", "A", "; fully validated"),
        // Types that do not exist: compact denial at the apex, the wildcard's NSEC below.
        (
            "img.xyz.com",
            "img.xyz.com",
            "TXT",
            "; negative response, fully validated",
        ),
        (
            "img.xyz.com",
            "x.img.xyz.com",
            "MX",
            "; negative response, fully validated",
        ),
        (
            "img.xyz.com",
            "!.img.xyz.com",
            "TXT",
            "; negative response, fully validated",
        ),
        // Ed25519, and a suffix CNAME: at the apex signed itself, below it by a DNAME.
        (
            "alias.xyz.com",
            "alias.xyz.com",
            "CNAME",
            "; fully validated",
        ),
        (
            "alias.xyz.com",
            "www.alias.xyz.com",
            "CNAME",
            "; fully validated",
        ),
        (
            "alias.xyz.com",
            "alias.xyz.com",
            "DNSKEY",
            "; fully validated",
        ),
    ];
    for (root, name, qtype, want) in cases {
        let out = delv(e.dns, &anchors, root, name, qtype).await;
        assert!(out.contains(want), "{name} {qtype}: {out}");
    }
    // Without DO the answers are what they were: no RRSIG.
    let plain = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert!(!plain.contains("RRSIG"), "{plain}");
    let signed = dig(e.dns, &["+dnssec", "img.xyz.com", "A"]).await;
    assert!(signed.contains("RRSIG\tA 13 3 20"), "{signed}");
    e.stop().await;
}

/// A forwarder between unbound and the engine that changes the address of answers about
/// `forged.*` names (a man in the middle) and passes the rest as it is.
async fn forger(engine: SocketAddr) -> SocketAddr {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65535];
        loop {
            let Ok((n, client)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let query = buf[..n].to_vec();
            let socket = Arc::clone(&socket);
            tokio::spawn(async move {
                let up = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                up.send_to(&query, engine).await.unwrap();
                let mut resp = vec![0u8; 65535];
                let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(2), up.recv(&mut resp)).await
                else {
                    return;
                };
                resp.truncate(n);
                let lower = resp.to_ascii_lowercase();
                if lower.windows(7).any(|w| w == b"\x06forged")
                    && let Some(at) = resp.windows(4).position(|w| w == [192, 0, 2, 20])
                {
                    resp[at + 3] = 66;
                }
                let _ = socket.send_to(&resp, client).await;
            });
        }
    });
    addr
}

/// unbound validating with the DS records as trust anchors, the zones stubbed to
/// `server`.
fn start_unbound(dir: &Path, port: u16, server: SocketAddr, ds: &[String]) -> Daemon {
    require("unbound", "unbound");
    let d = dir.display();
    let mut conf = format!(
        "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  do-ip6: no\n  do-not-query-localhost: no\n  qname-minimisation: no\n  module-config: \"subnetcache validator iterator\"\n  send-client-subnet: {}\n  client-subnet-always-forward: yes\n  access-control: 127.0.0.0/8 allow\n  so-reuseport: no\n  val-log-level: 2\n  aggressive-nsec: no\n",
        server.ip()
    );
    for line in ds {
        conf.push_str(&format!("  trust-anchor: \"{line}\"\n"));
    }
    conf.push_str("remote-control:\n  control-enable: no\n");
    for zone in ["img.xyz.com", "alias.xyz.com", "cdn-g.example"] {
        conf.push_str(&format!(
            "stub-zone:\n  name: \"{zone}\"\n  stub-addr: {}@{}\n",
            server.ip(),
            server.port()
        ));
    }
    std::fs::write(dir.join("unbound.conf"), conf).unwrap();
    spawn("unbound", &["-d", "-c", &format!("{d}/unbound.conf")], dir)
}

fn flags(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(";; flags: "))
        .and_then(|l| l.split(';').next())
        .unwrap_or_default()
        .to_owned()
}

fn status(out: &str) -> &str {
    out.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_default()
}

/// Asserts that unbound answers `name qtype` secure (AD) with `status`.
async fn assert_secure(resolver: SocketAddr, name: &str, qtype: &str, want_status: &str) {
    let out = dig(resolver, &["+dnssec", name, qtype]).await;
    assert_eq!(status(&out), want_status, "{name} {qtype}: {out}");
    assert!(
        flags(&out).split_whitespace().any(|f| f == "ad"),
        "{name} {qtype} not secure: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_with_the_ds_as_anchor_finds_answers_secure_and_a_forged_one_bogus() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let mut ds = Vec::new();
    for (zone, alg) in [
        ("img.xyz.com", "ECDSAP256SHA256"),
        ("alias.xyz.com", "ED25519"),
        ("cdn-g.example", "ECDSAP256SHA256"),
    ] {
        ds.push(
            read_pair(&keygen(&keys, zone, alg, true))
                .unwrap()
                .public
                .ds_record(),
        );
    }
    let e = signed_engine(&keys).await;
    let port = free_port();
    let _unbound = start_unbound(dir.path(), port, forger(e.dns).await, &ds);
    let resolver = SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(resolver, "img.xyz.com.", dir.path(), "unbound").await;
    // A changed address fails validation: SERVFAIL, and with CD the forged data shows.
    // (Asked first, and aggressive NSEC is off: unbound would otherwise answer it from
    // the wildcard the other answers prove, without asking.)
    let out = dig(resolver, &["+dnssec", "forged.img.xyz.com", "A"]).await;
    assert_eq!(status(&out), "SERVFAIL", "{out}");
    let out = dig(resolver, &["+dnssec", "+cd", "forged.img.xyz.com", "A"]).await;
    assert!(
        out.contains("192.0.2.66"),
        "the forger was not in the path: {out}"
    );
    assert!(!flags(&out).split_whitespace().any(|f| f == "ad"), "{out}");

    assert_secure(resolver, "img.xyz.com", "A", "NOERROR").await;
    assert_secure(resolver, "img.xyz.com", "AAAA", "NOERROR").await;
    assert_secure(resolver, "www.img.xyz.com", "A", "NOERROR").await;
    assert_secure(resolver, "img.xyz.com", "TXT", "NOERROR").await;
    assert_secure(resolver, "deep.www.img.xyz.com", "MX", "NOERROR").await;
    // The CNAME chain into the partner's zone, proven by the DNAME below the apex.
    assert_secure(resolver, "alias.xyz.com", "A", "NOERROR").await;
    assert_secure(resolver, "www.alias.xyz.com", "A", "NOERROR").await;
    let out = dig(resolver, &["www.alias.xyz.com", "A"]).await;
    assert!(out.contains("203.0.113.7"), "{out}");

    // Clients in FRANCE (ECS passed on by unbound): 70 % an address, 30 % a CNAME to G;
    // each variant carries its own signatures and validates.
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..24 {
        let name = format!("fr{i}.img.xyz.com");
        let out = dig(
            resolver,
            &["+dnssec", "+subnet=198.54.234.1/24", &name, "A"],
        )
        .await;
        assert_eq!(status(&out), "NOERROR", "{out}");
        assert!(flags(&out).split_whitespace().any(|f| f == "ad"), "{out}");
        for (_, kind, data) in crate::support::section(&out, "ANSWER") {
            if kind == "A" {
                seen.insert(data);
            }
        }
    }
    assert!(seen.contains("192.0.2.10"), "{seen:?}");
    assert!(
        seen.contains("203.0.113.7"),
        "no CNAME to G in 24 draws: {seen:?}"
    );
    e.stop().await;
}
