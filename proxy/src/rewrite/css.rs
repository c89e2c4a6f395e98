//! Finding and rewriting the URLs of CSS: `url(...)` tokens and `@import "..."` strings.
//!
//! [`CssScanner`] is a resumable byte-level tokenizer, close enough to CSS Syntax 3 for
//! this purpose: it tracks comments, strings, escapes and `url(` tokens across chunk
//! boundaries and reports the byte range of each URL. It is byte-based, which is exact for
//! UTF-8 and for encodings whose multi-byte sequences never contain ASCII bytes; see
//! [`is_byte_scannable`]. URLs written with CSS escapes are left alone.

use std::ops::Range;

use encoding_rs::{BIG5, Encoding, GB18030, GBK, SHIFT_JIS};

use super::mapper::UrlMapper;
use super::url_context::{UrlContext, trim_ascii_whitespace};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Normal,
    /// After a backslash outside strings: the next byte is escaped.
    Escape,
    /// After `/`: a comment starts if `*` follows.
    Slash,
    Comment,
    CommentStar,
    Str {
        quote: u8,
        escape: bool,
    },
    /// After `url(`, before its first non-whitespace byte.
    UrlStart,
    UrlUnquoted,
    /// Whitespace after an unquoted URL: only `)` may follow.
    UrlTrail {
        end: usize,
    },
    /// An invalid unquoted URL, consumed up to its `)`.
    BadUrl {
        escape: bool,
    },
}

const WORD_CAP: usize = 6;

/// Resumable scanner reporting the byte ranges of URLs in CSS text.
#[derive(Debug)]
pub(crate) struct CssScanner {
    state: State,
    /// Absolute offset of the next byte to scan.
    pos: usize,
    /// The current identifier or at-keyword, lower-cased, if short enough to matter.
    word: [u8; WORD_CAP],
    /// Length of the current word; `WORD_CAP + 1` when too long or escaped.
    word_len: usize,
    in_word: bool,
    word_is_at: bool,
    /// An `@import` was the last token: a string now is a URL.
    after_import: bool,
    /// Start of the URL being read, unless it cannot be rewritten (escaped, abandoned).
    candidate: Option<usize>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80
}

fn is_css_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
}

impl CssScanner {
    pub(crate) fn new() -> Self {
        Self::starting_at(0)
    }

    /// A scanner whose first byte is at absolute offset `pos`.
    pub(crate) fn starting_at(pos: usize) -> Self {
        Self {
            state: State::Normal,
            pos,
            word: [0; WORD_CAP],
            word_len: 0,
            in_word: false,
            word_is_at: false,
            after_import: false,
            candidate: None,
        }
    }

    /// Absolute offset of the next byte to scan.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Start of a URL whose end has not been scanned yet: bytes from there on must wait.
    pub(crate) fn open_candidate(&self) -> Option<usize> {
        match self.state {
            State::Str { .. } | State::UrlUnquoted | State::UrlTrail { .. } => self.candidate,
            _ => None,
        }
    }

    /// Gives up on the open URL (too long to hold): it will pass through as it is.
    pub(crate) fn abandon_candidate(&mut self) {
        self.candidate = None;
    }

    fn word_is(&self, s: &[u8]) -> bool {
        self.word_len == s.len() && &self.word[..s.len()] == s
    }

    /// Ends the current word; returns whether it was `url` (for a following `(`).
    fn end_word(&mut self) -> bool {
        if !self.in_word {
            return false;
        }
        self.in_word = false;
        if self.word_is_at {
            self.after_import = self.word_is(b"import");
            false
        } else {
            self.after_import = false;
            self.word_is(b"url")
        }
    }

    fn push_word_byte(&mut self, b: u8) {
        if self.word_len < WORD_CAP {
            self.word[self.word_len] = b.to_ascii_lowercase();
            self.word_len += 1;
        } else {
            self.word_len = WORD_CAP + 1;
        }
    }

    fn start_word(&mut self, is_at: bool) {
        self.in_word = true;
        self.word_is_at = is_at;
        self.word_len = 0;
    }

