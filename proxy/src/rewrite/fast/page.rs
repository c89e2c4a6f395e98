//! A streaming page on the fast path: feeds chunks to the [`Tokenizer`], keeps only the
//! bytes an unfinished tag or an open `<style>` still needs, and writes everything else
//! out with rewritten values spliced in.

use std::borrow::Cow;
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use encoding_rs::{Encoding, UTF_8};

use super::tokenizer::{AttrSpan, Tag, TagSink, Tokenizer};
use super::tree::{AttrName, Namespace, tag};
use crate::rewrite::RewriteOptions;
use crate::rewrite::error::RewriteError;
use crate::rewrite::mapper::UrlMapper;
use crate::rewrite::plan::{Recorder, RewritePlan};
use crate::rewrite::url_context::{UrlContext, trim_ascii_whitespace};
use crate::rewrite::values::{
    ValueKind, is_embedding_rel, meta_charset, rewrite_style_text, rewrite_value,
};

/// The handlers: what each complete tag changes, and the output.
struct Handlers<M> {
    mapper: M,
    ctx: UrlContext,
    encoding: &'static Encoding,
    /// The encoding came from the header or a first `<meta>`: later ones do not count.
    encoding_fixed: bool,
    /// The header named the encoding: `<meta>` is not even looked at.
    header_encoding: bool,
    /// Input offset from which `<style>` text is held, while one is open.
    style_from: Option<usize>,
    max_held: usize,
    /// Input offset of the next byte to write out.
    emitted: usize,
    out: BytesMut,
    value: String,
    /// Edits of the current tag: input range, range in `replacements`.
    edits: Vec<(Range<usize>, Range<usize>)>,
    replacements: Vec<u8>,
    rewrites: u64,
    recorder: Option<Recorder>,
}

/// The attribute classes some start-tag handler reads: a start tag with none of them
/// changes nothing, unless it is `<style>`.
const HANDLED: u32 = AttrName::Src.bit()
    | AttrName::Srcset.bit()
    | AttrName::Href.bit()
    | AttrName::Poster.bit()
    | AttrName::Data.bit()
    | AttrName::Style.bit()
    | AttrName::Charset.bit()
    | AttrName::HttpEquiv.bit();

/// The first attribute of a tag with this name (lol_html's `get_attribute`).
fn find_attr(attrs: &[AttrSpan], class: AttrName) -> Option<&AttrSpan> {
    debug_assert!(class != AttrName::Other);
    attrs.iter().find(|a| a.class == class)
}

/// Whether `raw` holds `//`, which every URL the mapper is asked about (outside an
/// offloaded base) has.
fn has_double_slash(raw: &[u8]) -> bool {
    memchr::memchr_iter(b'/', raw).any(|k| raw.get(k + 1) == Some(&b'/'))
}

impl<M: UrlMapper> Handlers<M> {
    /// Writes input up to `to` (absolute), which `buf` (starting at `base`) holds.
    fn emit_until(&mut self, buf: &[u8], base: usize, to: usize) {
        if to > self.emitted {
            self.out
                .extend_from_slice(&buf[self.emitted - base..to - base]);
            self.emitted = to;
        }
    }

