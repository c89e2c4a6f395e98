//! The streaming URL rewriter of the front proxy (issue 4, spec §5).
//!
//! A [`PageRewriter`] takes a response body chunk by chunk and gives back output chunks in
//! which every absolute or scheme-relative URL of an offloaded host, in the places a
//! browser fetches embedded content from, is replaced by what a [`UrlMapper`] returns.
//! Every other byte is left exactly as it was.
//!
//! - `text/html` goes through the fast engine ([`HtmlEngine::Fast`]): a tokenizer that
//!   follows lol_html's states and tree feedback, skips text, comments and scripts with
//!   `memchr` and reads only tags; the rewritten values are spliced into the original
//!   bytes, so quotes, whitespace and case are kept. [`HtmlEngine::LolHtml`] (lol_html as a
//!   parser, edits spliced by the `splice` module) is the oracle it is tested against, byte for byte.
//!   Rewritten: `src`/`srcset` of img, source, script, video, audio, track, embed,
//!   input[type=image], iframe; `href` of stylesheet/preload/prefetch/icon/modulepreload
//!   links; `poster`; `data` of object; CSS in `style` attributes and `<style>`
//!   elements. The first `<base href>` counts: relative URLs under an offloaded base are
//!   offloaded URLs. The charset comes from the `Content-Type` or a `<meta>`.
//! - `text/css` goes through a resumable CSS scanner (`url(...)`, `@import "..."`).
//! - Anything else passes through.
//!
//! Memory is bounded: an unfinished tag (lol_html: its buffers) by
//! [`RewriteOptions::max_parser_memory`], held
//! `<style>` text and unfinished CSS URLs by [`RewriteOptions::max_held_bytes`]. When the
//! parser gives up (ambiguous markup in lol_html's strict mode, memory limit), the rest of
//! the page passes through unchanged and [`PageRewriter::failure`] says why.
//!
//! ```
//! use broker_proxy::rewrite::{EmbeddedMapper, PageRewriter, RewriteOptions};
//!
//! let mapper = EmbeddedMapper::new("foo.cdn-g.example", ["img.xyz.com"]);
//! let mut page = PageRewriter::new("text/html", mapper, RewriteOptions::default());
//! let mut out = page.write(b"<img src='http://img.xyz.com/pic1.gif' ").to_vec();
//! out.extend_from_slice(&page.write(b"alt=x><a href=http://img.xyz.com/>"));
//! out.extend_from_slice(&page.finish());
//! assert_eq!(
//!     out,
//!     b"<img src='http://foo.cdn-g.example/img.xyz.com/pic1.gif' alt=x><a href=http://img.xyz.com/>"
//! );
//! ```

mod content_type;
mod css;
mod css_stream;
mod error;
mod fast;
mod html;
mod mapper;
mod plan;
mod splice;
mod srcset;
mod url_context;
mod values;

use bytes::Bytes;
use url::Url;

pub use content_type::{ContentKind, ContentType};
pub use error::RewriteError;
pub(crate) use mapper::may_name_host;
pub use mapper::{EmbeddedMapper, UrlMapper};
pub use plan::{Edit, Replay, RewritePlan};
pub use srcset::candidate_urls;

use css_stream::CssStream;
use fast::FastPage;
use html::HtmlPage;

/// Which parser finds the URLs of an HTML page. Both give the same bytes (tested
/// differentially on real and random pages); the fast one is several times faster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HtmlEngine {
    /// A hand-written tokenizer that looks only at tags, skipping text, comments and
    /// scripts with `memchr`; it follows lol_html's tokenizer and tree feedback rule for
    /// rule.
    #[default]
    Fast,
    /// lol_html, used as a parser only: the reference the fast engine is tested against.
    LolHtml,
}

/// Per-page settings.
#[derive(Clone, Debug)]
pub struct RewriteOptions {
    /// The page's own URL: relative `<base href>` values resolve against it.
    pub document_url: Option<Url>,
    /// The client fetched the page over HTTPS: `http` partner URLs become `https`, so that
    /// rewriting never creates mixed content (spec §5).
    pub https_page: bool,
    /// Limit of lol_html's own buffers (a tag split across chunks is buffered whole).
    pub max_parser_memory: usize,
    /// Limit of the bytes held back by the rewriter: one `<style>` element's text, or one
    /// CSS URL whose end has not arrived. Beyond it they pass through unrewritten.
    pub max_held_bytes: usize,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        Self {
            document_url: None,
            https_page: false,
            max_parser_memory: 4 << 20,
            max_held_bytes: 1 << 20,
        }
    }
}

enum Inner<M: UrlMapper + Send + 'static> {
    Fast(Box<FastPage<M>>),
    Html(Box<HtmlPage<M>>),
    Css(Box<CssStream<M>>),
    Passthrough,
}

/// Rewrites one response body, chunk by chunk.
pub struct PageRewriter<M: UrlMapper + Send + 'static> {
    inner: Inner<M>,
}

