//! What a URL-bearing value becomes, shared by both HTML paths (the fast tokenizer and the
//! lol_html oracle) so that they can only differ in where they find values, never in what
//! they make of them.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

use super::content_type::ContentType;
use super::css::rewrite_css_text;
use super::mapper::UrlMapper;
use super::srcset::candidate_urls;
use super::url_context::{UrlContext, trim_ascii_whitespace};

/// How an attribute value holds URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueKind {
    Url,
    Srcset,
    Css,
}

/// `rel` tokens whose link's `href` is embedded content.
pub(crate) const LINK_RELS: [&str; 5] =
    ["stylesheet", "preload", "prefetch", "icon", "modulepreload"];

/// Whether a `rel` value names one of [`LINK_RELS`].
pub(crate) fn is_embedding_rel(rel: &str) -> bool {
    rel.split_ascii_whitespace()
        .any(|token| LINK_RELS.iter().any(|r| r.eq_ignore_ascii_case(token)))
}

/// Appends `value` with its offloaded URLs rewritten to `out`; returns how many were.
/// `out` holds garbage when it returns 0.
pub(crate) fn rewrite_value(
    value: &str,
    kind: ValueKind,
    ctx: &mut UrlContext,
    mapper: &impl UrlMapper,
    out: &mut String,
) -> u32 {
    match kind {
        ValueKind::Url => {
            let url = trim_ascii_whitespace(value);
            let lead = url.as_ptr() as usize - value.as_ptr() as usize;
            out.push_str(&value[..lead]);
            if ctx.rewrite(url, mapper, out) {
                out.push_str(&value[lead + url.len()..]);
                1
            } else {
                0
            }
        }
        ValueKind::Srcset => {
            let mut copied = 0;
            let mut rewrites = 0;
            for range in candidate_urls(value.as_bytes()) {
                let (Some(before), Some(url)) =
                    (value.get(copied..range.start), value.get(range.clone()))
                else {
                    return 0;
                };
                out.push_str(before);
                if ctx.rewrite(url, mapper, out) {
                    rewrites += 1;
                } else {
                    out.push_str(url);
                }
                copied = range.end;
            }
            out.push_str(value.get(copied..).unwrap_or_default());
            rewrites
        }
        ValueKind::Css => rewrite_css_text(value, ctx, mapper, out),
    }
}

/// The charset a `<meta>` declares (`charset`, or `http-equiv=content-type` with a
/// `content`), from the element's decoded attributes; only ASCII-compatible ones count.
pub(crate) fn meta_charset<'a>(
    mut attribute: impl FnMut(&str) -> Option<Cow<'a, str>>,
) -> Option<&'static Encoding> {
    let declared = attribute("charset")
        .and_then(|label| Encoding::for_label_no_replacement(label.trim().as_bytes()))
        .or_else(|| {
            let http_equiv = attribute("http-equiv")?;
            if !http_equiv.eq_ignore_ascii_case("content-type") {
                return None;
            }
            ContentType::parse(&attribute("content")?).charset
        });
    declared.filter(|e| e.is_ascii_compatible())
}

/// The rewritten bytes of a `<style>` element's text, if any URL changed.
pub(crate) fn rewrite_style_text(
    held: &[u8],
    encoding: &'static Encoding,
    ctx: &mut UrlContext,
    mapper: &impl UrlMapper,
) -> Option<(Vec<u8>, u32)> {
    let css: Cow<'_, str> = if encoding == UTF_8 {
        Cow::Borrowed(std::str::from_utf8(held).ok()?)
    } else {
        encoding.decode_without_bom_handling_and_without_replacement(held)?
    };
    let mut out = String::new();
    let n = rewrite_css_text(&css, ctx, mapper, &mut out);
    if n == 0 {
        return None;
    }
    // Re-encoding must give back the original bytes, or untouched text would change.
    if encoding != UTF_8 && *encoding.encode(&css).0 != *held {
        return None;
    }
    let (bytes, _, unencodable) = encoding.encode(&out);
    (!unencodable).then(|| (bytes.into_owned(), n))
}
