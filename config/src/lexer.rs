//! The one lexer of every ASCII format (spec §1, §2, §3, §6).
//!
//! Tokens are words and one-byte punctuation, separated by any run of spaces, tabs, CR or
//! LF. A line whose first non-blank byte is `#` is a comment. Every token carries its
//! [`Pos`]. Outside comments only printable ASCII is allowed, so every word is a slice of
//! ASCII and a column is a byte column. Lines are limited to [`MAX_LINE`] bytes so that a
//! peer cannot make a position or a message unbounded, except in control transactions
//! (spec §1: a line may be of any length; the engine bounds the transaction's size
//! instead): [`Lexer::any_line_length`].
//!
//! IPv6 addresses contain `:`, which is punctuation elsewhere (`A:1.2.3.4`, `DEL x : REG`);
//! the parser asks for [`Lexer::next_address`] where an address is expected, which reads a
//! word that may contain `:`.

use crate::error::{ParseError, Pos};

/// The longest line accepted, in bytes (without its line end).
pub const MAX_LINE: usize = 64 * 1024;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind<'a> {
    /// A run of printable ASCII that holds no punctuation.
    Word(&'a str),
    /// One of `{ } [ ] ( ) ; , : = ! |`.
    Punct(u8),
    /// The end of the input.
    End,
}

/// A token and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// What the token is.
    pub kind: TokenKind<'a>,
    /// Its first byte's position.
    pub pos: Pos,
}

impl Token<'_> {
    /// The token as an error message names it: `'x'` or `end of input`.
    pub fn describe(&self) -> String {
        match self.kind {
            TokenKind::Word(w) if w.len() > 40 => format!("'{}...'", crate::grammar::clip(w)),
            TokenKind::Word(w) => format!("'{w}'"),
            TokenKind::Punct(c) => format!("'{}'", c as char),
            TokenKind::End => "end of input".to_owned(),
        }
    }

    /// True when the token is the punctuation byte `c`.
    pub fn is_punct(&self, c: u8) -> bool {
        self.kind == TokenKind::Punct(c)
    }
}

const BLANK: u8 = 1;
const PUNCT: u8 = 2;
const WORD: u8 = 3;
const BAD: u8 = 0;

/// The class of every byte: blank, punctuation, word or not allowed.
const CLASS: [u8; 256] = {
    let mut t = [BAD; 256];
    let mut b = 0x21;
    while b < 0x7f {
        t[b] = WORD;
        b += 1;
    }
    t[b' ' as usize] = BLANK;
    t[b'\t' as usize] = BLANK;
    t[b'\r' as usize] = BLANK;
    t[b'\n' as usize] = BLANK;
    let punct = b"{}[]();,:=!|";
    let mut i = 0;
    while i < punct.len() {
        t[punct[i] as usize] = PUNCT;
        i += 1;
    }
    t
};

