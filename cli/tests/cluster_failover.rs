//! Many hosts, one plan (spec §8), over real processes: a 3-member etcd cluster (one
//! member per test host: network namespaces, or 127.0.k.x addresses where namespaces
//! cannot be made), two control replicas, a DNS engine and a front proxy, each a
//! `cdnbroker run` process. Asserted with dig and the control API:
//! - one replica leads; the engine, which only registered as a member, is driven by it;
//! - a write on the follower is refused (`ERR 1:1 not the leader; leader at ...`, API 307);
//! - kill -9 of the leader: the follower leads within `lease_s` + 1 s, with the state the
//!   old leader wrote (its journal), and no DNS query goes unanswered meanwhile;
//! - a leader paused (SIGSTOP) past its lease and resumed: the other replica leads, and
//!   the engine keeps the new leader's tables (the old epoch is refused);
//! - the proxy follows the published plan (its member entry serves the leader's
//!   generation).

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/cluster_world.rs"]
mod cluster_world;
#[path = "support/run_process.rs"]
mod run_process;

use broker_tests::etcd::EtcdCluster;
use broker_tests::hosts::Hosts;
use cluster_world::{LIMIT, LOG, QueryLoop, Replica, TOKEN, curl, leader_of, manage, wait_for};
use run_process::Running as Process;

const LEASE_S: u64 = 2;

/// `dig +short img.xyz.com` at the engine.
fn dig(dns: std::net::SocketAddr) -> Option<String> {
    cluster_world::dig(dns, "img.xyz.com")
}

const VIA_C: &str = "192.0.2.10";
const VIA_G: &str = "img.xyz.com.cdn-g.example.";

fn write_world(dir: &Path, etcd: &[String]) -> [PathBuf; 4] {
    fs::write(
        dir.join("regions.txt"),
        "ADD REG FRANCE { 198.54.234.0, 23; }!\n",
    )
    .unwrap();
    fs::write(
        dir.join("cdn.txt"),
        "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; DEFAULT:50; ]!\n\
         ADD CDN G:100000 {C:.cdn-g.example} [ FRANCE:60; DEFAULT:60; ]!\n",
    )
    .unwrap();
    fs::write(dir.join("customer.txt"), "ADD CST img.xyz.com [ G; ]!\n").unwrap();
    let endpoints: Vec<String> = etcd.iter().map(|e| format!("\"{e}\"")).collect();
    let cluster = format!(
        "[cluster]\netcd = [{}]\nprefix = \"/cdnbroker/test{}\"\nlease_s = {LEASE_S}\n",
        endpoints.join(", "),
        std::process::id()
    );
    let customer = "[[partner]]\nname = \"G\"\nform = \"embedded\"\nhost = \"foo.cdn-g.example\"\n\
                    [[customer]]\nname = \"xyz\"\nsite = [\"www.xyz.com\"]\noffload = [\"img.xyz.com\"]\n\
                    dns = [\"img.xyz.com\"]\norigin = { \"www.xyz.com\" = \"http://127.0.0.1:9\" }\n";
    let control = |name: &str| {
        let path = dir.join(format!("{name}.toml"));
        fs::write(
            &path,
            format!(
                "[node]\nname = \"C\"\n[control]\nregions = \"regions.txt\"\ncdns = \"cdn.txt\"\n\
                 customers = \"customer.txt\"\nengines = []\nmanagement = \"127.0.0.1:0\"\n\
                 api = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n{customer}{cluster}"
            ),
        )
        .unwrap();
        path
    };
    let a = control("control-a");
    let b = control("control-b");
    let dns = dir.join("dns.toml");
    fs::write(
        &dns,
        format!(
            "[node]\nname = \"C\"\n[dns]\nlisten = [\"127.0.0.1:0\"]\ncontrol = \"127.0.0.1:0\"\n\
             ns = [\"ns1.cdn-c.example\"]\nttl = 1\n{cluster}"
        ),
    )
    .unwrap();
    let proxy = dir.join("proxy.toml");
    fs::write(
        &proxy,
        format!("[node]\nname = \"C\"\n[proxy]\nlisten = \"127.0.0.1:0\"\n{customer}{cluster}"),
    )
    .unwrap();
    [a, b, dns, proxy]
}

