//! The edge's Prometheus counters, read over HTTP from its metrics listener after real
//! requests: per offloader requests, hits, misses, origin fetches, bytes and refusals.

use crate::support::{Origin, TestEdge, client, deployment, get, send};

/// The value of the sample whose series (name and labels) is `series`.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn counters_follow_what_the_edge_served_and_refused() {
    let origin = Origin::start(vec![]).await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let first = get(&c, edge.addr, "foo.cdn-g.example", "/img.xyz.com/a.gif").await;
    let second = get(&c, edge.addr, "xyz.cdn-g.example", "/a.gif").await;
    assert_eq!(
        (first.header("x-cache"), second.header("x-cache")),
        (Some("MISS"), Some("HIT"))
    );
    let forbidden = get(&c, edge.addr, "foo.cdn-g.example", "/evil.example/x").await;
    let unknown = get(&c, edge.addr, "evil.example", "/x").await;
    let via = [("via", "1.1 g-edge")];
    let looped = send(&c, edge.addr, "GET", "img.xyz.com", "/a.gif", &via).await;
    assert_eq!(
        (
            forbidden.status.as_u16(),
            unknown.status.as_u16(),
            looped.status.as_u16()
        ),
        (403, 404, 508)
    );

    let metrics = format!("http://{}", edge.metrics);
    let text = get(&c, edge.metrics, "x", "/metrics").await;
    assert_eq!(text.status, 200);
    assert!(
        text.header("content-type")
            .unwrap()
            .starts_with("text/plain"),
        "Prometheus text format"
    );
    let text = text.text();
    let c_series = |name: &str| sample(&text, &format!("cdnbroker_edge_{name}{{offloader=\"C\"}}"));
    assert_eq!(c_series("requests_total"), Some(4), "{text}");
    assert_eq!(c_series("cache_hits_total"), Some(1));
    assert_eq!(c_series("cache_misses_total"), Some(1));
    assert_eq!(
        c_series("origin_fetches_total"),
        Some(origin.requests() as u64)
    );
    let served = (first.body.len() + second.body.len()) as u64;
    assert!(served > 0);
    assert_eq!(c_series("bytes_served_total"), Some(served));
    let refused = |offloader: &str, status: u16| {
        let series = format!(
            "cdnbroker_edge_refused_total{{offloader=\"{offloader}\",status=\"{status}\"}}"
        );
        sample(&text, &series)
    };
    assert_eq!(refused("C", 403), Some(1));
    assert_eq!(refused("C", 508), Some(1));
    assert_eq!(refused("", 404), Some(1), "a host no offloader uses");
    let other = get(&c, edge.metrics, "x", "/other").await;
    assert_eq!(other.status, 404, "{metrics} serves only /metrics");
}
