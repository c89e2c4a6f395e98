//! Bodies in any coding and character set: gzip, deflate and br from the origin are
//! decoded, rewritten and re-encoded to what the client accepts; Shift_JIS and
//! windows-1252 pages keep every byte but the rewritten URLs; pages arriving in tiny
//! chunks are rewritten all the same.

use std::io::{Read, Write};

use async_compression::tokio::bufread::{BrotliDecoder, BrotliEncoder};
use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use tokio::io::AsyncReadExt;

use crate::support::*;

const PAGE: &str = "<html><body><p>hello</p><img src=\"http://img.xyz.com/a.png\">\
<img srcset=\"http://img.xyz.com/b.png 2x, http://other.example/c.png 1x\"></body></html>";
const PAGE_FOR_G: &str = "<html><body><p>hello</p><img src=\"http://g.example:8090/img.xyz.com/a.png\">\
<img srcset=\"http://g.example:8090/img.xyz.com/b.png 2x, http://other.example/c.png 1x\"></body></html>";

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn zlib(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// Raw deflate (RFC 1951, no zlib header), as some servers send `deflate`.
fn raw_deflate(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

async fn brotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    BrotliEncoder::new(b).read_to_end(&mut out).await.unwrap();
    out
}

async fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    BrotliDecoder::new(b).read_to_end(&mut out).await.unwrap();
    out
}

/// An origin that always sends `body` with this `Content-Encoding`, whatever was asked.
async fn coded_origin(coding: &'static str, body: Vec<u8>) -> Origin {
    let body = Bytes::from(body);
    Origin::start(move |_req| {
        let body = body.clone();
        async move {
            page(
                &[
                    ("content-type", "text/html"),
                    ("content-encoding", coding),
                    ("content-length", &body.len().to_string()),
                ],
                body,
            )
        }
    })
    .await
}

