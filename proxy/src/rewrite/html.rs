//! The HTML side: lol_html finds the URL-bearing attributes and `<style>` elements, and
//! the [`Splicer`] swaps rewritten values into the untouched byte stream.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use encoding_rs::{Encoding, UTF_8};
use lol_html::html_content::{Attribute, EndTag};
use lol_html::send::{ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{AsciiCompatibleEncoding, MemorySettings, OutputSink, Selector};

use super::RewriteOptions;
use super::error::RewriteError;
use super::mapper::UrlMapper;
use super::splice::{Edit, Splicer};
use super::url_context::{UrlContext, trim_ascii_whitespace};
use super::values::{ValueKind, is_embedding_rel, meta_charset, rewrite_style_text, rewrite_value};

/// What a matched element may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// `src` and `srcset`: img, source.
    Image,
    /// `src` only: script, audio, track, embed, iframe.
    Src,
    /// `src` and `poster`.
    Video,
    /// `src` when `type=image`.
    Input,
    /// `href` for stylesheet, preload, prefetch, icon and modulepreload links.
    Link,
    /// `data`.
    Object,
    Base,
    /// The `<style>` element's text.
    StyleElement,
    /// Any element's `style` attribute.
    StyleAttribute,
    /// Charset declarations, when the header named none.
    Meta,
    /// One of the roles above, told by the element's name.
    ByTagName,
}

impl Role {
    /// The role of an element matched by the `ByTagName` selector list.
    fn of_tag(name: &str) -> Option<Self> {
        Some(match name {
            "img" | "source" => Self::Image,
            "script" | "audio" | "track" | "embed" | "iframe" => Self::Src,
            "video" => Self::Video,
            "input" => Self::Input,
            "link" => Self::Link,
            "object" => Self::Object,
            "base" => Self::Base,
            "style" => Self::StyleElement,
            _ => return None,
        })
    }
}

/// One selector list for all URL-bearing elements: lol_html runs its selector machine on
/// every start tag, and fewer selectors make that cheaper; the handler sorts them by name.
const ROLES: [(&str, Role); 3] = [
    (
        "img, source, script[src], audio[src], track[src], embed[src], iframe[src], video, \
         input[src], link[href], object[data], base[href], style",
        Role::ByTagName,
    ),
    ("[style]", Role::StyleAttribute),
    ("meta", Role::Meta),
];

/// Selectors are parsed once per process and borrowed by every page's rewriter.
static SELECTORS: LazyLock<Vec<(Selector, Role)>> = LazyLock::new(|| {
    ROLES
        .iter()
        .filter_map(|&(css, role)| Some((css.parse().ok()?, role)))
        .collect()
});

const HTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

/// Everything the handlers and the output sink share. lol_html takes each handler as a
/// separate `Send` closure, so the state sits behind one mutex; all of them run on the
/// caller's thread inside `write`, so it is never contended.
struct Shared<M> {
    mapper: M,
    ctx: UrlContext,
    encoding: &'static Encoding,
    /// The encoding came from the header or a first `<meta>`: later ones do not count.
    encoding_fixed: bool,
    splicer: Splicer,
    value: String,
    rewrites: u64,
}

impl<M: UrlMapper> Shared<M> {
    fn on_element(&mut self, role: Role, el: &mut lol_html::send::Element<'_, '_>) -> Option<()> {
        match role {
            Role::Image => self.rewrite_attributes(
                el.attributes(),
                &[("src", ValueKind::Url), ("srcset", ValueKind::Srcset)],
            ),
            Role::Src => self.rewrite_attributes(el.attributes(), &[("src", ValueKind::Url)]),
            Role::Video => self.rewrite_attributes(
                el.attributes(),
                &[("src", ValueKind::Url), ("poster", ValueKind::Url)],
            ),
            Role::Input => {
                if el
                    .get_attribute("type")
                    .is_some_and(|t| trim_ascii_whitespace(&t).eq_ignore_ascii_case("image"))
                {
                    self.rewrite_attributes(el.attributes(), &[("src", ValueKind::Url)]);
                }
            }
            Role::Link => {
                let rel = el.get_attribute("rel")?;
                if is_embedding_rel(&rel) {
                    self.rewrite_attributes(el.attributes(), &[("href", ValueKind::Url)]);
                }
            }
            Role::Object => self.rewrite_attributes(el.attributes(), &[("data", ValueKind::Url)]),
            Role::StyleAttribute => {
                self.rewrite_attributes(el.attributes(), &[("style", ValueKind::Css)])
            }
            Role::Base => {
                let href = el.get_attribute("href")?;
                self.ctx.set_base(&href, &self.mapper);
            }
            Role::Meta => self.on_meta(el),
            // The style element needs its end tag (see `style_handler`); `ByTagName` is
            // resolved before this is called.
            Role::StyleElement | Role::ByTagName => {}
        }
        Some(())
    }

