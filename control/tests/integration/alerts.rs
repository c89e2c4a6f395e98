//! The alert receiver (spec §4) over HTTPS with curl.

use crate::support::{G_TOKEN, TOKEN, World, curl};

async fn post(w: &World, token: Option<&str>, body: &str) -> (u16, String) {
    let ca = w.ca();
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let mut args = vec!["--cacert", ca.to_str().unwrap(), "--data-binary", body];
    if let Some(a) = &auth {
        args.extend(["-H", a.as_str()]);
    }
    let url = w.alerts();
    args.push(&url);
    curl(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_refused_without_the_partners_token_or_a_known_partner() {
    let w = World::start().await;
    let g0 = w.state().await.generation();
    let (status, body) = post(&w, None, "G Unavailable").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(post(&w, Some("wrong"), "G Unavailable").await.0, 401);
    // The management token is not a partner's.
    assert_eq!(post(&w, Some(TOKEN), "G Unavailable").await.0, 401);
    let (status, body) = post(&w, Some(G_TOKEN), "G Loud aggregate=5").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.starts_with("1:3: "), "{body}");
    assert_eq!(post(&w, Some(G_TOKEN), "X Unavailable").await.0, 403);
    // C is a CDN of the model but not a partner: G's token cannot speak for it.
    assert_eq!(post(&w, Some(G_TOKEN), "C Unavailable").await.0, 403);
    let state = w.state().await;
    assert_eq!(state.generation(), g0);
    assert_eq!(state.cdn("G")["status"], "available");
    assert_eq!(state.cdn("C")["status"], "available");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_alert_takes_the_partner_out_of_the_plan_before_the_answer() {
    let w = World::start().await;
    let plan = w.control.plan();
    let customer = broker_config::DnsName::new("img.xyz.com").unwrap();
    let has_g = |live: &broker_policy::live::LivePlan| {
        live.shares(&customer, "LOCAL")
            .unwrap()
            .iter()
            .any(|s| s.cdn.as_str() == "G")
    };
    assert!(has_g(&plan.load()));
    let (status, body) = post(&w, Some(G_TOKEN), "G Unavailable").await;
    assert_eq!(status, 204, "{body}");
    // The 204 comes after the new plan is published: no waiting needed.
    assert!(!has_g(&plan.load()));
    let state = w.state().await;
    assert_eq!(state.cdn("G")["status"], "unavailable");
    assert_eq!(state.weight("img.xyz.com", "FRANCE", "G"), 0.0);
    assert_eq!(state.0["partners"][0]["alerts"], 1);
    // A load report brings it back.
    let (status, _) = post(&w, Some(G_TOKEN), "G Load aggregate=10,1").await;
    assert_eq!(status, 204);
    assert!(has_g(&plan.load()));
    w.stop().await;
}
