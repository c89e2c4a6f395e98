//! The HTTP API with curl: token, state, operations in text and JSON, reset, metrics.

use crate::support::{TOKEN, World, curl};

fn auth() -> String {
    format!("Authorization: Bearer {TOKEN}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_needs_the_token() {
    let w = World::start().await;
    let url = format!("{}/api/state", w.api());
    let (status, _) = curl(&[&url]).await;
    assert_eq!(status, 401);
    let (status, _) = curl(&["-H", "Authorization: Bearer wrong", &url]).await;
    assert_eq!(status, 401);
    let events = format!("{}/api/events", w.api());
    let (status, _) = curl(&["--data-binary", "RESET!", &events]).await;
    assert_eq!(status, 401);
    let (status, body) = curl(&["-H", &auth(), &url]).await;
    assert_eq!(status, 200, "{body}");
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["cdns"].as_array().unwrap().len(), 2);
    assert_eq!(state["cdns"][1]["reserved_kbps"], 100_000);
    assert_eq!(state["partners"][0]["name"], "G");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_in_text_and_json_apply_all_or_nothing() {
    let w = World::start().await;
    let events = format!("{}/api/events", w.api());
    let g0 = w.state().await.generation();
    // §3 text with an error in its second line: 400 at LINE:COL, nothing changed.
    let (status, body) = curl(&[
        "-H",
        &auth(),
        "--data-binary",
        "ADD CST a.example [ C; ]!\nDEL CST nobody.example!",
        &events,
    ])
    .await;
    assert_eq!(status, 400, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"], "2:9 unknown customer nobody.example");
    assert_eq!(w.state().await.customers(), ["img.xyz.com"]);
    // JSON: the error names the operation.
    let (status, body) = curl(&[
        "-H",
        &auth(),
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"[{"op":"add_customer","name":"a.example","cdns":["C"]},{"op":"load","cdn":"Q","kbps":1}]"#,
        &events,
    ])
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("ops[1]: unknown cdn Q"), "{body}");
    assert_eq!(w.state().await.customers(), ["img.xyz.com"]);
    // A good JSON batch.
    let (status, body) = curl(&[
        "-H",
        &auth(),
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"[{"op":"add_customer","name":"a.example","cdns":["C","G"]},{"op":"load","cdn":"G","region":"FRANCE","kbps":1234}]"#,
        &events,
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    let ok: serde_json::Value = serde_json::from_str(&body).unwrap();
    let state = w.state().await;
    assert_eq!(ok["generation"].as_u64(), Some(state.generation()));
    assert!(state.generation() > g0);
    assert_eq!(state.customers(), ["a.example", "img.xyz.com"]);
    assert_eq!(state.cdn("G")["region_loads_kbps"]["FRANCE"], 1234);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_rereads_the_files_and_a_bad_file_changes_nothing() {
    let w = World::start().await;
    let reset = format!("{}/api/reset", w.api());
    let cdn = w.dir.path().join("cdn.txt");
    std::fs::write(
        &cdn,
        "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; ]!\nADD CDN G:250000 {A:192.0.2.20} [ SPAIN:60; ]!\n",
    )
    .unwrap();
    let (status, body) = curl(&["-H", &auth(), "-X", "POST", &reset]).await;
    assert_eq!(status, 400, "{body}");
    let expected = format!(
        "{}:2:35: unknown region SPAIN (not in regions.txt)",
        cdn.display()
    );
    assert!(body.contains(&expected), "{body}");
    assert_eq!(w.state().await.cdn("G")["reserved_kbps"], 100_000);
    std::fs::write(
        &cdn,
        "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; ]!\nADD CDN G:250000 {A:192.0.2.20} [ FRANCE:60; ]!\n",
    )
    .unwrap();
    let (status, body) = curl(&["-H", &auth(), "-X", "POST", &reset]).await;
    assert_eq!(status, 200, "{body}");
    let state = w.state().await;
    assert_eq!(state.cdn("G")["reserved_kbps"], 250_000);
    assert_eq!(state.cdn("G")["capacity_kbps"], 250_000);
    // RESET! in a management-style batch does the same.
    let (status, body) = curl(&[
        "-H",
        &auth(),
        "--data-binary",
        "RESET!",
        &format!("{}/api/events", w.api()),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_events_and_plans() {
    let w = World::start().await;
    let (status, _) = curl(&[
        "-H",
        &auth(),
        "--data-binary",
        "LOAD G,CDNTOTAL:100000!",
        &format!("{}/api/events", w.api()),
    ])
    .await;
    assert_eq!(status, 200);
    let (status, body) = curl(&[&format!("{}/metrics", w.api())]).await;
    assert_eq!(status, 200);
    let generation = w.state().await.generation();
    assert!(
        body.contains(&format!("cdnbroker_control_plan_generation {generation}")),
        "{body}"
    );
    assert!(
        body.contains("cdnbroker_control_events_total{kind=\"load\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("cdnbroker_control_plan_changes_total 1"),
        "{body}"
    );
    w.stop().await;
}
