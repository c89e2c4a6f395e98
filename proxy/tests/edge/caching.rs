//! Priority 3: the cache. Freshness from Cache-Control/Expires, revalidation with ETag
//! and Last-Modified, Vary, client conditionals and ranges, no-store, the size bound, and
//! a flash crowd of 1,000 concurrent requests for one cold object making one fetch.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::task::JoinSet;

use crate::support::{Origin, TestEdge, client, deployment, get, route, send};

const LM: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

#[tokio::test]
async fn fresh_objects_are_hits_until_they_expire() {
    let origin = Origin::start(vec![
        (
            "/expires",
            route(
                200,
                &[("expires", "Thu, 01 Jan 2099 00:00:00 GMT")],
                "future",
            ),
        ),
        (
            "/expired",
            route(200, &[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")], "past"),
        ),
        (
            "/nostore",
            route(200, &[("cache-control", "no-store, max-age=600")], "never"),
        ),
        (
            "/private",
            route(200, &[("cache-control", "private, max-age=600")], "mine"),
        ),
    ])
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    for (path, want) in [
        ("/default", "HIT"),
        ("/expires", "HIT"),
        ("/expired", "PASS"),
        ("/nostore", "PASS"),
        ("/private", "PASS"),
    ] {
        get(&c, edge.addr, "img.xyz.com", path).await;
        let second = get(&c, edge.addr, "img.xyz.com", path).await;
        assert_eq!(second.header("x-cache"), Some(want), "{path}");
    }
    let count = |p: &str| origin.seen().iter().filter(|s| s.path == p).count();
    assert_eq!((count("/default"), count("/expires")), (1, 1));
    assert_eq!(
        (count("/expired"), count("/nostore"), count("/private")),
        (2, 2, 2)
    );
    assert_eq!(edge.edge.origin_fetches(), 8);
}

/// An origin that answers 304 to a matching validator and counts full answers.
fn validating(
    etag: Option<&'static str>,
    lm: Option<&'static str>,
    full: Arc<AtomicUsize>,
) -> crate::support::Route {
    Arc::new(move |req: &Request<Incoming>| {
        let inm = req
            .headers()
            .get("if-none-match")
            .map(|v| v.to_str().unwrap().to_owned());
        let ims = req
            .headers()
            .get("if-modified-since")
            .map(|v| v.to_str().unwrap().to_owned());
        let matches = (etag.is_some() && inm.as_deref() == etag)
            || (etag.is_none() && lm.is_some() && ims.as_deref() == lm);
        let mut b = Response::builder().header("cache-control", "max-age=0");
        if let Some(e) = etag {
            b = b.header("etag", e);
        }
        if let Some(l) = lm {
            b = b.header("last-modified", l);
        }
        if matches {
            b.status(304)
                .header("x-revalidated", "yes")
                .body(Full::new(Bytes::new()))
                .unwrap()
        } else {
            full.fetch_add(1, Ordering::SeqCst);
            b.body(Full::new(Bytes::from_static(b"validated body")))
                .unwrap()
        }
    })
}

#[tokio::test]
async fn stale_objects_are_revalidated_with_etag_and_last_modified() {
    let (full_etag, full_lm) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let origin = Origin::start(vec![
        ("/etag", validating(Some("\"v1\""), None, full_etag.clone())),
        ("/lm", validating(None, Some(LM), full_lm.clone())),
    ])
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    for path in ["/etag", "/lm"] {
        let first = get(&c, edge.addr, "img.xyz.com", path).await;
        assert_eq!(first.header("x-cache"), Some("MISS"));
        for _ in 0..3 {
            let again = get(&c, edge.addr, "img.xyz.com", path).await;
            assert_eq!(
                (
                    again.status.as_u16(),
                    again.header("x-cache"),
                    again.text().as_str()
                ),
                (200, Some("REVALIDATED"), "validated body")
            );
            // The 304's fields update the stored ones.
            assert_eq!(again.header("x-revalidated"), Some("yes"));
        }
    }
    assert_eq!(
        (
            full_etag.load(Ordering::SeqCst),
            full_lm.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
    let seen = origin.seen();
    assert_eq!(
        seen.iter()
            .filter(|s| s
                .headers
                .get("if-none-match")
                .is_some_and(|v| v == "\"v1\""))
            .count(),
        3
    );
    assert_eq!(
        seen.iter()
            .filter(|s| s.headers.get("if-modified-since").is_some_and(|v| v == LM))
            .count(),
        3
    );
}

#[tokio::test]
async fn vary_keeps_one_variant_per_request_value() {
    let origin = Origin::start(vec![(
        "/v",
        Arc::new(|req: &Request<Incoming>| {
            let enc = req
                .headers()
                .get("accept-encoding")
                .map_or("none".to_owned(), |v| v.to_str().unwrap().to_owned());
            Response::builder()
                .header("cache-control", "max-age=60")
                .header("vary", "Accept-Encoding")
                .body(Full::new(Bytes::from(format!("enc={enc}"))))
                .unwrap()
        }) as crate::support::Route,
    )])
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let ask = |enc: &'static str| {
        let c = c.clone();
        let addr = edge.addr;
        async move {
            send(
                &c,
                addr,
                "GET",
                "img.xyz.com",
                "/v",
                &[("accept-encoding", enc)],
            )
            .await
        }
    };
    assert_eq!(ask("gzip").await.text(), "enc=gzip");
    assert_eq!(ask("br").await.text(), "enc=br");
    let gzip = ask("gzip").await;
    let br = ask("br").await;
    assert_eq!(
        (gzip.text().as_str(), gzip.header("x-cache")),
        ("enc=gzip", Some("HIT"))
    );
    assert_eq!(
        (br.text().as_str(), br.header("x-cache")),
        ("enc=br", Some("HIT"))
    );
    assert_eq!(origin.requests(), 2);
}

#[tokio::test]
async fn client_conditionals_and_ranges_are_answered_from_the_cache() {
    let origin = Origin::start(vec![(
        "/r",
        route(
            200,
            &[
                ("cache-control", "max-age=60"),
                ("etag", "\"r1\""),
                ("last-modified", LM),
            ],
            "0123456789",
        ),
    )])
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let h = |hs: &'static [(&'static str, &'static str)]| {
        let c = c.clone();
        let addr = edge.addr;
        async move { send(&c, addr, "GET", "img.xyz.com", "/r", hs).await }
    };
    // A range on a miss: the edge fetches the whole object, then slices it.
    let part = h(&[("range", "bytes=2-4")]).await;
    assert_eq!(
        (
            part.status.as_u16(),
            part.text().as_str(),
            part.header("content-range")
        ),
        (206, "234", Some("bytes 2-4/10"))
    );
    assert!(origin.seen()[0].headers.get("range").is_none());
    let tail = h(&[("range", "bytes=-3")]).await;
    assert_eq!((tail.status.as_u16(), tail.text().as_str()), (206, "789"));
    assert_eq!(h(&[("range", "bytes=20-")]).await.status, 416);
    assert_eq!(
        h(&[("range", "bytes=0-1"), ("if-range", "\"old\"")])
            .await
            .status,
        200
    );
    let nm = h(&[("if-none-match", "\"r1\"")]).await;
    assert_eq!(
        (nm.status.as_u16(), nm.header("etag"), nm.body.len()),
        (304, Some("\"r1\""), 0)
    );
    assert_eq!(h(&[("if-modified-since", LM)]).await.status, 304);
    assert_eq!(h(&[("if-none-match", "\"r0\"")]).await.status, 200);
    assert_eq!(origin.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_crowd_of_1000_makes_one_origin_fetch() {
    let origin = Origin::start(vec![]).await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let mut set = JoinSet::new();
    for _ in 0..1000 {
        let addr = edge.addr;
        set.spawn(async move {
            // One connection per client, all at once.
            get(&client(), addr, "foo.cdn-g.example", "/img.xyz.com/hot.gif").await
        });
    }
    let mut hits = 0;
    while let Some(got) = set.join_next().await {
        let got = got.unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(got.text(), "host=img.xyz.com path=/hot.gif");
        hits += usize::from(got.header("x-cache") == Some("HIT"));
    }
    assert_eq!(origin.requests(), 1);
    assert_eq!(origin.connections.load(Ordering::SeqCst), 1);
    assert_eq!(edge.edge.origin_fetches(), 1);
    assert!(hits >= 999 - 1, "{hits} hits");
}

#[tokio::test]
async fn the_cache_stays_within_its_size() {
    // 1 MiB of cache, 200 objects of 20 KB each (4 MB).
    let body: &'static str = Box::leak("x".repeat(20_000).into_boxed_str());
    let origin = Origin::start(
        (0..200)
            .map(|i| {
                let path: &'static str = Box::leak(format!("/o{i}").into_boxed_str());
                (path, route(200, &[("cache-control", "max-age=600")], body))
            })
            .collect(),
    )
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 1, "")).await;
    let c = client();
    for i in 0..200 {
        let got = get(&c, edge.addr, "img.xyz.com", &format!("/o{i}")).await;
        assert_eq!(got.body.len(), 20_000);
    }
    let bytes = edge.edge.cache_bytes().await;
    assert!(bytes <= 1 << 20, "{bytes} bytes cached");
    assert!(
        bytes >= 1 << 19,
        "{bytes} bytes cached: the cache should be used"
    );
}

#[tokio::test]
async fn vary_variants_and_random_query_strings_stay_within_the_cache_size() {
    // 1 MiB of cache; tiny bodies, so entries' own memory is most of what they cost.
    let origin = Origin::start(vec![(
        "/v",
        route(
            200,
            &[("cache-control", "max-age=600"), ("vary", "x-variant")],
            "v",
        ),
    )])
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 1, "")).await;
    let c = client();
    let value = "a".repeat(200);
    for i in 0..3000 {
        let variant = format!("{value}{i}");
        let got = send(
            &c,
            edge.addr,
            "GET",
            "img.xyz.com",
            "/v",
            &[("x-variant", &variant)],
        )
        .await;
        assert_eq!(got.status, 200);
        let query = format!("/v?{i}");
        let got = get(&c, edge.addr, "img.xyz.com", &query).await;
        assert_eq!(got.status, 200);
    }
    let bytes = edge.edge.cache_bytes().await;
    assert!(bytes <= 1 << 20, "{bytes} bytes cached");
    // 6000 variants of ~1 KiB each as weighed: most were evicted.
    assert!(
        bytes >= 1 << 19,
        "{bytes} bytes cached: the cache should be used"
    );
}

