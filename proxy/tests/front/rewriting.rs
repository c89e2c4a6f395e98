//! Pages rewritten per pick: the partner's form for clients the plan sends to G, the page
//! untouched for clients C keeps, the special port forcing G, X-Forwarded-For believed
//! only from trusted proxies, and picks stable per client that follow the weights.

use crate::support::*;

const HTML: &str = "<html><head><link rel=stylesheet href='http://img.xyz.com/s.css'></head>\
<body><img src=\"http://img.xyz.com/a.png?v=1\"><a href=\"http://img.xyz.com/page\">x</a>\
<img src=//img.xyz.com/b.png><img src=\"http://other.example/c.png\"></body></html>";

const HTML_FOR_G: &str = "<html><head><link rel=stylesheet href='http://g.example:8090/img.xyz.com/s.css'></head>\
<body><img src=\"http://g.example:8090/img.xyz.com/a.png?v=1\"><a href=\"http://img.xyz.com/page\">x</a>\
<img src=//g.example:8090/img.xyz.com/b.png><img src=\"http://other.example/c.png\"></body></html>";

async fn html_origin() -> Origin {
    Origin::fixed(
        &[
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "public, max-age=300"),
            ("etag", "\"v1\""),
        ],
        HTML.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn clients_sent_to_g_get_g_urls_with_per_client_headers() {
    let origin = html_origin().await;
    let proxy = start_default(&origin).await;
    let got = get(proxy.addr, "/index.html?q=1", &[("x-forwarded-for", TO_G)]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.text(), HTML_FOR_G);
    assert_eq!(got.header("cache-control"), Some("private, max-age=300"));
    assert_eq!(got.header("content-length"), None);
    // The origin's validator, made weak and tied to the pick (conditional.rs).
    assert!(
        got.header("etag")
            .is_some_and(|t| t.starts_with("W/\"v1.G-embedded.")),
        "{got:?}"
    );
    assert_eq!(got.header("via"), Some("1.1 C-proxy"));
    let seen = origin.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/index.html?q=1");
    assert_eq!(seen[0].headers["host"], "www.xyz.com");
    assert_eq!(seen[0].headers["via"], "1.1 C-proxy");
    // The trusted hop's list is kept and the hop itself added.
    let xff: Vec<_> = seen[0].headers.get_all("x-forwarded-for").iter().collect();
    assert_eq!(xff, [TO_G, "127.0.0.1"]);
}

#[tokio::test]
async fn clients_c_keeps_get_the_page_unchanged_but_private() {
    let origin = html_origin().await;
    let proxy = start_default(&origin).await;
    let got = get(proxy.addr, "/", &[("x-forwarded-for", TO_C)]).await;
    assert_eq!(got.text(), HTML);
    assert_eq!(got.header("cache-control"), Some("private, max-age=300"));
    // Same bytes, but a validator of this pick: were the client sent to G later, its
    // copy must not be confirmed (conditional.rs).
    assert!(
        got.header("etag")
            .is_some_and(|t| t.starts_with("W/\"v1.self.")),
        "{got:?}"
    );
    assert_eq!(
        got.header("content-length"),
        Some(HTML.len().to_string().as_str())
    );
}

#[tokio::test]
async fn the_special_port_always_picks_its_partner() {
    let origin = html_origin().await;
    let proxy = start_default(&origin).await;
    let got = get(proxy.special, "/", &[("x-forwarded-for", TO_C)]).await;
    assert_eq!(got.text(), HTML_FOR_G);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let origin = html_origin().await;
    // Only 127.0.0.2 is trusted; 127.0.0.1 is in no region (DEFAULT: C).
    let d = deployment(origin.addr, "trusted_proxies = [\"127.0.0.2\"]");
    let proxy = start(&d, Default::default()).await;
    let xff = [("x-forwarded-for", TO_G)];
    let untrusted = send_from(
        "127.0.0.1".parse().unwrap(),
        proxy.addr,
        request("GET", "/", &xff),
    );
    assert_eq!(untrusted.await.text(), HTML);
    let trusted = send_from(
        "127.0.0.2".parse().unwrap(),
        proxy.addr,
        request("GET", "/", &xff),
    );
    assert_eq!(trusted.await.text(), HTML_FOR_G);
    // The untrusted client's claim did not reach the origin either.
    let first = &origin.seen()[0];
    let xff: Vec<_> = first.headers.get_all("x-forwarded-for").iter().collect();
    assert_eq!(xff, ["127.0.0.1"]);
}

#[tokio::test]
async fn picks_are_stable_per_client_and_follow_the_weights() {
    let origin = html_origin().await;
    let proxy = start_default(&origin).await;
    let n = 120;
    let mut to_g = 0;
    for i in 0..n {
        let client = format!("10.3.{}.{}", i / 200, i % 200 + 1);
        let xff = [("x-forwarded-for", client.as_str())];
        let first = get(proxy.addr, "/", &xff).await.text();
        let again = get(proxy.addr, "/", &xff).await.text();
        assert_eq!(first, again, "client {client} changed CDN");
        assert!(first == HTML || first == HTML_FOR_G, "{first}");
        to_g += usize::from(first == HTML_FOR_G);
    }
    // Planned share 0.5; 4 standard deviations of a binomial(120, 0.5) is ±22.
    assert!((38..=82).contains(&to_g), "{to_g} of {n} went to G");
}

#[tokio::test]
async fn css_urls_are_rewritten_too() {
    let css = "body{background:url(http://img.xyz.com/bg.png)}@import 'http://img.xyz.com/x.css';";
    let origin = Origin::fixed(&[("content-type", "text/css")], css.as_bytes()).await;
    let proxy = start_default(&origin).await;
    let got = get(proxy.addr, "/s.css", &[("x-forwarded-for", TO_G)]).await;
    assert_eq!(
        got.text(),
        "body{background:url(http://g.example:8090/img.xyz.com/bg.png)}\
         @import 'http://g.example:8090/img.xyz.com/x.css';"
    );
}

#[tokio::test]
async fn counters_are_served_in_prometheus_text() {
    let origin = html_origin().await;
    let proxy = start_default(&origin).await;
    assert_eq!(proxy.https, None, "no https_listen, no TLS listener");
    get(proxy.addr, "/", &[("x-forwarded-for", TO_G)]).await;
    get(proxy.addr, "/", &[("x-forwarded-for", TO_C)]).await;
    let mut req = request("GET", "/metrics", &[]);
    req.headers_mut().remove("host");
    let metrics = send_from("127.0.0.1".parse().unwrap(), proxy.metrics, req).await;
    let text = metrics.text();
    assert_eq!(metrics.status, 200);
    for line in [
        "front_requests_total{outcome=\"rewritten\"} 1",
        "front_requests_total{outcome=\"unchanged\"} 1",
        "front_pages_total{cdn=\"G\"} 1",
        "front_pages_total{cdn=\"C\"} 1",
        "front_rewrites_total{partner=\"G\"} 3",
        "front_origin_seconds_count 2",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
}

#[tokio::test]
async fn each_offload_host_is_picked_under_its_own_plan_customer() {
    let page = "<img src=\"http://img.xyz.com/a.png\"><img src=\"http://cdn.xyz.com/b.png\">";
    let origin = Origin::fixed(&[("content-type", "text/html")], page.as_bytes()).await;
    let mut d = deployment(origin.addr, "trusted_proxies = [\"127.0.0.1\"]");
    // customer.txt lists img.xyz.com only: cdn.xyz.com (nor `xyz`) has no plan, stays.
    let cdn = broker_config::deploy::HostPort::parse("cdn.xyz.com").unwrap();
    d.customers[0].offload.push(cdn);
    let proxy = start(&d, Default::default()).await;
    let got = get(proxy.addr, "/", &[("x-forwarded-for", TO_G)]).await;
    assert_eq!(
        got.text(),
        "<img src=\"http://g.example:8090/img.xyz.com/a.png\"><img src=\"http://cdn.xyz.com/b.png\">"
    );
    // The special port forces G for every offload host.
    let forced = get(proxy.special, "/", &[]).await;
    assert_eq!(
        forced.text(),
        "<img src=\"http://g.example:8090/img.xyz.com/a.png\">\
         <img src=\"http://g.example:8090/cdn.xyz.com/b.png\">"
    );
}

#[tokio::test]
async fn a_trusted_proxys_https_gets_https_partner_urls() {
    let origin = Origin::fixed(&[("content-type", "text/html")], HTML.as_bytes()).await;
    let proxy = start_default(&origin).await;
    let got = get(
        proxy.addr,
        "/",
        &[("x-forwarded-for", TO_G), ("x-forwarded-proto", "https")],
    )
    .await;
    assert!(
        got.text()
            .contains("href='https://g.example:8090/img.xyz.com/s.css'"),
        "{}",
        got.text()
    );
    assert_eq!(origin.seen()[0].headers["x-forwarded-proto"], "https");
}

#[tokio::test]
async fn a_request_that_already_went_through_us_is_a_loop() {
    let origin = Origin::fixed(&[], b"x").await;
    let proxy = start_default(&origin).await;
    let got = get(proxy.addr, "/", &[("via", "1.1 other, 1.1 C-proxy")]).await;
    assert_eq!(got.status, 508);
    assert!(origin.seen().is_empty());
}
