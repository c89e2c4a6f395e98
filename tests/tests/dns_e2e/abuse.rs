//! Spec §11 on the engine's ports: response rate limiting, the relay cap, the TCP cap
//! with deadlines, and the control port's token, concurrency and deadlines. Loopback
//! only, bounded in count and time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use broker_config::deploy::{Rrl, Token};
use broker_dns::control::ControlLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::dig::http_get;
use crate::support::{EXAMPLE, Setup, TestEngine, dig, section};

/// `img.xyz.com A` with id `id` (no EDNS).
fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A counter's value in a Prometheus scrape (0 when absent).
fn counter(scrape: &str, name: &str) -> u64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

/// Sends `n` queries from `socket` as fast as it can, then collects replies until none
/// came for 300 ms: (full answers, empty TC=1 answers).
async fn flood(socket: &UdpSocket, to: SocketAddr, n: u16) -> (usize, usize) {
    for id in 0..n {
        socket.send_to(&query(id, "img.xyz.com"), to).await.unwrap();
    }
    let (mut full, mut slipped) = (0, 0);
    let mut buf = [0u8; 1500];
    while let Ok(Ok(len)) =
        tokio::time::timeout(Duration::from_millis(300), socket.recv(&mut buf)).await
    {
        let truncated = buf[2] & 0x02 != 0;
        let answers = u16::from_be_bytes([buf[6], buf[7]]);
        match (truncated, answers) {
            (true, 0) => slipped += 1,
            (false, a) if a > 0 => full += 1,
            other => panic!("unexpected reply {other:?}: {:?}", &buf[..len]),
        }
    }
    (full, slipped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rrl_drops_and_slips_over_the_rate_and_another_source_is_unaffected() {
    let e = TestEngine::start_with(Setup {
        rrl: Some(Rrl {
            responses_per_s: 5,
            slip: 2,
            ..Rrl::default()
        }),
        ..Default::default()
    })
    .await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    let attacker = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (full, slipped) = flood(&attacker, e.dns, 60).await;
    // 5 a second (the flood may straddle two seconds), half the rest slipped, the rest
    // dropped.
    assert!((5..=10).contains(&full), "{full} full answers");
    assert!(slipped >= 20 && full + slipped < 60, "{slipped} slipped");
    // Another /24 is counted apart: dig from 127.0.1.1 gets its answer.
    let out = dig(e.dns, &["-b", "127.0.1.1", "img.xyz.com", "A"]).await;
    assert_eq!(section(&out, "ANSWER").len(), 1, "{out}");
    // TCP is not rate limited (a source that completes a handshake is not spoofed).
    let out = dig(e.dns, &["+tcp", "img.xyz.com", "A"]).await;
    assert_eq!(section(&out, "ANSWER").len(), 1, "{out}");
    let scrape = http_get(e.metrics, "/metrics").await;
    assert!(
        counter(&scrape, "cdnbroker_dns_rrl_dropped_total") >= 20,
        "{scrape}"
    );
    assert_eq!(
        counter(&scrape, "cdnbroker_dns_rrl_slipped_total"),
        slipped as u64,
        "{scrape}"
    );
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_relay_in_flight_a_relayed_query_gets_servfail_at_once() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let e = TestEngine::start_with(Setup {
        forward_port: silent.local_addr().unwrap().port(),
        relay_in_flight: 2,
        relay_timeout: Duration::from_secs(10),
        ..Default::default()
    })
    .await;
    let tx = "ADD CVG r { DEFAULT, [1 = R:(ns.partner.example 127.0.0.1);]; }!\nADD CST r.example { r; }!\nEND\n";
    assert_eq!(e.transact(tx).await, "OK 1\n");
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let started = Instant::now();
    for id in 1..=3 {
        client
            .send_to(&query(id, "r.example"), e.dns)
            .await
            .unwrap();
    }
    // Two wait on the silent partner (10 s); the third is answered SERVFAIL right away.
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), client.recv(&mut buf))
        .await
        .expect("the query past the cap is answered before the relay timeout")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(n >= 12);
    assert_eq!(u16::from_be_bytes([buf[0], buf[1]]), 3, "the third query");
    assert_eq!(buf[3] & 0x0f, 2, "SERVFAIL");
    let scrape = http_get(e.metrics, "/metrics").await;
    assert_eq!(
        counter(&scrape, "cdnbroker_dns_relay_refused_total"),
        1,
        "{scrape}"
    );
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_max_tcp_the_most_stalled_client_is_closed_for_a_working_one() {
    let e = TestEngine::start_with(Setup {
        max_tcp: 4,
        ..Default::default()
    })
    .await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    // Four clients that send a query, read its answer and go silent: they hold every
    // slot. (Progress is stamped in milliseconds: a pause orders their stamps.)
    let mut stalled = Vec::new();
    for id in 0..4u16 {
        let mut s = TcpStream::connect(e.dns).await.unwrap();
        let q = query(id, "img.xyz.com");
        s.write_all(&(q.len() as u16).to_be_bytes()).await.unwrap();
        s.write_all(&q).await.unwrap();
        let len = s.read_u16().await.unwrap();
        let mut answer = vec![0u8; usize::from(len)];
        s.read_exact(&mut answer).await.unwrap();
        stalled.push(s);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A working client is not made to wait: the longest-stalled one is closed for it.
    let out = dig(e.dns, &["+tcp", "img.xyz.com", "A"]).await;
    assert_eq!(section(&out, "ANSWER").len(), 1, "{out}");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stalled[0].read_to_end(&mut rest))
        .await
        .expect("the first stalled client is closed, long before its 10 s idle timeout");
    assert!(read.is_ok_and(|n| n == 0) || rest.is_empty());
    let scrape = http_get(e.metrics, "/metrics").await;
    assert_eq!(
        counter(&scrape, "cdnbroker_dns_tcp_connections_evicted_total"),
        1,
        "{scrape}"
    );
    e.stop().await;
}

fn token() -> Token {
    Token::new("engine-secret").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_the_control_port_wants_auth_first() {
    let e = TestEngine::start_with(Setup {
        control: ControlLimits {
            token: Some(token()),
            ..ControlLimits::default()
        },
        ..Default::default()
    })
    .await;
    let bare = e.transact(EXAMPLE).await;
    assert!(bare.starts_with("ERR 1:1 expected AUTH"), "{bare}");
    let wrong = e.transact(&format!("AUTH nope\n{EXAMPLE}")).await;
    assert!(wrong.starts_with("ERR 1:1 "), "{wrong}");
    assert_eq!(e.engine.generation(), 0);
    // Errors count the AUTH line: ERR 2:... for a mistake on the line after it.
    let bad = e.transact("AUTH engine-secret\nADD oops!\nEND\n").await;
    assert!(bad.starts_with("ERR 2:"), "{bad}");
    let ok = e.transact(&format!("AUTH engine-secret\n{EXAMPLE}")).await;
    assert_eq!(ok, "OK 1\n");
    // An unauthenticated megabyte is refused after its first KiB: the answer comes while
    // the client is still writing, and nothing is applied.
    let mut s = TcpStream::connect(e.control).await.unwrap();
    let line = format!("ADD REG X {{ {} }}!\n", "10.0.0.0, 8; ".repeat(90_000));
    let (mut r, mut w) = s.split();
    let writer = async {
        let _ = w.write_all(line.as_bytes()).await;
    };
    let mut reply = String::new();
    let reader = r.read_to_string(&mut reply);
    let (_, read) = tokio::join!(writer, reader);
    let _ = read;
    assert!(reply.starts_with("ERR 1:1 expected AUTH"), "{reply}");
    assert_eq!(e.engine.generation(), 1);
    let scrape = http_get(e.metrics, "/metrics").await;
    assert_eq!(
        counter(&scrape, "cdnbroker_dns_control_refused_total"),
        3,
        "{scrape}"
    );
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_control_client_does_not_delay_another_transaction() {
    let e = TestEngine::start().await;
    // Half a statement, then silence (its idle timeout is 30 s).
    let mut stalled = TcpStream::connect(e.control).await.unwrap();
    stalled.write_all(b"ADD REG X { 10.0.0.0,").await.unwrap();
    let started = Instant::now();
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(stalled);
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_transaction_is_cut_at_its_deadline() {
    let e = TestEngine::start_with(Setup {
        control: ControlLimits {
            deadline: Duration::from_secs(1),
            ..ControlLimits::default()
        },
        ..Default::default()
    })
    .await;
    let mut s = TcpStream::connect(e.control).await.unwrap();
    let started = Instant::now();
    // A byte every 100 ms: never idle, never done.
    let trickle = async {
        for b in b"RESET!\nADD REG X { 10.0.0.0, 8; }!\n"
            .iter()
            .cycle()
            .take(100)
        {
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1500), trickle).await;
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply).await;
    assert!(reply.contains("deadline"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(e.engine.generation(), 0);
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_over_max_transaction_mb_is_refused() {
    let e = TestEngine::start_with(Setup {
        control: ControlLimits {
            max_bytes: 256 * 1024,
            ..ControlLimits::default()
        },
        ..Default::default()
    })
    .await;
    let prefixes = |n: u32| -> String {
        (0..n)
            .map(|i| format!("10.{}.{}.0, 24; ", i / 256, i % 256))
            .collect()
    };
    let big = format!("ADD REG X {{ {} }}!\nEND\n", prefixes(20_000));
    let reply = e.transact(&big).await;
    assert!(reply.contains("max_transaction_mb"), "{reply}");
    // One line of any length (here past 64 KiB) is fine below the size limit (spec §1).
    let long = format!("ADD REG X {{ {} }}!\nEND\n", prefixes(6_000));
    assert!(long.len() > 64 * 1024);
    assert_eq!(e.transact(&long).await, "OK 1\n");
    e.stop().await;
}
