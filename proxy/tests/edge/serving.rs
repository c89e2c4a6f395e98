//! Priority 1: the three forms and Host-is-origin, back-door fetches keeping the origin's
//! Host, statuses and headers passed through, Via, loops, methods, refusals.

use crate::support::{Origin, TestEdge, client, deployment, get, raw_status, route, send};

#[tokio::test]
async fn the_three_forms_and_the_origin_host_are_fetched_with_the_origin_host() {
    let origin = Origin::start(vec![]).await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let cases = [
        (
            "foo.cdn-g.example",
            "/img.xyz.com/a.gif?v=1",
            "host=img.xyz.com path=/a.gif?v=1",
        ),
        (
            "xyz.cdn-g.example",
            "/b.gif",
            "host=img.xyz.com path=/b.gif",
        ),
        (
            "img.xyz.com.c.cdn-g.example",
            "/c.gif",
            "host=img.xyz.com path=/c.gif",
        ),
        ("img.xyz.com", "/d.gif", "host=img.xyz.com path=/d.gif"),
        ("IMG.XYZ.COM.", "/e.gif", "host=img.xyz.com path=/e.gif"),
        (
            "foo.cdn-g.example",
            "/img.xyz.com:8080/f.gif",
            "host=img.xyz.com:8080 path=/f.gif",
        ),
        (
            "img.xyz.com:8080",
            "/g.gif",
            "host=img.xyz.com:8080 path=/g.gif",
        ),
    ];
    for (host, path, want) in cases {
        let got = get(&c, edge.addr, host, path).await;
        assert_eq!(got.status, 200, "{host}{path}");
        assert_eq!(got.text(), want, "{host}{path}");
        assert_eq!(got.header("x-origin"), Some("yes"));
        assert_eq!(got.header("x-cache"), Some("MISS"));
        assert_eq!(got.header("via"), Some("1.1 G-edge"));
    }
    assert_eq!(origin.requests(), cases.len());
    for seen in origin.seen() {
        assert_eq!(seen.headers.get("via").unwrap(), "1.1 G-edge");
    }
}

#[tokio::test]
async fn statuses_and_headers_pass_through() {
    let origin = Origin::start(vec![
        (
            "/gone",
            route(
                404,
                &[("x-why", "nothing here"), ("cache-control", "max-age=60")],
                "no",
            ),
        ),
        (
            "/moved",
            route(301, &[("location", "http://img.xyz.com/new")], ""),
        ),
        ("/broken", route(503, &[("retry-after", "7")], "down")),
    ])
    .await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let got = get(&c, edge.addr, "img.xyz.com", "/gone").await;
    assert_eq!(
        (
            got.status.as_u16(),
            got.header("x-why"),
            got.text().as_str()
        ),
        (404, Some("nothing here"), "no")
    );
    let got = get(&c, edge.addr, "img.xyz.com", "/moved").await;
    assert_eq!(
        (got.status.as_u16(), got.header("location")),
        (301, Some("http://img.xyz.com/new"))
    );
    let got = get(&c, edge.addr, "img.xyz.com", "/broken").await;
    assert_eq!(
        (
            got.status.as_u16(),
            got.header("retry-after"),
            got.text().as_str()
        ),
        (503, Some("7"), "down")
    );
    assert_eq!(got.header("x-cache"), Some("PASS"));
    // A 404 with a lifetime is cached like any response; the 503 is not.
    assert_eq!(
        get(&c, edge.addr, "img.xyz.com", "/gone")
            .await
            .header("x-cache"),
        Some("HIT")
    );
    get(&c, edge.addr, "img.xyz.com", "/broken").await;
    assert_eq!(
        origin.seen().iter().filter(|s| s.path == "/broken").count(),
        2
    );
    assert_eq!(
        origin.seen().iter().filter(|s| s.path == "/gone").count(),
        1
    );
}

#[tokio::test]
async fn head_has_the_headers_of_get_and_no_body() {
    let origin = Origin::start(vec![]).await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let head = send(&c, edge.addr, "HEAD", "img.xyz.com", "/h", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let len = "host=img.xyz.com path=/h".len().to_string();
    assert_eq!(head.header("content-length"), Some(len.as_str()));
    let got = get(&c, edge.addr, "img.xyz.com", "/h").await;
    assert_eq!(
        (got.header("x-cache"), got.text().as_str()),
        (Some("HIT"), "host=img.xyz.com path=/h")
    );
}

#[tokio::test]
async fn own_via_is_a_loop_and_other_methods_are_refused_without_fetching() {
    let origin = Origin::start(vec![]).await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let looped = send(
        &c,
        edge.addr,
        "GET",
        "img.xyz.com",
        "/a",
        &[("via", "1.1 cdn-c, 1.1 g-edge")],
    )
    .await;
    assert_eq!(looped.status, 508);
    let other = send(
        &c,
        edge.addr,
        "GET",
        "img.xyz.com",
        "/a",
        &[("via", "1.1 cdn-c")],
    )
    .await;
    assert_eq!(other.status, 200);
    let post = send(&c, edge.addr, "POST", "img.xyz.com", "/a", &[]).await;
    assert_eq!(
        (post.status.as_u16(), post.header("allow")),
        (405, Some("GET, HEAD"))
    );
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn refusals_say_why_and_connect_nowhere() {
    let origin = Origin::start(vec![]).await;
    let edge = TestEdge::start(&deployment(origin.addr, 16, "")).await;
    let c = client();
    let got = get(&c, edge.addr, "foo.cdn-g.example", "/evil.example/x").await;
    assert_eq!(
        (got.status.as_u16(), got.text().as_str()),
        (403, "origin not allowed for this offloader\n")
    );
    assert_eq!(
        get(&c, edge.addr, "unknown.example", "/x").await.status,
        404
    );
    assert_eq!(
        get(&c, edge.addr, "evil.example.c.cdn-g.example", "/x")
            .await
            .status,
        403
    );
    // No Host at all (HTTP/1.0).
    assert_eq!(raw_status(edge.addr, b"GET /x HTTP/1.0\r\n\r\n").await, 400);
    // An absolute-form target's authority wins over Host.
    let abs = b"GET http://evil.example/img.xyz.com/x HTTP/1.1\r\nHost: foo.cdn-g.example\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_status(edge.addr, abs).await, 404);
    assert_eq!(
        origin.connections.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn an_unreachable_back_door_is_a_bad_gateway() {
    // A port nothing listens on: bind, learn it, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let edge = TestEdge::start(&deployment(dead, 16, "")).await;
    let got = get(&client(), edge.addr, "img.xyz.com", "/x").await;
    assert_eq!(got.status, 502);
    assert!(
        got.text().starts_with("origin unreachable"),
        "{}",
        got.text()
    );
}
