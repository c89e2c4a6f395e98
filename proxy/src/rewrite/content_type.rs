//! What a response is, from its `Content-Type`: which rewriter applies, and in which
//! character encoding.

use encoding_rs::Encoding;

/// The kinds of body the rewriter handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentKind {
    /// `text/html`: streamed through the HTML rewriter.
    Html,
    /// `text/css`: streamed through the CSS rewriter.
    Css,
    /// Anything else: passed through untouched.
    Other,
}

/// A parsed `Content-Type` header value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentType {
    /// Which rewriter the body needs.
    pub kind: ContentKind,
    /// The encoding named by a valid `charset` parameter, if any.
    pub charset: Option<&'static Encoding>,
}

impl ContentType {
    /// Parses a header value such as `text/html; charset="Shift_JIS"`. Unknown charset
    /// labels count as absent, as in browsers.
    pub fn parse(value: &str) -> Self {
        let mut parts = value.split(';');
        let essence = parts.next().unwrap_or_default().trim();
        let kind = if essence.eq_ignore_ascii_case("text/html") {
            ContentKind::Html
        } else if essence.eq_ignore_ascii_case("text/css") {
            ContentKind::Css
        } else {
            ContentKind::Other
        };
        let charset = parts.find_map(|param| {
            let (name, value) = param.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("charset") {
                return None;
            }
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            Encoding::for_label(value.as_bytes())
        });
        Self { kind, charset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_charset_are_read_case_insensitively() {
        let ct = ContentType::parse("Text/HTML ; Charset=\"Shift_JIS\"");
        assert_eq!(ct.kind, ContentKind::Html);
        assert_eq!(ct.charset, Some(encoding_rs::SHIFT_JIS));
        let ct = ContentType::parse("text/css;charset=latin1");
        assert_eq!(ct.kind, ContentKind::Css);
        assert_eq!(ct.charset, Some(encoding_rs::WINDOWS_1252));
    }

    #[test]
    fn unknown_types_and_labels_are_other_and_absent() {
        let ct = ContentType::parse("image/png; charset=bogus");
        assert_eq!(
            ct,
            ContentType {
                kind: ContentKind::Other,
                charset: None
            }
        );
        assert_eq!(ContentType::parse("").kind, ContentKind::Other);
        assert_eq!(ContentType::parse("text/html").charset, None);
    }
}
