//! Revalidation and the pick: a rewritten page's ETag names the pick it was rewritten
//! for, so a browser's copy is confirmed with a 304 only while the client still gets that
//! pick; otherwise the origin is asked without conditionals and the whole page comes back,
//! rewritten for the current pick.

use http::Request;
use http::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};

use crate::support::*;

const HTML: &str = "<html><body><img src=\"http://img.xyz.com/a.png\"></body></html>";
const HTML_FOR_G: &str =
    "<html><body><img src=\"http://g.example:8090/img.xyz.com/a.png\"></body></html>";
const LAST_MODIFIED: &str = "Tue, 24 Nov 2026 10:00:00 GMT";

/// An origin whose page has ETag `etag` and answers 304 when `If-None-Match` names it
/// (weak comparison, RFC 9110 §13.1.2) or `If-Modified-Since` is its date.
async fn revalidating_origin(etag: &'static str) -> Origin {
    Origin::start(move |req: Request<_>| {
        let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
        let matches = req
            .headers()
            .get_all(IF_NONE_MATCH)
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(','))
            .any(|t| opaque(t) == opaque(etag));
        let unmodified = req
            .headers()
            .get(IF_MODIFIED_SINCE)
            .is_some_and(|d| d == LAST_MODIFIED);
        async move {
            let headers = [
                ("content-type", "text/html"),
                ("etag", etag),
                ("last-modified", LAST_MODIFIED),
                ("cache-control", "max-age=0"),
            ];
            if matches || unmodified {
                let mut resp = page(&headers[1..], "");
                *resp.status_mut() = http::StatusCode::NOT_MODIFIED;
                resp
            } else {
                page(&headers, HTML)
            }
        }
    })
    .await
}

fn etag_of(got: &Got) -> String {
    got.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {got:?}"))
        .to_owned()
}

#[tokio::test]
async fn a_copy_rewritten_for_the_current_pick_is_confirmed_with_304() {
    for origin_tag in ["\"v1\"", "W/\"v.1\""] {
        let origin = revalidating_origin(origin_tag).await;
        let proxy = start_default(&origin).await;
        let g = ("x-forwarded-for", TO_G);
        let first = get(proxy.addr, "/", &[g]).await;
        assert_eq!(
            (first.status.as_u16(), first.text().as_str()),
            (200, HTML_FOR_G)
        );
        let tag = etag_of(&first);
        assert!(
            tag.starts_with("W/\"v") && tag.contains(".G-embedded.g0."),
            "{tag}"
        );
        assert_eq!(first.header("last-modified"), None);

        let again = get(proxy.addr, "/", &[g, ("if-none-match", tag.as_str())]).await;
        assert_eq!(again.status, 304, "{origin_tag}: {again:?}");
        assert_eq!(etag_of(&again), tag);
        assert_eq!(again.header("cache-control"), Some("private, max-age=0"));
        assert!(again.body.is_empty());
        // The origin was asked with its own tag.
        let seen = origin.seen();
        assert_eq!(seen[1].headers[IF_NONE_MATCH], origin_tag);
    }
}

#[tokio::test]
async fn a_copy_rewritten_for_another_pick_gets_the_whole_page_again() {
    let origin = revalidating_origin("\"v1\"").await;
    let proxy = start_default(&origin).await;
    let c = ("x-forwarded-for", TO_C);
    // C keeps this client; on the special port it gets G: two picks, two tags.
    let kept = get(proxy.addr, "/", &[c]).await;
    assert_eq!(kept.text(), HTML);
    let kept_tag = etag_of(&kept);
    assert!(kept_tag.starts_with("W/\"v1.self.g0."), "{kept_tag}");
    let forced = get(proxy.special, "/", &[c]).await;
    assert_eq!(forced.text(), HTML_FOR_G);
    let forced_tag = etag_of(&forced);
    assert_ne!(kept_tag, forced_tag);

    // The copy C kept, revalidated on G's port: the page comes whole, with G's URLs.
    let ims = ("if-modified-since", LAST_MODIFIED);
    let to_g = get(
        proxy.special,
        "/",
        &[c, ("if-none-match", kept_tag.as_str()), ims],
    )
    .await;
    assert_eq!(
        (to_g.status.as_u16(), to_g.text().as_str()),
        (200, HTML_FOR_G)
    );
    assert_eq!(etag_of(&to_g), forced_tag);
    // And G's copy on the normal port: the whole page, C's own URLs.
    let to_c = get(
        proxy.addr,
        "/",
        &[c, ("if-none-match", forced_tag.as_str()), ims],
    )
    .await;
    assert_eq!((to_c.status.as_u16(), to_c.text().as_str()), (200, HTML));
    assert_eq!(etag_of(&to_c), kept_tag);
    // Neither conditional reached the origin for those two.
    let seen = origin.seen();
    assert_eq!(seen.len(), 4);
    for s in &seen[2..] {
        assert!(
            !s.headers.contains_key(IF_NONE_MATCH) && !s.headers.contains_key(IF_MODIFIED_SINCE),
            "{:?}",
            s.headers
        );
    }
}

#[tokio::test]
async fn a_date_alone_cannot_confirm_a_rewritten_page() {
    let origin = revalidating_origin("\"v1\"").await;
    let proxy = start_default(&origin).await;
    let got = get(
        proxy.addr,
        "/",
        &[
            ("x-forwarded-for", TO_G),
            ("if-modified-since", LAST_MODIFIED),
            ("if-none-match", "\"v1\""),
        ],
    )
    .await;
    assert_eq!(
        (got.status.as_u16(), got.text().as_str()),
        (200, HTML_FOR_G)
    );
    // A tag the proxy did not issue for this pick goes, and the date with it.
    let seen = &origin.seen()[0].headers;
    assert!(!seen.contains_key(IF_NONE_MATCH) && !seen.contains_key(IF_MODIFIED_SINCE));
}

#[tokio::test]
async fn head_gets_the_validator_get_would() {
    let origin = revalidating_origin("\"v1\"").await;
    let proxy = start_default(&origin).await;
    let g = ("x-forwarded-for", TO_G);
    let get_tag = etag_of(&get(proxy.addr, "/", &[g]).await);
    let head = send_from(
        "127.0.0.1".parse().unwrap(),
        proxy.addr,
        request("HEAD", "/", &[g]),
    )
    .await;
    assert_eq!(etag_of(&head), get_tag);
    assert_eq!(head.header("content-length"), None, "GET's is chunked");
}
