//! Fencing on the control port (spec §1 "Fencing", §8 "Epochs"): over real TCP to a real
//! engine, with dig reading the answers each epoch left.

use broker_config::epoch_line;

use crate::dig::http_get;
use crate::support::{EXAMPLE, TestEngine, dig, section};

/// `img.xyz.com A` from 127.0.0.1 (region DEFAULT) as dig sees it: the address, or the
/// status when there is no answer.
async fn img_a(e: &TestEngine) -> String {
    let out = dig(e.dns, &["img.xyz.com", "A"]).await;
    match section(&out, "ANSWER").first() {
        Some(record) => record.2.clone(),
        None if out.contains("status: REFUSED") => "REFUSED".to_owned(),
        None => panic!("neither an answer nor REFUSED: {out}"),
    }
}

/// A transaction sending DEFAULT clients of img.xyz.com to `addr`.
fn default_to(addr: &str) -> String {
    format!("UPDATE CVG two-cdns, DEFAULT : [1 = A:{addr};]!\nEND\n")
}

/// The `cdnbroker_dns_epoch` sample of a scrape, if any.
async fn epoch_gauge(e: &TestEngine) -> Option<String> {
    let scrape = http_get(e.metrics, "/metrics").await;
    scrape
        .lines()
        .find_map(|l| l.strip_prefix("cdnbroker_dns_epoch "))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_or_missing_epoch_is_refused_and_the_answers_stay_the_newer_epochs() {
    let e = TestEngine::start().await;
    assert_eq!(epoch_gauge(&e).await, None, "no epoch before one commits");
    let reply = e.transact(&format!("{}{EXAMPLE}", epoch_line(5))).await;
    assert_eq!(reply, "OK 1\n");
    assert_eq!(img_a(&e).await, "192.0.2.10");
    assert_eq!(e.engine.epoch(), Some(5));
    assert_eq!(epoch_gauge(&e).await.as_deref(), Some("5"));

    // A control that lost its leadership (epoch 3) changes nothing.
    let stale = format!("{}{}", epoch_line(3), default_to("192.0.2.33"));
    assert_eq!(
        e.transact(&stale).await,
        "ERR 1:1 stale epoch 3 (engine at 5)\n"
    );
    assert_eq!(img_a(&e).await, "192.0.2.10", "epoch 5's tables answer");
    // Nor does one that sends no epoch at all, now that one has committed.
    assert_eq!(
        e.transact(&default_to("192.0.2.33")).await,
        "ERR 1:1 epoch required (engine at 5)\n"
    );
    assert_eq!(img_a(&e).await, "192.0.2.10");
    assert_eq!(e.engine.generation(), 1);

    // The same epoch again is the same leader: it commits.
    let again = format!("{}{}", epoch_line(5), default_to("192.0.2.55"));
    assert_eq!(e.transact(&again).await, "OK 2\n");
    assert_eq!(img_a(&e).await, "192.0.2.55");
    assert_eq!(e.engine.epoch(), Some(5));
    assert_eq!(epoch_gauge(&e).await.as_deref(), Some("5"));
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_higher_epoch_that_fails_validation_does_not_raise_the_epoch() {
    let e = TestEngine::start().await;
    let first = format!("{}{EXAMPLE}", epoch_line(5));
    assert_eq!(e.transact(&first).await, "OK 1\n");
    // Epoch 9, but its third line names an unknown coverage: refused whole.
    let bad = "EPOCH 9!\nUPDATE CVG two-cdns, DEFAULT : [1 = A:192.0.2.99;]!\nADD CST x.example { nowhere; }!\nEND\n";
    let reply = e.transact(bad).await;
    assert!(reply.starts_with("ERR 3:"), "{reply}");
    assert!(reply.contains("nowhere"), "{reply}");
    assert_eq!(img_a(&e).await, "192.0.2.10");
    assert_eq!(e.engine.epoch(), Some(5));
    assert_eq!(epoch_gauge(&e).await.as_deref(), Some("5"));

    // So epoch 6, below the refused 9, still commits, and becomes the one to beat.
    let six = format!("{}{}", epoch_line(6), default_to("192.0.2.66"));
    assert_eq!(e.transact(&six).await, "OK 2\n");
    assert_eq!(img_a(&e).await, "192.0.2.66");
    assert_eq!(e.engine.epoch(), Some(6));
    let five = format!("{}{}", epoch_line(5), default_to("192.0.2.55"));
    assert_eq!(
        e.transact(&five).await,
        "ERR 1:1 stale epoch 5 (engine at 6)\n"
    );
    assert_eq!(img_a(&e).await, "192.0.2.66");
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_empties_the_tables_but_keeps_the_epoch() {
    let e = TestEngine::start().await;
    let first = format!("{}{EXAMPLE}", epoch_line(7));
    assert_eq!(e.transact(&first).await, "OK 1\n");
    assert_eq!(e.transact("EPOCH 7!\nRESET!\nEND\n").await, "OK 2\n");
    assert_eq!(img_a(&e).await, "REFUSED", "RESET! emptied the tables");
    assert_eq!(e.engine.epoch(), Some(7));

    // An older leader cannot refill them, nor can a transaction without an epoch.
    let older = format!("{}{EXAMPLE}", epoch_line(6));
    assert_eq!(
        e.transact(&older).await,
        "ERR 1:1 stale epoch 6 (engine at 7)\n"
    );
    assert_eq!(
        e.transact(EXAMPLE).await,
        "ERR 1:1 epoch required (engine at 7)\n"
    );
    assert_eq!(img_a(&e).await, "REFUSED");
    assert_eq!(e.transact(&first).await, "OK 3\n");
    assert_eq!(img_a(&e).await, "192.0.2.10");
    assert_eq!(epoch_gauge(&e).await.as_deref(), Some("7"));
    e.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epoch_after_a_statement_is_an_error_at_its_token_and_changes_nothing() {
    let e = TestEngine::start().await;
    assert_eq!(e.transact(EXAMPLE).await, "OK 1\n");
    let reply = e
        .transact("UPDATE CVG two-cdns, DEFAULT : [1 = A:192.0.2.33;]!\n  EPOCH 4!\nEND\n")
        .await;
    assert_eq!(
        reply,
        "ERR 2:3 EPOCH may only be the first statement of a transaction\n"
    );
    assert_eq!(img_a(&e).await, "192.0.2.10");
    assert_eq!(e.engine.epoch(), None);
    // Without any epoch committed, transactions without one still commit.
    assert_eq!(e.transact(&default_to("192.0.2.33")).await, "OK 2\n");
    assert_eq!(img_a(&e).await, "192.0.2.33");
    e.stop().await;
}
