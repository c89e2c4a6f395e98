//! Priority 4: §4 status reports over HTTPS, per-offloader bearer tokens, load measured
//! from the bytes the edge really served, per region of the client's address.

use broker_proxy::edge::Regions;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};

use crate::pki::Pki;
use crate::support::{Origin, TestEdge, client, deployment, get, route};

const OTHER: &str = r#"
[[edge.offloader]]
name = "D"
token = "secret-d-to-g"
embedded_hosts = ["d.cdn-g.example"]
origins = { "img.abc.com" = "http://127.0.0.1:9" }
"#;

async fn status(
    pki: &Pki,
    edge: &TestEdge,
    target: &str,
    token: Option<&str>,
) -> (u16, String, Option<String>) {
    let url = format!("https://127.0.0.1:{}{target}", edge.status.unwrap().port());
    let mut req = Request::get(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = pki
        .https_client()
        .request(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let auth = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap(), auth)
}

#[tokio::test]
async fn reports_load_per_offloader_and_region_with_tokens() {
    // 25,000-byte objects; 40 served in one 20-second window = 400 kbps, 2 hits/s.
    let body: &'static str = Box::leak("z".repeat(25_000).into_boxed_str());
    let origin = Origin::start(vec![(
        "/obj",
        route(200, &[("cache-control", "max-age=600")], body),
    )])
    .await;
    let pki = Pki::new();
    let regions = Regions::new([
        ("local", vec!["127.0.0.0/8".parse().unwrap()]),
        ("far", vec!["10.0.0.0/8".parse().unwrap()]),
    ])
    .unwrap();
    let toml = deployment(origin.addr, 16, &format!("capacity_kbps = 100000\n{OTHER}"));
    let tls = (
        tempfile::tempdir().unwrap(),
        pki.cert.clone(),
        pki.key.clone(),
    );
    let edge = TestEdge::start_with(&toml, regions, Some(tls), |_| {}).await;
    let c = client();
    for _ in 0..40 {
        assert_eq!(
            get(&c, edge.addr, "img.xyz.com", "/obj").await.body.len(),
            25_000
        );
    }
    let tok = Some("secret-c-to-g");
    assert_eq!(
        status(&pki, &edge, "/load?aggregate&20", tok).await.1,
        "Load aggregate=400,2\n"
    );
    assert_eq!(
        status(&pki, &edge, "/load?region=all&20", tok).await.1,
        "Load local=400,2,far=0,0,DEFAULT=0,0\n"
    );
    assert_eq!(
        status(&pki, &edge, "/load?region=(far,local)&20", tok)
            .await
            .1,
        "Load far=0,0,local=400,2\n"
    );
    assert_eq!(
        status(&pki, &edge, "/load?region=mars&20", tok).await.1,
        "Unavailable\n"
    );
    assert_eq!(
        status(&pki, &edge, "/capacity?aggregate&20", tok).await.1,
        "Capacity aggregate=99600\n"
    );
    assert_eq!(
        status(&pki, &edge, "/capacity?region=all", tok).await.1,
        "Unavailable\n"
    );
    // The default period (300 s) averages the same bytes over longer.
    assert_eq!(
        status(&pki, &edge, "/load?aggregate", tok).await.1,
        "Load aggregate=26,0\n"
    );
    // D sees only its own traffic, and has no capacity figure.
    let d = Some("secret-d-to-g");
    assert_eq!(
        status(&pki, &edge, "/load?aggregate&20", d).await.1,
        "Load aggregate=0,0\n"
    );
    assert_eq!(
        status(&pki, &edge, "/capacity?aggregate", d).await.1,
        "Unavailable\n"
    );
}

#[tokio::test]
async fn unauthenticated_and_unparsable_requests_are_refused() {
    let origin = Origin::start(vec![]).await;
    let pki = Pki::new();
    let tls = (
        tempfile::tempdir().unwrap(),
        pki.cert.clone(),
        pki.key.clone(),
    );
    let edge = TestEdge::start_with(
        &deployment(origin.addr, 16, ""),
        Regions::default_only(),
        Some(tls),
        |_| {},
    )
    .await;
    let (code, _, auth) = status(&pki, &edge, "/load?aggregate", None).await;
    assert_eq!(
        (code, auth.as_deref()),
        (401, Some("Bearer realm=\"status\""))
    );
    assert_eq!(
        status(&pki, &edge, "/load?aggregate", Some("secret-c-to-x"))
            .await
            .0,
        401
    );
    for bad in [
        "/load?regio=x",
        "/loads?aggregate",
        "/load?aggregate&0",
        "/load?region=(a,",
        "/",
    ] {
        let (code, body, _) = status(&pki, &edge, bad, Some("secret-c-to-g")).await;
        assert_eq!(code, 400, "{bad}");
        assert_eq!(body.lines().count(), 1, "{bad}: {body}");
        assert!(body.len() > 5, "{bad}: a reason is given");
    }
    assert_eq!(
        status(&pki, &edge, "/load?aggregate", Some("secret-c-to-g"))
            .await
            .1,
        "Load aggregate=0,0\n"
    );
}
