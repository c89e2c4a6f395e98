//! The tree-construction feedback a streaming tokenizer needs, as lol_html simulates it
//! (`parser/tree_builder_simulator` of lol_html 3.0): which text state follows a start tag,
//! SVG/MathML namespaces (where `<style>` is markup and CDATA sections exist), and the
//! ambiguity guard of strict mode. It mirrors lol_html rule for rule, tag-name hash
//! included, so that the fast path and the lol_html oracle agree on every byte.

/// lol_html's `LocalNameHash`: tag names of up to 12 characters from `[a-z1-6]`, case
/// folded, packed 5 bits per character; anything else is [`NameHash::EMPTY`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NameHash(u64);

impl NameHash {
    pub(crate) const EMPTY: Self = Self(!0);
    pub(crate) const NEW: Self = Self(0);

    /// One table load per name byte instead of two range tests (names are read byte by
    /// byte in the tokenizer's hottest loop).
    #[inline]
    pub(crate) const fn update(self, ch: u8) -> Self {
        let h = self.0;
        let code = NAME_CODE[ch as usize];
        if h >> (64 - 5) != 0 || code == NOT_NAME {
            return Self::EMPTY;
        }
        Self((h << 5) | code as u64)
    }

    pub(crate) const fn of(name: &[u8]) -> Self {
        let mut h = Self::NEW;
        let mut i = 0;
        while i < name.len() {
            h = h.update(name[i]);
            i += 1;
        }
        h
    }

    pub(crate) const fn is_empty(self) -> bool {
        self.0 == !0
    }
}

const NOT_NAME: u8 = 0xFF;

/// Each byte's 5-bit code in a [`NameHash`]: letters (either case) 6..=31, digits 1–6
/// 0..=5, [`NOT_NAME`] for the rest.
const NAME_CODE: [u8; 256] = {
    let mut table = [NOT_NAME; 256];
    let mut b = 0;
    while b < 256 {
        let ch = b as u8;
        if ch.is_ascii_alphabetic() {
            table[b] = (ch & 0x1F) + 5;
        } else if ch >= b'1' && ch <= b'6' {
            table[b] = (ch & 0x0F) - 1;
        }
        b += 1;
    }
    table
};

/// Tag names the simulator and the rewriter compare against.
pub(crate) mod tag {
    use super::NameHash;

    macro_rules! tags {
        ($($name:ident = $text:literal),+ $(,)?) => {
            $(pub(crate) const $name: NameHash = NameHash::of($text);)+
        };
    }

    tags! {
        AUDIO = b"audio", B = b"b", BASE = b"base", BIG = b"big",
        BLOCKQUOTE = b"blockquote", BODY = b"body", BR = b"br", CENTER = b"center",
        CODE = b"code", DD = b"dd", DESC = b"desc", DIV = b"div", DL = b"dl", DT = b"dt",
        EM = b"em", EMBED = b"embed", FONT = b"font", FOREIGN_OBJECT = b"foreignobject",
        FRAMESET = b"frameset", H1 = b"h1", H2 = b"h2", H3 = b"h3", H4 = b"h4", H5 = b"h5",
        H6 = b"h6", HEAD = b"head", HR = b"hr", I = b"i", IFRAME = b"iframe", IMG = b"img",
        INPUT = b"input", KEYGEN = b"keygen", LI = b"li", LINK = b"link",
        LISTING = b"listing", MATH = b"math", MENU = b"menu", META = b"meta", MI = b"mi",
        MN = b"mn", MO = b"mo", MS = b"ms", MTEXT = b"mtext", NOBR = b"nobr",
        NOEMBED = b"noembed", NOFRAMES = b"noframes", NOSCRIPT = b"noscript",
        OBJECT = b"object", OL = b"ol", P = b"p", PLAINTEXT = b"plaintext", PRE = b"pre",
        RUBY = b"ruby", S = b"s", SCRIPT = b"script", SELECT = b"select", SMALL = b"small",
        SOURCE = b"source", SPAN = b"span", STRIKE = b"strike", STRONG = b"strong",
        STYLE = b"style", SUB = b"sub", SUP = b"sup", SVG = b"svg", TABLE = b"table",
        TEMPLATE = b"template", TEXTAREA = b"textarea", TITLE = b"title", TRACK = b"track",
        TT = b"tt", U = b"u", UL = b"ul", VAR = b"var", VIDEO = b"video", XMP = b"xmp",
    }
}

