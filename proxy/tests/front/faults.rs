//! Passing through what is not rewritten, and bad input and faults: unknown hosts,
//! origins down or slow, oversized heads, shutdown with a request in flight.

use std::sync::Arc;
use std::time::Duration;

use broker_proxy::front::FrontSettings;
use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

const HTML: &[u8] = b"<img src=\"http://img.xyz.com/a.png\">";

#[tokio::test]
async fn images_head_and_ranges_pass_through_untouched() {
    let png: &'static [u8] = b"\x89PNG http://img.xyz.com/a.png not a page";
    let origin = Origin::start(move |req| async move {
        match (req.uri().path(), req.headers().get("range")) {
            ("/a.png", _) => page(&[("content-type", "image/png"), ("etag", "\"p\"")], png),
            (_, Some(_)) => Response::builder()
                .status(206)
                .header("content-type", "text/html")
                .header("content-range", "bytes 0-9/36")
                .body(full(&HTML[..10]))
                .unwrap(),
            _ => page(&[("content-type", "text/html")], HTML),
        }
    })
    .await;
    let proxy = start_default(&origin).await;
    let g = [("x-forwarded-for", TO_G)];
    let img = get(proxy.addr, "/a.png", &g).await;
    assert_eq!(img.body, png);
    assert_eq!(
        img.header("content-length"),
        Some(png.len().to_string().as_str())
    );
    assert_eq!(img.header("etag"), Some("\"p\""));
    assert_eq!(img.header("cache-control"), None, "not a per-client page");
    let head = send_from(
        "127.0.0.1".parse().unwrap(),
        proxy.addr,
        request("HEAD", "/", &g),
    )
    .await;
    assert_eq!((head.status.as_u16(), head.body.len()), (200, 0));
    let range = get(proxy.addr, "/", &[g[0], ("range", "bytes=0-9")]).await;
    assert_eq!(range.status, 206);
    assert_eq!(range.body, &HTML[..10]);
    assert_eq!(range.header("content-range"), Some("bytes 0-9/36"));
    // The Range header reached the origin.
    assert!(
        origin
            .seen()
            .iter()
            .any(|s| s.headers.contains_key("range"))
    );
}

#[tokio::test]
async fn unknown_hosts_get_404_and_reach_no_origin() {
    let origin = Origin::fixed(&[], b"x").await;
    let proxy = start_default(&origin).await;
    for host in ["evil.example", "img.xyz.com", "127.0.0.1"] {
        let mut req = request("GET", "/", &[]);
        req.headers_mut().insert("host", host.parse().unwrap());
        let got = send_from("127.0.0.1".parse().unwrap(), proxy.addr, req).await;
        assert_eq!(got.status, 404, "{host}");
    }
    // An absolute-form target naming another host is no way around it.
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(
        b"GET http://evil.example/ HTTP/1.1\r\nHost: www.xyz.com\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(origin.seen().is_empty());
    // Sites match whatever port the client used and any case.
    let mut req = request("GET", "/", &[]);
    req.headers_mut()
        .insert("host", "WWW.xyz.com:8080".parse().unwrap());
    let got = send_from("127.0.0.1".parse().unwrap(), proxy.addr, req).await;
    assert_eq!(got.status, 200);
}

#[tokio::test]
async fn a_dead_origin_is_502_and_the_proxy_stays_up() {
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let d = deployment(addr, "");
    let proxy = start(&d, FrontSettings::default()).await;
    for _ in 0..3 {
        let got = get(proxy.addr, "/", &[]).await;
        assert_eq!(got.status, 502);
        assert!(
            got.body.len() < 200 && got.text().contains("origin"),
            "{}",
            got.text()
        );
    }
}

#[tokio::test]
async fn a_silent_origin_is_504_after_the_origin_timeout() {
    // Accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        loop {
            let (s, _) = silent.accept().await.unwrap();
            conns.push(s);
        }
    });
    let settings = FrontSettings {
        origin_timeout: Duration::from_millis(300),
        ..FrontSettings::default()
    };
    let proxy = start(&deployment(addr, ""), settings).await;
    let started = std::time::Instant::now();
    let got = get(proxy.addr, "/", &[]).await;
    assert_eq!(got.status, 504);
    assert!(started.elapsed() >= Duration::from_millis(300));
    held.abort();
}

