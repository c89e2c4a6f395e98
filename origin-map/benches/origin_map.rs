//! Encode (per embedded URL in the page rewriter) and decode (per edge request) rates.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use origin_map::{EdgeMap, EdgeRequest, OffloadHosts, OffloaderSpec, PartnerForm, Scheme};

const PAGE_URLS: &str = include_str!("data/page_urls.txt");

fn page_urls() -> Vec<&'static str> {
    PAGE_URLS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
}

fn forms() -> [(&'static str, PartnerForm); 3] {
    [
        (
            "embedded",
            PartnerForm::embedded("foo.cdn-g.example").unwrap(),
        ),
        (
            "table",
            PartnerForm::table([
                ("img.xyz.com", "xyz.cdn-g.example"),
                ("img.xyz.com:8080", "v.cdn-g.example"),
            ])
            .unwrap(),
        ),
        (
            "semantic",
            PartnerForm::semantic("c.cdn-g.example").unwrap(),
        ),
    ]
}

fn encode(c: &mut Criterion) {
    let offload = OffloadHosts::new(["img.xyz.com", "img.xyz.com:8080"]).unwrap();
    let urls = page_urls();
    let mut group = c.benchmark_group("encode");
    let embedded = PartnerForm::embedded("foo.cdn-g.example").unwrap();
    let mut out = String::with_capacity(256);
    group.bench_function("one_hit_reused_buffer", |b| {
        b.iter(|| {
            out.clear();
            black_box(embedded.encode_into(
                black_box("http://img.xyz.com/images/2024/banner-large.jpg?v=3"),
                Scheme::Https,
                &offload,
                &mut out,
            ))
        })
    });
    group.bench_function("one_hit_new_string", |b| {
        b.iter(|| {
            embedded.encode(
                black_box("http://img.xyz.com/images/2024/banner-large.jpg?v=3"),
                Scheme::Https,
                &offload,
            )
        })
    });
    group.bench_function("one_miss", |b| {
        b.iter(|| {
            embedded.encode(
                black_box("http://www.xyz.com/cart?item=12345"),
                Scheme::Https,
                &offload,
            )
        })
    });
    // The common cases of a real page, each into a reused buffer as the rewriter does: an
    // offloaded URL with a 60-byte path, the same scheme-relative, and URLs of hosts not
    // offloaded (most URLs on a page), of another length and of the same length.
    let path60 = "/assets/images/2024/products/photo-0123456789abcdef-larg.jpg";
    assert_eq!(path60.len(), 60);
    let single = [
        ("hit_http_path60", format!("http://img.xyz.com{path60}")),
        (
            "hit_scheme_relative_path60",
            format!("//img.xyz.com{path60}"),
        ),
        (
            "miss_other_host",
            format!("https://fonts.example.net{path60}"),
        ),
        (
            "miss_same_length_host",
            format!("http://www.xyz.com{path60}"),
        ),
    ];
    for (name, url) in &single {
        group.bench_function(*name, |b| {
            b.iter(|| {
                out.clear();
                black_box(embedded.encode_into(black_box(url), Scheme::Http, &offload, &mut out))
            })
        });
    }
    // One srcset attribute's candidates (the rewriter calls once per candidate URL).
    let srcset: Vec<String> = [320, 480, 640, 960, 1280, 1920]
        .iter()
        .map(|w| format!("http://img.xyz.com/products/12345/photo-1-{w}w.webp"))
        .collect();
    group.throughput(Throughput::Elements(srcset.len() as u64));
    group.bench_function("srcset_6_candidates", |b| {
        b.iter(|| {
            let mut hits = 0;
            for url in &srcset {
                out.clear();
                hits += usize::from(embedded.encode_into(
                    black_box(url),
                    Scheme::Https,
                    &offload,
                    &mut out,
                ));
            }
            hits
        })
    });
    group.throughput(Throughput::Elements(urls.len() as u64));
    for (name, form) in forms() {
        group.bench_function(format!("page_urls_{name}"), |b| {
            b.iter(|| {
                let mut hits = 0;
                for url in &urls {
                    out.clear();
                    hits += usize::from(form.encode_into(
                        black_box(url),
                        Scheme::Http,
                        &offload,
                        &mut out,
                    ));
                }
                hits
            })
        });
    }
    group.finish();
}

fn edge() -> EdgeMap {
    let spec = OffloaderSpec {
        name: "C".into(),
        embedded_hosts: vec!["foo.cdn-g.example".into()],
        semantic_suffix: Some("c.cdn-g.example".into()),
        table: vec![("xyz.cdn-g.example".into(), "img.xyz.com".into())],
        origins: vec![
            ("img.xyz.com".into(), "http://127.0.0.1:8000".into()),
            ("img.xyz.com:8080".into(), "http://127.0.0.1:8001".into()),
        ],
    };
    let others = (0..50).map(|i| OffloaderSpec {
        name: format!("O{i}"),
        embedded_hosts: vec![format!("o{i}.cdn-g.example")],
        origins: vec![(format!("img.customer{i}.com"), "http://10.0.0.1".into())],
        ..OffloaderSpec::default()
    });
    EdgeMap::new(std::iter::once(spec).chain(others), &[]).unwrap()
}

fn decode(c: &mut Criterion) {
    let edge = edge();
    let mut group = c.benchmark_group("decode");
    let cases = [
        (
            "embedded",
            "foo.cdn-g.example",
            "/img.xyz.com/images/2024/banner-large.jpg",
            Some("v=3"),
        ),
        (
            "embedded_port",
            "foo.cdn-g.example:8090",
            "/img.xyz.com:8080/video/intro.mp4",
            None,
        ),
        (
            "table",
            "xyz.cdn-g.example",
            "/images/2024/banner-large.jpg",
            Some("v=3"),
        ),
        (
            "semantic",
            "img.xyz.com.c.cdn-g.example",
            "/images/2024/banner-large.jpg",
            Some("v=3"),
        ),
        (
            "direct",
            "img.xyz.com",
            "/images/2024/banner-large.jpg",
            Some("v=3"),
        ),
        (
            "slow_path_normalised",
            "FOO.cdn-g.example.",
            "/IMG.xyz.com/a/../b c/%2e%2e/d.jpg",
            Some("q='x'"),
        ),
        (
            "refused_unknown_host",
            "evil.example",
            "/img.xyz.com/x",
            None,
        ),
        ("refused_origin", "foo.cdn-g.example", "/0x7f.1:22/x", None),
    ];
    for (name, host, path, query) in cases {
        let req = EdgeRequest {
            scheme: Scheme::Http,
            host,
            path,
            query,
        };
        group.bench_function(name, |b| {
            b.iter(|| edge.decode(black_box(&req)).map(|d| d.path_and_query.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
