//! Rewrite plans: a page with a strong ETag, asked for again with the same pick, is
//! replayed from the plan its first rewrite recorded: same bytes, no tokenizing. An origin
//! that changes the bytes under the same tag gets no broken page: the replay stops
//! rewriting at the first difference and the plan is dropped.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::support::*;

const V1: &str = "<html><img src=\"http://img.xyz.com/a.png\"><p>text</p>\
                  <img srcset=\"//img.xyz.com/s.png 1x, //img.xyz.com/l.png 2x\"></html>";
const V1_FOR_G: &str = "<html><img src=\"http://g.example:8090/img.xyz.com/a.png\"><p>text</p>\
                  <img srcset=\"//g.example:8090/img.xyz.com/s.png 1x, //g.example:8090/img.xyz.com/l.png 2x\"></html>";
/// The same length as V1, other bytes in the first URL.
const V2: &str = "<html><img src=\"http://img.xyz.com/b.png\"><p>text</p>\
                  <img srcset=\"//img.xyz.com/s.png 1x, //img.xyz.com/l.png 2x\"></html>";
const V2_FOR_G: &str = "<html><img src=\"http://g.example:8090/img.xyz.com/b.png\"><p>text</p>\
                  <img srcset=\"//g.example:8090/img.xyz.com/s.png 1x, //g.example:8090/img.xyz.com/l.png 2x\"></html>";

/// An origin serving `body` (which the test may change) with this ETag.
async fn origin(etag: &'static str, body: Arc<Mutex<&'static str>>) -> Origin {
    Origin::start(move |_req| {
        let text = *body.lock().unwrap();
        async move {
            page(
                &[("content-type", "text/html"), ("etag", etag)],
                Bytes::from_static(text.as_bytes()),
            )
        }
    })
    .await
}

async fn counter(proxy: &Proxy, line_start: &str) -> u64 {
    let mut req = request("GET", "/metrics", &[]);
    req.headers_mut().remove("host");
    let text = send_from("127.0.0.1".parse().unwrap(), proxy.metrics, req)
        .await
        .text();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0)
}

async fn plans(proxy: &Proxy) -> [u64; 3] {
    [
        counter(proxy, "front_plans_total{result=\"recorded\"}").await,
        counter(proxy, "front_plans_total{result=\"replayed\"}").await,
        counter(proxy, "front_plans_total{result=\"mismatched\"}").await,
    ]
}

#[tokio::test]
async fn a_page_seen_before_is_replayed_and_a_changed_one_is_never_broken() {
    let body = Arc::new(Mutex::new(V1));
    let origin = origin("\"v1\"", body.clone()).await;
    let proxy = start_default(&origin).await;
    let to_g = [("x-forwarded-for", TO_G)];

    let first = get(proxy.addr, "/", &to_g).await;
    assert_eq!(first.text(), V1_FOR_G);
    assert_eq!(
        plans(&proxy).await,
        [1, 0, 0],
        "recorded on the first rewrite"
    );
    for _ in 0..3 {
        assert_eq!(get(proxy.addr, "/", &to_g).await.text(), V1_FOR_G);
    }
    assert_eq!(plans(&proxy).await, [1, 3, 0], "replayed");
    // Replayed URLs count as rewrites: 3 per page.
    let rewrites = counter(&proxy, "front_rewrites_total{partner=\"G\"}").await;
    assert_eq!(rewrites, 12);
    // The special port's pick is the same: the same plan.
    assert_eq!(get(proxy.special, "/", &[]).await.text(), V1_FOR_G);
    assert_eq!(plans(&proxy).await, [1, 4, 0]);
    // An https page is another rewrite (https partner URLs): its own plan.
    let https = [("x-forwarded-for", TO_G), ("x-forwarded-proto", "https")];
    let for_https = V1_FOR_G.replace("http://g.example", "https://g.example");
    for _ in 0..2 {
        assert_eq!(get(proxy.addr, "/", &https).await.text(), for_https);
    }
    assert_eq!(plans(&proxy).await, [2, 5, 0]);

    // The origin changes the page but not its strong tag: the first URL differs, so it
    // and everything after it pass through as the origin sent them.
    *body.lock().unwrap() = V2;
    assert_eq!(get(proxy.addr, "/", &to_g).await.text(), V2);
    assert_eq!(plans(&proxy).await, [2, 5, 1], "dropped");
    // The next request rewrites the new page, and records it.
    assert_eq!(get(proxy.addr, "/", &to_g).await.text(), V2_FOR_G);
    assert_eq!(get(proxy.addr, "/", &to_g).await.text(), V2_FOR_G);
    assert_eq!(plans(&proxy).await, [3, 6, 1]);
}

#[tokio::test]
async fn weak_or_missing_tags_and_a_cache_of_zero_never_replay() {
    let body = Arc::new(Mutex::new(V1));
    let weak = origin("W/\"v1\"", body.clone()).await;
    let proxy = start_default(&weak).await;
    for _ in 0..2 {
        assert_eq!(get(proxy.special, "/", &[]).await.text(), V1_FOR_G);
    }
    assert_eq!(plans(&proxy).await, [0, 0, 0], "weak tag");

    let strong = origin("\"v1\"", body).await;
    let d = deployment(strong.addr, "rewrite_cache_mb = 0");
    let proxy = start(&d, Default::default()).await;
    for _ in 0..2 {
        assert_eq!(get(proxy.special, "/", &[]).await.text(), V1_FOR_G);
    }
    assert_eq!(plans(&proxy).await, [0, 0, 0], "cache off");
}