#[tokio::test]
async fn objects_too_large_to_store_stream_through_and_ranges_reach_the_origin() {
    // 1 MiB cache: objects over 128 KiB are not stored.
    const LEN: usize = 200_000;
    let origin = Origin::start(vec![(
        "/video",
        Arc::new(|req: &Request<Incoming>| {
            let body = Bytes::from(vec![b'v'; LEN]);
            let b = Response::builder().header("cache-control", "max-age=600");
            match req.headers().get("range") {
                Some(r) if r == "bytes=0-9" => b
                    .status(206)
                    .header("content-range", format!("bytes 0-9/{LEN}"))
                    .body(Full::new(body.slice(0..10)))
                    .unwrap(),
                _ => b.body(Full::new(body)).unwrap(),
            }
        }) as crate::support::Route,
    )])
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 1, "")).await;
    let c = client();
    let first = get(&c, edge.addr, "img.xyz.com", "/video").await;
    assert_eq!(
        (first.body.len(), first.header("x-cache")),
        (LEN, Some("PASS"))
    );
    let part = send(
        &c,
        edge.addr,
        "GET",
        "img.xyz.com",
        "/video",
        &[("range", "bytes=0-9")],
    )
    .await;
    assert_eq!((part.status.as_u16(), part.body.len()), (206, 10));
    assert_eq!(part.header("content-range"), Some("bytes 0-9/200000"));
    let seen = origin.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].headers.get("range").is_none());
    assert_eq!(seen[1].headers.get("range").unwrap(), "bytes=0-9");
    assert!(edge.edge.cache_bytes().await < 100_000);
}
