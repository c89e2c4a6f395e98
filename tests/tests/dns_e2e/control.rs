//! The control port (spec §1): atomic commits, errors at LINE:COL, aborts.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{EXAMPLE, Setup, TestEngine, dig, section};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_engine_refuses_and_a_commit_makes_it_answer() {
    let e = TestEngine::start().await;
    let before = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert!(before.contains("status: REFUSED"), "{before}");
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    let after = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert_eq!(section(&after, "ANSWER")[0].2, "192.0.2.10");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_with_an_error_changes_nothing() {
    let e = TestEngine::start().await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    // The first statements are fine; the third names an unknown coverage.
    let bad = "ADD REG NEW { 10.0.0.0, 8; }!\nDEL img.xyz.com : CST!\nADD CST x.example { nowhere; }!\nEND\n";
    let reply = e.transact(bad).await;
    assert!(reply.starts_with("ERR 3:"), "{reply}");
    assert!(reply.contains("nowhere"), "{reply}");
    // Syntax errors point at their token.
    let reply = e.transact("ADD REG X { 10.0.0.1, 8; }!\nEND\n").await;
    assert!(reply.starts_with("ERR 1:"), "{reply}");
    assert_eq!(e.engine.generation(), 1);
    let still = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert_eq!(section(&still, "ANSWER")[0].2, "192.0.2.10", "{still}");
    // The next good transaction gets the next generation.
    assert_eq!(e.transact("RESET!\nEND\n").await, "OK 2\n");
    let reset = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert!(reset.contains("status: REFUSED"), "{reset}");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_without_half_close_commits() {
    let e = TestEngine::start().await;
    let mut s = TcpStream::connect(e.control).await.unwrap();
    s.write_all(EXAMPLE.as_bytes()).await.unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.unwrap();
    assert_eq!(reply, "OK 1\n");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_aborts_the_transaction() {
    let e = TestEngine::start().await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    let s = TcpStream::connect(e.control).await.unwrap();
    let mut s = s;
    s.write_all(b"RESET!\nADD REG X { 10.0.0.0, 8; }!\n")
        .await
        .unwrap();
    // SO_LINGER 0: closing sends RST instead of FIN.
    s.set_zero_linger().unwrap();
    drop(s);
    // The reset connection applied nothing, whenever its reset is read.
    assert_eq!(e.transact("END\n").await, "OK 2\n");
    let still = dig(e.dns, &["img.xyz.com", "A"]).await;
    assert_eq!(
        section(&still, "ANSWER")[0].2,
        "192.0.2.10",
        "the reset RESET! was not applied: {still}"
    );
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_control_connection_times_out_and_changes_nothing() {
    let e = TestEngine::start_with(Setup {
        control_idle: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut s = TcpStream::connect(e.control).await.unwrap();
    s.write_all(b"RESET!\n").await.unwrap();
    // No END, no half-close: the engine gives up after its idle timeout.
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.unwrap();
    assert!(
        reply.starts_with("ERR") && reply.contains("idle timeout"),
        "{reply}"
    );
    assert_eq!(e.engine.generation(), 0);
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triangle_is_refused_at_commit_without_raw_sockets() {
    let e = TestEngine::start().await; // Setup::triangle is false: no raw socket.
    let reply = e
        .transact("ADD CVG t {\n  DEFAULT, [1 = T:(ns.p.example 127.0.0.1);];\n}!\nEND\n")
        .await;
    assert!(reply.starts_with("ERR 2:3 "), "{reply}");
    assert!(reply.contains("raw sockets"), "{reply}");
    assert_eq!(e.engine.generation(), 0);
    e.stop().await;
}