#[tokio::test]
async fn oversized_request_heads_get_431() {
    let origin = Origin::fixed(&[], b"x").await;
    let proxy = start_default(&origin).await;
    let big = "a".repeat(100 * 1024);
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    let head = format!("GET / HTTP/1.1\r\nHost: www.xyz.com\r\nX-Big: {big}\r\n\r\n");
    // The proxy may answer and close before it has read everything.
    let _ = s.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(origin.seen().is_empty());
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    // The origin sends its head, then the rest of the body when told.
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let release_rx = Arc::new(release_rx);
    let origin = Origin::start(move |_req| {
        let mut rx = (*release_rx).clone();
        async move {
            let (tx, body_rx) = tokio::sync::mpsc::channel::<Bytes>(4);
            tokio::spawn(async move {
                tx.send(Bytes::from_static(b"<p>first ")).await.unwrap();
                rx.wait_for(|go| *go).await.unwrap();
                tx.send(Bytes::from_static(
                    b"<img src=http://img.xyz.com/x.png></p>",
                ))
                .await
                .unwrap();
            });
            let stream = http_body_util::StreamBody::new(ChannelFrames(body_rx));
            Response::builder()
                .header("content-type", "text/html")
                .body(stream.boxed())
                .unwrap()
        }
    })
    .await;
    let proxy = start_default(&origin).await;
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(
        format!("GET / HTTP/1.1\r\nHost: www.xyz.com\r\nX-Forwarded-For: {TO_G}\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    // Wait for the head: the request is in flight.
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("\r\n\r\n") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    proxy.stop.cancel();
    // New connections are refused once the accept loop stopped...
    let mut refused = false;
    for _ in 0..100 {
        if TcpStream::connect(proxy.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "still accepting after shutdown");
    // ...while the request in flight still completes.
    release_tx.send(true).unwrap();
    s.read_to_end(&mut got).await.unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.contains("<p>first ") && text.contains("g.example:8090/img.xyz.com/x.png"),
        "{text}"
    );
    assert!(
        text.ends_with("0\r\n\r\n"),
        "chunked body ended properly: {text}"
    );
    tokio::time::timeout(Duration::from_secs(5), proxy.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn http2_prior_knowledge_works_on_the_plain_listener() {
    let origin = Origin::fixed(&[("content-type", "text/html")], HTML).await;
    let proxy = start_default(&origin).await;
    let stream = TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .uri("http://www.xyz.com/")
        .header("x-forwarded-for", TO_G)
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body,
        &b"<img src=\"http://g.example:8090/img.xyz.com/a.png\">"[..]
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_head_is_dropped() {
    let origin = Origin::fixed(&[], b"x").await;
    let settings = FrontSettings {
        client_header_timeout: Duration::from_millis(300),
        ..FrontSettings::default()
    };
    let d = deployment(origin.addr, "");
    let proxy = start(&d, settings).await;
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: www.x").await.unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    // The proxy closes the connection (possibly with a 408); it never reaches the origin.
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "connection still open after 10 s");
    assert!(started.elapsed() >= Duration::from_millis(250));
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    assert!(origin.seen().is_empty());
}

#[tokio::test]
async fn an_origin_stalling_mid_body_cuts_the_response_after_the_idle_timeout() {
    let origin = Origin::start(|_req| async {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        tokio::spawn(async move {
            tx.send(Bytes::from_static(b"<p>start")).await.unwrap();
            // Keeps the body open without sending more.
            tx.closed().await;
        });
        Response::builder()
            .header("content-type", "text/html")
            .body(http_body_util::StreamBody::new(ChannelFrames(rx)).boxed())
            .unwrap()
    })
    .await;
    let settings = FrontSettings {
        origin_idle_timeout: Duration::from_millis(300),
        ..FrontSettings::default()
    };
    let proxy = start(&deployment(origin.addr, ""), settings).await;
    let stream = TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let started = std::time::Instant::now();
    let resp = sender.send_request(request("GET", "/", &[])).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect())
        .await
        .expect("the proxy must cut a stalled body");
    assert!(body.is_err(), "a cut body must not look complete");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_with_its_origin_fetch() {
    let (released_tx, released_rx) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(std::sync::Mutex::new(Some(released_tx)));
    let origin = Origin::start(move |_req| {
        let released = released.clone();
        async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
            tokio::spawn(async move {
                // An endless body: sending fails once the proxy let go of it.
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                while tx.send(chunk.clone()).await.is_ok() {}
                if let Some(done) = released.lock().unwrap().take() {
                    let _ = done.send(());
                }
            });
            Response::builder()
                .header("content-type", "application/octet-stream")
                .body(http_body_util::StreamBody::new(ChannelFrames(rx)).boxed())
                .unwrap()
        }
    })
    .await;
    let settings = FrontSettings {
        client_write_timeout: Duration::from_millis(300),
        ..FrontSettings::default()
    };
    let proxy = start(&deployment(origin.addr, ""), settings).await;
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(b"GET /endless HTTP/1.1\r\nHost: www.xyz.com\r\n\r\n")
        .await
        .unwrap();
    // Never reads; the proxy must give up on us and on the origin.
    tokio::time::timeout(Duration::from_secs(20), released_rx)
        .await
        .expect("the origin fetch was not released")
        .unwrap();
    drop(s);
}

/// `[proxy] max_header_bytes` reaches the listeners: a 20 KiB head passes the default
/// limit (64 KiB) but not one of 16 KiB.
#[tokio::test]
async fn the_head_limit_comes_from_the_proxy_table() {
    let origin = Origin::fixed(&[], b"x").await;
    let big = "a".repeat(20 * 1024);
    let head =
        format!("GET / HTTP/1.1\r\nHost: www.xyz.com\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
    let mut answers = Vec::new();
    for extra in ["", "max_header_bytes = 16384"] {
        let proxy = start(&deployment(origin.addr, extra), FrontSettings::default()).await;
        let mut s = TcpStream::connect(proxy.addr).await.unwrap();
        let _ = s.write_all(head.as_bytes()).await;
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        answers.push(String::from_utf8_lossy(&answer)[..12].to_owned());
    }
    assert_eq!(answers, ["HTTP/1.1 200", "HTTP/1.1 431"]);
}
