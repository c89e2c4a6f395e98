#![no_main]
//! origin-map (spec §5): the edge never decodes a request to an origin its offloader does
//! not list, whatever the Host, path and query; and every partner URL the encoder writes
//! decodes, as a browser would request it, back to the origin URL the browser would have
//! fetched. Input: `host \n path \n query \n url` (missing parts are empty / none).

use libfuzzer_sys::fuzz_target;
use origin_map::{EdgeMap, EdgeRequest, OffloadHosts, OffloaderSpec, PartnerForm, Scheme};
use url::Url;

const ORIGINS: [&str; 4] = ["img.xyz.com", "img.xyz.com:8080", "127.0.0.1:8000", "xn--bcher-kva.example"];

fn edge() -> EdgeMap {
    let spec = OffloaderSpec {
        name: "C".into(),
        embedded_hosts: vec!["foo.cdn-g.example".into()],
        semantic_suffix: Some("c.cdn-g.example".into()),
        table: vec![("xyz.cdn-g.example".into(), "img.xyz.com".into())],
        origins: ORIGINS.iter().map(|o| (o.to_string(), "http://192.0.2.1".to_string())).collect(),
    };
    EdgeMap::new([spec], &[]).expect("valid")
}

/// Host header, path and query of the request a browser sends for `url`.
fn browser(url: &str, page: Scheme) -> Option<(Scheme, String, String, Option<String>)> {
    // As the URL parser and the encoder do: C0 controls and spaces around are dropped.
    let url = url.trim_matches(|c: char| c == ' ' || c.is_ascii_control());
    let absolute = if url.starts_with("//") { format!("{page}:{url}") } else { url.to_owned() };
    let u = Url::parse(&absolute).ok()?;
    let host = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str()?),
        None => u.host_str()?.to_owned(),
    };
    Some((Scheme::from_name(u.scheme())?, host, u.path().to_owned(), u.query().map(str::to_owned)))
}

fn check_guard(edge: &EdgeMap, req: &EdgeRequest<'_>) {
    let Ok(d) = edge.decode(req) else { return };
    assert!(ORIGINS.contains(&d.origin.as_str()), "unlisted origin {}", d.origin);
    assert!(d.path_and_query.starts_with('/'));
    let (path, query) = match d.path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (d.path_and_query.as_str(), None),
    };
    let direct = EdgeRequest { scheme: req.scheme, host: d.origin.as_str(), path, query };
    let again = edge.decode(&direct).expect("listed origin as Host is served");
    assert_eq!(again.path_and_query, d.path_and_query, "normalisation is not idempotent");
}

fn check_round_trip(edge: &EdgeMap, url: &str, page: Scheme) {
    let offload = OffloadHosts::new(ORIGINS).expect("valid");
    let forms = [
        PartnerForm::embedded("foo.cdn-g.example").expect("valid"),
        PartnerForm::table([("img.xyz.com", "xyz.cdn-g.example")]).expect("valid"),
        PartnerForm::semantic("c.cdn-g.example").expect("valid"),
    ];
    for form in &forms {
        let Some(partner) = form.encode(url, page, &offload) else { continue };
        let (scheme, host, path, query) = browser(&partner, page).expect("partner URL parses");
        let req = EdgeRequest { scheme, host: &host, path: &path, query: query.as_deref() };
        let d = edge.decode(&req).unwrap_or_else(|r| panic!("{partner} refused: {r}"));
        let (_, origin_host, origin_path, origin_query) = browser(url, page).expect("origin URL parses");
        let want = match origin_query {
            Some(q) => format!("{origin_path}?{q}"),
            None => origin_path,
        };
        assert_eq!(d.path_and_query, want, "{url} -> {partner}");
        // `url` keeps a trailing dot; origin keys drop it.
        let origin_host = origin_host.replacen(".:", ":", 1);
        assert_eq!(d.origin.as_str(), origin_host.trim_end_matches('.'), "{url} -> {partner}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(4, '\n');
    let host = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("");
    let query = parts.next();
    let url = parts.next().unwrap_or("");
    let edge = edge();
    for scheme in [Scheme::Http, Scheme::Https] {
        check_guard(&edge, &EdgeRequest { scheme, host, path, query });
        check_round_trip(&edge, url, scheme);
    }
});
