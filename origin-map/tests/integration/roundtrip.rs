//! Properties: decode(encode(u)) is u for every listed origin; hostile requests never
//! decode to an origin the offloader does not list.

use origin_map::{EdgeRequest, Scheme};
use proptest::prelude::*;
use url::Url;

use crate::fixture::{C_KEYS, EDGE_NAMES, allowed, edge, forms, offload};

/// Ways of writing one listed host in a page: case, trailing dot, other IP notations.
fn host_spelling(key: &'static str) -> impl Strategy<Value = String> {
    let (host, port) = match key.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (key, None),
    };
    let spellings: Vec<String> = match host {
        "127.0.0.1" => vec![
            "127.0.0.1".into(),
            "127.1".into(),
            "0x7f.0.0.1".into(),
            "2130706433".into(),
        ],
        "xn--bcher-kva.example" => vec![
            host.into(),
            "bücher.example".into(),
            "BÜCHER.example.".into(),
        ],
        _ => vec![host.into(), host.to_uppercase(), format!("{host}.")],
    };
    (proptest::sample::select(spellings), any::<bool>()).prop_map(move |(h, default_port)| {
        match port {
            Some(p) => format!("{h}:{p}"),
            None if default_port => format!("{h}:80"),
            None => h,
        }
    })
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_~!$&'()*+,;=:@-]{1,8}",
        "[a-z]{0,3}%[0-9A-F]{2}[a-z]{0,3}",
        "[a-z]{1,3}[. \"<>{}`|^é][a-z.]{1,3}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 0..5), any::<bool>())
        .prop_map(|(segs, trailing)| {
            let mut p = String::new();
            for s in &segs {
                p.push('/');
                p.push_str(s);
            }
            if trailing || segs.is_empty() {
                p.push('/');
            }
            p
        })
        .prop_filter("no dot segments", |p| !p.split('/').any(is_dot_segment))
}

/// `.` or `..` in any spelling: the encoder leaves such URLs alone (checked in unit tests).
fn is_dot_segment(s: &str) -> bool {
    let s = s.to_ascii_lowercase().replace("%2e", ".");
    s == "." || s == ".."
}

/// The request a browser sends for `url`: scheme, Host header, raw path and query.
fn browser_request(url: &str, page: Scheme) -> (Scheme, String, String, Option<String>) {
    let absolute = if url.starts_with("//") {
        format!("{page}:{url}")
    } else {
        url.to_owned()
    };
    let u = Url::parse(&absolute).expect("encoder output parses");
    let scheme = Scheme::from_name(u.scheme()).expect("http(s)");
    let host = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_owned(),
    };
    (
        scheme,
        host,
        u.path().to_owned(),
        u.query().map(str::to_owned),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_the_origin(
        key in proptest::sample::select(C_KEYS.to_vec()).prop_flat_map(|k| (Just(k), host_spelling(k))),
        path in path(),
        query in proptest::option::of("[a-zA-Z0-9=&%/?:@._~' -]{0,16}"),
        url_scheme in prop_oneof![Just("http://"), Just("https://"), Just("//")],
        page in prop_oneof![Just(Scheme::Http), Just(Scheme::Https)],
        form_index in 0usize..3,
    ) {
        let (key, spelling) = key;
        // The default port written out is `:80` for http and `:443` for https.
        let url_is_https = url_scheme == "https://" || (url_scheme == "//" && page == Scheme::Https);
        let spelling = match spelling.strip_suffix(":80") {
            Some(host) if url_is_https => format!("{host}:443"),
            _ => spelling,
        };
        let query_part = query.as_ref().map(|q| format!("?{q}")).unwrap_or_default();
        let origin_url = format!("{url_scheme}{spelling}{path}{query_part}");
        let form = &forms()[form_index];
        let encoded = form.encode(&origin_url, page, &offload());

        let semantic_impossible = form_index == 2 && (key.contains(':') || key.starts_with("127."));
        if semantic_impossible {
            prop_assert_eq!(encoded, None);
            return Ok(());
        }
        let encoded = encoded.ok_or_else(|| TestCaseError::fail(format!("not encoded: {origin_url}")))?;
        // What the browser would have fetched from the origin, and from the partner.
        let (_, _, origin_path, origin_query) = browser_request(&origin_url, page);
        let (scheme, host, partner_path, partner_query) = browser_request(&encoded, page);
        prop_assert!(url_scheme == "//" || page == Scheme::Http || scheme == Scheme::Https, "mixed content");
        let edge = edge();
        let req = EdgeRequest { scheme, host: &host, path: &partner_path, query: partner_query.as_deref() };
        let decoded = edge.decode(&req).map_err(|r| TestCaseError::fail(format!("{encoded}: {r}")))?;
        prop_assert_eq!(decoded.offloader.name().as_str(), "C");
        prop_assert_eq!(decoded.origin.as_str(), key);
        let want = match origin_query {
            Some(q) => format!("{origin_path}?{q}"),
            None => origin_path,
        };
        prop_assert_eq!(decoded.path_and_query, want);
    }

    #[test]
    fn hostile_requests_never_reach_unlisted_origins(
        host in prop_oneof![
            proptest::sample::select(GOOD_HOSTS).prop_map(str::to_owned),
            hostile_text(HOST_PIECES, 6),
        ],
        path in prop_oneof![
            (proptest::sample::select(GOOD_SEGMENTS), hostile_text(PATH_PIECES, 8))
                .prop_map(|(seg, rest)| format!("/{seg}{rest}")),
            hostile_text(PATH_PIECES, 10),
        ],
        query in proptest::option::of(hostile_text(PATH_PIECES, 4)),
        https in any::<bool>(),
    ) {
        let edge = edge();
        let scheme = if https { Scheme::Https } else { Scheme::Http };
        let req = EdgeRequest { scheme, host: &host, path: &path, query: query.as_deref() };
        if let Ok(d) = edge.decode(&req) {
            let offloader = d.offloader.name().as_str();
            prop_assert!(allowed(offloader).contains(&d.origin.as_str()), "{} served for {}", d.origin, offloader);
            let host = d.origin.host();
            let is_edge_name = EDGE_NAMES.iter().any(|n| host == *n || host.ends_with(&format!(".{n}")));
            prop_assert!(!is_edge_name, "edge name {} served", host);
            prop_assert!(d.path_and_query.starts_with('/'));
            prop_assert!(!d.path_and_query.split(['/', '?']).any(|s| s == ".." || s.eq_ignore_ascii_case("%2e%2e")) || d.path_and_query.contains('?'));
            // The path is already normal: asking the origin directly gives the same.
            let (path2, query2) = match d.path_and_query.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (d.path_and_query.as_str(), None),
            };
            let direct = EdgeRequest { scheme, host: d.origin.as_str(), path: path2, query: query2 };
            let again = edge.decode(&direct).map(|a| a.path_and_query);
            prop_assert_eq!(again.as_deref(), Ok(d.path_and_query.as_str()));
        }
    }
}