    /// Scans `bytes`, which start at [`Self::position`], calling `found` with the absolute
    /// range of each complete URL.
    pub(crate) fn scan(&mut self, bytes: &[u8], found: &mut impl FnMut(Range<usize>)) {
        let base = self.pos;
        let mut i = 0;
        while i < bytes.len() {
            // Skip the inside of comments and strings in one search: most of a stylesheet
            // that is not declarations is there (licence headers, data URLs in quotes).
            let skip = match self.state {
                State::Comment => bytes[i..].iter().position(|&b| b == b'*'),
                State::Str {
                    quote,
                    escape: false,
                } => bytes[i..]
                    .iter()
                    .position(|&b| b == quote || matches!(b, b'\\' | b'\n' | b'\r' | b'\x0C')),
                _ => Some(0),
            };
            match skip {
                Some(n) => i += n,
                None => break,
            }
            let b = bytes[i];
            let at = base + i;
            match self.state {
                State::Normal => {
                    if is_ident_byte(b) {
                        if !self.in_word {
                            self.start_word(false);
                        }
                        self.push_word_byte(b);
                    } else {
                        let was_url = self.end_word();
                        match b {
                            b'(' if was_url => self.state = State::UrlStart,
                            b'@' => self.start_word(true),
                            b'"' | b'\'' => {
                                self.candidate = self.after_import.then_some(at + 1);
                                self.after_import = false;
                                self.state = State::Str {
                                    quote: b,
                                    escape: false,
                                };
                            }
                            b'/' => self.state = State::Slash,
                            b'\\' => {
                                // An escape inside a word makes it neither `url` nor `import`.
                                self.in_word = true;
                                self.word_is_at = false;
                                self.word_len = WORD_CAP + 1;
                                self.state = State::Escape;
                            }
                            _ if is_css_whitespace(b) => {}
                            _ => self.after_import = false,
                        }
                    }
                }
                State::Escape => self.state = State::Normal,
                State::Slash => {
                    if b == b'*' {
                        self.state = State::Comment;
                    } else {
                        self.after_import = false;
                        self.state = State::Normal;
                        continue; // rescan this byte as Normal
                    }
                }
                State::Comment => {
                    if b == b'*' {
                        self.state = State::CommentStar;
                    }
                }
                State::CommentStar => {
                    self.state = match b {
                        b'/' => State::Normal,
                        b'*' => State::CommentStar,
                        _ => State::Comment,
                    }
                }
                State::Str { quote, escape } => {
                    if escape {
                        self.state = State::Str {
                            quote,
                            escape: false,
                        };
                    } else if b == b'\\' {
                        self.candidate = None;
                        self.state = State::Str {
                            quote,
                            escape: true,
                        };
                    } else if b == quote {
                        if let Some(start) = self.candidate.take() {
                            found(start..at);
                        }
                        self.state = State::Normal;
                    } else if matches!(b, b'\n' | b'\r' | b'\x0C') {
                        // A bad string: browsers drop it.
                        self.candidate = None;
                        self.state = State::Normal;
                    }
                }
                State::UrlStart => match b {
                    _ if is_css_whitespace(b) => {}
                    b'"' | b'\'' => {
                        self.candidate = Some(at + 1);
                        self.state = State::Str {
                            quote: b,
                            escape: false,
                        };
                    }
                    b')' => self.state = State::Normal,
                    _ => {
                        self.candidate = Some(at);
                        self.state = State::UrlUnquoted;
                        continue;
                    }
                },
                State::UrlUnquoted => match b {
                    b')' => {
                        if let Some(start) = self.candidate.take() {
                            found(start..at);
                        }
                        self.state = State::Normal;
                    }
                    _ if is_css_whitespace(b) => self.state = State::UrlTrail { end: at },
                    b'"' | b'\'' | b'(' | 0..=0x08 | 0x0B | 0x0E..=0x1F | 0x7F => {
                        self.candidate = None;
                        self.state = State::BadUrl { escape: false };
                    }
                    b'\\' => {
                        self.candidate = None;
                        self.state = State::BadUrl { escape: true };
                        // An escaped unquoted URL is valid CSS but not rewritten: consume
                        // it like a bad one, which ends at the same `)`.
                    }
                    _ => {}
                },
                State::UrlTrail { end } => match b {
                    b')' => {
                        if let Some(start) = self.candidate.take() {
                            found(start..end);
                        }
                        self.state = State::Normal;
                    }
                    _ if is_css_whitespace(b) => {}
                    _ => {
                        self.candidate = None;
                        self.state = State::BadUrl { escape: false };
                        continue;
                    }
                },
                State::BadUrl { escape } => {
                    self.state = if escape {
                        State::BadUrl { escape: false }
                    } else {
                        match b {
                            b')' => State::Normal,
                            b'\\' => State::BadUrl { escape: true },
                            _ => State::BadUrl { escape: false },
                        }
                    };
                }
            }
            i += 1;
        }
        self.pos = base + bytes.len();
    }
}

/// Whether CSS in `encoding` can be scanned byte by byte: true unless the encoding's
/// multi-byte characters may contain ASCII bytes such as `\` (Shift_JIS, Big5, GBK).
pub(crate) fn is_byte_scannable(encoding: &'static Encoding) -> bool {
    encoding.is_ascii_compatible() && ![SHIFT_JIS, BIG5, GBK, GB18030].contains(&encoding)
}

