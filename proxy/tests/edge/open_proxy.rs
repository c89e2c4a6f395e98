//! Priority 2: the edge is never an open proxy. Over 10,000 distinct hostile requests,
//! written raw on real connections, try to make the edge reach a "forbidden" listener
//! (127.0.0.1 and ::1, every notation) or anything but the one allowed origin; the test
//! counts the connections each listener accepts.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::task::JoinSet;

use crate::support::{Forbidden, Origin, TestEdge, deployment, raw_status};

/// Spellings of the forbidden listener `v4:port` / `[::1]:port6`, of other hosts, of the
/// edge itself, and of the allowed origin with tricks attached.
fn targets(port: u16, port6: Option<u16>, edge_port: u16) -> Vec<String> {
    let mut t: Vec<String> = [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "0x7f.0.0.1",
        "0x7f.1",
        "0177.0.0.1",
        "0177.1",
        "2130706433",
        "0x7f000001",
        "017700000001",
        "127.0.0.1.",
        "localhost",
        "LocalHost.",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "%31%32%37.0.0.1",
        "127%2e0%2e0%2e1",
        "127.0.0.1%00",
        "127.0.0.1%2f",
        "img.xyz.com@127.0.0.1",
        "img.xyz.com%40127.0.0.1",
        "127.0.0.1#img.xyz.com",
        "127.0.0.1?img.xyz.com",
        "127.0.0.1\\img.xyz.com",
        "img.xyz.com.127.0.0.1.nip.io",
        "0.0.0.0",
        "0",
        "[::]",
    ]
    .iter()
    .map(|h| format!("{h}:{port}"))
    .collect();
    if let Some(p6) = port6 {
        for h in [
            "[::1]",
            "[0:0:0:0:0:0:0:1]",
            "[0000::0001]",
            "[::0:1]",
            "[::1%25lo]",
        ] {
            t.push(format!("{h}:{p6}"));
        }
    }
    for h in [
        format!("img.xyz.com:{port}"),
        format!("img.xyz.com.:{port}"),
        format!("IMG.xyz.COM:0{port}"),
        format!("img.xyz.com:{}", u32::from(port) + 65536),
        format!("img.xyz.com:{port}@127.0.0.1"),
        format!("127.0.0.1:{port}@img.xyz.com"),
        format!("127.0.0.1:{edge_port}"),
        "foo.cdn-g.example".into(),
        "xyz.cdn-g.example".into(),
        "c.cdn-g.example".into(),
        "evil.example".into(),
        "img.xyz.com.evil.example".into(),
        "evil.example.img.xyz.com".into(),
        "img%2exyz%2ecom".into(),
        "img.xyz.com%2f..%2f127.0.0.1".into(),
        "img.xyz.com:8081".into(),
        "xn--img-xyz.com".into(),
        "ｉｍｇ.xyz.com".into(),
    ] {
        t.push(h);
    }
    t
}

/// Path and Host layouts that carry a target `{t}` somewhere.
const LAYOUTS: &[(&str, &str)] = &[
    // (Host, request target)
    ("{t}", "/x.gif"),
    ("foo.cdn-g.example", "/{t}/x.gif"),
    ("{t}.c.cdn-g.example", "/x.gif"),
    ("foo.cdn-g.example", "http://{t}/x.gif"),
    ("foo.cdn-g.example", "http://{t}/img.xyz.com/x.gif"),
    ("foo.cdn-g.example", "/img.xyz.com/../{t}/x.gif"),
    ("foo.cdn-g.example", "/img.xyz.com/..%2f{t}/x.gif"),
    ("foo.cdn-g.example", "/img.xyz.com%2f..%2f{t}/x.gif"),
    ("foo.cdn-g.example", "/..%2f{t}/x.gif"),
    ("foo.cdn-g.example", "/%2e%2e/{t}/x.gif"),
    ("foo.cdn-g.example", "//{t}/x.gif"),
    ("foo.cdn-g.example", "/\\{t}/x.gif"),
    ("foo.cdn-g.example", "/img.xyz.com\\..\\{t}/x.gif"),
    ("foo.cdn-g.example", "/{t}%2fimg.xyz.com/x.gif"),
    ("foo.cdn-g.example", "/{t}?img.xyz.com"),
    ("xyz.cdn-g.example", "http://{t}/x.gif"),
    ("img.xyz.com", "http://{t}/x.gif"),
    ("{t}", "http://img.xyz.com/x.gif"),
];