/// Hosts the edge answers to, so that hostile paths get past the `Host` check.
const GOOD_HOSTS: &[&str] = &[
    "foo.cdn-g.example",
    "FOO.cdn-g.example.",
    "d.cdn-g.example",
    "xyz.cdn-g.example",
    "img.xyz.com.c.cdn-g.example",
    "img.xyz.com",
    "img.xyz.com:8080",
    "127.0.0.1:8000",
];

/// Listed origins (and near misses) as a first path segment.
const GOOD_SEGMENTS: &[&str] = &[
    "img.xyz.com",
    "IMG.xyz.com.",
    "img.xyz.com:8080",
    "127.1:8000",
    "img.abc.com",
    "img.xyz.com:80",
];

const HOST_PIECES: &[&str] = &[
    "foo.cdn-g.example",
    "xyz.cdn-g.example",
    "c.cdn-g.example",
    "d.cdn-g.example",
    "img.xyz.com",
    "evil.com",
    "127.0.0.1",
    "0x7f",
    "127.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    ".",
    "..",
    ":",
    ":8080",
    ":80",
    ":443",
    ":0",
    "@",
    "%2e",
    "%40",
    "/",
    "\\",
    "IMG",
    "XN--BCHER-KVA",
    "bücher",
    "ｉｍｇ",
    " ",
    "\t",
    "\0",
    "8000",
    "example",
    "-",
];

const PATH_PIECES: &[&str] = &[
    "/",
    "\\",
    "//",
    "..",
    ".",
    "%2e",
    "%2E%2e",
    "%2f",
    "%5c",
    "%40",
    "@",
    ":",
    ":8080",
    ":8000",
    "img.xyz.com",
    "IMG.XYZ.COM.",
    "127.0.0.1",
    "127.1",
    "0x7f.1",
    "2130706433",
    "[::1]",
    "evil.com",
    "foo.cdn-g.example",
    "img.abc.com",
    "?",
    "#",
    "a",
    "é",
    " ",
    "%",
    "%zz",
    "bücher.example",
];

fn hostile_text(pieces: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(proptest::sample::select(pieces), 0..max).prop_map(|v| v.concat())
}
