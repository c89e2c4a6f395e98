//! A resumable HTML tokenizer that only finds tags: the states of the HTML standard's
//! tokenizer (13.2.5) as lol_html 3.0 implements them (`parser/state_machine/syntax`),
//! quirks included, with text, comments and raw text skipped by `memchr`.
//!
//! It reports complete tags (name, attributes by byte range) to a [`TagSink`] and nothing
//! else: a rewriter needs no text tokens. Input arrives in pieces; [`Tokenizer::run`]
//! stops where the input ends and resumes from the same state when more arrives, so the
//! caller must keep the bytes from the start of an unfinished tag ([`Tokenizer::tag_start`])
//! and from the returned position on.

use std::ops::Range;

use memchr::{memchr, memchr2};

use super::tree::{Ambiguous, AttrName, Feedback, NameHash, Namespace, TagView, TextType, TreeSim};

/// One attribute of a tag, by absolute byte offsets.
#[derive(Clone, Debug)]
pub(crate) struct AttrSpan {
    pub(crate) name: Range<usize>,
    /// `None` for an attribute written without `=`.
    pub(crate) value: Option<Range<usize>>,
    /// What the name is, for the handlers and the tree simulator.
    pub(crate) class: AttrName,
}

/// A complete tag, by absolute byte offsets.
pub(crate) struct Tag<'a> {
    /// Offset of `<`.
    pub(crate) start: usize,
    /// Offset just after `>`.
    pub(crate) end: usize,
    pub(crate) is_end: bool,
    pub(crate) hash: NameHash,
    pub(crate) attrs: &'a [AttrSpan],
    /// The [`AttrName::bit`]s of the classes among `attrs`.
    pub(crate) classes: u32,
    /// The namespace of a start tag's element (after the tag's own feedback).
    pub(crate) ns: Namespace,
}

/// Receives complete tags; `buf[0]` is at absolute offset `base`.
pub(crate) trait TagSink {
    fn tag(&mut self, buf: &[u8], base: usize, tag: &Tag<'_>);
}

/// Which raw-text end tag search a state belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EndTagSearch {
    RcData,
    RawText,
    Script,
    ScriptEscaped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Data,
    RcData,
    RawText,
    ScriptData,
    PlainText,
    TagOpen,
    EndTagOpen,
    TagName,
    BeforeAttrName,
    AttrName,
    AfterAttrName,
    BeforeAttrValue,
    AttrValueQuoted(u8),
    AttrValueUnquoted,
    SelfClosing,
    MarkupDecl,
    CommentStart,
    CommentStartDash,
    Comment,
    CommentLt,
    CommentLtBang,
    CommentLtBangDash,
    CommentLtBangDashDash,
    CommentEndDash,
    CommentEnd,
    CommentEndBang,
    BogusComment,
    Doctype,
    CData,
    CDataBracket,
    /// After `<` in raw text.
    TextLt(EndTagSearch),
    /// After `</` in raw text.
    TextEndTagOpen(EndTagSearch),
    /// In a possible end tag name in raw text.
    TextEndTagName(EndTagSearch),
    ScriptEscapeStart,
    ScriptEscapedDashDash,
    ScriptEscaped,
    ScriptDoubleEscapedStart,
    ScriptDoubleEscaped,
    ScriptDoubleEscapedDashDash,
    ScriptDoubleEscapedLt,
    ScriptDoubleEscapedEndTagName,
    ScriptDoubleEscapedEnd,
}

impl State {
    /// States inside a tag (or a possible end tag of raw text): their bytes from
    /// [`Tokenizer::tag_start`] on are needed when the tag completes.
    fn in_tag(self) -> bool {
        matches!(
            self,
            Self::TagOpen
                | Self::EndTagOpen
                | Self::TagName
                | Self::BeforeAttrName
                | Self::AttrName
                | Self::AfterAttrName
                | Self::BeforeAttrValue
                | Self::AttrValueQuoted(_)
                | Self::AttrValueUnquoted
                | Self::SelfClosing
                | Self::TextLt(_)
                | Self::TextEndTagOpen(_)
                | Self::TextEndTagName(_)
        )
    }
}

