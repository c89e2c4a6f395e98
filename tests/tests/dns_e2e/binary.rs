//! The real `cdnbroker dns` binary: flags, --load, control, query log, SIGTERM.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{control_exchange, dig, section};

/// The `cdnbroker` binary next to this test's own (`cargo test --workspace` builds it);
/// built on demand otherwise.
pub(crate) fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("cdnbroker");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "cdnbroker", "--bin", "cdnbroker"])
            .status()
            .unwrap();
        assert!(status.success(), "building cdnbroker");
    }
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdnbroker_dns_serves_its_load_file_and_takes_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let load = dir.path().join("tables.txt");
    std::fs::write(&load, crate::support::EXAMPLE).unwrap();
    let log = dir.path().join("q.log");
    let mut child = tokio::process::Command::new(binary())
        .args([
            "dns",
            "--listen",
            "127.0.0.1:0",
            "--control",
            "127.0.0.1:0",
            "--ns",
            "ns1.c.example",
        ])
        .arg("--load")
        .arg(&load)
        .arg("--query-log")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The engine prints its bound addresses once its sockets are open.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut dns = None;
    let mut control = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        match line.split_once(' ') {
            Some(("dns", a)) => dns = Some(a.parse().unwrap()),
            Some(("control", a)) => {
                control = Some(a.parse().unwrap());
                break;
            }
            _ => {}
        }
    }
    let (dns, control) = (dns.unwrap(), control.unwrap());
    let out = dig(dns, &["img.xyz.com", "A"]).await;
    assert_eq!(section(&out, "ANSWER")[0].2, "192.0.2.10", "{out}");
    let soa = dig(dns, &["img.xyz.com", "SOA"]).await;
    assert!(
        section(&soa, "ANSWER")[0].2.starts_with("ns1.c.example. "),
        "{soa}"
    );
    assert_eq!(
        control_exchange(control, "DEL a.img.xyz.com : CST!\nEND\n").await,
        "OK 2\n"
    );
    let out = dig(dns, &["x.a.img.xyz.com", "A"]).await;
    assert_eq!(section(&out, "ANSWER")[0].2, "192.0.2.10", "{out}");
    // SIGTERM: a clean stop that flushes the query log.
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 3, "{logged}");
    assert!(logged.lines().all(|l| l.contains(" udp - ")), "{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_load_file_stops_the_binary_with_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let load = dir.path().join("bad.txt");
    std::fs::write(
        &load,
        "ADD REG X { 10.0.0.0, 8; }!\nADD CST y.example { nowhere; }!\nEND\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(binary())
        .args(["dns", "--listen", "127.0.0.1:0"])
        .arg("--load")
        .arg(&load)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2:", load.display())), "{err}");
}