#[test]
fn replicas_fail_over_fence_and_keep_the_state() {
    assert!(
        broker_tests::installed("etcd") && broker_tests::installed("dig"),
        "etcd and dig are needed: run scripts/setup"
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let hosts = Hosts::new(3).expect("test hosts");
    let etcd = EtcdCluster::start(&hosts, dir.path()).expect("a 3-member etcd cluster");
    let [a_toml, b_toml, dns_toml, proxy_toml] = write_world(dir.path(), &etcd.endpoints());

    let mut engine = Process::start(&dns_toml, LOG);
    let dns = engine.addr("dns");
    let a = Replica::start(a_toml);
    let b = Replica::start(b_toml);
    let lead_limit = Duration::from_secs(LEASE_S + 1);

    wait_for("one leader", LIMIT, || leader_of(&[&a, &b]).is_some());
    // The engine registered itself; the leader drives it to G-only tables.
    wait_for("the engine on the leader's plan", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_G)
    });
    let (leader, follower) = if a.role().as_deref() == Some("leader") {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let refused = manage(follower.management, "ADD CST img.xyz.com [ C; ]!");
    assert!(
        refused.starts_with("ERR 1:1 not the leader; leader at "),
        "{refused}"
    );
    assert!(
        refused.ends_with(&leader.management.to_string()),
        "{refused}"
    );
    let redirect = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        "-X",
        "POST",
        "--data",
        "ADD CST img.xyz.com [ C; ]!",
        &format!("http://{}/api/events", follower.api),
    ])
    .expect("curl answers");
    assert_eq!(
        redirect,
        format!("307 http://{}/api/events", leader.api),
        "the follower's API redirects writes"
    );

    // A write on the leader: stored, then acted on.
    let ok = manage(leader.management, "ADD CST img.xyz.com [ C; ]!");
    assert!(ok.starts_with("OK"), "{ok}");
    wait_for("the engine on C", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_C)
    });

    // The proxy follows the published plan.
    let mut proxy = Process::start(&proxy_toml, LOG);
    let _ = proxy.addr("proxy");
    wait_for("the proxy serving the leader's generation", LIMIT, || {
        let Some(body) = curl(&["-s", &format!("http://{}/api/members", leader.api)]) else {
            return false;
        };
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let members = v["members"].as_array().cloned().unwrap_or_default();
        let gen_of = |role: &str| {
            members
                .iter()
                .find(|m| m["role"] == role)
                .and_then(|m| m["generation"].as_u64())
        };
        gen_of("proxy").is_some_and(|g| g > 0) && gen_of("dns").is_some()
    });

    // kill -9 the leader: the follower takes over within lease + 1 s, from the journal.
    let queries = QueryLoop::start(vec![dns], "img.xyz.com");
    let (killed_config, survivor) = if std::ptr::eq(leader, &a) {
        a.process.signal("-KILL");
        (a.config.clone(), &b)
    } else {
        b.process.signal("-KILL");
        (b.config.clone(), &a)
    };
    let took = wait_for("the follower leading", LIMIT, || {
        survivor.role().as_deref() == Some("leader")
    });
    assert!(took <= lead_limit, "failover took {took:?}");
    assert_eq!(dig(dns).as_deref(), Some(VIA_C), "the state survived");
    let ok = manage(survivor.management, "ADD CST img.xyz.com [ G; ]!");
    assert!(ok.starts_with("OK"), "{ok}");
    wait_for("the engine on G", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_G)
    });
    let (sent, lost) = queries.finish();
    assert!(sent > 10, "the query loop ran ({sent})");
    assert_eq!(
        lost, 0,
        "{lost} of {sent} queries unanswered during the failover"
    );
    eprintln!("failover after kill -9: {took:?}; {sent} queries, none lost");

    // The killed replica comes back as a follower; then the leader is paused past its
    // lease: the other one leads, and the resumed one changes nothing.
    let restarted = Replica::start(killed_config);
    wait_for("the restarted replica following", LIMIT, || {
        restarted.role().as_deref() == Some("follower")
    });
    survivor.process.signal("-STOP");
    let took = wait_for("the restarted replica leading", LIMIT, || {
        restarted.role().as_deref() == Some("leader")
    });
    assert!(took <= lead_limit, "takeover after a pause took {took:?}");
    let ok = manage(restarted.management, "ADD CST img.xyz.com [ C; ]!");
    assert!(ok.starts_with("OK"), "{ok}");
    wait_for("the engine on C again", LIMIT, || {
        dig(dns).as_deref() == Some(VIA_C)
    });
    survivor.process.signal("-CONT");
    wait_for("the resumed replica following", LIMIT, || {
        survivor.role().as_deref() == Some("follower")
    });
    // For two leases after its resumption, the engine keeps the new leader's tables.
    let until = Instant::now() + Duration::from_secs(2 * LEASE_S);
    while Instant::now() < until {
        assert_eq!(
            dig(dns).as_deref(),
            Some(VIA_C),
            "a fenced leader changed the engine"
        );
        thread::sleep(Duration::from_millis(100));
    }
    drop(engine);
}