impl EndTagSearch {
    fn text_state(self) -> State {
        match self {
            Self::RcData => State::RcData,
            Self::RawText => State::RawText,
            Self::Script => State::ScriptData,
            Self::ScriptEscaped => State::ScriptEscaped,
        }
    }
}

/// The first `needle` in `hay`. Most quoted values (`class="x"`) and gaps between tags
/// are short: two word-wide checks of the first 16 bytes cost less than setting up
/// `memchr`.
// Always inlined: called per tag and per value, where a call costs as much as the
// search (measured with callgrind on the bench page).
#[inline(always)]
fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let Some(head) = hay.first_chunk::<16>() else {
        return memchr(needle, hay);
    };
    let (lo, hi) = head.split_at(8);
    for (at, half) in [(0, lo), (8, hi)] {
        let mut word = [0u8; 8];
        word.copy_from_slice(half);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(needle));
        // The lowest flagged byte is the first zero byte of `x` (higher flags may be
        // borrows, never lower ones).
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(at + zeros.trailing_zeros() as usize / 8);
        }
    }
    memchr(needle, &hay[16..]).map(|k| k + 16)
}

/// Byte classes of the tag states, one table load per byte instead of up to six
/// compares in the loops that read names and values (the tokenizer's hottest).
const WS: u8 = 1;
/// `/` or `>`: ends a tag name or an attribute name.
const SLASH_GT: u8 = 2;
/// `=`: ends an attribute name.
const EQ: u8 = 4;
/// `>`: ends an unquoted value, as whitespace does.
const GT: u8 = 8;

static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b' ' as usize] = WS;
    table[b'\n' as usize] = WS;
    table[b'\r' as usize] = WS;
    table[b'\t' as usize] = WS;
    table[0x0C] = WS;
    table[b'/' as usize] = SLASH_GT;
    table[b'>' as usize] = SLASH_GT | GT;
    table[b'=' as usize] = EQ;
    table
};

#[inline(always)]
fn is(b: u8, classes: u8) -> bool {
    CLASS[usize::from(b)] & classes != 0
}

#[inline(always)]
fn is_whitespace(b: u8) -> bool {
    is(b, WS)
}

/// Result of comparing the input at a position with a fixed sequence.
enum Seq {
    Match,
    Mismatch,
    /// The input ends inside a possible match.
    NeedMore,
}

fn seq(input: &[u8], pattern: &[u8], ignore_case: bool, eof: bool) -> Seq {
    let n = input.len().min(pattern.len());
    let same = input[..n].iter().zip(pattern).all(|(&a, &b)| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    });
    if !same {
        Seq::Mismatch
    } else if n == pattern.len() {
        Seq::Match
    } else if eof {
        Seq::Mismatch
    } else {
        Seq::NeedMore
    }
}

/// The tokenizer state between calls.
pub(crate) struct Tokenizer {
    state: State,
    /// The text state tags return to (lol_html's `last_text_type`).
    text: TextType,
    cdata_allowed: bool,
    last_start_hash: NameHash,
    tag_start: usize,
    is_end: bool,
    name: Range<usize>,
    hash: NameHash,
    attrs: Vec<AttrSpan>,
    /// [`AttrName::bit`]s of the attributes so far.
    classes: u32,
    sim: TreeSim,
}

