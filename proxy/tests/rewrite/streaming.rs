//! Pages are never held whole: what goes out trails what comes in by a bounded amount.

use broker_proxy::rewrite::{PageRewriter, RewriteOptions, UrlMapper};

/// Maps `img.xyz.com` to a host name of the same length, so that output offsets equal
/// input offsets and the lag is exactly `fed - emitted`.
struct SameLength;

impl UrlMapper for SameLength {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        let Some(at) = url.find("//img.xyz.com/") else {
            return false;
        };
        if at > 6 {
            return false;
        }
        out.push_str(&url.replacen("//img.xyz.com/", "//cdn.xyz.net/", 1));
        true
    }
}

const BLOCK: &str = "<div class=item style=\"background:url(http://img.xyz.com/bg.png)\">\
    <img src=\"http://img.xyz.com/a.png\" srcset=\"//img.xyz.com/a2.png 2x\" alt=\"an image\">\
    <p>Some text of a news article, long enough to look like one. Lorem ipsum dolor sit amet, \
    consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.</p>\
    <style>.x{background:url(http://img.xyz.com/s.png)}</style><script>var a = '<b>';</script>\
    <a href=\"http://img.xyz.com/page.html\">link</a></div>\n";

#[test]
fn a_large_page_streams_with_bounded_lag() {
    let blocks = 8_000; // ~4.5 MB: big enough to show the lag does not grow with the page
    let chunk = 8 * 1024;
    let mut rewriter = PageRewriter::new("text/html", SameLength, RewriteOptions::default());
    let mut input = Vec::with_capacity(chunk * 2);
    let (mut fed, mut emitted, mut max_lag) = (0usize, 0usize, 0usize);
    let mut output_tail = Vec::new();
    for _ in 0..blocks {
        input.extend_from_slice(BLOCK.as_bytes());
        if input.len() >= chunk {
            fed += input.len();
            let out = rewriter.write(&input);
            emitted += out.len();
            max_lag = max_lag.max(fed - emitted);
            output_tail = out.to_vec();
            input.clear();
        }
    }
    fed += input.len();
    emitted += rewriter.write(&input).len() + rewriter.finish().len();
    assert_eq!(emitted, fed, "same-length mapping: output as long as input");
    assert!(
        max_lag < 2 * chunk,
        "output trailed input by {max_lag} bytes"
    );
    assert_eq!(rewriter.rewritten_urls(), 4 * blocks as u64);
    assert_eq!(rewriter.failure(), None);
    let tail = String::from_utf8_lossy(&output_tail);
    assert!(
        tail.contains("//cdn.xyz.net/a.png")
            && tail.contains("href=\"http://img.xyz.com/page.html\"")
    );
}