    /// A value decoded as lol_html's `get_attribute` does (replacing bad bytes).
    fn lossy<'b>(&self, raw: &'b [u8]) -> Cow<'b, str> {
        if self.encoding == UTF_8 {
            String::from_utf8_lossy(raw)
        } else {
            self.encoding.decode_without_bom_handling(raw).0
        }
    }

    fn attr_value<'b>(&self, buf: &'b [u8], base: usize, attr: &AttrSpan) -> &'b [u8] {
        attr.value
            .as_ref()
            .map_or(&[][..], |v| &buf[v.start - base..v.end - base])
    }

    fn get_attribute<'b>(
        &self,
        buf: &'b [u8],
        base: usize,
        attrs: &[AttrSpan],
        class: AttrName,
    ) -> Option<Cow<'b, str>> {
        let attr = find_attr(attrs, class)?;
        Some(self.lossy(self.attr_value(buf, base, attr)))
    }

    /// Rewrites the first occurrence of each named attribute (browsers ignore duplicates).
    fn rewrite_attributes(
        &mut self,
        buf: &[u8],
        base: usize,
        attrs: &[AttrSpan],
        wanted: &[(AttrName, ValueKind)],
    ) {
        let mut done = [false; 2];
        for attr in attrs {
            let Some(i) = wanted.iter().position(|&(class, _)| class == attr.class) else {
                continue;
            };
            if !std::mem::replace(&mut done[i], true) {
                self.rewrite_attribute(buf, base, attr, wanted[i].1);
            }
        }
    }

    fn rewrite_attribute(&mut self, buf: &[u8], base: usize, attr: &AttrSpan, kind: ValueKind) {
        let Some(range) = attr.value.clone() else {
            return;
        };
        let raw = &buf[range.start - base..range.end - base];
        // Only URLs with an authority (`//`) are rewritten, unless the base is offloaded:
        // most values without one (relative links, plain `style`) need no decoding at all,
        // nor do those the mapper knows hold no host of its own.
        if !self.ctx.base_offloaded() && (!has_double_slash(raw) || !self.mapper.may_map(raw)) {
            return;
        }
        // Values that do not decode and re-encode to the same bytes are left alone.
        let value: Cow<'_, str> = if self.encoding == UTF_8 {
            match std::str::from_utf8(raw) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => return,
            }
        } else {
            match self
                .encoding
                .decode_without_bom_handling_and_without_replacement(raw)
            {
                Some(s) => s,
                None => return,
            }
        };
        self.value.clear();
        let n = rewrite_value(&value, kind, &mut self.ctx, &self.mapper, &mut self.value);
        if n == 0 {
            return;
        }
        let start = self.replacements.len();
        if self.encoding == UTF_8 {
            self.replacements.extend_from_slice(self.value.as_bytes());
        } else {
            let (original, _, _) = self.encoding.encode(&value);
            let (new, _, unencodable) = self.encoding.encode(&self.value);
            if unencodable || *original != *raw {
                return;
            }
            self.replacements.extend_from_slice(&new);
        }
        self.edits.push((range, start..self.replacements.len()));
        self.rewrites += u64::from(n);
    }

    /// Out of line: most tags never get here, and inlined it would make every tag pay
    /// for saving the registers it needs.
    #[inline(never)]
    fn start_tag(&mut self, buf: &[u8], base: usize, t: &Tag<'_>) {
        let attrs = t.attrs;
        let has = |class: AttrName| t.classes & class.bit() != 0;
        let mut style_element = false;
        // lol_html's handler order: the tag-name selector list, `[style]`, `meta`.
        match t.hash {
            tag::IMG | tag::SOURCE => self.rewrite_attributes(
                buf,
                base,
                attrs,
                &[
                    (AttrName::Src, ValueKind::Url),
                    (AttrName::Srcset, ValueKind::Srcset),
                ],
            ),
            tag::SCRIPT | tag::AUDIO | tag::TRACK | tag::EMBED | tag::IFRAME => {
                self.rewrite_attributes(buf, base, attrs, &[(AttrName::Src, ValueKind::Url)]);
            }
            tag::VIDEO => self.rewrite_attributes(
                buf,
                base,
                attrs,
                &[
                    (AttrName::Src, ValueKind::Url),
                    (AttrName::Poster, ValueKind::Url),
                ],
            ),
            tag::INPUT => {
                let is_image = self
                    .get_attribute(buf, base, attrs, AttrName::Type)
                    .is_some_and(|t| trim_ascii_whitespace(&t).eq_ignore_ascii_case("image"));
                if has(AttrName::Src) && is_image {
                    self.rewrite_attributes(buf, base, attrs, &[(AttrName::Src, ValueKind::Url)]);
                }
            }
            tag::LINK
                if has(AttrName::Href)
                    && self
                        .get_attribute(buf, base, attrs, AttrName::Rel)
                        .is_some_and(|rel| is_embedding_rel(&rel)) =>
            {
                self.rewrite_attributes(buf, base, attrs, &[(AttrName::Href, ValueKind::Url)]);
            }
            tag::OBJECT => {
                self.rewrite_attributes(buf, base, attrs, &[(AttrName::Data, ValueKind::Url)])
            }
            tag::BASE => {
                if let Some(href) = self.get_attribute(buf, base, attrs, AttrName::Href) {
                    self.ctx.set_base(&href, &self.mapper);
                }
            }
            // In SVG, `<style>` content is markup, not raw text. In HTML a self-closing
            // slash is ignored: `<style/>` starts raw text as `<style>` does.
            tag::STYLE => style_element = t.ns == Namespace::Html,
            _ => {}
        }
        if has(AttrName::Style) {
            self.rewrite_attributes(buf, base, attrs, &[(AttrName::Style, ValueKind::Css)]);
        }
        if t.hash == tag::META && !self.header_encoding && !self.encoding_fixed {
            let declared = meta_charset(|name| {
                let class = AttrName::classify(name.as_bytes());
                if class == AttrName::Other {
                    return None;
                }
                self.get_attribute(buf, base, attrs, class)
                    .map(|v| Cow::Owned(v.into_owned()))
            });
            if let Some(encoding) = declared {
                self.encoding = encoding;
                self.encoding_fixed = true;
            }
        }
        if !self.edits.is_empty() {
            // Rewritten markup inside held `<style>` text (possible only after lol_html's
            // `<style a=>` quirk): the text then goes out as it is, as on the oracle path.
            self.style_from = None;
            self.apply_edits(buf, base);
        }
        if style_element {
            self.style_from = Some(t.end);
        }
    }

    fn apply_edits(&mut self, buf: &[u8], base: usize) {
        self.edits.sort_unstable_by_key(|(r, _)| r.start);
        let edits = std::mem::take(&mut self.edits);
        for (range, replacement) in &edits {
            if let Some(r) = &mut self.recorder {
                r.record(
                    range.start,
                    &buf[range.start - base..range.end - base],
                    &self.replacements[replacement.clone()],
                );
            }
            self.emit_until(buf, base, range.start);
            self.out
                .extend_from_slice(&self.replacements[replacement.clone()]);
            self.emitted = range.end;
        }
        self.edits = edits;
        self.edits.clear();
        self.replacements.clear();
    }

    /// `</style>` starting at `end`: the held text is rewritten whole.
    #[inline(never)]
    fn end_style(&mut self, buf: &[u8], base: usize, end: usize) {
        let Some(from) = self.style_from.take() else {
            return;
        };
        if end - from > self.max_held {
            return;
        }
        let held = &buf[from - base..end - base];
        if let Some((css, n)) = rewrite_style_text(held, self.encoding, &mut self.ctx, &self.mapper)
        {
            if let Some(r) = &mut self.recorder {
                r.record(from, held, &css);
            }
            self.emit_until(buf, base, from);
            self.out.extend_from_slice(&css);
            self.emitted = end;
            self.rewrites += u64::from(n);
        }
    }
}