impl Tokenizer {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Data,
            text: TextType::Data,
            cdata_allowed: false,
            last_start_hash: NameHash::NEW,
            tag_start: 0,
            is_end: false,
            name: 0..0,
            hash: NameHash::NEW,
            attrs: Vec::new(),
            classes: 0,
            sim: TreeSim::new(),
        }
    }

    /// The start of the unfinished tag, if the input ended inside one.
    pub(crate) fn tag_start(&self) -> Option<usize> {
        self.state.in_tag().then_some(self.tag_start)
    }

    #[inline(always)]
    fn begin_tag(&mut self, is_end: bool, name_start: usize, first: u8) {
        self.is_end = is_end;
        self.name = name_start..name_start;
        self.hash = NameHash::NEW.update(first);
        self.attrs.clear();
        self.classes = 0;
    }

    #[inline(always)]
    fn start_attr(&mut self, at: usize) {
        self.attrs.push(AttrSpan {
            name: at..at,
            value: None,
            class: AttrName::Other,
        });
    }

    /// The name ends at absolute `at`; `buf` (from `base`) holds it whole, as it holds
    /// the whole unfinished tag.
    #[inline(always)]
    fn end_attr_name(&mut self, buf: &[u8], base: usize, at: usize) {
        if let Some(attr) = self.attrs.last_mut() {
            attr.name.end = at;
            attr.class =
                AttrName::classify_at(&buf[attr.name.start - base..], at - attr.name.start);
            self.classes |= attr.class.bit();
        }
    }

    #[inline(always)]
    fn set_attr_value(&mut self, value: Range<usize>) {
        if let Some(attr) = self.attrs.last_mut() {
            attr.value = Some(value);
        }
    }

    fn text_state(&self) -> State {
        match self.text {
            TextType::Data => State::Data,
            TextType::RcData => State::RcData,
            TextType::RawText => State::RawText,
            TextType::ScriptData => State::ScriptData,
            TextType::PlainText => State::PlainText,
        }
    }

    /// The tag ends at `buf[i]` (its `>`): tree feedback, then the sink.
    fn emit_tag(
        &mut self,
        buf: &[u8],
        base: usize,
        i: usize,
        self_closing: bool,
        sink: &mut impl TagSink,
    ) -> Result<(), Ambiguous> {
        let name = &buf[self.name.start - base..self.name.end - base];
        let feedback = if self.is_end {
            self.sim.end_tag(self.hash, name)
        } else {
            let attrs = self.attrs.iter().map(|a| {
                (
                    a.class,
                    a.value.as_ref().map(|v| &buf[v.start - base..v.end - base]),
                )
            });
            self.sim.start_tag(TagView {
                hash: self.hash,
                name,
                self_closing,
                attrs,
            })?
        };
        self.text = TextType::Data;
        match feedback {
            Feedback::SwitchTextType(text) => self.text = text,
            Feedback::SetAllowCdata(allowed) => self.cdata_allowed = allowed,
            Feedback::None => {}
        }
        if !self.is_end {
            self.last_start_hash = self.hash;
        }
        sink.tag(
            buf,
            base,
            &Tag {
                start: self.tag_start,
                end: base + i + 1,
                is_end: self.is_end,
                hash: self.hash,
                attrs: &self.attrs,
                classes: self.classes,
                ns: self.sim.current_ns(),
            },
        );
        self.state = self.text_state();
        Ok(())
    }

    /// A whole tag in one pass, `buf[at]` being its name's first letter: the tag states
    /// of [`Self::run`] as straight-line loops, which spare the state dispatch (its
    /// indirect jump was most of the time per tag). Returns the index after the tag, or
    /// `None` when `buf` ends inside it: the caller then tokenizes it state by state.
    #[inline]
    fn whole_tag(
        &mut self,
        buf: &[u8],
        base: usize,
        at: usize,
        is_end: bool,
        sink: &mut impl TagSink,
    ) -> Result<Option<usize>, Ambiguous> {
        macro_rules! byte {
            ($i:expr) => {
                match buf.get($i) {
                    Some(&b) => b,
                    None => return Ok(None),
                }
            };
        }
        let mut i = at;
        self.begin_tag(is_end, base + i, buf[i]);
        i += 1;
        loop {
            let b = byte!(i);
            if is(b, WS | SLASH_GT) {
                break;
            }
            self.hash = self.hash.update(b);
            i += 1;
        }
        self.name.end = base + i;
        // Before an attribute name; after one, `=` aside, the states act the same.
        'attrs: loop {
            let mut b = byte!(i);
            while is_whitespace(b) {
                i += 1;
                b = byte!(i);
            }
            match b {
                b'>' => {
                    self.emit_tag(buf, base, i, false, sink)?;
                    return Ok(Some(i + 1));
                }
                b'/' => {
                    i += 1;
                    if byte!(i) == b'>' {
                        self.emit_tag(buf, base, i, true, sink)?;
                        return Ok(Some(i + 1));
                    }
                    continue 'attrs;
                }
                _ => {}
            }
            // The attribute name: its first byte whatever it is (even `=`).
            self.start_attr(base + i);
            i += 1;
            loop {
                let b = byte!(i);
                if is(b, WS | SLASH_GT | EQ) {
                    break;
                }
                i += 1;
            }
            self.end_attr_name(buf, base, base + i);
            let mut b = byte!(i);
            while is_whitespace(b) {
                i += 1;
                b = byte!(i);
            }
            if b != b'=' {
                continue 'attrs;
            }
            i += 1;
            let mut b = byte!(i);
            while is_whitespace(b) {
                i += 1;
                b = byte!(i);
            }
            match b {
                b'"' | b'\'' => {
                    i += 1;
                    let Some(k) = find_byte(b, &buf[i..]) else {
                        return Ok(None);
                    };
                    self.set_attr_value(base + i..base + i + k);
                    i += k + 1;
                }
                b'>' => {
                    self.emit_tag(buf, base, i, false, sink)?;
                    return Ok(Some(i + 1));
                }
                _ => {
                    let start = i;
                    loop {
                        let b = byte!(i);
                        if !is(b, WS | GT) {
                            i += 1;
                            continue;
                        }
                        if b == b'>' {
                            self.set_attr_value(base + start..base + i);
                            self.emit_tag(buf, base, i, false, sink)?;
                            return Ok(Some(i + 1));
                        }
                        if is_whitespace(b) {
                            self.set_attr_value(base + start..base + i);
                            i += 1;
                            continue 'attrs;
                        }
                        i += 1;
                    }
                }
            }
        }
    }

    /// Tokenizes `buf` (whose first byte is at absolute offset `base`) from absolute
    /// offset `from`, which must be where the previous call stopped. Returns where it
    /// stopped: the end of `buf`, or the start of a sequence (`<!--`, `]]>`, ...) cut by
    /// the end of `buf`. `eof` says no input follows.
    pub(crate) fn run(
        &mut self,
        buf: &[u8],
        base: usize,
        from: usize,
        eof: bool,
        sink: &mut impl TagSink,
    ) -> Result<usize, Ambiguous> {
        let n = buf.len();
        let mut i = from - base;
        macro_rules! next_byte {
            () => {
                match buf.get(i) {
                    Some(&b) => b,
                    None => return Ok(base + n),
                }
            };
        }
        macro_rules! need_more {
            () => {
                return Ok(base + i)
            };
        }
        loop {
            match self.state {
                State::Data => loop {
                    let Some(k) = find_byte(b'<', &buf[i..]) else {
                        return Ok(base + n);
                    };
                    i += k;
                    self.tag_start = base + i;
                    let name_at = match (buf.get(i + 1), buf.get(i + 2)) {
                        (Some(b), _) if b.is_ascii_alphabetic() => Some((i + 1, false)),
                        (Some(b'/'), Some(b)) if b.is_ascii_alphabetic() => Some((i + 2, true)),
                        _ => None,
                    };
                    let next = match name_at {
                        Some((at, is_end)) => self.whole_tag(buf, base, at, is_end, sink)?,
                        None => None,
                    };
                    match next {
                        Some(next) => {
                            i = next;
                            if self.state != State::Data {
                                break;
                            }
                        }
                        None => {
                            // Anything else, or a tag cut by the end of `buf`: state by state.
                            i += 1;
                            self.state = State::TagOpen;
                            break;
                        }
                    }
                },
                State::RcData | State::RawText | State::ScriptData => {
                    let raw = match self.state {
                        State::RcData => EndTagSearch::RcData,
                        State::RawText => EndTagSearch::RawText,
                        _ => EndTagSearch::Script,
                    };
                    match memchr(b'<', &buf[i..]) {
                        Some(k) => {
                            i += k;
                            self.tag_start = base + i;
                            i += 1;
                            self.state = State::TextLt(raw);
                        }
                        None => return Ok(base + n),
                    }
                }
                State::PlainText => return Ok(base + n),
                State::TagOpen => {
                    let b = next_byte!();
                    match b {
                        b'a'..=b'z' | b'A'..=b'Z' => {
                            self.begin_tag(false, base + i, b);
                            i += 1;
                            self.state = State::TagName;
                        }
                        b'!' => {
                            i += 1;
                            self.state = State::MarkupDecl;
                        }
                        b'/' => {
                            i += 1;
                            self.state = State::EndTagOpen;
                        }
                        b'?' => {
                            i += 1;
                            self.state = State::BogusComment;
                        }
                        _ => self.state = State::Data,
                    }
                }
                State::EndTagOpen => {
                    let b = next_byte!();
                    match b {
                        b'a'..=b'z' | b'A'..=b'Z' => {
                            self.begin_tag(true, base + i, b);
                            i += 1;
                            self.state = State::TagName;
                        }
                        b'>' => {
                            i += 1;
                            self.state = State::Data;
                        }
                        _ => self.state = State::BogusComment,
                    }
                }
                State::TagName => loop {
                    let b = next_byte!();
                    match b {
                        b'>' => {
                            self.name.end = base + i;
                            self.emit_tag(buf, base, i, false, sink)?;
                            i += 1;
                            break;
                        }
                        b'/' => {
                            self.name.end = base + i;
                            i += 1;
                            self.state = State::SelfClosing;
                            break;
                        }
                        _ if is_whitespace(b) => {
                            self.name.end = base + i;
                            i += 1;
                            self.state = State::BeforeAttrName;
                            break;
                        }
                        _ => {
                            self.hash = self.hash.update(b);
                            i += 1;
                        }
                    }
                },
                State::BeforeAttrName => loop {
                    let b = next_byte!();
                    match b {
                        b'/' => {
                            i += 1;
                            self.state = State::SelfClosing;
                            break;
                        }
                        b'>' => {
                            self.emit_tag(buf, base, i, false, sink)?;
                            i += 1;
                            break;
                        }
                        _ if is_whitespace(b) => i += 1,
                        _ => {
                            self.start_attr(base + i);
                            i += 1;
                            self.state = State::AttrName;
                            break;
                        }
                    }
                },
                State::AttrName => loop {
                    let b = next_byte!();
                    match b {
                        b'=' => {
                            self.end_attr_name(buf, base, base + i);
                            i += 1;
                            self.state = State::BeforeAttrValue;
                            break;
                        }
                        b'/' => {
                            self.end_attr_name(buf, base, base + i);
                            i += 1;
                            self.state = State::SelfClosing;
                            break;
                        }
                        b'>' => {
                            self.end_attr_name(buf, base, base + i);
                            self.emit_tag(buf, base, i, false, sink)?;
                            i += 1;
                            break;
                        }
                        _ if is_whitespace(b) => {
                            self.end_attr_name(buf, base, base + i);
                            i += 1;
                            self.state = State::AfterAttrName;
                            break;
                        }
                        _ => i += 1,
                    }
                },
                State::AfterAttrName => {
                    let b = next_byte!();
                    match b {
                        b'/' => {
                            i += 1;
                            self.state = State::SelfClosing;
                        }
                        b'=' => {
                            i += 1;
                            self.state = State::BeforeAttrValue;
                        }
                        b'>' => {
                            self.emit_tag(buf, base, i, false, sink)?;
                            i += 1;
                        }
                        _ if is_whitespace(b) => i += 1,
                        _ => {
                            self.start_attr(base + i);
                            i += 1;
                            self.state = State::AttrName;
                        }
                    }
                }
                State::BeforeAttrValue => {
                    let b = next_byte!();
                    match b {
                        b'"' | b'\'' => {
                            i += 1;
                            self.set_attr_value(base + i..base + i);
                            self.state = State::AttrValueQuoted(b);
                        }
                        b'>' => {
                            // lol_html's state table says the data state here, but its
                            // tag scanner resumes in the tag's text state, as browsers do
                            // (`<script a=>` is followed by script): the differential test
                            // pins this.
                            self.emit_tag(buf, base, i, false, sink)?;
                            i += 1;
                        }
                        _ if is_whitespace(b) => i += 1,
                        _ => {
                            self.set_attr_value(base + i..base + i);
                            self.state = State::AttrValueUnquoted;
                        }
                    }
                }
                State::AttrValueQuoted(quote) => match find_byte(quote, &buf[i..]) {
                    Some(k) => {
                        i += k;
                        if let Some(AttrSpan { value: Some(v), .. }) = self.attrs.last_mut() {
                            v.end = base + i;
                        }
                        i += 1;
                        self.state = State::BeforeAttrName;
                    }
                    None => return Ok(base + n),
                },
                State::AttrValueUnquoted => loop {
                    let b = next_byte!();
                    if is_whitespace(b) || b == b'>' {
                        if let Some(AttrSpan { value: Some(v), .. }) = self.attrs.last_mut() {
                            v.end = base + i;
                        }
                        if b == b'>' {
                            self.emit_tag(buf, base, i, false, sink)?;
                        } else {
                            self.state = State::BeforeAttrName;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                },
                State::SelfClosing => {
                    let b = next_byte!();
                    if b == b'>' {
                        self.emit_tag(buf, base, i, true, sink)?;
                        i += 1;
                    } else {
                        self.state = State::BeforeAttrName;
                    }
                }
                State::MarkupDecl => {
                    let rest = &buf[i..];
                    match seq(rest, b"--", false, eof) {
                        Seq::Match => {
                            i += 2;
                            self.state = State::CommentStart;
                            continue;
                        }
                        Seq::NeedMore => need_more!(),
                        Seq::Mismatch => {}
                    }
                    match seq(rest, b"DOCTYPE", true, eof) {
                        Seq::Match => {
                            i += 7;
                            self.state = State::Doctype;
                            continue;
                        }
                        Seq::NeedMore => need_more!(),
                        Seq::Mismatch => {}
                    }
                    match seq(rest, b"[CDATA[", false, eof) {
                        Seq::Match => {
                            i += 7;
                            self.state = if self.cdata_allowed {
                                State::CData
                            } else {
                                State::BogusComment
                            };
                        }
                        Seq::NeedMore => need_more!(),
                        Seq::Mismatch => self.state = State::BogusComment,
                    }
                }
                State::BogusComment | State::Doctype => match memchr(b'>', &buf[i..]) {
                    // Every DOCTYPE state ends the token at its first `>`, quoted or not.
                    Some(k) => {
                        i += k + 1;
                        self.state = State::Data;
                    }
                    None => return Ok(base + n),
                },
                State::CommentStart | State::CommentStartDash => {
                    let b = next_byte!();
                    match b {
                        b'-' => {
                            i += 1;
                            self.state = if self.state == State::CommentStart {
                                State::CommentStartDash
                            } else {
                                State::CommentEnd
                            };
                        }
                        b'>' => {
                            i += 1;
                            self.state = State::Data;
                        }
                        _ => self.state = State::Comment,
                    }
                }
                State::Comment => match memchr2(b'-', b'<', &buf[i..]) {
                    Some(k) => {
                        i += k;
                        self.state = if buf[i] == b'-' {
                            State::CommentEndDash
                        } else {
                            State::CommentLt
                        };
                        i += 1;
                    }
                    None => return Ok(base + n),
                },
                State::CommentLt => {
                    let b = next_byte!();
                    match b {
                        b'!' => {
                            i += 1;
                            self.state = State::CommentLtBang;
                        }
                        b'<' => i += 1,
                        _ => self.state = State::Comment,
                    }
                }
                State::CommentLtBang => {
                    let b = next_byte!();
                    if b == b'-' {
                        i += 1;
                        self.state = State::CommentLtBangDash;
                    } else {
                        self.state = State::Comment;
                    }
                }
                State::CommentLtBangDash => {
                    let b = next_byte!();
                    if b == b'-' {
                        i += 1;
                        self.state = State::CommentLtBangDashDash;
                    } else {
                        self.state = State::CommentEndDash;
                    }
                }
                State::CommentLtBangDashDash => {
                    next_byte!();
                    self.state = State::CommentEnd;
                }
                State::CommentEndDash => {
                    let b = next_byte!();
                    if b == b'-' {
                        i += 1;
                        self.state = State::CommentEnd;
                    } else {
                        self.state = State::Comment;
                    }
                }
                State::CommentEnd => {
                    let b = next_byte!();
                    match b {
                        b'>' => {
                            i += 1;
                            self.state = State::Data;
                        }
                        b'!' => {
                            i += 1;
                            self.state = State::CommentEndBang;
                        }
                        b'-' => i += 1,
                        _ => self.state = State::Comment,
                    }
                }
                State::CommentEndBang => {
                    let b = next_byte!();
                    match b {
                        b'-' => {
                            i += 1;
                            self.state = State::CommentEndDash;
                        }
                        b'>' => {
                            i += 1;
                            self.state = State::Data;
                        }
                        _ => self.state = State::Comment,
                    }
                }
                State::CData => match memchr(b']', &buf[i..]) {
                    Some(k) => {
                        i += k + 1;
                        self.state = State::CDataBracket;
                    }
                    None => return Ok(base + n),
                },
                State::CDataBracket => match seq(&buf[i..], b"]>", false, eof) {
                    Seq::Match => {
                        i += 2;
                        self.state = State::Data;
                    }
                    Seq::NeedMore => need_more!(),
                    Seq::Mismatch => self.state = State::CData,
                },
                State::TextLt(raw) => {
                    if raw == EndTagSearch::ScriptEscaped {
                        match seq(&buf[i..], b"SCRIPT", true, eof) {
                            Seq::Match => {
                                i += 6;
                                self.state = State::ScriptDoubleEscapedStart;
                                continue;
                            }
                            Seq::NeedMore => need_more!(),
                            Seq::Mismatch => {}
                        }
                    }
                    let b = next_byte!();
                    match b {
                        b'/' => {
                            i += 1;
                            self.state = State::TextEndTagOpen(raw);
                        }
                        b'!' if raw == EndTagSearch::Script => {
                            i += 1;
                            self.state = State::ScriptEscapeStart;
                        }
                        _ => self.state = raw.text_state(),
                    }
                }
                State::TextEndTagOpen(raw) => {
                    let b = next_byte!();
                    if b.is_ascii_alphabetic() {
                        self.begin_tag(true, base + i, b);
                        i += 1;
                        self.state = State::TextEndTagName(raw);
                    } else {
                        self.state = raw.text_state();
                    }
                }
                State::TextEndTagName(raw) => loop {
                    let b = next_byte!();
                    if b.is_ascii_alphabetic() {
                        self.hash = self.hash.update(b);
                        i += 1;
                        continue;
                    }
                    let ends_name = is_whitespace(b) || b == b'/' || b == b'>';
                    if !ends_name || self.hash != self.last_start_hash {
                        self.state = raw.text_state();
                        break;
                    }
                    self.name.end = base + i;
                    match b {
                        b'>' => self.emit_tag(buf, base, i, false, sink)?,
                        b'/' => self.state = State::SelfClosing,
                        _ => self.state = State::BeforeAttrName,
                    }
                    i += 1;
                    break;
                },
                State::ScriptEscapeStart => match seq(&buf[i..], b"--", false, eof) {
                    Seq::Match => {
                        i += 2;
                        self.state = State::ScriptEscapedDashDash;
                    }
                    Seq::NeedMore => need_more!(),
                    Seq::Mismatch => self.state = State::ScriptData,
                },
                State::ScriptEscapedDashDash => {
                    let b = next_byte!();
                    match b {
                        b'-' => i += 1,
                        b'<' => {
                            self.tag_start = base + i;
                            i += 1;
                            self.state = State::TextLt(EndTagSearch::ScriptEscaped);
                        }
                        b'>' => self.state = State::ScriptData,
                        _ => {
                            i += 1;
                            self.state = State::ScriptEscaped;
                        }
                    }
                }
                State::ScriptEscaped => match memchr2(b'-', b'<', &buf[i..]) {
                    Some(k) => {
                        i += k;
                        if buf[i] == b'<' {
                            self.tag_start = base + i;
                            i += 1;
                            self.state = State::TextLt(EndTagSearch::ScriptEscaped);
                        } else {
                            match seq(&buf[i..], b"--", false, eof) {
                                Seq::Match => {
                                    i += 2;
                                    self.state = State::ScriptEscapedDashDash;
                                }
                                Seq::NeedMore => need_more!(),
                                Seq::Mismatch => i += 1,
                            }
                        }
                    }
                    None => return Ok(base + n),
                },
                State::ScriptDoubleEscapedStart => {
                    let b = next_byte!();
                    if is_whitespace(b) || b == b'/' || b == b'>' {
                        i += 1;
                        self.state = State::ScriptDoubleEscaped;
                    } else {
                        self.state = State::ScriptEscaped;
                    }
                }
                State::ScriptDoubleEscaped => match memchr2(b'-', b'<', &buf[i..]) {
                    Some(k) => {
                        i += k;
                        if buf[i] == b'<' {
                            i += 1;
                            self.state = State::ScriptDoubleEscapedLt;
                        } else {
                            match seq(&buf[i..], b"--", false, eof) {
                                Seq::Match => {
                                    i += 2;
                                    self.state = State::ScriptDoubleEscapedDashDash;
                                }
                                Seq::NeedMore => need_more!(),
                                Seq::Mismatch => i += 1,
                            }
                        }
                    }
                    None => return Ok(base + n),
                },
                State::ScriptDoubleEscapedDashDash => {
                    let b = next_byte!();
                    match b {
                        b'-' => i += 1,
                        b'<' => {
                            i += 1;
                            self.state = State::ScriptDoubleEscapedLt;
                        }
                        b'>' => self.state = State::ScriptData,
                        _ => {
                            i += 1;
                            self.state = State::ScriptDoubleEscaped;
                        }
                    }
                }
                State::ScriptDoubleEscapedLt => {
                    let b = next_byte!();
                    if b == b'/' {
                        i += 1;
                        self.state = State::ScriptDoubleEscapedEndTagName;
                    } else {
                        self.state = State::ScriptDoubleEscaped;
                    }
                }
                State::ScriptDoubleEscapedEndTagName => {
                    match seq(&buf[i..], b"SCRIPT", true, eof) {
                        Seq::Match => {
                            i += 6;
                            self.state = State::ScriptDoubleEscapedEnd;
                        }
                        Seq::NeedMore => need_more!(),
                        Seq::Mismatch => self.state = State::ScriptDoubleEscaped,
                    }
                }
                State::ScriptDoubleEscapedEnd => {
                    let b = next_byte!();
                    if is_whitespace(b) || b == b'/' || b == b'>' {
                        i += 1;
                        self.state = State::ScriptEscaped;
                    } else {
                        self.state = State::ScriptDoubleEscaped;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_finds_the_first_match_at_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                let mut hay = vec![b'x'; len];
                // A byte one borrow away from the needle, before it.
                if at > 0 {
                    hay[at - 1] = b'"' + 1;
                }
                if at < len {
                    hay[at] = b'"';
                    if at + 1 < len {
                        hay[at + 1] = b'"';
                    }
                }
                let want = (at < len).then_some(at);
                assert_eq!(find_byte(b'"', &hay), want, "len {len} at {at}");
            }
        }
        assert_eq!(
            find_byte(
                0x80,
                &[0u8, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0, 0, 0, 0, 0, 0, 0]
            ),
            Some(8)
        );
        assert_eq!(find_byte(0, &[1u8; 20]), None);
    }
}
