//! Header rules of the front proxy: what the origin is sent, and what a per-client page
//! may say so that no shared cache hands one client's rewritten page to another.

use std::net::IpAddr;

use http::HeaderMap;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, ETAG, HOST,
    HeaderName, HeaderValue, VARY,
};

use super::client_addr::X_FORWARDED_FOR;
use super::coding::{self, Coding};
use crate::edge::ViaMark;
use crate::edge::hop;

/// `X-Forwarded-Proto`.
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The client's request headers turned into the origin request's: hop-by-hop headers
/// gone, the site's `Host`, our `Via`, `X-Forwarded-For` extended (or started, when the
/// peer is not trusted), and only codings we can undo asked for.
pub(crate) fn to_origin(
    headers: &mut HeaderMap,
    host: &HeaderValue,
    peer: IpAddr,
    peer_trusted: bool,
    https: bool,
    via: &ViaMark,
) {
    let accept = coding::for_origin(headers);
    hop::strip(headers);
    headers.insert(HOST, host.clone());
    headers.insert(ACCEPT_ENCODING, accept);
    if !peer_trusted {
        headers.remove(X_FORWARDED_FOR);
        headers.remove(&X_FORWARDED_PROTO);
    }
    append_ip(headers, peer);
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(
            X_FORWARDED_PROTO,
            HeaderValue::from_static(if https { "https" } else { "http" }),
        );
    }
    via.append_to(headers);
}

fn append_ip(headers: &mut HeaderMap, ip: IpAddr) {
    let mut buf = [0u8; 48];
    let text = {
        use std::io::Write as _;
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        // An address is at most 45 characters: this fits.
        let _ = write!(cursor, "{ip}");
        let n = cursor.position() as usize;
        &buf[..n]
    };
    if let Ok(v) = HeaderValue::from_bytes(text) {
        headers.append(X_FORWARDED_FOR, v);
    }
}

/// Every response: hop-by-hop headers gone, our `Via` added.
pub(crate) fn from_origin(headers: &mut HeaderMap, via: &ViaMark) {
    hop::strip(headers);
    via.append_to(headers);
}

/// A page whose embedded URLs depend on the client's pick: shared caches must not keep it
/// (`private` replaces `public` and `s-maxage`; `no-store` and the browser's own
/// freshness stay).
pub(crate) fn make_private(headers: &mut HeaderMap) {
    let mut kept = String::from("private");
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',') {
            let d = directive.trim();
            let name = d.split('=').next().unwrap_or_default().trim();
            let shared_only = ["public", "private", "s-maxage", "proxy-revalidate"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name));
            if !d.is_empty() && !shared_only {
                kept.push_str(", ");
                kept.push_str(d);
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&kept) {
        headers.insert(CACHE_CONTROL, v);
    }
}

/// A body that is not the origin's bytes any more: its length, strong validator, digest
/// and ranges no longer hold; its coding is `to`, chosen by `Accept-Encoding`.
pub(crate) fn for_new_body(headers: &mut HeaderMap, to: Coding) {
    headers.remove(CONTENT_LENGTH);
    headers.remove(ACCEPT_RANGES);
    headers.remove("content-md5");
    headers.remove("digest");
    headers.remove("repr-digest");
    headers.remove("content-digest");
    // Weak validators (`W/"..."`) still say "same meaning"; a strong one would lie.
    if headers
        .get(ETAG)
        .is_some_and(|e| !e.as_bytes().starts_with(b"W/"))
    {
        headers.remove(ETAG);
    }
    match to.token() {
        Some(token) => {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(token));
        }
        None => {
            headers.remove(CONTENT_ENCODING);
        }
    }
    let varies = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim() == "*" || v.trim().eq_ignore_ascii_case("accept-encoding"));
    if !varies {
        headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_replaces_shared_directives() {
        let mut h = HeaderMap::new();
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=600, s-maxage=3600"),
        );
        make_private(&mut h);
        assert_eq!(h[CACHE_CONTROL], "private, max-age=600");
        let mut none = HeaderMap::new();
        make_private(&mut none);
        assert_eq!(none[CACHE_CONTROL], "private");
    }

    #[test]
    fn new_bodies_lose_length_and_strong_etag() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("10"));
        h.insert(ETAG, HeaderValue::from_static("\"abc\""));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(VARY, HeaderValue::from_static("Cookie"));
        for_new_body(&mut h, Coding::Br);
        assert!(!h.contains_key(CONTENT_LENGTH) && !h.contains_key(ETAG));
        assert_eq!(h[CONTENT_ENCODING], "br");
        assert_eq!(h.get_all(VARY).iter().count(), 2);
        let mut weak = HeaderMap::new();
        weak.insert(ETAG, HeaderValue::from_static("W/\"abc\""));
        for_new_body(&mut weak, Coding::Identity);
        assert!(weak.contains_key(ETAG) && !weak.contains_key(CONTENT_ENCODING));
    }

    #[test]
    fn origin_requests_carry_the_site_host_and_forwarding() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("www.xyz.com:8080"));
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("6.6.6.6"));
        h.insert("connection", HeaderValue::from_static("x-drop"));
        h.insert("x-drop", HeaderValue::from_static("1"));
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("zstd, gzip"));
        let via = ViaMark::new("C-proxy").unwrap();
        let host = HeaderValue::from_static("www.xyz.com");
        to_origin(
            &mut h,
            &host,
            "192.0.2.1".parse().unwrap(),
            false,
            false,
            &via,
        );
        assert_eq!(h[HOST], "www.xyz.com");
        assert_eq!(h[X_FORWARDED_FOR], "192.0.2.1");
        assert_eq!(h[ACCEPT_ENCODING], "gzip");
        assert_eq!(h["via"], "1.1 C-proxy");
        assert!(!h.contains_key("x-drop"));
    }
}