/// Appends `css` to `out` with its offloaded URLs rewritten; returns how many were.
///
/// For complete CSS texts: `style` attributes and `<style>` elements.
pub(crate) fn rewrite_css_text(
    css: &str,
    ctx: &mut UrlContext,
    mapper: &impl UrlMapper,
    out: &mut String,
) -> u32 {
    let mut scanner = CssScanner::new();
    let mut copied = 0;
    let mut rewrites = 0;
    scanner.scan(css.as_bytes(), &mut |range: Range<usize>| {
        // URL delimiters are ASCII, so the range lies on char boundaries.
        let Some(raw) = css.get(range.clone()) else {
            return;
        };
        let url = trim_ascii_whitespace(raw);
        let lead = url.as_ptr() as usize - raw.as_ptr() as usize;
        let url_start = range.start + lead;
        let Some(before) = css.get(copied..url_start) else {
            return; // cannot happen: ranges are ordered and on ASCII delimiters
        };
        out.push_str(before);
        if ctx.rewrite(url, mapper, out) {
            rewrites += 1;
        } else {
            out.push_str(url);
        }
        copied = url_start + url.len();
    });
    out.push_str(css.get(copied..).unwrap_or_default());
    rewrites
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::EmbeddedMapper;

    fn urls(css: &str) -> Vec<&str> {
        let mut v = Vec::new();
        CssScanner::new().scan(css.as_bytes(), &mut |r| v.push(r));
        v.into_iter().map(|r| &css[r]).collect()
    }

    fn urls_chunked(css: &str, size: usize) -> Vec<String> {
        let mut v = Vec::new();
        let mut s = CssScanner::new();
        for chunk in css.as_bytes().chunks(size) {
            s.scan(chunk, &mut |r| v.push(css[r].to_owned()));
        }
        v
    }

    const SAMPLE: &str = r#"@charset "utf-8"; @import "http://a/i.css" screen; @import url(//a/j.css);
        /* url(http://a/comment.png) */ .x { background: URL( "http://a/q.png" ) no-repeat;
        content: "url(http://a/in-string.png)"; b: url(  http://a/u.png  ); c: myurl(x);
        d: url(data:image/png;base64,AAA=) ; e: url('http://a/s.png'); f: u\72l(http://a/esc.png) }"#;

    #[test]
    fn finds_url_tokens_and_import_strings_only() {
        assert_eq!(
            urls(SAMPLE),
            [
                "http://a/i.css",
                "//a/j.css",
                "http://a/q.png",
                "http://a/u.png",
                "data:image/png;base64,AAA=",
                "http://a/s.png",
            ]
        );
    }

    #[test]
    fn chunk_boundaries_do_not_change_what_is_found() {
        let whole: Vec<String> = urls(SAMPLE).into_iter().map(str::to_owned).collect();
        for size in 1..12 {
            assert_eq!(urls_chunked(SAMPLE, size), whole, "chunk size {size}");
        }
    }

    #[test]
    fn escaped_bad_and_unterminated_urls_are_not_reported() {
        assert!(urls(r"a: url(http://a/x\).png); b: url(http://a/ b); c: url(x'y)").is_empty());
        assert!(urls("@import \"http://a/\\\"q.css\";").is_empty());
        assert!(urls("@import \"http://a/x.css\n\";").is_empty());
        assert!(urls("a: url(http://a/never-closed").is_empty());
        assert_eq!(urls("a: url()"), Vec::<&str>::new());
    }

    #[test]
    fn import_must_be_the_token_before_the_string() {
        assert!(urls(r#"@important "x"; @import; "y"; @imports "z""#).is_empty());
        assert_eq!(urls("@import/**/'q.css'"), ["q.css"]);
    }

    #[test]
    fn rewrites_offloaded_urls_and_keeps_everything_else() {
        let mapper = EmbeddedMapper::new("p.example", ["a"]);
        let mut ctx = UrlContext::new(None, false);
        let mut out = String::new();
        let n = rewrite_css_text(SAMPLE, &mut ctx, &mapper, &mut out);
        assert_eq!(n, 5);
        assert_eq!(
            out,
            SAMPLE
                .replace("//a/", "//p.example/a/")
                .replace(
                    "content: \"url(http://p.example/a/in-string.png)\"",
                    "content: \"url(http://a/in-string.png)\"",
                )
                .replace(
                    r"u\72l(http://p.example/a/esc.png)",
                    r"u\72l(http://a/esc.png)"
                )
                .replace(
                    "/* url(http://p.example/a/comment.png) */",
                    "/* url(http://a/comment.png) */"
                )
        );
    }

    #[test]
    fn shift_jis_css_is_not_byte_scannable() {
        assert!(!is_byte_scannable(SHIFT_JIS));
        assert!(is_byte_scannable(encoding_rs::UTF_8));
        assert!(is_byte_scannable(encoding_rs::WINDOWS_1252));
    }
}
