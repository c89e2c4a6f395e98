//! `cdnbroker run --config` on the shipped example deployments, as a user starts them:
//! the process prints its bound addresses, and real clients (curl, dig) are served there.
//! The examples' fixed ports are moved (to port 0, or to ports free now) so that the test
//! runs beside anything else on the machine.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

#[path = "support/run_process.rs"]
mod run_process;

use run_process::Running;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

fn copy_examples(dir: &Path) {
    for entry in fs::read_dir(EXAMPLES).unwrap() {
        let entry = entry.unwrap();
        if !entry.path().is_file() {
            continue; // cluster/ is a deployment of its own
        }
        fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
}

/// An origin web site on port 0 answering every request with `body`; counts requests.
fn origin(body: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nCache-Control: max-age=600\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (addr, count)
}

/// curl's status code and body for `url` with `Host: host`.
fn curl(url: &str, host: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-H"])
        .arg(format!("Host: {host}"))
        .arg(url)
        .output()
        .expect("curl runs (scripts/setup installs it)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_owned())
}

/// examples/g.toml: the edge and its back door share 127.0.0.1 on different ports, which
/// is no loop (spec §5: the port is part of the origin's identity). The edge fetches the
/// image from the origin once, then serves it from its cache, and refuses other hosts.
#[test]
fn the_g_example_serves_offloaded_images() {
    let dir = tempfile::tempdir().unwrap();
    copy_examples(dir.path());
    let (origin_addr, fetches) = origin("GIF89a-pic1");
    let text = fs::read_to_string(dir.path().join("g.toml"))
        .unwrap()
        .replace("listen = \"127.0.0.1:8090\"", "listen = \"127.0.0.1:0\"")
        .replace("status = \"127.0.0.1:8443\"", "status = \"127.0.0.1:0\"")
        .replace("cache_mb = 64", "cache_mb = 64\nmetrics = \"127.0.0.1:0\"")
        .replace("http://127.0.0.1:8000", &format!("http://{origin_addr}"));
    let config = dir.path().join("g.toml");
    fs::write(&config, text).unwrap();
    let mut g = Running::start(&config, "warn");
    let edge = g.addr("edge");
    g.addr("status");
    let metrics = g.addr("edge-metrics");
    // C's pages name the edge as 127.0.0.1:8090 (c.toml: partner.host); Host says so.
    let url = format!("http://{edge}/img.xyz.com/pic1.gif");
    for _ in 0..2 {
        assert_eq!(
            curl(&url, "127.0.0.1:8090"),
            (200, "GIF89a-pic1".to_owned())
        );
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the second was a hit");
    let (status, _) = curl(&format!("http://{edge}/evil.example/x"), "127.0.0.1:8090");
    assert_eq!(status, 403);
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // The same story in the edge's Prometheus counters.
    let (status, text) = curl(&format!("http://{metrics}/metrics"), "x");
    assert_eq!(status, 200);
    for series in [
        "cdnbroker_edge_requests_total{offloader=\"C\"} 3",
        "cdnbroker_edge_cache_hits_total{offloader=\"C\"} 1",
        "cdnbroker_edge_origin_fetches_total{offloader=\"C\"} 1",
        "cdnbroker_edge_bytes_served_total{offloader=\"C\"} 22",
        "cdnbroker_edge_refused_total{offloader=\"C\",status=\"403\"} 1",
    ] {
        assert!(text.lines().any(|l| l == series), "{series} in\n{text}");
    }
}

/// A port free now on 127.0.0.1 for TCP and UDP (the DNS engine binds both).
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Every `127.0.0.1:PORT` of `text` moved to a port free now, one new port per old one,
/// so that references between roles (control.engines -> dns.control) still agree.
fn move_ports(text: &str) -> String {
    let mut moved: HashMap<String, String> = HashMap::new();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let digits_at = at + "127.0.0.1:".len();
        let len = rest[digits_at..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let old = &rest[digits_at..digits_at + len];
        let new = moved
            .entry(old.to_owned())
            .or_insert_with(|| free_port().to_string());
        out.push_str(&rest[..digits_at]);
        out.push_str(new);
        rest = &rest[digits_at + len..];
    }
    out.push_str(rest);
    out
}

/// examples/c.toml: the roles `run` has start; its DNS engine answers img.xyz.com from
/// the example's start-up transaction (tables.txt) for a client in LOCAL.
#[test]
fn the_c_example_answers_dns() {
    let dir = tempfile::tempdir().unwrap();
    copy_examples(dir.path());
    let config = dir.path().join("c.toml");
    let text = move_ports(&fs::read_to_string(&config).unwrap());
    fs::write(&config, text).unwrap();
    let mut c = Running::start(&config, "warn");
    let dns = c.addr("dns");
    c.addr("control");
    let out = Command::new("dig")
        .arg(format!("@{}", dns.ip()))
        .args([
            "-p",
            &dns.port().to_string(),
            "img.xyz.com",
            "A",
            "+norecurse",
        ])
        .output()
        .expect("dig runs (scripts/setup installs it)");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("status: NOERROR"), "{text}");
    // Until the control component's first plan reaches the engine it answers from
    // tables.txt (LOCAL: 70 = A:127.0.0.1; 30 = C:.cdn-g.example); after, from the plan
    // made of cdn.txt (C's A:127.0.0.1 or G's N: referral to ns1.cdn-g.example).
    let a = text.contains("IN\tA\t127.0.0.1");
    let cname = text.contains("IN\tCNAME\timg.xyz.com.cdn-g.example.");
    let referral = text.contains("IN\tNS\tns1.cdn-g.example.")
        && text.contains("ns1.cdn-g.example.\t")
        && text.contains("127.0.0.2");
    assert_eq!(
        u8::from(a) + u8::from(cname) + u8::from(referral),
        1,
        "one of the actions of tables.txt or of the plan: {text}"
    );
    // Answers are authoritative; a referral is not (no AA, the NS in AUTHORITY).
    assert_eq!(
        text.contains(" aa"),
        !referral,
        "AA unless a referral: {text}"
    );
}
