//! What the rewriter knows about where a URL points: the page's base URL, whether it is
//! offloaded, and whether the page is served over HTTPS.

use url::Url;

use super::mapper::{UrlMapper, has_authority};

/// Per-page URL state: `<base href>` and the HTTPS upgrade (spec §5).
#[derive(Debug)]
pub(crate) struct UrlContext {
    document: Option<Url>,
    /// Set by the first `<base href>` only, as in browsers.
    base: Option<Url>,
    base_seen: bool,
    /// The base URL is on an offloaded host: relative URLs are then offloaded URLs too.
    base_offloaded: bool,
    https_page: bool,
    scratch: String,
}

impl UrlContext {
    pub(crate) fn new(document: Option<Url>, https_page: bool) -> Self {
        Self {
            document,
            base: None,
            base_seen: false,
            base_offloaded: false,
            https_page,
            scratch: String::new(),
        }
    }

    /// Records a `<base href>`; only the first one counts.
    pub(crate) fn set_base(&mut self, href: &str, mapper: &impl UrlMapper) {
        if self.base_seen {
            return;
        }
        self.base_seen = true;
        let href = trim_ascii_whitespace(href);
        let base = match &self.document {
            Some(doc) => doc.join(href).ok(),
            None => Url::parse(href).ok(),
        };
        self.scratch.clear();
        self.base_offloaded = base
            .as_ref()
            .is_some_and(|b| mapper.map_url(b.as_str(), &mut self.scratch));
        self.base = base;
    }

    /// Whether a value without `//` may still hold a URL to rewrite: only relative URLs
    /// under an offloaded `<base href>` can be rewritten without one.
    pub(crate) fn base_offloaded(&self) -> bool {
        self.base_offloaded
    }

    /// Appends the rewritten form of `url` (as written, whitespace already trimmed) to
    /// `out` and returns `true`, or returns `false` when `url` stays as it is.
    pub(crate) fn rewrite(&mut self, url: &str, mapper: &impl UrlMapper, out: &mut String) -> bool {
        // Empty URLs and fragment-only references (SVG `url(#id)`) point into the page.
        if url.is_empty() || url.starts_with('#') {
            return false;
        }
        let start = out.len();
        let mapped = if has_authority(url) {
            mapper.map_url(url, out)
        } else if self.base_offloaded
            && let Some(absolute) = self.base.as_ref().and_then(|b| b.join(url).ok())
        {
            mapper.map_url(absolute.as_str(), out)
        } else {
            false
        };
        if !mapped {
            out.truncate(start);
            return false;
        }
        if self.https_page
            && out[start..]
                .get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        {
            // An https page must not get http URLs: that would be mixed content (spec §5).
            out.replace_range(start..start + 4, "https");
        }
        if !is_context_safe(url, &out[start..]) {
            out.truncate(start);
            return false;
        }
        true
    }
}

/// Bytes that could end the attribute, string or `url()` holding a URL. A mapped URL may
/// contain them only as often as the original did, which held them safely.
const DELIMITERS: &[u8] = b" \t\n\r\x0C\"'<>`\\()";

/// Index of each delimiter in [`DELIMITERS`] plus one, by byte; 0 for other bytes.
static DELIMITER_SLOT: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < DELIMITERS.len() {
        table[DELIMITERS[i] as usize] = i as u8 + 1;
        i += 1;
    }
    table
};

fn delimiter_counts(s: &str) -> [u32; DELIMITERS.len() + 1] {
    let mut counts = [0u32; DELIMITERS.len() + 1];
    for b in s.bytes() {
        counts[usize::from(DELIMITER_SLOT[usize::from(b)])] += 1;
    }
    counts
}

fn is_context_safe(original: &str, mapped: &str) -> bool {
    // The common case, no delimiter at all, in one pass of table loads without early
    // exit, eight bytes a round.
    let bytes = mapped.as_bytes();
    let mut slots = 0u8;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        for &b in word {
            slots |= DELIMITER_SLOT[usize::from(b)];
        }
    }
    for &b in words.remainder() {
        slots |= DELIMITER_SLOT[usize::from(b)];
    }
    if slots == 0 {
        return true;
    }
    let mapped = delimiter_counts(mapped);
    let original = delimiter_counts(original);
    mapped[1..].iter().zip(&original[1..]).all(|(m, o)| m <= o)
}

/// Trims the ASCII whitespace that HTML strips around URL attribute values.
pub(crate) fn trim_ascii_whitespace(s: &str) -> &str {
    s.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0C' | '\r'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::EmbeddedMapper;

    fn mapper() -> EmbeddedMapper {
        EmbeddedMapper::new("foo.cdn-g.example", ["img.xyz.com"])
    }

    fn rewrite(ctx: &mut UrlContext, url: &str) -> Option<String> {
        let mut out = String::new();
        ctx.rewrite(url, &mapper(), &mut out).then_some(out)
    }

    #[test]
    fn https_page_upgrades_http_partner_urls_only() {
        let mut ctx = UrlContext::new(None, true);
        assert_eq!(
            rewrite(&mut ctx, "http://img.xyz.com/a").as_deref(),
            Some("https://foo.cdn-g.example/img.xyz.com/a")
        );
        assert_eq!(
            rewrite(&mut ctx, "//img.xyz.com/a").as_deref(),
            Some("//foo.cdn-g.example/img.xyz.com/a")
        );
    }

    #[test]
    fn relative_urls_are_offloaded_only_under_an_offloaded_base() {
        let mut plain = UrlContext::new(Url::parse("http://www.xyz.com/p/").ok(), false);
        plain.set_base("/static/", &mapper());
        assert_eq!(rewrite(&mut plain, "a.png"), None);

        let mut ctx = UrlContext::new(Url::parse("http://www.xyz.com/p/").ok(), false);
        ctx.set_base(" http://img.xyz.com/dir/ ", &mapper());
        ctx.set_base("http://other.example/", &mapper());
        assert_eq!(
            rewrite(&mut ctx, "a.png?x=1&amp;y").as_deref(),
            Some("http://foo.cdn-g.example/img.xyz.com/dir/a.png?x=1&amp;y")
        );
        assert_eq!(rewrite(&mut ctx, "#frag"), None);
        assert_eq!(rewrite(&mut ctx, ""), None);
        assert_eq!(rewrite(&mut ctx, "data:image/png;base64,AAAA"), None);
    }

    #[test]
    fn mapped_urls_gaining_delimiters_are_refused() {
        assert!(is_context_safe("http://a/b c", "http://p/a/b c"));
        assert!(!is_context_safe("http://a/b", "http://p/a/b\""));
        assert!(is_context_safe("http://a/b", "http://p/a/b"));
        // Past the first eight-byte rounds, and in the remainder.
        assert!(!is_context_safe("http://a/b", "http://p.example/a/b\\"));
        assert!(!is_context_safe("http://a/b", "http://p.example/a/b(c"));
        assert!(is_context_safe("http://a/b(c)", "http://p.example/a/b(c)"));
    }
}
