//! The load agent polling a real partner edge's status reports over HTTPS, and the
//! fallback when the partner goes silent.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::support::{
    CSetup, G_TOKEN, bind_edge, cdn, folder, quick_settings, run_edge, start_control, state,
    wait_state,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_agent_believes_what_the_partner_reports_with_the_right_token_only() {
    let dir = folder();
    let listeners = bind_edge(dir.path()).await;
    let status = listeners.status_addr().unwrap();
    // G reserved 250000 kbps for C at its edge; C's cdn.txt says 100000.
    let edge = run_edge(dir.path(), listeners, 250_000, None);
    let shutdown = CancellationToken::new();
    let good = CSetup {
        engines: &[],
        status: Some(status),
        status_token: G_TOKEN,
        engine_token: None,
    };
    let (control, task) = start_control(dir.path(), &good, quick_settings(), &shutdown).await;
    let (s, _) = wait_state(&control, "a successful poll", |s| {
        s["partners"][0]["polls_ok"].as_u64() >= Some(1)
    })
    .await;
    // No load yet: all of the reservation is left, and the plan may use 90 % of it.
    let g = cdn(&s, "G");
    assert_eq!(g["capacity_kbps"], 250_000, "{g}");
    assert_eq!(g["load_kbps"], 0);
    assert_eq!(g["planned_capacity_kbps"], 225_000.0);
    assert!(g["feedback_age_secs"].as_f64().unwrap() < 5.0);
    assert!(s["partners"][0]["last_poll_error"].is_null(), "{s}");

    // Another C with a wrong token is refused by the edge: nothing believed.
    let other = folder();
    let bad = CSetup {
        engines: &[],
        status: Some(status),
        status_token: "not-the-token",
        engine_token: None,
    };
    let (control2, task2) = start_control(other.path(), &bad, quick_settings(), &shutdown).await;
    let (s, _) = wait_state(&control2, "a refused poll", |s| {
        s["partners"][0]["polls_failed"].as_u64() >= Some(1)
    })
    .await;
    let error = s["partners"][0]["last_poll_error"].as_str().unwrap();
    assert!(error.contains("401"), "{error}");
    assert_eq!(s["partners"][0]["polls_ok"], 0);
    assert_eq!(cdn(&s, "G")["capacity_kbps"], 100_000);

    shutdown.cancel();
    edge.shutdown.cancel();
    task.await.unwrap();
    task2.await.unwrap();
    edge.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_partner_falls_back_to_its_reserved_capacity_decaying() {
    let dir = folder();
    let listeners = bind_edge(dir.path()).await;
    let status = listeners.status_addr().unwrap();
    // G's edge offers 900000 kbps; cdn.txt reserved only 100000.
    let edge = run_edge(dir.path(), listeners, 900_000, None);
    let shutdown = CancellationToken::new();
    let mut settings = quick_settings();
    settings.balance.stale_after = Duration::from_secs(1);
    settings.balance.stale_half_life = Duration::from_secs(1);
    let setup = CSetup {
        engines: &[],
        status: Some(status),
        status_token: G_TOKEN,
        engine_token: None,
    };
    let (control, task) = start_control(dir.path(), &setup, settings, &shutdown).await;
    let (fresh, _) = wait_state(&control, "the partner's figures believed", |s| {
        cdn(s, "G")["capacity_kbps"] == 900_000
    })
    .await;
    assert_eq!(cdn(&fresh, "G")["planned_capacity_kbps"], 810_000.0);
    let fresh_weight = fresh["plan"]["groups"][0]["weights"]["LOCAL"]["G"]
        .as_f64()
        .unwrap();

    // G goes silent (its edge stops; it has no alert URL, so it says nothing).
    edge.shutdown.cancel();
    edge.task.await.unwrap();
    let (half, before) = wait_state(&control, "the reservation, halved", |s| {
        cdn(s, "G")["planned_capacity_kbps"] == 45_000.0
    })
    .await;
    let g = cdn(&half, "G");
    assert_eq!(g["capacity_kbps"], 100_000, "{g}");
    assert_eq!(g["stale"], true);
    assert_eq!(g["status"], "available");
    // Its last figure was never what decayed: 900000 × 0.9 × 0.5 was never planned.
    for s in &before {
        assert_ne!(cdn(s, "G")["planned_capacity_kbps"], 405_000.0, "{s}");
    }
    let stale_weight = half["plan"]["groups"][0]["weights"]["LOCAL"]["G"]
        .as_f64()
        .unwrap();
    assert!(
        stale_weight < fresh_weight,
        "{stale_weight} vs {fresh_weight}"
    );
    assert!(
        half["partners"][0]["polls_failed"].as_u64().unwrap() >= 1,
        "{half}"
    );
    // One half-life later, half again.
    wait_state(&control, "the reservation, quartered", |s| {
        cdn(s, "G")["planned_capacity_kbps"] == 22_500.0
    })
    .await;
    let last = state(&control).await;
    assert_eq!(cdn(&last, "G")["capacity_kbps"], 100_000);

    shutdown.cancel();
    task.await.unwrap();
}