/// The first eight bytes of `name` (zero-padded) as one little-endian word.
const fn word(name: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < name.len() && i < 8 {
        w |= (name[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

const SRC: u64 = word(b"src");
const REL: u64 = word(b"rel");
const HREF: u64 = word(b"href");
const TYPE: u64 = word(b"type");
const DATA: u64 = word(b"data");
const SIZE: u64 = word(b"size");
const FACE: u64 = word(b"face");
const STYLE: u64 = word(b"style");
const COLOR: u64 = word(b"color");
const SRCSET: u64 = word(b"srcset");
const POSTER: u64 = word(b"poster");
const CHARSET: u64 = word(b"charset");
const CONTENT: u64 = word(b"content");
const ENCODING: u64 = word(b"encoding");
/// `http-equiv` past its first eight bytes is checked apart.
const HTTP_EQUI: u64 = word(b"http-equi");

/// Attribute names the handlers and the simulator act on, classified once when the
/// tokenizer ends a name, so that neither compares names per tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum AttrName {
    Other,
    Src,
    Srcset,
    Href,
    Rel,
    Type,
    Poster,
    Data,
    Style,
    Charset,
    HttpEquiv,
    Content,
    Color,
    Size,
    Face,
    Encoding,
}

impl AttrName {
    /// The class of an attribute name as written (ASCII case-insensitive). `name` is
    /// the name and, when they are at hand, the bytes after it (read as one word):
    /// `len` says where the name ends.
    #[inline(always)]
    pub(crate) fn classify_at(bytes: &[u8], len: usize) -> Self {
        use AttrName::*;
        if !(3..=10).contains(&len) {
            return Other;
        }
        let word = match bytes.first_chunk::<8>() {
            Some(word) => u64::from_le_bytes(*word),
            None => {
                let mut word = [0u8; 8];
                let n = bytes.len().min(8);
                word[..n].copy_from_slice(&bytes[..n]);
                u64::from_le_bytes(word)
            }
        };
        let kept = if len >= 8 {
            !0
        } else {
            (1u64 << (8 * len)) - 1
        };
        // Setting 0x20 folds ASCII case. Only a letter or its capital gives a lower-case
        // letter, and only `-` or `\r` gives `-`; `\r` ends a name, so this is exact.
        let folded = (word | 0x2020_2020_2020_2020) & kept;
        let class = match (len, folded) {
            (3, SRC) => Src,
            (3, REL) => Rel,
            (4, HREF) => Href,
            (4, TYPE) => Type,
            (4, DATA) => Data,
            (4, SIZE) => Size,
            (4, FACE) => Face,
            (5, STYLE) => Style,
            (5, COLOR) => Color,
            (6, SRCSET) => Srcset,
            (6, POSTER) => Poster,
            (7, CHARSET) => Charset,
            (7, CONTENT) => Content,
            (8, ENCODING) => Encoding,
            (10, HTTP_EQUI) => HttpEquiv,
            _ => return Other,
        };
        if len == 10
            && !bytes
                .get(8..10)
                .is_some_and(|end| end.eq_ignore_ascii_case(b"iv"))
        {
            return Other;
        }
        class
    }

    /// [`Self::classify_at`] of a name alone.
    pub(crate) fn classify(name: &[u8]) -> Self {
        Self::classify_at(name, name.len())
    }

    /// This class's bit in a tag's set of attribute classes.
    #[inline]
    pub(crate) const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// How the text after a tag is tokenized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextType {
    Data,
    RcData,
    RawText,
    ScriptData,
    PlainText,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Namespace {
    Html,
    Svg,
    MathMl,
}

/// What a tag tells the tokenizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feedback {
    None,
    SwitchTextType(TextType),
    /// Entering or leaving foreign content: CDATA sections are recognised only there.
    SetAllowCdata(bool),
}

/// A text-switching start tag where lol_html cannot tell whether a browser would ignore
/// it (in `<select>`, after `<frameset>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ambiguous;

/// The parts of a start tag the simulator reads.
pub(crate) struct TagView<'a, I> {
    pub(crate) hash: NameHash,
    pub(crate) name: &'a [u8],
    pub(crate) self_closing: bool,
    /// (name class, value) pairs in source order; `None` for an attribute without a value.
    pub(crate) attrs: I,
}

fn text_type_adjustment(name: NameHash) -> Feedback {
    use tag::*;
    let text = match name {
        TEXTAREA | TITLE => TextType::RcData,
        PLAINTEXT => TextType::PlainText,
        SCRIPT => TextType::ScriptData,
        STYLE | IFRAME | XMP | NOEMBED | NOFRAMES | NOSCRIPT => TextType::RawText,
        _ => return Feedback::None,
    };
    Feedback::SwitchTextType(text)
}

const FOREIGN_EXITS: [NameHash; 44] = {
    use tag::*;
    [
        B, BIG, BLOCKQUOTE, BODY, BR, CENTER, CODE, DD, DIV, DL, DT, EM, EMBED, H1, H2, H3, H4, H5,
        H6, HEAD, HR, I, IMG, LI, LISTING, MENU, META, NOBR, OL, P, PRE, RUBY, S, SMALL, SPAN,
        STRONG, STRIKE, SUB, SUP, TABLE, TT, U, UL, VAR,
    ]
};

fn is_mathml_text_integration_point(name: NameHash) -> bool {
    use tag::*;
    [MI, MO, MN, MS, MTEXT].contains(&name)
}

fn is_svg_html_integration_point(name: NameHash) -> bool {
    use tag::*;
    [DESC, TITLE, FOREIGN_OBJECT].contains(&name)
}

fn switches_text_type(name: NameHash) -> bool {
    use tag::*;
    matches!(
        name,
        TEXTAREA
            | TITLE
            | PLAINTEXT
            | SCRIPT
            | STYLE
            | IFRAME
            | XMP
            | NOEMBED
            | NOFRAMES
            | NOSCRIPT
    )
}

#[derive(Clone, Copy, Debug)]
enum Guard {
    Default,
    InSelect,
    InTemplateInSelect(u64),
    InOrAfterFrameset,
}

/// Namespace stack and ambiguity guard.
#[derive(Debug)]
pub(crate) struct TreeSim {
    ns_stack: Vec<Namespace>,
    current: Namespace,
    guard: Guard,
}

impl TreeSim {
    pub(crate) fn new() -> Self {
        Self {
            ns_stack: vec![Namespace::Html],
            current: Namespace::Html,
            guard: Guard::Default,
        }
    }

    pub(crate) fn current_ns(&self) -> Namespace {
        self.current
    }

    /// The common case inline: an HTML tag outside `<select>` and `<frameset>` that
    /// enters no foreign content changes nothing but the text type.
    #[inline]
    pub(crate) fn start_tag<'a, I>(&mut self, tag: TagView<'a, I>) -> Result<Feedback, Ambiguous>
    where
        I: Iterator<Item = (AttrName, Option<&'a [u8]>)>,
    {
        if matches!(self.guard, Guard::Default)
            && self.current == Namespace::Html
            && !matches!(tag.hash, tag::SVG | tag::MATH | tag::SELECT | tag::FRAMESET)
        {
            return Ok(text_type_adjustment(tag.hash));
        }
        self.start_tag_in_general(tag)
    }

    #[inline(never)]
    fn start_tag_in_general<'a, I>(&mut self, tag: TagView<'a, I>) -> Result<Feedback, Ambiguous>
    where
        I: Iterator<Item = (AttrName, Option<&'a [u8]>)>,
    {
        self.track_start_tag(tag.hash)?;
        Ok(if tag.hash == tag::SVG {
            self.enter(Namespace::Svg)
        } else if tag.hash == tag::MATH {
            self.enter(Namespace::MathMl)
        } else if self.current != Namespace::Html {
            self.start_tag_in_foreign_content(tag)
        } else {
            text_type_adjustment(tag.hash)
        })
    }

    /// The common case inline: in HTML outside foreign content and `<select>`, an end
    /// tag changes nothing.
    #[inline]
    pub(crate) fn end_tag(&mut self, hash: NameHash, name: &[u8]) -> Feedback {
        if matches!(self.guard, Guard::Default)
            && self.current == Namespace::Html
            && self.ns_stack.len() < 2
        {
            return Feedback::None;
        }
        self.end_tag_in_general(hash, name)
    }

    #[inline(never)]
    fn end_tag_in_general(&mut self, hash: NameHash, name: &[u8]) -> Feedback {
        self.track_end_tag(hash);
        if self.current == Namespace::Html {
            let len = self.ns_stack.len();
            if len < 2 {
                return Feedback::None;
            }
            let prev = self.ns_stack[len - 2];
            if prev == Namespace::MathMl && is_mathml_text_integration_point(hash)
                || prev == Namespace::Svg && is_svg_html_integration_point(hash)
                || hash.is_empty()
                    && prev == Namespace::MathMl
                    && name.eq_ignore_ascii_case(b"annotation-xml")
            {
                return self.leave();
            }
            Feedback::None
        } else if self.current == Namespace::Svg && hash == tag::SVG
            || self.current == Namespace::MathMl && hash == tag::MATH
            || hash == tag::P
            || hash == tag::BR
        {
            self.leave()
        } else {
            Feedback::None
        }
    }

    fn start_tag_in_foreign_content<'a, I>(&mut self, tag: TagView<'a, I>) -> Feedback
    where
        I: Iterator<Item = (AttrName, Option<&'a [u8]>)>,
    {
        let name = tag.hash;
        if FOREIGN_EXITS.contains(&name) {
            return self.leave();
        }
        if self.current == Namespace::Svg && is_svg_html_integration_point(name)
            || self.current == Namespace::MathMl && is_mathml_text_integration_point(name)
        {
            return if tag.self_closing {
                Feedback::None
            } else {
                self.enter(Namespace::Html)
            };
        }
        if name == tag::FONT {
            // `<font>` leaves foreign content only with one of these attributes.
            for (attr, _) in tag.attrs {
                if matches!(attr, AttrName::Color | AttrName::Size | AttrName::Face) {
                    return self.leave();
                }
            }
            return Feedback::None;
        }
        if name.is_empty()
            && self.current == Namespace::MathMl
            && !tag.self_closing
            && tag.name.eq_ignore_ascii_case(b"annotation-xml")
        {
            for (attr, value) in tag.attrs {
                let Some(value) = value else { continue };
                if attr == AttrName::Encoding
                    && (value.eq_ignore_ascii_case(b"text/html")
                        || value.eq_ignore_ascii_case(b"application/xhtml+xml"))
                {
                    return self.enter(Namespace::Html);
                }
            }
        }
        Feedback::None
    }

    fn enter(&mut self, ns: Namespace) -> Feedback {
        self.ns_stack.push(ns);
        self.current = ns;
        Feedback::SetAllowCdata(ns != Namespace::Html)
    }

    fn leave(&mut self) -> Feedback {
        self.ns_stack.pop();
        let Some(&ns) = self.ns_stack.last() else {
            // As in lol_html: an emptied stack keeps the current namespace.
            return Feedback::None;
        };
        self.current = ns;
        Feedback::SetAllowCdata(ns != Namespace::Html)
    }

    fn track_start_tag(&mut self, name: NameHash) -> Result<(), Ambiguous> {
        match self.guard {
            Guard::Default => {
                if name == tag::SELECT {
                    self.guard = Guard::InSelect;
                } else if name == tag::FRAMESET {
                    self.guard = Guard::InOrAfterFrameset;
                }
            }
            Guard::InSelect => {
                if [tag::SELECT, tag::TEXTAREA, tag::INPUT, tag::KEYGEN].contains(&name) {
                    self.guard = Guard::Default;
                } else if name == tag::TEMPLATE {
                    self.guard = Guard::InTemplateInSelect(1);
                } else if name != tag::SCRIPT && switches_text_type(name) {
                    return Err(Ambiguous);
                }
            }
            Guard::InTemplateInSelect(depth) => {
                if name == tag::TEMPLATE {
                    self.guard = Guard::InTemplateInSelect(depth + 1);
                } else if switches_text_type(name) {
                    return Err(Ambiguous);
                }
            }
            Guard::InOrAfterFrameset => {
                if name != tag::NOFRAMES && switches_text_type(name) {
                    return Err(Ambiguous);
                }
            }
        }
        Ok(())
    }

    fn track_end_tag(&mut self, name: NameHash) {
        match self.guard {
            Guard::InSelect if name == tag::SELECT => self.guard = Guard::Default,
            Guard::InTemplateInSelect(depth) if name == tag::TEMPLATE => {
                self.guard = if depth == 1 {
                    Guard::InSelect
                } else {
                    Guard::InTemplateInSelect(depth - 1)
                };
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_equal_lol_html_tag_constants() {
        // Values of lol_html 3.0's `Tag` enum.
        assert_eq!(NameHash::of(b"a").0, 6);
        assert_eq!(tag::BASE.0, 236_298);
        assert_eq!(tag::SVG.0, 25_452);
        assert_eq!(tag::FOREIGN_OBJECT.0, 13_428_975_859_192_539_417);
        assert_eq!(NameHash::of(b"IMG"), tag::IMG);
        assert!(NameHash::of(b"my-element").is_empty());
        assert!(NameHash::of(b"h7").is_empty());
    }

    fn start(sim: &mut TreeSim, name: &str) -> Result<Feedback, Ambiguous> {
        sim.start_tag(TagView {
            hash: NameHash::of(name.as_bytes()),
            name: name.as_bytes(),
            self_closing: false,
            attrs: std::iter::empty(),
        })
    }

    #[test]
    fn style_is_raw_text_in_html_and_markup_in_svg() {
        let mut sim = TreeSim::new();
        assert_eq!(
            start(&mut sim, "style"),
            Ok(Feedback::SwitchTextType(TextType::RawText))
        );
        assert_eq!(start(&mut sim, "svg"), Ok(Feedback::SetAllowCdata(true)));
        assert_eq!(start(&mut sim, "style"), Ok(Feedback::None));
        assert_eq!(sim.current_ns(), Namespace::Svg);
        assert_eq!(start(&mut sim, "img"), Ok(Feedback::SetAllowCdata(false)));
        assert_eq!(sim.current_ns(), Namespace::Html);
    }

    #[test]
    fn attribute_names_classify_in_any_case() {
        let classes = [
            ("src", AttrName::Src),
            ("srcset", AttrName::Srcset),
            ("href", AttrName::Href),
            ("rel", AttrName::Rel),
            ("type", AttrName::Type),
            ("poster", AttrName::Poster),
            ("data", AttrName::Data),
            ("style", AttrName::Style),
            ("charset", AttrName::Charset),
            ("http-equiv", AttrName::HttpEquiv),
            ("content", AttrName::Content),
            ("color", AttrName::Color),
            ("size", AttrName::Size),
            ("face", AttrName::Face),
            ("encoding", AttrName::Encoding),
        ];
        for (name, class) in classes {
            assert_eq!(AttrName::classify(name.as_bytes()), class, "{name}");
            let upper = name.to_ascii_uppercase();
            assert_eq!(AttrName::classify(upper.as_bytes()), class, "{upper}");
            // Alternate case: sRcSeT.
            let mixed: String = name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            assert_eq!(AttrName::classify(mixed.as_bytes()), class, "{mixed}");
        }
        let near_misses = [
            "",
            "s",
            "sr",
            "srcse",
            "srcsets",
            "styles",
            "styl",
            "hre",
            "hrefs",
            "rels",
            "typo",
            "poste",
            "datum",
            "charsets",
            "contents",
            "chorset",
            "http_equiv",
            "httpequiv",
            "colour",
            "sizes",
            "fac",
            "encodings",
            "data-src",
            "xsrc",
            "src\0",
            "s\u{0}c",
        ];
        for name in near_misses {
            assert_eq!(
                AttrName::classify(name.as_bytes()),
                AttrName::Other,
                "{name:?}"
            );
        }
        // The tokenizer classifies a name in place, the bytes after it at hand.
        assert_eq!(AttrName::classify_at(b"srcset", 3), AttrName::Src);
        assert_eq!(AttrName::classify_at(b"SRC=x y", 3), AttrName::Src);
        assert_eq!(
            AttrName::classify_at(b"http-equiv=", 10),
            AttrName::HttpEquiv
        );
        assert_eq!(AttrName::classify_at(b"http-equix", 10), AttrName::Other);
        assert_eq!(AttrName::classify_at(b"http-equ", 10), AttrName::Other);
        assert_eq!(AttrName::classify_at(b"\rhref", 4), AttrName::Other);
        // Non-letters that equal a letter's byte once 0x20 is set ('R' | 0x20 == 'r').
        assert_eq!(AttrName::classify(b"s\x12c"), AttrName::Other);
        assert_eq!(AttrName::classify(b"\xd3rc"), AttrName::Other);
        assert_eq!(AttrName::classify(b"c\x08arset"), AttrName::Other);
    }

    #[test]
    fn font_with_a_presentational_attribute_leaves_svg() {
        let mut sim = TreeSim::new();
        assert!(start(&mut sim, "svg").is_ok());
        let font = |sim: &mut TreeSim, attr| {
            sim.start_tag(TagView {
                hash: tag::FONT,
                name: b"font",
                self_closing: false,
                attrs: [(attr, None)].into_iter(),
            })
        };
        assert_eq!(font(&mut sim, AttrName::Other), Ok(Feedback::None));
        assert_eq!(sim.current_ns(), Namespace::Svg);
        assert_eq!(
            font(&mut sim, AttrName::Size),
            Ok(Feedback::SetAllowCdata(false))
        );
        assert_eq!(sim.current_ns(), Namespace::Html);
    }

    #[test]
    fn text_switching_tags_in_select_are_ambiguous() {
        let mut sim = TreeSim::new();
        assert!(start(&mut sim, "select").is_ok());
        assert!(start(&mut sim, "script").is_ok());
        assert_eq!(start(&mut sim, "xmp"), Err(Ambiguous));
        sim.end_tag(tag::SELECT, b"select");
        assert!(start(&mut sim, "xmp").is_ok());
    }
}
