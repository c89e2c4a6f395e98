//! Weighted picks over the wire: shares hold, weight 0 never answers, and a big commit
//! switches answers at one instant without losing a query.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

use crate::support::TestEngine;

fn query(id: u16, name: &str, subnet: Option<(IpAddr, u8)>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    if let Some((addr, len)) = subnet {
        let mut e = Edns::new();
        e.options_mut()
            .insert(EdnsOption::Subnet(ClientSubnet::new(addr, len, 0)));
        m.edns = Some(e);
    }
    m.to_vec().unwrap()
}

fn first_a(resp: &[u8]) -> Option<String> {
    let m = Message::from_vec(resp).ok()?;
    m.answers.iter().find_map(|r| match &r.data {
        RData::A(a) => Some(a.0.to_string()),
        _ => None,
    })
}

/// Sends `n` queries with up to `window` in flight, resending what a window loses, and
/// returns each answer's first address (or "-" for none).
async fn ask_many(
    server: SocketAddr,
    n: u16,
    name: &str,
    subnet: Option<(IpAddr, u8)>,
) -> Vec<String> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.connect(server).await.unwrap();
    let mut answers: Vec<Option<String>> = vec![None; usize::from(n)];
    let window = 64u16;
    let mut buf = vec![0u8; 2048];
    let mut start = 0u16;
    while start < n {
        let end = (start + window).min(n);
        let mut pending: Vec<u16> = (start..end).collect();
        for _attempt in 0..5 {
            for &id in &pending {
                sock.send(&query(id, name, subnet)).await.unwrap();
            }
            while !pending.is_empty() {
                let Ok(Ok(len)) =
                    tokio::time::timeout(Duration::from_secs(2), sock.recv(&mut buf)).await
                else {
                    break;
                };
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                if let Some(at) = pending.iter().position(|&p| p == id) {
                    pending.swap_remove(at);
                    answers[usize::from(id)] =
                        Some(first_a(&buf[..len]).unwrap_or_else(|| "-".into()));
                }
            }
            if pending.is_empty() {
                break;
            }
        }
        assert!(
            pending.is_empty(),
            "queries {pending:?} got no answer after 5 tries"
        );
        start = end;
    }
    answers.into_iter().map(Option::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_queries_split_seventy_thirty_and_weight_zero_never_answers() {
    let e = TestEngine::start().await;
    let tx = "ADD REG FRANCE { 198.54.234.0, 23; }!\n\
              ADD CVG c { FRANCE, [70 = A:192.0.2.70; 30 = A:192.0.2.30; 0 = A:192.0.2.0;]; }!\n\
              ADD CST img.xyz.com { c; }!\nEND\n";
    assert_eq!(e.transact(tx).await, "OK 1\n");
    let n = 20_000u16;
    let answers = ask_many(
        e.dns,
        n,
        "img.xyz.com.",
        Some(("198.54.235.0".parse().unwrap(), 24)),
    )
    .await;
    let mut counts: HashMap<String, u32> = HashMap::new();
    for a in answers {
        *counts.entry(a).or_default() += 1;
    }
    let share = |k: &str| f64::from(counts.get(k).copied().unwrap_or(0)) / f64::from(n);
    // ±2 points is over 6 standard deviations (sqrt(0.21/20000) ≈ 0.32 points).
    assert!((share("192.0.2.70") - 0.70).abs() <= 0.02, "{counts:?}");
    assert!((share("192.0.2.30") - 0.30).abs() <= 0.02, "{counts:?}");
    assert_eq!(
        counts.get("192.0.2.0"),
        None,
        "weight 0 answered: {counts:?}"
    );
    assert_eq!(counts.len(), 2, "{counts:?}");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_commit_under_load_loses_no_query_and_switches_once() {
    let e = TestEngine::start().await;
    let old = "ADD CVG c { DEFAULT, [1 = A:192.0.2.1;]; }!\nADD CST img.xyz.com { c; }!\nEND\n";
    assert_eq!(e.transact(old).await, "OK 1\n");
    // 200,000 prefixes, IPv4 and IPv6, and a new answer for everyone.
    let mut big = String::with_capacity(8 << 20);
    big.push_str("ADD REG BIG {\n");
    for i in 0u32..100_000 {
        let v4 = 0x0A00_0000 + (i << 8);
        big.push_str(&format!(
            "{}, 24;\n2001:{:x}:{:x}::, 48;\n",
            std::net::Ipv4Addr::from(v4),
            i >> 16,
            i & 0xffff
        ));
    }
    big.push_str("}!\nADD CVG c { DEFAULT, [1 = A:192.0.2.2;]; }!\nEND\n");
    let control = e.control;
    let commit = tokio::spawn(async move { crate::support::control_exchange(control, &big).await });
    let dns = e.dns;
    let load = tokio::spawn(async move {
        let mut seq = Vec::new();
        // Ask in rounds until the commit is visible, then one more round.
        for round in 0..2000u32 {
            let answers = ask_many(dns, 50, "img.xyz.com.", None).await;
            let done = answers.iter().all(|a| a == "192.0.2.2");
            seq.extend(answers);
            if done && round > 0 {
                break;
            }
        }
        seq
    });
    assert_eq!(commit.await.unwrap(), "OK 2\n");
    let seq = load.await.unwrap();
    assert!(
        seq.iter().all(|a| a == "192.0.2.1" || a == "192.0.2.2"),
        "every query answered"
    );
    // Answers within a window of 50 may be reordered by the network stack, so count
    // switches between rounds: the old answer never comes back after a round all new.
    let rounds: Vec<&[String]> = seq.chunks(50).collect();
    let first_all_new = rounds
        .iter()
        .position(|r| r.iter().all(|a| a == "192.0.2.2"))
        .unwrap();
    assert!(
        rounds[first_all_new..]
            .iter()
            .all(|r| r.iter().all(|a| a == "192.0.2.2"))
    );
    assert!(
        rounds[..first_all_new.saturating_sub(1)]
            .iter()
            .all(|r| r.iter().all(|a| a == "192.0.2.1"))
    );
    e.stop().await;
}
