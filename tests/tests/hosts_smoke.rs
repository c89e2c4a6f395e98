//! Smoke test of the multi-host harness (`broker_tests::{hosts, etcd, relay}`): four test
//! hosts, a three-member etcd cluster on the first three, one member lost and restarted,
//! and the fourth host reading through etcd before, during and after a partition. As root
//! the hosts are network namespaces and the partition is a link set down; with
//! `CDNB_HOSTS=loopback` (or without root) they are 127.0.k.x addresses and the partition
//! is a cut relay.

use std::time::{Duration, Instant};

use broker_tests::etcd::etcdctl;
use broker_tests::{EtcdCluster, Hosts, Mode, Relay, hosts, installed, retry};

const KEY: &str = "/cdnbroker/smoke/k";

/// etcdctl flags for a read that must fail quickly when its host is cut off.
const SHORT: [&str; 2] = ["--dial-timeout=1s", "--command-timeout=2s"];

#[test]
fn etcd_on_three_hosts_survives_a_lost_member_and_a_fourth_host_sees_its_partition() {
    assert!(
        installed("etcd") && installed("etcdctl"),
        "etcd and etcdctl are not installed: run scripts/setup (it installs Debian's \
         etcd-server and etcd-client)"
    );
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let hosts = Hosts::new(4).expect("make 4 test hosts");
    eprintln!(
        "{:?} hosts: {:?}",
        hosts.mode(),
        hosts.iter().map(|h| h.ip()).collect::<Vec<_>>()
    );
    let mut etcd = EtcdCluster::start(&hosts[..3], dir.path()).expect("start etcd on 3 hosts");
    eprintln!("etcd healthy after {:?}", started.elapsed());

    etcd.etcdctl(["put", KEY, "v1"]).unwrap();
    let got = etcd.etcdctl(["get", "--print-value-only", KEY]).unwrap();
    assert_eq!(got.trim(), "v1");

    // Two of three still make a quorum; a write may fail while a new leader is elected.
    let t = Instant::now();
    etcd.kill(1).unwrap();
    assert!(!etcd.is_healthy(1));
    retry(Duration::from_secs(10), || etcd.etcdctl(["put", KEY, "v2"])).unwrap();
    eprintln!("written with member 1 dead after {:?}", t.elapsed());
    let t = Instant::now();
    etcd.restart(1).unwrap();
    assert!(etcd.is_healthy(1));
    eprintln!("member 1 healthy again after {:?}", t.elapsed());
    let on_1 = etcdctl(
        std::process::Command::new("etcdctl"),
        &[etcd.endpoint(1)],
        ["get", "--print-value-only", KEY],
    )
    .unwrap();
    assert_eq!(on_1.trim(), "v2", "the restarted member has caught up");

    // Host 3 runs no member: it reads through the network, from its own address.
    let from_3 = |endpoints: &[String]| {
        let args = SHORT
            .iter()
            .copied()
            .chain(["get", "--print-value-only", KEY]);
        etcdctl(hosts[3].command("etcdctl"), endpoints, args)
    };
    assert_eq!(from_3(&etcd.endpoints()).unwrap().trim(), "v2");

    // Partition host 3 (or its relay), see its read fail within the timeouts, then heal.
    let relay = match hosts.mode() {
        Mode::Namespaces => None,
        Mode::Loopback => {
            assert!(hosts[3].cut().is_err(), "no link to cut on loopback");
            let to_0 = etcd.client_addr(0);
            Some(Relay::start((hosts[3].ip(), 0).into(), to_0).unwrap())
        }
    };
    let endpoints = match &relay {
        Some(relay) => vec![format!("http://{}", relay.addr())],
        None => etcd.endpoints(),
    };
    let cut = || match &relay {
        Some(relay) => relay.cut(),
        None => hosts[3].cut().unwrap(),
    };
    let heal = || match &relay {
        Some(relay) => relay.heal().unwrap(),
        None => hosts[3].heal().unwrap(),
    };
    assert_eq!(from_3(&endpoints).unwrap().trim(), "v2");
    cut();
    let t = Instant::now();
    let cut_off = from_3(&endpoints);
    let took = t.elapsed();
    assert!(cut_off.is_err(), "host 3 read {cut_off:?} while cut off");
    assert!(
        took < Duration::from_secs(6),
        "a cut-off read took {took:?}"
    );
    eprintln!("cut-off read failed after {took:?}");
    heal();
    let t = Instant::now();
    let healed = retry(Duration::from_secs(10), || from_3(&endpoints)).unwrap();
    assert_eq!(healed.trim(), "v2");
    eprintln!("read again after healing in {:?}", t.elapsed());

    drop(relay);
    drop(etcd);
    drop(hosts);
    let left = hosts::leftover_namespaces(std::process::id()).unwrap();
    assert!(left.is_empty(), "namespaces left after drop: {left:?}");
    eprintln!("smoke test took {:?}", started.elapsed());
}