/// A cursor over a text; cheap to copy, so a parser peeks by lexing a copy.
#[derive(Clone, Copy, Debug)]
pub struct Lexer<'a> {
    src: &'a str,
    i: usize,
    line: u32,
    line_start: usize,
    max_line: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`, lines limited to [`MAX_LINE`].
    pub fn new(src: &'a str) -> Self {
        Self {
            src,
            i: 0,
            line: 1,
            line_start: 0,
            max_line: MAX_LINE,
        }
    }

    /// This lexer, taking lines of any length (spec §1).
    #[must_use]
    pub fn any_line_length(self) -> Self {
        Self {
            max_line: usize::MAX,
            ..self
        }
    }

    /// A lexer over bytes received from a peer: they must be UTF-8 (the error names the
    /// first byte that is not).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, ParseError> {
        match std::str::from_utf8(bytes) {
            Ok(src) => Ok(Self::new(src)),
            Err(e) => {
                let ok = &bytes[..e.valid_up_to()];
                let line = ok.iter().filter(|&&b| b == b'\n').count() + 1;
                let line_start = ok.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                Err(ParseError::new(
                    pos_of(line, ok.len() - line_start),
                    "the text is not valid UTF-8",
                ))
            }
        }
    }

    /// The position of the next byte to read.
    pub fn here(&self) -> Pos {
        pos_of(self.line as usize, self.i - self.line_start)
    }

    /// The byte offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.i
    }

    /// The next token without consuming it.
    pub fn peek(&self) -> Result<Token<'a>, ParseError> {
        let mut copy = *self;
        copy.next_token()
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token<'a>, ParseError> {
        self.scan(false)
    }

    /// The next token where an IP address is expected: a word may then hold `:`.
    pub fn next_address(&mut self) -> Result<Token<'a>, ParseError> {
        self.scan(true)
    }

    /// The rest of the current line after blanks, without its line end or trailing
    /// blanks, for a free-form value such as a token; the lexer moves to the line end.
    /// The text may hold any character: the caller checks it.
    pub fn rest_of_line(&mut self) -> Result<(&'a str, Pos), ParseError> {
        let bytes = self.src.as_bytes();
        while matches!(bytes.get(self.i), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        let pos = self.here();
        let rest = &bytes[self.i..];
        let end = self.i + rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.check_line_end(end)?;
        let text = self.src[self.i..end].trim_end_matches([' ', '\t', '\r']);
        self.i = end;
        Ok((text, pos))
    }

    /// Consumes the punctuation `c` or fails with "expected 'c' `context`, found ...".
    pub fn expect_punct(&mut self, c: u8, context: &str) -> Result<Pos, ParseError> {
        let tok = self.next_token()?;
        if tok.is_punct(c) {
            Ok(tok.pos)
        } else {
            Err(expected(&tok, &format!("'{}' {context}", c as char)))
        }
    }

    /// Consumes a word or fails with "expected `what`, found ...".
    pub fn expect_word(&mut self, what: &str) -> Result<(&'a str, Pos), ParseError> {
        let tok = self.next_token()?;
        match tok.kind {
            TokenKind::Word(w) => Ok((w, tok.pos)),
            _ => Err(expected(&tok, what)),
        }
    }

    /// Consumes the end of a statement: `!`, or `|` where the seed's grammar used it
    /// (`allow_bar`).
    pub fn expect_statement_end(&mut self, allow_bar: bool, after: &str) -> Result<(), ParseError> {
        let tok = self.next_token()?;
        if tok.is_punct(b'!') || (allow_bar && tok.is_punct(b'|')) {
            Ok(())
        } else {
            Err(expected(&tok, &format!("'!' after {after}")))
        }
    }

    /// Skips blanks and comment lines; fails on a line that is too long.
    fn skip_blanks(&mut self) -> Result<(), ParseError> {
        let bytes = self.src.as_bytes();
        while let Some(&b) = bytes.get(self.i) {
            match b {
                b'\n' => {
                    self.check_line_end(self.i)?;
                    self.i += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = self.i;
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'#' if bytes[self.line_start..self.i]
                    .iter()
                    .all(|&b| CLASS[b as usize] == BLANK) =>
                {
                    // A comment may hold any text: skip to its line end.
                    let rest = &bytes[self.i..];
                    self.i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                }
                _ => break,
            }
        }
        if self.i == bytes.len() {
            self.check_line_end(self.i)?;
        }
        Ok(())
    }

    fn check_line_end(&self, end: usize) -> Result<(), ParseError> {
        if end - self.line_start > self.max_line {
            Err(ParseError::new(
                pos_of(self.line as usize, self.max_line),
                format!("line longer than {} bytes", self.max_line),
            ))
        } else {
            Ok(())
        }
    }

    fn scan(&mut self, address: bool) -> Result<Token<'a>, ParseError> {
        self.skip_blanks()?;
        let bytes = self.src.as_bytes();
        let pos = self.here();
        let Some(&b) = bytes.get(self.i) else {
            return Ok(Token {
                kind: TokenKind::End,
                pos,
            });
        };
        match CLASS[b as usize] {
            PUNCT if !(address && b == b':') => {
                self.i += 1;
                Ok(Token {
                    kind: TokenKind::Punct(b),
                    pos,
                })
            }
            PUNCT | WORD => {
                let start = self.i;
                let mut j = start + 1;
                while let Some(&c) = bytes.get(j) {
                    let class = CLASS[c as usize];
                    if class == WORD || (address && c == b':') {
                        j += 1;
                    } else {
                        break;
                    }
                }
                self.check_line_end(j)?;
                self.i = j;
                Ok(Token {
                    kind: TokenKind::Word(&self.src[start..j]),
                    pos,
                })
            }
            _ => Err(ParseError::new(
                pos,
                if b.is_ascii() {
                    format!("unexpected control character 0x{b:02x}")
                } else {
                    "unexpected non-ASCII character".to_owned()
                },
            )),
        }
    }
}

/// "expected `what`, found `tok`", at `tok`.
pub fn expected(tok: &Token<'_>, what: &str) -> ParseError {
    ParseError::new(
        tok.pos,
        format!("expected {what}, found {}", tok.describe()),
    )
}

/// A position from a 1-based line and a 0-based byte offset in that line.
fn pos_of(line: usize, offset_in_line: usize) -> Pos {
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Pos::new(clamp(line), clamp(offset_in_line.saturating_add(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind<'_>> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let tok = lx.next_token().unwrap();
            if tok.kind == TokenKind::End {
                return out;
            }
            out.push(tok.kind);
        }
    }

    #[test]
    fn splits_words_and_punctuation_on_any_blank_run() {
        use TokenKind::{Punct, Word};
        assert_eq!(
            kinds("ADD\tREG  x{1.2.3.0,\r\n24;}!"),
            vec![
                Word("ADD"),
                Word("REG"),
                Word("x"),
                Punct(b'{'),
                Word("1.2.3.0"),
                Punct(b','),
                Word("24"),
                Punct(b';'),
                Punct(b'}'),
                Punct(b'!'),
            ]
        );
    }

    #[test]
    fn positions_are_one_based_line_and_byte_column() {
        let mut lx = Lexer::new("a\n  bb ;\n");
        assert_eq!(lx.next_token().unwrap().pos, Pos::new(1, 1));
        assert_eq!(lx.next_token().unwrap().pos, Pos::new(2, 3));
        assert_eq!(lx.next_token().unwrap().pos, Pos::new(2, 6));
        assert_eq!(lx.next_token().unwrap().pos, Pos::new(3, 1));
    }

    #[test]
    fn comment_lines_are_skipped_but_a_hash_inside_a_line_is_not_a_comment() {
        assert_eq!(
            kinds("# a comment { ; \n  # another\nx # y"),
            vec![
                TokenKind::Word("x"),
                TokenKind::Word("#"),
                TokenKind::Word("y")
            ]
        );
    }

    #[test]
    fn an_address_word_may_hold_colons() {
        let mut lx = Lexer::new("A:2001:db8::1;");
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::Word("A"));
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::Punct(b':'));
        assert_eq!(
            lx.next_address().unwrap().kind,
            TokenKind::Word("2001:db8::1")
        );
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::Punct(b';'));
    }

    #[test]
    fn peek_does_not_consume() {
        let mut lx = Lexer::new("x y");
        assert_eq!(lx.peek().unwrap().kind, TokenKind::Word("x"));
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::Word("x"));
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::Word("y"));
    }

    #[test]
    fn control_and_non_ascii_characters_are_errors_at_their_position() {
        let mut lx = Lexer::new("ok\n x\u{1}");
        lx.next_token().unwrap();
        lx.next_token().unwrap();
        let err = lx.next_token().unwrap_err();
        assert_eq!(err.to_string(), "2:3: unexpected control character 0x01");
        let mut lx = Lexer::new("é");
        assert_eq!(
            lx.next_token().unwrap_err().to_string(),
            "1:1: unexpected non-ASCII character"
        );
    }

    #[test]
    fn invalid_utf8_is_reported_at_its_byte() {
        let err = Lexer::from_bytes(b"ab\ncd\xff").unwrap_err();
        assert_eq!(err.to_string(), "2:3: the text is not valid UTF-8");
    }

    #[test]
    fn a_line_over_the_limit_is_an_error() {
        let long = format!("x {}\ny", "a".repeat(MAX_LINE));
        let mut lx = Lexer::new(&long);
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::Word("x"));
        let err = lx.next_token().unwrap_err();
        assert_eq!(err.message, format!("line longer than {MAX_LINE} bytes"));
        assert_eq!(err.pos.line, 1);
        // Blanks and comments count too.
        let blanks = format!("{}\n", " ".repeat(MAX_LINE + 1));
        assert!(Lexer::new(&blanks).next_token().is_err());
        let exact = format!("{}\n", "b".repeat(MAX_LINE));
        assert!(Lexer::new(&exact).next_token().is_ok());
    }

    #[test]
    fn rest_of_line_takes_free_text_up_to_the_line_end() {
        let mut lx = Lexer::new("AUTH  a=b:c/d+  \r\nRESET!");
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::Word("AUTH"));
        assert_eq!(lx.rest_of_line().unwrap(), ("a=b:c/d+", Pos::new(1, 7)));
        assert_eq!(lx.next_token().unwrap().pos, Pos::new(2, 1));
        let mut lx = Lexer::new("AUTH");
        lx.next_token().unwrap();
        assert_eq!(lx.rest_of_line().unwrap(), ("", Pos::new(1, 5)));
    }

    #[test]
    fn expect_helpers_name_what_was_found() {
        let mut lx = Lexer::new("x");
        assert_eq!(
            lx.expect_punct(b';', "after the name")
                .unwrap_err()
                .to_string(),
            "1:1: expected ';' after the name, found 'x'"
        );
        let mut lx = Lexer::new("");
        assert_eq!(
            lx.expect_word("a region name").unwrap_err().to_string(),
            "1:1: expected a region name, found end of input"
        );
    }
}
