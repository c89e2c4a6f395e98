//! Runs one hot-path operation N times, for instruction counts that do not swing with
//! machine load (wall-time benches here vary ±50%):
//!
//! ```sh
//! cargo build --release -p origin-map --example hot_loop
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/hot_loop encode_hit 20000   # then also: none 20000
//! ```
//!
//! (instructions of `OP` − instructions of `none`) / N = instructions per operation.

use std::hint::black_box;

use origin_map::{EdgeMap, EdgeRequest, OffloadHosts, OffloaderSpec, PartnerForm, Scheme};

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let offload = OffloadHosts::new(["img.xyz.com", "img.xyz.com:8080"]).expect("valid");
    let form = PartnerForm::embedded("foo.cdn-g.example").expect("valid");
    let spec = OffloaderSpec {
        name: "C".into(),
        embedded_hosts: vec!["foo.cdn-g.example".into()],
        semantic_suffix: Some("c.cdn-g.example".into()),
        table: vec![("xyz.cdn-g.example".into(), "img.xyz.com".into())],
        origins: vec![("img.xyz.com".into(), "http://127.0.0.1:8000".into())],
    };
    let edge = EdgeMap::new([spec], &[]).expect("valid");
    let decode = |host: &str, path: &str| {
        let req = EdgeRequest {
            scheme: Scheme::Http,
            host: black_box(host),
            path,
            query: Some("v=3"),
        };
        edge.decode(&req).map_or(0, |d| d.path_and_query.len())
    };
    let mut out = String::with_capacity(256);
    let mut total = 0usize;
    for _ in 0..n {
        total += match op.as_str() {
            "encode_hit" => {
                out.clear();
                let url = black_box("http://img.xyz.com/images/2024/banner-large.jpg?v=3");
                usize::from(form.encode_into(url, Scheme::Https, &offload, &mut out))
            }
            "encode_miss" => {
                let url = black_box("http://www.xyz.com/cart?item=12345");
                usize::from(form.encode(url, Scheme::Https, &offload).is_some())
            }
            "decode_embedded" => decode(
                "foo.cdn-g.example",
                "/img.xyz.com/images/2024/banner-large.jpg",
            ),
            "decode_table" => decode("xyz.cdn-g.example", "/images/2024/banner-large.jpg"),
            "decode_semantic" => decode(
                "img.xyz.com.c.cdn-g.example",
                "/images/2024/banner-large.jpg",
            ),
            "decode_direct" => decode("img.xyz.com", "/images/2024/banner-large.jpg"),
            "decode_refused" => decode("evil.example", "/img.xyz.com/x"),
            _ => 0,
        };
    }
    println!("{op}: {total}");
}