impl<M: UrlMapper> TagSink for Handlers<M> {
    #[inline]
    fn tag(&mut self, buf: &[u8], base: usize, t: &Tag<'_>) {
        if !t.is_end {
            // `href` counts on `<link>` and `<base>` only: most are links of `<a>`.
            let classes = if t.hash == tag::LINK || t.hash == tag::BASE {
                t.classes
            } else {
                t.classes & !AttrName::Href.bit()
            };
            if classes & HANDLED != 0 || t.hash == tag::STYLE {
                self.start_tag(buf, base, t);
            }
        } else if t.hash == tag::STYLE {
            self.end_style(buf, base, t.start);
        }
    }
}

/// A streaming HTML page rewriter on the fast path.
pub(crate) struct FastPage<M> {
    tokenizer: Tokenizer,
    handlers: Handlers<M>,
    /// Input not written out yet that later tokens may need, from absolute offset
    /// `pending_at`.
    pending: Vec<u8>,
    pending_at: usize,
    /// Bytes written so far.
    fed: usize,
    /// Where the tokenizer resumes (absolute).
    resume: usize,
    max_tag: usize,
    failure: Option<RewriteError>,
    /// The rest passes through (after a failure, or after `finish`).
    passthrough: bool,
}

impl<M: UrlMapper> FastPage<M> {
    pub(crate) fn new(
        charset: Option<&'static Encoding>,
        mapper: M,
        options: &RewriteOptions,
    ) -> Self {
        let header = charset.filter(|c| c.is_ascii_compatible());
        Self {
            tokenizer: Tokenizer::new(),
            handlers: Handlers {
                mapper,
                ctx: UrlContext::new(options.document_url.clone(), options.https_page),
                encoding: header.unwrap_or(UTF_8),
                encoding_fixed: header.is_some(),
                header_encoding: header.is_some(),
                style_from: None,
                max_held: options.max_held_bytes,
                emitted: 0,
                out: BytesMut::new(),
                value: String::new(),
                edits: Vec::new(),
                replacements: Vec::new(),
                rewrites: 0,
                recorder: None,
            },
            pending: Vec::new(),
            pending_at: 0,
            fed: 0,
            resume: 0,
            max_tag: options.max_parser_memory,
            failure: None,
            passthrough: false,
        }
    }

