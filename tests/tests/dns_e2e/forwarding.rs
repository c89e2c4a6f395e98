//! `R:` (relay) and `T:` (triangle) lookups against a partner: a second engine, or a plain
//! socket where the test must see exactly what arrives.

use std::time::Duration;

use crate::support::{Setup, TestEngine, dig, section};

/// The partner: answers r.example by the client's region (France or not).
async fn partner() -> TestEngine {
    let p = TestEngine::start().await;
    let tx = "ADD REG FRANCE { 198.54.234.0, 23; }!\n\
              ADD CVG p { FRANCE, [1 = A:192.0.2.55;]; DEFAULT, [1 = A:192.0.2.66;]; }!\n\
              ADD CST r.example { p; }!\nEND\n";
    assert_eq!(p.transact(tx).await, "OK 1\n");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_forwards_with_the_client_subnet_and_relays_the_answer() {
    let p = partner().await;
    let e = TestEngine::start_with(Setup {
        forward_port: p.dns.port(),
        ..Default::default()
    })
    .await;
    let tx = "ADD CVG r { DEFAULT, [1 = R:(ns.partner.example 127.0.0.1);]; }!\nADD CST r.example { r; }!\nEND\n";
    assert_eq!(e.transact(tx).await, "OK 1\n");
    // The partner sees the ECS the engine passes on and picks France.
    let out = dig(e.dns, &["+subnet=198.54.234.0/24", "r.example", "A"]).await;
    assert_eq!(section(&out, "ANSWER")[0].2, "192.0.2.55", "{out}");
    // Without ECS the engine sends the client's /24 (127.0.0.0/24): not France.
    let out = dig(e.dns, &["r.example", "A"]).await;
    assert_eq!(section(&out, "ANSWER")[0].2, "192.0.2.66", "{out}");
    assert!(
        !out.contains("CLIENT-SUBNET"),
        "no ECS in an answer to a query without: {out}"
    );
    let out = dig(e.dns, &["+noedns", "r.example", "A"]).await;
    assert!(
        !out.contains("OPT PSEUDOSECTION"),
        "no OPT for a client without EDNS: {out}"
    );
    // Over TCP the relayed answer comes back on the connection.
    let out = dig(e.dns, &["+tcp", "r.example", "A"]).await;
    assert_eq!(section(&out, "ANSWER")[0].2, "192.0.2.66", "{out}");
    e.stop().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_to_a_silent_server_gets_servfail() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let e = TestEngine::start_with(Setup {
        forward_port: silent.local_addr().unwrap().port(),
        ..Default::default()
    })
    .await;
    let tx = "ADD CVG r { DEFAULT, [1 = R:(ns.partner.example 127.0.0.1);]; }!\nADD CST r.example { r; }!\nEND\n";
    assert_eq!(e.transact(tx).await, "OK 1\n");
    let out = dig(e.dns, &["r.example", "A"]).await;
    assert!(out.contains("status: SERVFAIL"), "{out}");
    e.stop().await;
}

/// An engine on `listen` whose r.example goes by `T:` to `server_ip` at `forward_port`;
/// `None` (after checking the refusal) where this process may not open raw sockets.
async fn triangle_engine(
    listen: std::net::SocketAddr,
    forward_port: u16,
    server_ip: &str,
) -> Option<TestEngine> {
    let e = TestEngine::start_with(Setup {
        forward_port,
        triangle: true,
        dns_listen: listen,
        ..Default::default()
    })
    .await;
    let tx = format!(
        "ADD CVG t {{ DEFAULT, [1 = T:(ns.partner.example {server_ip});]; }}!\nADD CST r.example {{ t; }}!\nEND\n"
    );
    let reply = e.transact(&tx).await;
    if broker_dns::triangle::Triangle::open().is_err() {
        // No CAP_NET_RAW here: the engine must refuse rather than answer wrongly.
        assert!(
            reply.starts_with("ERR") && reply.contains("raw sockets"),
            "{reply}"
        );
        return None;
    }
    assert_eq!(reply, "OK 1\n");
    Some(e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triangle_makes_the_partner_answer_the_client_directly() {
    let p = partner().await;
    let listen = "127.0.0.1:0".parse().unwrap();
    let Some(e) = triangle_engine(listen, p.dns.port(), "127.0.0.1").await else {
        return;
    };
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut q = hickory_proto::op::Message::query();
    q.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("r.example.").unwrap(),
        hickory_proto::rr::RecordType::A,
    ));
    let id = q.metadata.id;
    client.send_to(&q.to_vec().unwrap(), e.dns).unwrap();
    let mut buf = [0u8; 512];
    let (n, from) = tokio::task::spawn_blocking(move || {
        let r = client.recv_from(&mut buf).unwrap();
        (r.0, (r.1, buf))
    })
    .await
    .map(|(n, (from, b))| {
        buf = b;
        (n, from)
    })
    .unwrap();
    // The answer comes from the partner, not from the engine asked.
    assert_eq!(from, p.dns);
    let m = hickory_proto::op::Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.metadata.id, id);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].data.to_string(), "192.0.2.66");
    e.stop().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triangle_over_ipv6_forges_the_clients_address_and_port() {
    // The partner's "server" is a plain socket: the test sees exactly what arrives.
    let Ok(server) = tokio::net::UdpSocket::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback here");
        return;
    };
    let server_addr = server.local_addr().unwrap();
    let listen = "[::1]:0".parse().unwrap();
    let Some(e) = triangle_engine(listen, server_addr.port(), "::1").await else {
        return;
    };
    let client = tokio::net::UdpSocket::bind("[::1]:0").await.unwrap();
    let client_addr = client.local_addr().unwrap();
    let mut q = hickory_proto::op::Message::query();
    q.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii("r.example.").unwrap(),
        hickory_proto::rr::RecordType::AAAA,
    ));
    let query = q.to_vec().unwrap();
    client.send_to(&query, e.dns).await.unwrap();

    let wait = Duration::from_secs(5);
    let mut buf = [0u8; 512];
    let (n, src) = tokio::time::timeout(wait, server.recv_from(&mut buf))
        .await
        .expect("the partner receives the query")
        .unwrap();
    // From the client's own address and port, not the engine's, and as the client sent it.
    assert_eq!(src, client_addr);
    assert_ne!(src.port(), e.dns.port());
    assert_eq!(&buf[..n], &query[..]);

    // The partner answers that source, and the answer reaches the client straight from it.
    let mut answer = hickory_proto::op::Message::from_vec(&buf[..n]).unwrap();
    answer.metadata.message_type = hickory_proto::op::MessageType::Response;
    answer.add_answer(hickory_proto::rr::Record::from_rdata(
        hickory_proto::rr::Name::from_ascii("r.example.").unwrap(),
        20,
        hickory_proto::rr::RData::AAAA("2001:db8::66".parse().unwrap()),
    ));
    let answer = answer.to_vec().unwrap();
    server.send_to(&answer, src).await.unwrap();
    let (n, from) = tokio::time::timeout(wait, client.recv_from(&mut buf))
        .await
        .expect("the client receives the partner's answer")
        .unwrap();
    assert_eq!(from, server_addr);
    let m = hickory_proto::op::Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.metadata.id, q.metadata.id);
    assert_eq!(m.answers[0].data.to_string(), "2001:db8::66");
    e.stop().await;
}
