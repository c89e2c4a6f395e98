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
/// `server`; `unbound-control` reaches it through its configuration (see [`flush`]).
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
    conf.push_str(&format!(
        "remote-control:\n  control-enable: yes\n  control-interface: 127.0.0.1\n  control-port: {}\n  control-use-cert: no\n",
        free_port()
    ));
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

/// The RRSIG of `name A` as dig prints it: (expiration, inception, key tag).
async fn rrsig_times(server: SocketAddr, name: &str) -> Vec<(String, String, String)> {
    let out = dig(server, &["+dnssec", name, "A"]).await;
    crate::support::section(&out, "ANSWER")
        .into_iter()
        .filter(|(_, kind, _)| kind == "RRSIG")
        .map(|(_, _, data)| {
            let f: Vec<&str> = data.split_whitespace().collect();
            (f[4].to_owned(), f[5].to_owned(), f[6].to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_refuse_the_transaction_and_the_engine_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    keygen(&keys, "img.xyz.com", "ED25519", false);
    // A folder that cannot be read stops the start.
    let missing = broker_dns::Engine::new(broker_dns::Settings::default(), false).with_dnssec(
        broker_dns::engine::Dnssec {
            folder: dir.path().join("nope"),
            signature_days: 7,
        },
    );
    let why = missing.err().unwrap().to_string();
    assert!(why.contains("cannot read the key folder"), "{why}");

    let e = signed_engine(&keys).await;
    let before = rrsig_times(e.dns, "img.xyz.com").await;
    assert_eq!(before.len(), 1);
    let update = "UPDATE CVG two, DEFAULT : [1 = A:192.0.2.99;]!\nEND\n";

    // A key for a name no ADD CST binds.
    let stray = keygen(&keys, "other.example", "ED25519", false);
    let reply = e.transact(update).await;
    let tag = read_pair(&stray).unwrap().public.key_tag();
    assert_eq!(
        reply,
        format!("ERR 1:1 dnssec: key {tag} signs other.example, which no ADD CST binds\n")
    );
    std::fs::remove_file(&stray).unwrap();
    std::fs::remove_file(stray.with_extension("private")).unwrap();

    // An algorithm other than 13 or 15.
    let rsa = keygen(&keys, "img.xyz.com", "RSASHA256", false);
    let reply = e.transact(update).await;
    assert!(
        reply.starts_with(&format!("ERR 1:1 dnssec: {}:", rsa.display()))
            && reply.contains("algorithm must be 13 (ECDSAP256SHA256) or 15 (ED25519)"),
        "{reply}"
    );
    std::fs::remove_file(&rsa).unwrap();
    std::fs::remove_file(rsa.with_extension("private")).unwrap();

    // A private key that is not the public key's.
    let a = keygen(&keys, "img.xyz.com", "ED25519", false);
    let b = keygen(dir.path(), "img.xyz.com", "ED25519", false);
    std::fs::copy(b.with_extension("private"), a.with_extension("private")).unwrap();
    let reply = e.transact(update).await;
    assert_eq!(
        reply,
        format!(
            "ERR 1:1 dnssec: {}:3:13: this private key is not the one of the public key\n",
            a.with_extension("private").display()
        )
    );

    // Nothing changed: the same answer with the same signature.
    let out = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert!(out.contains("192.0.2.20"), "{out}");
    assert_eq!(rrsig_times(e.dns, "img.xyz.com").await, before);
    std::fs::remove_file(&a).unwrap();
    std::fs::remove_file(a.with_extension("private")).unwrap();
    assert_eq!(e.transact(update).await, "OK 2\n");
    let out = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert!(out.contains("192.0.2.99"), "{out}");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_reused_while_the_window_holds_and_renewed_past_half_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    keygen(&keys, "img.xyz.com", "ECDSAP256SHA256", false);
    let e = signed_engine(&keys).await;
    let first = rrsig_times(e.dns, "img.xyz.com").await;
    let out = dig(e.dns, &["+dnssec", "img.xyz.com", "A"]).await;
    // A commit that leaves this RRset alone keeps its signature (ECDSA signatures are
    // randomized: the same bytes mean it was not signed again).
    assert_eq!(
        e.transact("UPDATE CVG g, DEFAULT : [1 = A:192.0.2.5;]!\nEND\n")
            .await,
        "OK 2\n"
    );
    let again = dig(e.dns, &["+dnssec", "img.xyz.com", "A"]).await;
    let sig = |out: &str| {
        crate::support::section(out, "ANSWER")
            .into_iter()
            .find(|(_, kind, _)| kind == "RRSIG")
            .unwrap()
            .2
    };
    assert_eq!(sig(&out), sig(&again));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Three days into a seven-day window: nothing to do.
    assert!(!e.engine.renew_signatures_at(now + 3 * 86_400).await);
    assert_eq!(rrsig_times(e.dns, "img.xyz.com").await, first);
    // Four days in: signed anew, valid for seven days from then.
    assert!(e.engine.renew_signatures_at(now + 4 * 86_400).await);
    let renewed = rrsig_times(e.dns, "img.xyz.com").await;
    assert_eq!(renewed.len(), 1);
    assert!(
        renewed[0].0 > first[0].0 && renewed[0].1 > first[0].1,
        "{first:?} {renewed:?}"
    );
    assert_eq!(e.engine.generation(), 2);
    e.stop().await;
}

/// Empties unbound's caches for `zone` (answers, DNSKEY, validated keys): what the TTLs
/// running out would do, without waiting for them.
async fn flush(dir: &Path, zone: &str) {
    let conf = dir.join("unbound.conf");
    let out = tokio::process::Command::new("unbound-control")
        .arg("-c")
        .arg(&conf)
        .args(["flush_zone", zone])
        .output()
        .await
        .expect("unbound-control runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_roll_keeps_a_validating_resolver_secure_throughout() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let staged = dir.path().join("staged");
    std::fs::create_dir(&keys).unwrap();
    std::fs::create_dir(&staged).unwrap();
    let old = keygen(&keys, "img.xyz.com", "ECDSAP256SHA256", true);
    let new = keygen(&staged, "img.xyz.com", "ECDSAP256SHA256", true);
    // The parent publishes the new key's DS beside the old one before the roll.
    let mut ds = vec![
        read_pair(&old).unwrap().public.ds_record(),
        read_pair(&new).unwrap().public.ds_record(),
    ];
    for (zone, alg) in [("alias.xyz.com", "ED25519"), ("cdn-g.example", "ED25519")] {
        ds.push(
            read_pair(&keygen(&keys, zone, alg, true))
                .unwrap()
                .public
                .ds_record(),
        );
    }
    let e = signed_engine(&keys).await;
    let port = free_port();
    let _unbound = start_unbound(dir.path(), port, e.dns, &ds);
    let resolver = SocketAddr::from(([127, 0, 0, 1], port));
    wait_ready(resolver, "img.xyz.com.", dir.path(), "unbound").await;
    let tags = |list: Vec<(String, String, String)>| -> Vec<String> {
        list.into_iter().map(|t| t.2).collect()
    };
    let tag = |f: &Path| read_pair(f).unwrap().public.key_tag().to_string();
    let (old_tag, new_tag) = (tag(&old), tag(&new));
    assert_secure(resolver, "r1.img.xyz.com", "A", "NOERROR").await;

    // Publish: the new key beside the old; both sign. The resolver still holds the old
    // DNSKEY set, and the old key's signatures validate.
    for ext in ["key", "private"] {
        std::fs::rename(
            new.with_extension(ext),
            keys.join(new.with_extension(ext).file_name().unwrap()),
        )
        .unwrap();
    }
    let update = "UPDATE CVG edge, DEFAULT : [1 = A:203.0.113.8;]!\nEND\n";
    assert_eq!(e.transact(update).await, "OK 2\n");
    let mut both = tags(rrsig_times(e.dns, "img.xyz.com").await);
    both.sort();
    let mut want = vec![old_tag, new_tag.clone()];
    want.sort();
    assert_eq!(both, want);
    assert_secure(resolver, "r2.img.xyz.com", "A", "NOERROR").await;
    // The old DNSKEY set's TTL runs out: the resolver fetches both keys.
    flush(dir.path(), "img.xyz.com").await;
    assert_secure(resolver, "r3.img.xyz.com", "A", "NOERROR").await;

    // Remove the old key: only the new one signs, and the DNSKEY set the resolver holds
    // has it.
    for ext in ["key", "private"] {
        std::fs::remove_file(old.with_extension(ext)).unwrap();
    }
    assert_eq!(e.transact(update).await, "OK 3\n");
    assert_eq!(tags(rrsig_times(e.dns, "img.xyz.com").await), [new_tag]);
    assert_secure(resolver, "r4.img.xyz.com", "A", "NOERROR").await;
    assert_secure(resolver, "img.xyz.com", "SOA", "NOERROR").await;
    flush(dir.path(), "img.xyz.com").await;
    assert_secure(resolver, "r5.img.xyz.com", "A", "NOERROR").await;
    assert_secure(resolver, "img.xyz.com", "DNSKEY", "NOERROR").await;
    e.stop().await;
}

/// `dnsviz grok` of Debian bookworm imports `pygraphviz.release`, which bookworm's
/// python3-pygraphviz 1.7 lacks: the module is given its version before grok runs.
const GROK: &str = "import sys, types, pygraphviz
m = types.ModuleType('pygraphviz.release'); m.version = pygraphviz.__version__
sys.modules['pygraphviz.release'] = m; pygraphviz.release = m
from dnsviz.commands import grok
grok.main(['grok'] + sys.argv[1:])
";

/// Runs `dnsviz grok` on `probe` with `anchors` at `level`; returns its JSON output.
async fn grok(dir: &Path, anchors: &Path, level: &str) -> String {
    let out_file = dir.join(format!("grok-{level}.json"));
    let out = tokio::process::Command::new("/usr/bin/python3")
        .args(["-c", GROK, "-t"])
        .arg(anchors)
        .args(["-l", level, "-r"])
        .arg(dir.join("probe.json"))
        .arg("-o")
        .arg(&out_file)
        .output()
        .await
        .expect("python3 runs dnsviz");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(out_file).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnsviz_probe_and_grok_find_no_error_or_warning() {
    require("dnsviz", "dnsviz");
    require("named", "bind9");
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let key = keygen(&keys, "img.xyz.com", "ECDSAP256SHA256", true);
    let public = read_pair(&key).unwrap().public;
    let e = signed_engine(&keys).await;
    // The engine as the zone's server, and the parent's DS for it (dnsviz serves that
    // delegation with its own named).
    let server = format!("img.xyz.com:ns1.broker.example={}", e.dns);
    let ds = public.ds_record();
    let ds = ds.split_whitespace().skip(3).collect::<Vec<_>>().join(" ");
    let out = tokio::process::Command::new("dnsviz")
        .env("PATH", "/usr/sbin:/usr/bin:/bin")
        .args([
            "probe",
            "-A",
            "-a",
            "img.xyz.com",
            "-x",
            &server,
            "-N",
            &server,
        ])
        .args(["-D", &format!("img.xyz.com:{ds}")])
        .args(["-R", "A,AAAA,SOA,NS,DNSKEY,TXT,MX", "-p", "-o"])
        .arg(dir.path().join("probe.json"))
        .args(["img.xyz.com", "www.img.xyz.com", "!.img.xyz.com"])
        .output()
        .await
        .expect("dnsviz runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let anchors = dir.path().join("anchors.txt");
    let dnskey = std::fs::read_to_string(&key).unwrap();
    std::fs::write(
        &anchors,
        dnskey
            .lines()
            .filter(|l| !l.starts_with(';'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();

    // Everything found is secure...
    let info = grok(dir.path(), &anchors, "info").await;
    assert!(info.contains("\"status\": \"SECURE\""), "{info}");
    for name in ["img.xyz.com.", "www.img.xyz.com.", "!.img.xyz.com."] {
        assert!(
            info.contains(&format!("\"{name}\"")),
            "{name} not analyzed: {info}"
        );
    }
    // (The DS comes from the parent dnsviz plays, unsigned: INSECURE there is its own.)
    assert!(!info.contains("BOGUS"), "{info}");
    // ...and nothing is worth a warning.
    assert_eq!(grok(dir.path(), &anchors, "warning").await, "");
    // The same probe against another key as anchor is an error: grok does judge.
    let other = keygen(dir.path(), "img.xyz.com", "ECDSAP256SHA256", true);
    let text = std::fs::read_to_string(&other).unwrap();
    std::fs::write(
        &anchors,
        text.lines()
            .filter(|l| !l.starts_with(';'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let bad = grok(dir.path(), &anchors, "warning").await;
    assert!(bad.contains("NO_TRUST_ANCHOR_SIGNING"), "{bad}");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdnbroker_dns_ds_prints_what_dnssec_dsfromkey_prints() {
    require("dnssec-dsfromkey", "bind9-utils");
    let dir = tempfile::tempdir().unwrap();
    for alg in ["ECDSAP256SHA256", "ED25519"] {
        let key = keygen(dir.path(), "img.xyz.com", alg, true);
        let ours = std::process::Command::new(crate::binary::binary())
            .args(["dns", "ds"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(ours.status.success());
        let bind = std::process::Command::new("dnssec-dsfromkey")
            .arg("-2")
            .arg(&key)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&bind.stdout)
        );
    }
    // A pair whose halves do not match gets no DS, and says where it is wrong.
    let a = keygen(dir.path(), "x.example", "ED25519", false);
    let b = keygen(dir.path(), "x.example", "ED25519", false);
    std::fs::copy(b.with_extension("private"), a.with_extension("private")).unwrap();
    let out = std::process::Command::new(crate::binary::binary())
        .env_remove("RUST_BACKTRACE")
        .args(["dns", "ds"])
        .arg(&a)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3:13: this private key is not the one of the public key",
            a.with_extension("private").display()
        )),
        "{err}"
    );
}