    /// Rewrites the first occurrence of each named attribute (browsers ignore duplicates).
    fn rewrite_attributes(&mut self, attributes: &[Attribute<'_>], wanted: &[(&str, ValueKind)]) {
        let mut done = [false; 2];
        for attr in attributes {
            let name = attr.name();
            let Some(i) = wanted.iter().position(|(n, _)| *n == name) else {
                continue;
            };
            if !std::mem::replace(&mut done[i], true) {
                self.rewrite_attribute(attr, wanted[i].1);
            }
        }
    }

    fn rewrite_attribute(&mut self, attr: &Attribute<'_>, kind: ValueKind) {
        let Some(location) = attr.value_source_location() else {
            return;
        };
        let value = attr.value();
        self.value.clear();
        let rewrites = rewrite_value(&value, kind, &mut self.ctx, &self.mapper, &mut self.value);
        if rewrites == 0 {
            return;
        }
        let range = location.bytes();
        let (expected, _, bad_original) = self.encoding.encode(&value);
        let (replacement, _, bad_new) = self.encoding.encode(&self.value);
        if bad_original || bad_new || expected.len() != range.len() {
            return;
        }
        self.splicer.add_edit(Edit {
            range,
            expected: expected.into_owned(),
            replacement: replacement.into_owned(),
        });
        self.rewrites += u64::from(rewrites);
    }

    /// Follows `<meta charset>` as lol_html does (first valid declaration wins), so that
    /// rewritten values are encoded like the text around them.
    fn on_meta(&mut self, el: &lol_html::send::Element<'_, '_>) {
        if self.encoding_fixed {
            return;
        }
        let declared = meta_charset(|name| el.get_attribute(name).map(Cow::Owned));
        if let Some(encoding) = declared {
            self.encoding = encoding;
            self.encoding_fixed = true;
        }
    }

    fn end_style(&mut self, end: usize) {
        let Self {
            mapper,
            ctx,
            encoding,
            splicer,
            rewrites,
            ..
        } = self;
        splicer.end_hold(end, |held| {
            let (css, n) = rewrite_style_text(held, encoding, ctx, &*mapper)?;
            *rewrites += u64::from(n);
            Some(css)
        });
    }
}

fn lock<M>(shared: &Mutex<Shared<M>>) -> MutexGuard<'_, Shared<M>> {
    // A panic cannot leave the state half-updated in a way that matters more than losing
    // the page, and handlers do not panic; keep going rather than poison every request.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// lol_html's output sink: everything goes to the splicer.
struct SplicerSink<M>(Arc<Mutex<Shared<M>>>);

impl<M> OutputSink for SplicerSink<M> {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        if !chunk.is_empty() {
            lock(&self.0).splicer.receive(chunk);
        }
    }
}

/// A streaming HTML page rewriter.
pub(crate) struct HtmlPage<M: UrlMapper + Send + 'static> {
    parser: Option<HtmlRewriter<'static, SplicerSink<M>>>,
    shared: Arc<Mutex<Shared<M>>>,
    /// Bytes written so far.
    fed: usize,
    /// The written bytes the parser has not passed on yet, kept to pass them through
    /// unchanged if it fails.
    unsunk: Vec<u8>,
    failure: Option<RewriteError>,
}