fn mix_case(s: &str, rng: &mut StdRng) -> String {
    s.chars()
        .map(|c| {
            if rng.random_range(0..2u8) == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn hostile_requests(port: u16, port6: Option<u16>, edge_port: u16, want: usize) -> Vec<Vec<u8>> {
    let targets = targets(port, port6, edge_port);
    let mut rng = StdRng::seed_from_u64(0x0bad_5eed);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    // Every target in every layout once, as written.
    let mut plain = Vec::new();
    for t in &targets {
        for (host, target) in LAYOUTS {
            plain.push((host.replace("{t}", t), target.replace("{t}", t)));
        }
    }
    for (host, target) in plain {
        push(&mut out, &mut seen, &host, &target);
    }
    // Then random variations: case, trailing dots, queries, overlong paths.
    while out.len() < want {
        let t = &targets[rng.random_range(0..targets.len())];
        let (host, target) = LAYOUTS[rng.random_range(0..LAYOUTS.len())];
        let mut t = mix_case(t, &mut rng);
        if rng.random_range(0..4u8) == 0 {
            t = t.replacen(':', ".:", 1);
        }
        let mut target = target.replace("{t}", &t);
        match rng.random_range(0..6u8) {
            0 => target.push_str(&format!("?u=http://{t}/")),
            1 => target.push_str(&"/a".repeat(rng.random_range(1..5000usize))),
            2 => {
                target = target.replacen(
                    "/x.gif",
                    &format!("/{}", "%2e%2e/".repeat(rng.random_range(1..50usize))),
                    1,
                )
            }
            _ => {}
        }
        push(&mut out, &mut seen, &host.replace("{t}", &t), &target);
    }
    out
}

fn push(out: &mut Vec<Vec<u8>>, seen: &mut HashSet<Vec<u8>>, host: &str, target: &str) {
    let req =
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes();
    if seen.insert(req.clone()) {
        out.push(req);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_requests_reach_only_the_allowed_origin() {
    let origin = Origin::start(vec![]).await;
    let forbidden = Forbidden::start("127.0.0.1:0").await;
    let forbidden6 = match tokio::net::TcpListener::bind("[::1]:0").await {
        Ok(probe) => {
            drop(probe);
            Some(Forbidden::start("[::1]:0").await)
        }
        Err(_) => None,
    };
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let requests = hostile_requests(
        forbidden.addr.port(),
        forbidden6.as_ref().map(|f| f.addr.port()),
        edge.addr.port(),
        10_000,
    );
    assert!(requests.len() >= 10_000);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for chunk in requests.chunks(64) {
        let mut set = JoinSet::new();
        for req in chunk {
            let (addr, req) = (edge.addr, req.clone());
            set.spawn(async move { raw_status(addr, &req).await });
        }
        while let Some(status) = set.join_next().await {
            *statuses.entry(status.unwrap()).or_default() += 1;
        }
    }
    assert_eq!(
        forbidden.connections.load(Ordering::SeqCst),
        0,
        "statuses {statuses:?}"
    );
    if let Some(f6) = &forbidden6 {
        assert_eq!(f6.connections.load(Ordering::SeqCst), 0);
    }
    // Whatever reached the allowed origin asked for an allowed origin host.
    for seen in origin.seen() {
        let host = seen.headers.get("host").unwrap().to_str().unwrap();
        assert!(
            host == "img.xyz.com" || host == "img.xyz.com:8080",
            "{host}"
        );
        assert_eq!(seen.headers.get("via").unwrap(), "1.1 G-edge");
    }
    // Every answer is a refusal or a served object; never an edge failure or silence.
    for status in statuses.keys() {
        assert!(
            [200, 400, 403, 404, 414, 431].contains(status),
            "statuses {statuses:?}"
        );
    }
    assert!(
        statuses.get(&403).copied().unwrap_or(0) > 1000,
        "statuses {statuses:?}"
    );
    eprintln!(
        "{} hostile requests: statuses {statuses:?}; allowed origin saw {} requests on {} connections; forbidden listeners 0",
        requests.len(),
        origin.requests(),
        origin.connections.load(Ordering::SeqCst)
    );
}
