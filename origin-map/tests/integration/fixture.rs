//! The edge and offloading-side configuration shared by the tests (spec §7 names).

use origin_map::{EdgeMap, OffloadHosts, OffloaderSpec, PartnerForm};

/// Origins C may offload, as written in config (non-canonical spellings on purpose).
pub(crate) const C_ORIGINS: [&str; 5] = [
    "img.xyz.com",
    "IMG.xyz.com:8080",
    "127.0.0.1:8000",
    "static.example.org",
    "bücher.example",
];

/// The same origins in canonical text: what decoding may ever return for C.
pub(crate) const C_KEYS: [&str; 5] = [
    "img.xyz.com",
    "img.xyz.com:8080",
    "127.0.0.1:8000",
    "static.example.org",
    "xn--bcher-kva.example",
];

/// What decoding may ever return for D.
pub(crate) const D_KEYS: [&str; 1] = ["img.abc.com"];

/// Names of the edge: no decoded origin may be one of these or below a suffix.
pub(crate) const EDGE_NAMES: [&str; 5] = [
    "foo.cdn-g.example",
    "xyz.cdn-g.example",
    "c.cdn-g.example",
    "d.cdn-g.example",
    "status.cdn-g.example",
];

pub(crate) fn edge() -> EdgeMap {
    let c = OffloaderSpec {
        name: "C".into(),
        embedded_hosts: vec!["foo.cdn-g.example".into()],
        semantic_suffix: Some("c.cdn-g.example".into()),
        table: vec![
            ("xyz.cdn-g.example".into(), "img.xyz.com".into()),
            ("xyz8080.cdn-g.example".into(), "img.xyz.com:8080".into()),
            ("ip.cdn-g.example".into(), "127.0.0.1:8000".into()),
            ("static.cdn-g.example".into(), "static.example.org".into()),
            ("b.cdn-g.example".into(), "bücher.example".into()),
        ],
        origins: C_ORIGINS
            .iter()
            .map(|o| (o.to_string(), "http://127.0.0.1:8000".to_string()))
            .collect(),
    };
    let d = OffloaderSpec {
        name: "D".into(),
        embedded_hosts: vec!["d.cdn-g.example".into()],
        origins: vec![("img.abc.com".into(), "203.0.113.7:80".into())],
        ..OffloaderSpec::default()
    };
    EdgeMap::new([c, d], &["status.cdn-g.example"]).expect("fixture is valid")
}

pub(crate) fn offload() -> OffloadHosts {
    OffloadHosts::new(C_ORIGINS).expect("fixture is valid")
}

/// C's three published forms at partner G, matching [`edge`].
pub(crate) fn forms() -> [PartnerForm; 3] {
    [
        PartnerForm::embedded("foo.cdn-g.example").expect("valid"),
        PartnerForm::table([
            ("img.xyz.com", "xyz.cdn-g.example"),
            ("img.xyz.com:8080", "xyz8080.cdn-g.example"),
            ("127.0.0.1:8000", "ip.cdn-g.example"),
            ("static.example.org", "static.cdn-g.example"),
            ("bücher.example", "b.cdn-g.example"),
        ])
        .expect("valid"),
        PartnerForm::semantic("c.cdn-g.example").expect("valid"),
    ]
}

/// The canonical keys an offloader may be served, by name.
pub(crate) fn allowed(offloader: &str) -> &'static [&'static str] {
    match offloader {
        "C" => &C_KEYS,
        "D" => &D_KEYS,
        _ => &[],
    }
}