#[tokio::test]
async fn gzip_from_the_origin_is_reencoded_for_each_client() {
    let origin = coded_origin("gzip", gzip(PAGE.as_bytes())).await;
    let proxy = start_default(&origin).await;
    let g = ("x-forwarded-for", TO_G);
    let br = get(
        proxy.addr,
        "/",
        &[g, ("accept-encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("vary"), Some("Accept-Encoding"));
    assert_eq!(unbrotli(&br.body).await, PAGE_FOR_G.as_bytes());
    let gz = get(proxy.addr, "/", &[g, ("accept-encoding", "gzip")]).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&gz.body), PAGE_FOR_G.as_bytes());
    let plain = get(proxy.addr, "/", &[g]).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.text(), PAGE_FOR_G);
    // The origin was asked only for codings both sides handle.
    let asked: Vec<_> = origin
        .seen()
        .iter()
        .map(|s| s.headers["accept-encoding"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(asked, ["br, gzip, deflate", "gzip", "identity"]);
}

#[tokio::test]
async fn deflate_and_br_from_the_origin_are_decoded() {
    for (coding, body) in [
        ("deflate", zlib(PAGE.as_bytes())),
        ("br", brotli(PAGE.as_bytes()).await),
    ] {
        let origin = coded_origin(coding, body).await;
        let proxy = start_default(&origin).await;
        let got = get(
            proxy.addr,
            "/",
            &[("x-forwarded-for", TO_G), ("accept-encoding", "gzip")],
        )
        .await;
        assert_eq!(got.header("content-encoding"), Some("gzip"), "{coding}");
        assert_eq!(gunzip(&got.body), PAGE_FOR_G.as_bytes(), "{coding}");
    }
}

#[tokio::test]
async fn raw_deflate_is_told_from_zlib_by_its_header() {
    // The first chunk holds one byte: the header is sniffed across chunks.
    for (what, body) in [
        ("raw", raw_deflate(PAGE.as_bytes())),
        ("zlib", zlib(PAGE.as_bytes())),
    ] {
        let body = Bytes::from(body);
        let origin = Origin::start(move |_req| {
            let body = body.clone();
            async move {
                let (tx, rx) = tokio::sync::mpsc::channel(4);
                tx.try_send(body.slice(..1)).unwrap();
                tx.try_send(body.slice(1..)).unwrap();
                Response::builder()
                    .header("content-type", "text/html")
                    .header("content-encoding", "deflate")
                    .body(http_body_util::StreamBody::new(ChannelFrames(rx)).boxed())
                    .unwrap()
            }
        })
        .await;
        let proxy = start_default(&origin).await;
        let got = get(
            proxy.addr,
            "/",
            &[("x-forwarded-for", TO_G), ("accept-encoding", "gzip")],
        )
        .await;
        assert_eq!(got.status, 200, "{what}");
        assert_eq!(gunzip(&got.body), PAGE_FOR_G.as_bytes(), "{what}");
    }
}

#[tokio::test]
async fn a_corrupt_gzip_body_cuts_the_response_instead_of_passing_garbage() {
    let mut body = gzip(PAGE.as_bytes());
    let mid = body.len() / 2;
    body[mid..].iter_mut().for_each(|b| *b ^= 0x5a);
    let origin = coded_origin("gzip", body).await;
    let proxy = start_default(&origin).await;
    let socket = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(socket))
            .await
            .unwrap();
    tokio::spawn(conn);
    // The head may or may not have left before the damage is found; either way the
    // client never gets a complete body.
    let sent = sender
        .send_request(request("GET", "/", &[("x-forwarded-for", TO_G)]))
        .await;
    let complete = match sent {
        Ok(resp) => resp.into_body().collect().await.is_ok(),
        Err(_) => false,
    };
    assert!(
        !complete,
        "a corrupt body must not end as a complete response"
    );
}

/// A page in `charset` whose header or `<meta>` says so.
async fn charset_case(
    content_type: &'static str,
    charset: &'static encoding_rs::Encoding,
    text: &str,
) {
    let page_text = text.replace("@", "http://img.xyz.com");
    let (page_bytes, _, bad) = charset.encode(&page_text);
    assert!(!bad);
    let want_text = text.replace("@", "http://g.example:8090/img.xyz.com");
    let (want, _, _) = charset.encode(&want_text);
    let body = Bytes::from(page_bytes.into_owned());
    let origin = Origin::start(move |_req| {
        let body = body.clone();
        async move { page(&[("content-type", content_type)], body) }
    })
    .await;
    let proxy = start_default(&origin).await;
    let got = get(proxy.addr, "/", &[("x-forwarded-for", TO_G)]).await;
    assert_eq!(got.body, want.as_ref(), "{content_type}");
}

#[tokio::test]
async fn shift_jis_and_windows_1252_pages_keep_their_bytes() {
    charset_case(
        "text/html",
        encoding_rs::SHIFT_JIS,
        "<html><head><meta charset=\"Shift_JIS\"><title>日本語のページ</title></head>\
         <body><p>画像→</p><img alt=\"写真\" src=\"@/写真.png\"><p>表示</p></body></html>",
    )
    .await;
    charset_case(
        "text/html; charset=windows-1252",
        encoding_rs::WINDOWS_1252,
        "<html><body><p>Café crème — “déjà vu”</p><img alt=\"é\" src=\"@/café.png\"></body></html>",
    )
    .await;
}

#[tokio::test]
async fn pages_in_tiny_chunks_are_rewritten_whole() {
    let origin = Origin::start(|_req| async {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        tokio::spawn(async move {
            for chunk in PAGE.as_bytes().chunks(3) {
                tx.send(Bytes::copy_from_slice(chunk)).await.unwrap();
            }
        });
        let body = http_body_util::StreamBody::new(ChannelFrames(rx));
        Response::builder()
            .header("content-type", "text/html")
            .body(body.boxed())
            .unwrap()
    })
    .await;
    let proxy = start_default(&origin).await;
    let got = get(proxy.addr, "/", &[("x-forwarded-for", TO_G)]).await;
    assert_eq!(got.text(), PAGE_FOR_G);
}