impl<M: UrlMapper + Send + 'static> PageRewriter<M> {
    /// A rewriter for a body with this `Content-Type` header value.
    pub fn new(content_type: &str, mapper: M, options: RewriteOptions) -> Self {
        Self::for_content(ContentType::parse(content_type), mapper, options)
    }

    /// A rewriter for a body of an already parsed content type.
    pub fn for_content(content_type: ContentType, mapper: M, options: RewriteOptions) -> Self {
        Self::with_engine(content_type, mapper, options, HtmlEngine::default())
    }

    /// A rewriter whose HTML pages go through the given engine.
    pub fn with_engine(
        content_type: ContentType,
        mapper: M,
        options: RewriteOptions,
        engine: HtmlEngine,
    ) -> Self {
        let inner = match content_type.kind {
            // Both engines tokenize bytes, which holds for ASCII-compatible encodings only;
            // UTF-16 pages pass through.
            ContentKind::Html if content_type.charset.is_none_or(|c| c.is_ascii_compatible()) => {
                match engine {
                    HtmlEngine::Fast => Inner::Fast(Box::new(FastPage::new(
                        content_type.charset,
                        mapper,
                        &options,
                    ))),
                    HtmlEngine::LolHtml => Inner::Html(Box::new(HtmlPage::new(
                        content_type.charset,
                        mapper,
                        &options,
                    ))),
                }
            }
            ContentKind::Css => Inner::Css(Box::new(CssStream::new(
                content_type.charset,
                mapper,
                &options,
            ))),
            _ => Inner::Passthrough,
        };
        Self { inner }
    }

    /// Whether bodies pass through untouched: the caller may then skip the rewriter.
    pub fn is_passthrough(&self) -> bool {
        matches!(self.inner, Inner::Passthrough)
    }

    /// Rewrites the next chunk of the body; returns the output ready so far (possibly
    /// empty: a tag or URL split across chunks waits for its end).
    pub fn write(&mut self, chunk: &[u8]) -> Bytes {
        match &mut self.inner {
            Inner::Fast(page) => page.write(chunk),
            Inner::Html(page) => page.write(chunk),
            Inner::Css(css) => css.write(chunk),
            Inner::Passthrough => Bytes::copy_from_slice(chunk),
        }
    }

    /// [`Self::write`] for a body chunk already in a [`Bytes`]: passed-through bodies are
    /// then returned without a copy.
    pub fn write_bytes(&mut self, chunk: Bytes) -> Bytes {
        match &mut self.inner {
            Inner::Passthrough => chunk,
            _ => self.write(&chunk),
        }
    }

    /// Ends the body; returns the last output. Later writes pass through unchanged.
    pub fn finish(&mut self) -> Bytes {
        match &mut self.inner {
            Inner::Fast(page) => page.finish(),
            Inner::Html(page) => page.finish(),
            Inner::Css(css) => css.finish(),
            Inner::Passthrough => Bytes::new(),
        }
    }

    /// How many URLs were rewritten so far.
    pub fn rewritten_urls(&self) -> u64 {
        match &self.inner {
            Inner::Fast(page) => page.rewrites(),
            Inner::Html(page) => page.rewrites(),
            Inner::Css(css) => css.rewrites(),
            Inner::Passthrough => 0,
        }
    }

    /// Records the edits of this rewrite (up to `limit` bytes of them) for
    /// [`Self::take_plan`]. Call before the first write; HTML and CSS only.
    pub fn record_plan(&mut self, limit: usize) {
        match &mut self.inner {
            Inner::Fast(page) => page.record(limit),
            Inner::Css(css) => css.record(limit),
            Inner::Html(_) | Inner::Passthrough => {}
        }
    }

    /// After [`Self::finish`]: the edits of a rewrite that went to the end without giving
    /// up, if they were recorded and within their limit.
    pub fn take_plan(&mut self) -> Option<RewritePlan> {
        match &mut self.inner {
            Inner::Fast(page) => page.take_plan(),
            Inner::Css(css) => css.take_plan(),
            Inner::Html(_) | Inner::Passthrough => None,
        }
    }

    /// Why rewriting stopped part-way, if it did.
    pub fn failure(&self) -> Option<RewriteError> {
        match &self.inner {
            Inner::Fast(page) => page.failure().copied(),
            Inner::Html(page) => page.failure().copied(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriters_can_move_between_threads() {
        // The proxy streams bodies on a multi-threaded runtime: the rewriter must be Send.
        fn assert_send<T: Send>(_: &T) {}
        let page = PageRewriter::new(
            "text/html",
            EmbeddedMapper::new("p", ["h"]),
            RewriteOptions::default(),
        );
        assert_send(&page);
        let page = std::thread::spawn(move || {
            let mut page = page;
            page.write(b"<img src=//h/a>")
        })
        .join()
        .ok();
        assert_eq!(page.as_deref(), Some(&b"<img src=//p/h/a>"[..]));
    }

    #[test]
    fn content_type_picks_the_rewriter() {
        let mapper = || EmbeddedMapper::new("p", ["h"]);
        assert!(
            PageRewriter::new("image/png", mapper(), RewriteOptions::default()).is_passthrough()
        );
        assert!(
            !PageRewriter::new("text/css", mapper(), RewriteOptions::default()).is_passthrough()
        );
        assert!(
            !PageRewriter::new(
                "text/html; charset=gbk",
                mapper(),
                RewriteOptions::default()
            )
            .is_passthrough()
        );
    }
}
