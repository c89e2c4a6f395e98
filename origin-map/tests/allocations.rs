//! The hot paths allocate what they must and nothing more: encoding into a reused buffer
//! allocates nothing, a miss allocates nothing, and deciding a plain edge request
//! allocates only the returned path. (Own test binary: it installs a counting allocator.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use origin_map::{EdgeMap, EdgeRequest, OffloadHosts, OffloaderSpec, PartnerForm, Scheme};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls on the current thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

#[test]
fn encode_hit_into_reused_buffer_and_misses_do_not_allocate() {
    let offload = OffloadHosts::new(["img.xyz.com", "img.xyz.com:8080"]).unwrap();
    let forms = [
        PartnerForm::embedded("foo.cdn-g.example").unwrap(),
        PartnerForm::table([("img.xyz.com:8080", "v.cdn-g.example")]).unwrap(),
        PartnerForm::semantic("c.cdn-g.example").unwrap(),
    ];
    let mut out = String::with_capacity(512);
    for form in &forms {
        for url in [
            "http://img.xyz.com:8080/a/b.jpg?x=1",
            "//img.xyz.com/c.css",
            "https://img.xyz.com:443/d",
        ] {
            out.clear();
            let (n, _) = allocations(|| form.encode_into(url, Scheme::Https, &offload, &mut out));
            assert_eq!(n, 0, "{url}");
        }
        for url in [
            "http://www.xyz.com/",
            "/relative.png",
            "mailto:a@b.c",
            "http://img.xyz.com:9/",
        ] {
            let (n, hit) = allocations(|| form.encode(url, Scheme::Http, &offload));
            assert_eq!((n, hit), (0, None), "{url}");
        }
    }
    let (n, hit) = allocations(|| forms[0].encode("http://img.xyz.com/a", Scheme::Http, &offload));
    assert_eq!(
        (n, hit.as_deref()),
        (1, Some("http://foo.cdn-g.example/img.xyz.com/a"))
    );
}

#[test]
fn decode_of_a_plain_request_allocates_only_the_path() {
    let spec = OffloaderSpec {
        name: "C".into(),
        embedded_hosts: vec!["foo.cdn-g.example".into()],
        semantic_suffix: Some("c.cdn-g.example".into()),
        table: vec![("xyz.cdn-g.example".into(), "img.xyz.com".into())],
        origins: vec![("img.xyz.com".into(), "http://127.0.0.1:8000".into())],
    };
    let edge = EdgeMap::new([spec], &[]).unwrap();
    for (host, path) in [
        ("foo.cdn-g.example", "/img.xyz.com/a/b.jpg"),
        ("xyz.cdn-g.example:8090", "/a/b.jpg"),
        ("img.xyz.com.c.cdn-g.example", "/a/b.jpg"),
        ("img.xyz.com", "/a/b.jpg"),
    ] {
        let req = EdgeRequest {
            scheme: Scheme::Http,
            host,
            path,
            query: Some("v=1"),
        };
        let (n, decoded) = allocations(|| edge.decode(&req).map(|d| d.path_and_query));
        assert_eq!((n, decoded.as_deref()), (1, Ok("/a/b.jpg?v=1")), "{host}");
    }
    let req = EdgeRequest {
        scheme: Scheme::Http,
        host: "evil.example",
        path: "/x",
        query: None,
    };
    assert_eq!(allocations(|| edge.decode(&req).is_err()), (0, true));
}