    pub(crate) fn write(&mut self, chunk: &[u8]) -> Bytes {
        if self.passthrough {
            return Bytes::copy_from_slice(chunk);
        }
        let h = &mut self.handlers;
        h.out.reserve(chunk.len() + chunk.len() / 8);
        let held = !self.pending.is_empty();
        if held {
            self.pending.extend_from_slice(chunk);
        }
        let (buf, base) = if held {
            (&self.pending[..], self.pending_at)
        } else {
            (chunk, self.fed)
        };
        self.fed += chunk.len();
        let end = base + buf.len();
        let result = self.tokenizer.run(buf, base, self.resume, false, h);
        let Ok(resume) = result else {
            // lol_html's strict mode gives up here: the rest goes out as it is.
            self.failure = Some(RewriteError::AmbiguousMarkup);
            if let Some(r) = &mut h.recorder {
                r.spoil();
            }
            h.style_from = None;
            h.emit_until(buf, base, end);
            self.passthrough = true;
            self.pending = Vec::new();
            return h.out.split().freeze();
        };
        self.resume = resume;
        let mut keep = resume;
        if let Some(tag_start) = self.tokenizer.tag_start() {
            if resume - tag_start > self.max_tag {
                self.failure = Some(RewriteError::MemoryLimit);
                if let Some(r) = &mut h.recorder {
                    r.spoil();
                }
                h.style_from = None;
                h.emit_until(buf, base, end);
                self.passthrough = true;
                self.pending = Vec::new();
                return h.out.split().freeze();
            }
            keep = keep.min(tag_start);
        }
        if let Some(from) = h.style_from {
            if resume - from > h.max_held {
                h.style_from = None;
            } else {
                keep = keep.min(from);
            }
        }
        let keep = keep.max(h.emitted);
        h.emit_until(buf, base, keep);
        if held {
            self.pending.drain(..keep - self.pending_at);
        } else {
            self.pending.extend_from_slice(&chunk[keep - base..]);
        }
        self.pending_at = keep;
        h.out.split().freeze()
    }

    /// Ends the page; later writes pass through unchanged. Nothing after the last
    /// complete tag can hold a URL: an unfinished tag or `<style>` goes out as it is.
    pub(crate) fn finish(&mut self) -> Bytes {
        let h = &mut self.handlers;
        if !self.passthrough {
            let end = self.pending_at + self.pending.len();
            h.emit_until(&self.pending, self.pending_at, end);
        }
        self.pending = Vec::new();
        self.passthrough = true;
        h.out.split().freeze()
    }

    pub(crate) fn rewrites(&self) -> u64 {
        self.handlers.rewrites
    }

    pub(crate) fn record(&mut self, limit: usize) {
        self.handlers.recorder = Some(Recorder::new(limit));
    }

    /// The recorded plan, once the page is finished.
    pub(crate) fn take_plan(&mut self) -> Option<RewritePlan> {
        if !self.passthrough || self.failure.is_some() {
            return None;
        }
        let rewrites = self.handlers.rewrites;
        self.handlers.recorder.as_mut()?.finish(self.fed, rewrites)
    }

    pub(crate) fn failure(&self) -> Option<&RewriteError> {
        self.failure.as_ref()
    }
}
