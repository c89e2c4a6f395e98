//! The CSS side for stylesheet responses: streams chunks through [`CssScanner`], holding
//! back only the bytes of a URL whose end has not arrived yet.

use std::borrow::Cow;
use std::ops::Range;

use bytes::{Bytes, BytesMut};
use encoding_rs::{Encoding, UTF_8};

use super::RewriteOptions;
use super::css::{CssScanner, is_byte_scannable};
use super::mapper::UrlMapper;
use super::plan::{Recorder, RewritePlan};
use super::url_context::{UrlContext, trim_ascii_whitespace};

/// A streaming `text/css` rewriter.
pub(crate) struct CssStream<M> {
    scanner: CssScanner,
    mapper: M,
    ctx: UrlContext,
    encoding: &'static Encoding,
    /// False when the encoding cannot be scanned byte-wise: everything passes through.
    enabled: bool,
    /// Input not sent yet, starting at absolute offset `held_start`.
    held: Vec<u8>,
    held_start: usize,
    found: Vec<Range<usize>>,
    max_url: usize,
    url: String,
    out: BytesMut,
    rewrites: u64,
    recorder: Option<Recorder>,
    finished: bool,
}

impl<M: UrlMapper> CssStream<M> {
    pub(crate) fn new(
        charset: Option<&'static Encoding>,
        mapper: M,
        options: &RewriteOptions,
    ) -> Self {
        let encoding = charset.unwrap_or(UTF_8);
        Self {
            scanner: CssScanner::new(),
            mapper,
            ctx: UrlContext::new(options.document_url.clone(), options.https_page),
            encoding,
            enabled: is_byte_scannable(encoding),
            held: Vec::new(),
            held_start: 0,
            found: Vec::new(),
            max_url: options.max_held_bytes,
            url: String::new(),
            out: BytesMut::new(),
            rewrites: 0,
            recorder: None,
            finished: false,
        }
    }

    pub(crate) fn write(&mut self, chunk: &[u8]) -> Bytes {
        if !self.enabled {
            return Bytes::copy_from_slice(chunk);
        }
        self.held.extend_from_slice(chunk);
        self.out.reserve(chunk.len() + chunk.len() / 8);
        let Self {
            scanner,
            held,
            held_start,
            found,
            ..
        } = self;
        let from = scanner.position() - *held_start;
        scanner.scan(&held[from..], &mut |range| found.push(range));
        if let Some(open) = scanner.open_candidate()
            && scanner.position() - open > self.max_url
        {
            scanner.abandon_candidate();
        }
        let cut = scanner.open_candidate().unwrap_or(scanner.position());
        self.emit_until(cut);
        self.out.split().freeze()
    }

    /// Ends the stylesheet: a URL still open was never closed and goes out as it was.
    pub(crate) fn finish(&mut self) -> Bytes {
        self.finished = true;
        self.emit_until(self.held_start + self.held.len());
        self.out.split().freeze()
    }

    pub(crate) fn rewrites(&self) -> u64 {
        self.rewrites
    }

    pub(crate) fn record(&mut self, limit: usize) {
        self.recorder = Some(Recorder::new(limit));
    }

    /// The recorded plan, once the stylesheet is finished.
    pub(crate) fn take_plan(&mut self) -> Option<RewritePlan> {
        if !self.finished || !self.enabled {
            return None;
        }
        let len = self.held_start + self.held.len();
        let rewrites = self.rewrites;
        self.recorder.as_mut()?.finish(len, rewrites)
    }

    /// Sends held bytes up to absolute offset `cut`, with the URLs found so far rewritten.
    fn emit_until(&mut self, cut: usize) {
        let mut copied = self.held_start;
        for range in std::mem::take(&mut self.found) {
            let local = range.start - self.held_start..range.end - self.held_start;
            let Some(raw) = self.held.get(local.clone()) else {
                continue;
            };
            let rewritten = rewrite_url(
                raw,
                self.encoding,
                &mut self.ctx,
                &self.mapper,
                &mut self.url,
            );
            if let Some((url_range, replacement)) = rewritten {
                let start = self.held_start + local.start + url_range.start;
                if let Some(r) = &mut self.recorder {
                    let from = start - self.held_start;
                    r.record(
                        start,
                        &self.held[from..from + url_range.len()],
                        &replacement,
                    );
                }
                self.out.extend_from_slice(
                    &self.held[copied - self.held_start..start - self.held_start],
                );
                self.out.extend_from_slice(&replacement);
                copied = start + url_range.len();
                self.rewrites += 1;
            }
        }
        let end = cut - self.held_start;
        self.out
            .extend_from_slice(&self.held[copied - self.held_start..end]);
        self.held.drain(..end);
        self.held_start = cut;
    }
}

/// The rewritten URL for `raw` (a URL token's bytes) and the byte range of `raw` it replaces.
fn rewrite_url(
    raw: &[u8],
    encoding: &'static Encoding,
    ctx: &mut UrlContext,
    mapper: &impl UrlMapper,
    buf: &mut String,
) -> Option<(Range<usize>, Vec<u8>)> {
    let text: Cow<'_, str> = if encoding == UTF_8 {
        Cow::Borrowed(std::str::from_utf8(raw).ok()?)
    } else {
        encoding.decode_without_bom_handling_and_without_replacement(raw)?
    };
    let url = trim_ascii_whitespace(&text);
    // Whitespace is ASCII in every scannable encoding: byte counts carry over.
    let lead = url.as_ptr() as usize - text.as_ptr() as usize;
    let trail = text.len() - lead - url.len();
    let url_bytes = lead..raw.len() - trail;
    buf.clear();
    if !ctx.rewrite(url, mapper, buf) {
        return None;
    }
    let (original, _, _) = encoding.encode(url);
    let (mapped, _, unencodable) = encoding.encode(buf);
    (!unencodable && *original == raw[url_bytes.clone()]).then(|| (url_bytes, mapped.into_owned()))
}