impl<M: UrlMapper + Send + 'static> HtmlPage<M> {
    pub(crate) fn new(
        charset: Option<&'static Encoding>,
        mapper: M,
        options: &RewriteOptions,
    ) -> Self {
        let encoding = charset.and_then(AsciiCompatibleEncoding::new);
        let shared = Arc::new(Mutex::new(Shared {
            mapper,
            ctx: UrlContext::new(options.document_url.clone(), options.https_page),
            encoding: encoding.map_or(UTF_8, Into::into),
            encoding_fixed: encoding.is_some(),
            splicer: Splicer::new(options.max_held_bytes),
            value: String::new(),
            rewrites: 0,
        }));
        let mut settings = Settings::new_send()
            .with_encoding(encoding.unwrap_or_else(AsciiCompatibleEncoding::utf_8))
            .with_adjust_charset_on_meta_tag(encoding.is_none())
            .with_strict(true)
            .with_memory_settings(
                MemorySettings::new()
                    .with_max_allowed_memory_usage(options.max_parser_memory)
                    .with_graceful_bail_out_on_memory_limit_exceeded(true),
            );
        for (selector, role) in SELECTORS.iter() {
            let role = *role;
            if role == Role::Meta && encoding.is_some() {
                continue;
            }
            let shared = Arc::clone(&shared);
            let handlers = ElementContentHandlers::default().element(
                move |el: &mut lol_html::send::Element<'_, '_>| {
                    let role = match role {
                        Role::ByTagName => Role::of_tag(&el.tag_name()),
                        role => Some(role),
                    };
                    match role {
                        Some(Role::StyleElement) => style_handler(&shared, el),
                        Some(role) => {
                            lock(&shared).on_element(role, el);
                            Ok(())
                        }
                        None => Ok(()),
                    }
                },
            );
            settings = settings.append_element_content_handler((Cow::Borrowed(selector), handlers));
        }
        let parser = HtmlRewriter::new(settings, SplicerSink(Arc::clone(&shared)));
        Self {
            parser: Some(parser),
            shared,
            fed: 0,
            unsunk: Vec::new(),
            failure: None,
        }
    }

    pub(crate) fn write(&mut self, chunk: &[u8]) -> Bytes {
        let Some(parser) = self.parser.as_mut() else {
            return Bytes::copy_from_slice(chunk);
        };
        self.fed += chunk.len();
        // Output is about as long as input; held-back bytes and rewrites vary it a little.
        lock(&self.shared)
            .splicer
            .reserve(chunk.len() + chunk.len() / 8);
        let result = parser.write(chunk);
        let mut shared = lock(&self.shared);
        // Keep the tail of the input that the parser still holds.
        let unsunk = self.fed.saturating_sub(shared.splicer.received());
        if unsunk <= chunk.len() {
            self.unsunk.clear();
            self.unsunk
                .extend_from_slice(&chunk[chunk.len() - unsunk..]);
        } else {
            self.unsunk.extend_from_slice(chunk);
            let excess = self.unsunk.len().saturating_sub(unsunk);
            self.unsunk.drain(..excess);
        }
        if let Err(error) = result {
            self.failure = Some(RewriteError::from_lol_html(&error));
            shared.splicer.abandon();
            shared.splicer.pass_raw(&self.unsunk);
            self.unsunk = Vec::new();
            drop(shared);
            self.parser = None;
            return lock(&self.shared).splicer.take_output();
        }
        shared.splicer.take_output()
    }

    /// Ends the page; later writes pass through unchanged.
    pub(crate) fn finish(&mut self) -> Bytes {
        let result = self.parser.take().map(HtmlRewriter::end);
        let mut shared = lock(&self.shared);
        if let Some(Err(error)) = result {
            self.failure = Some(RewriteError::from_lol_html(&error));
            shared.splicer.abandon();
            shared.splicer.pass_raw(&self.unsunk);
        }
        self.unsunk = Vec::new();
        // A `<style>` left open at the end of the page goes out as it was.
        shared.splicer.release_held();
        shared.splicer.take_output()
    }

    pub(crate) fn rewrites(&self) -> u64 {
        lock(&self.shared).rewrites
    }

    pub(crate) fn failure(&self) -> Option<&RewriteError> {
        self.failure.as_ref()
    }
}

/// Holds the text of an HTML `<style>` element until its end tag, then rewrites it whole.
fn style_handler<M: UrlMapper + Send + 'static>(
    shared: &Arc<Mutex<Shared<M>>>,
    el: &mut lol_html::send::Element<'_, '_>,
) -> lol_html::HandlerResult {
    // In SVG, `<style>` content is markup, not raw text, and may be self-closed.
    if !el.can_have_content() || el.namespace_uri() != HTML_NAMESPACE {
        return Ok(());
    }
    lock(shared)
        .splicer
        .begin_hold(el.source_location().bytes().end);
    let shared = Arc::clone(shared);
    el.on_end_tag(Box::new(move |end: &mut EndTag<'_>| {
        lock(&shared).end_style(end.source_location().bytes().start);
        Ok(())
    }))
}
