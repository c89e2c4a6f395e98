//! The benchmark page of issue 4, goal 6: a real news page with about 200 embedded URLs of
//! one offloaded host, `img.xyz.com`.
//!
//! Built from `newspaper4k__spanish_article.html` of the shared test data (a page of
//! ultimahora.es shipped in the newspaper4k 0.9.6 test suite, MIT; contents © their
//! publisher, used as a test input only, never served beyond the bench's loopback): every
//! `<img>` gets its `src` on `img.xyz.com` and a six-candidate `srcset` as responsive
//! news pages have, scripts and stylesheets move to `img.xyz.com` too (a static host), and
//! the page's two image hosts become `img.xyz.com` everywhere.
//! Shared by `benches/rewrite.rs` and `examples/rewrite_bench.rs` (for `bench/proxy`).

use std::path::PathBuf;
use std::sync::Arc;

use broker_proxy::rewrite::{
    ContentType, EmbeddedMapper, HtmlEngine, PageRewriter, RewriteOptions,
};

/// The offloaded host of the bench page.
pub(crate) const HOST: &str = "img.xyz.com";
/// The partner host its URLs are rewritten to (the form nginx's `sub_filter` produces).
pub(crate) const PARTNER: &str = "foo.cdn-g.example";
/// The source page in the shared test data.
pub(crate) const SOURCE: &str = "newspaper4k__spanish_article.html";

/// Rewrites `page` (served as `content_type`) with `engine`, fed in `chunk`-byte pieces:
/// the output length and the URLs rewritten.
pub(crate) fn rewrite_in_chunks(
    page: &[u8],
    content_type: &str,
    mapper: &Arc<EmbeddedMapper>,
    engine: HtmlEngine,
    chunk: usize,
) -> (usize, u64) {
    let mut rewriter = PageRewriter::with_engine(
        ContentType::parse(content_type),
        Arc::clone(mapper),
        RewriteOptions::default(),
        engine,
    );
    let mut len = 0;
    for piece in page.chunks(chunk) {
        len += rewriter.write(piece).len();
    }
    len += rewriter.finish().len();
    (len, rewriter.rewritten_urls())
}

/// The shared test data folder (`data/html` of the repository).
pub(crate) fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/html")
}

/// Reads the source page and builds the bench page, or says why it cannot.
pub(crate) fn bench_page() -> Result<Vec<u8>, String> {
    let path = data_dir().join(SOURCE);
    let page = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(build(&page))
}

/// Path part of a `src` value: what follows the host of an absolute URL, or the value
/// itself (made absolute-path) for a relative one.
fn path_of(src: &[u8]) -> Vec<u8> {
    let lower = src.to_ascii_lowercase();
    let rest = ["http://", "https://", "//"]
        .iter()
        .find_map(|p| lower.starts_with(p.as_bytes()).then(|| &src[p.len()..]));
    match rest {
        Some(rest) => {
            let at = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            rest[at..].to_vec()
        }
        None if src.starts_with(b"/") => src.to_vec(),
        None => [b"/", src].concat(),
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// The URL attribute of `tag` (from `<` to before `>`) to move to [`HOST`], with whether
/// the tag also gets a `srcset`.
fn url_attribute(tag: &[u8]) -> Option<(&'static [u8], bool)> {
    let lower = tag.to_ascii_lowercase();
    if lower.starts_with(b"<img") {
        Some((b"src=\"", true))
    } else if lower.starts_with(b"<script") {
        Some((b"src=\"", false))
    } else if lower.starts_with(b"<link")
        && (find(&lower, b"stylesheet", 0).is_some() || find(&lower, b"icon", 0).is_some())
    {
        Some((b"href=\"", false))
    } else {
        None
    }
}

/// The transformation described in the module docs.
pub(crate) fn build(page: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(page.len() + page.len() / 4);
    let mut pos = 0;
    while let Some(start) = find(page, b"<", pos) {
        let Some(end) = find(page, b">", start) else {
            break;
        };
        out.extend_from_slice(&page[pos..start]);
        let tag = &page[start..end];
        let found = url_attribute(tag).and_then(|(attr, srcset)| {
            let at = find(tag, attr, 0).filter(|&at| !tag[..at].ends_with(b"data-"))?;
            Some((at + attr.len(), srcset))
        });
        match found {
            Some((value_start, srcset)) => {
                let value_end = value_start
                    + tag[value_start..]
                        .iter()
                        .position(|&b| b == b'"')
                        .unwrap_or(tag.len() - value_start);
                let path =
                    String::from_utf8_lossy(&path_of(&tag[value_start..value_end])).into_owned();
                out.extend_from_slice(&tag[..value_start]);
                out.extend_from_slice(format!("http://{HOST}{path}").as_bytes());
                if srcset {
                    out.extend_from_slice(b"\" srcset=\"");
                    let sep = if path.contains('?') { "&amp;" } else { "?" };
                    let candidates: Vec<String> = [320, 480, 640, 800, 1024, 1200]
                        .iter()
                        .map(|w| format!("//{HOST}{path}{sep}w={w} {w}w"))
                        .collect();
                    out.extend_from_slice(candidates.join(", ").as_bytes());
                }
                out.extend_from_slice(&tag[value_end..]);
            }
            None => out.extend_from_slice(tag),
        }
        pos = end;
    }
    out.extend_from_slice(&page[pos..]);
    let mut text = out;
    for host in ["uh.gsstatic.es", "banners.evoluhcion.es"] {
        text = replace_all(
            &text,
            format!("//{host}/").as_bytes(),
            format!("//{HOST}/").as_bytes(),
        );
    }
    text
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut pos = 0;
    while let Some(at) = hay
        .get(pos..)
        .and_then(|h| h.windows(from.len()).position(|w| w == from))
    {
        out.extend_from_slice(&hay[pos..pos + at]);
        out.extend_from_slice(to);
        pos += at + from.len();
    }
    out.extend_from_slice(&hay[pos..]);
    out
}
