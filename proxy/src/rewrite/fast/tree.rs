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

    #[inline]
    pub(crate) const fn update(self, ch: u8) -> Self {
        let h = self.0;
        if h >> (64 - 5) != 0 {
            return Self::EMPTY;
        }
        match ch {
            b'a'..=b'z' | b'A'..=b'Z' => Self((h << 5) | ((ch as u64 & 0x1F) + 5)),
            b'1'..=b'6' => Self((h << 5) | ((ch as u64 & 0x0F) - 1)),
            _ => Self::EMPTY,
        }
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
    /// (name, value) pairs in source order; `None` for an attribute without a value.
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

    pub(crate) fn start_tag<'a, I>(&mut self, tag: TagView<'a, I>) -> Result<Feedback, Ambiguous>
    where
        I: Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
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

    pub(crate) fn end_tag(&mut self, hash: NameHash, name: &[u8]) -> Feedback {
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
        I: Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
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
                if [&b"color"[..], b"size", b"face"]
                    .iter()
                    .any(|n| attr.eq_ignore_ascii_case(n))
                {
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
                if attr.eq_ignore_ascii_case(b"encoding")
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
    fn text_switching_tags_in_select_are_ambiguous() {
        let mut sim = TreeSim::new();
        assert!(start(&mut sim, "select").is_ok());
        assert!(start(&mut sim, "script").is_ok());
        assert_eq!(start(&mut sim, "xmp"), Err(Ambiguous));
        sim.end_tag(tag::SELECT, b"select");
        assert!(start(&mut sim, "xmp").is_ok());
    }
}
