//! Canonical host text: every comparison in this crate is made on it.
//!
//! Canonical means what the WHATWG URL parser (`url`) makes of a host — lower-case, IDN
//! as punycode, IPv4 in dotted decimal whatever the notation was (`127.1`, `0x7f.0.0.1`,
//! `2130706433`, octal), IPv6 compressed in brackets — minus one trailing dot, within DNS
//! lengths. Two spellings of one host give one text; text of different hosts differs.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use url::Host;

/// Longest canonical host name accepted (DNS limit).
pub const MAX_HOST_LEN: usize = 253;
/// Longest label of a host name (DNS limit).
pub const MAX_LABEL_LEN: usize = 63;
/// Bound on raw input, checked before any parsing: a Unicode host can be longer than its
/// punycode form, never by this much.
const MAX_RAW_HOST_LEN: usize = 1024;

/// Why a text is not a host (or `host:port`) this crate accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Nothing where a host was expected.
    #[error("empty host")]
    Empty,
    /// Longer than 253 characters (or absurdly long raw input).
    #[error("host too long")]
    TooLong,
    /// Contains `%`: the URL parser would decode it, so one host would have two spellings.
    #[error("percent-encoded host")]
    PercentEncoded,
    /// Contains `@`, the user-info separator.
    #[error("user info in host")]
    UserInfo,
    /// Refused by the WHATWG host parser (forbidden code point, bad IP literal, bad IDN).
    #[error("not a valid host")]
    Invalid,
    /// Two dots in a row, or a leading dot.
    #[error("empty label in host")]
    EmptyLabel,
    /// A label longer than 63 characters.
    #[error("host label longer than 63 characters")]
    LabelTooLong,
    /// A port that is not a number from 1 to 65535.
    #[error("invalid port")]
    BadPort,
    /// An origin key written with port 80 or 443; the host alone says that.
    #[error("default port written out: write the host alone")]
    DefaultPort,
}

/// The canonical text of `input`, borrowed when it already is canonical (the common case
/// costs no allocation).
pub fn canonical_host(input: &str) -> Result<Cow<'_, str>, HostError> {
    // The common case in one pass; what it accepts, the steps below would return as is.
    if is_plain_name(input.as_bytes()) {
        return Ok(Cow::Borrowed(input));
    }
    if input.is_empty() {
        return Err(HostError::Empty);
    }
    if input.len() > MAX_RAW_HOST_LEN {
        return Err(HostError::TooLong);
    }
    let canonical = if is_canonical_domain(input.as_bytes())? {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(parse_with_url(input)?)
    };
    check_dns_lengths(&canonical)?;
    Ok(canonical)
}

/// True for a name that is canonical and within DNS lengths as written (see
/// [`plain_name_len`]). A strict subset of what [`is_canonical_domain`] and
/// [`check_dns_lengths`] accept together, checked in one pass.
fn is_plain_name(host: &[u8]) -> bool {
    plain_name_len(host) == Some(host.len())
}

/// The length of the name at the start of `bytes` (up to the first byte that cannot be in
/// one), when that name is canonical and within DNS lengths as written: 1 to 253 bytes of
/// lower-case ASCII letters, digits, `-` and `.`, no empty label (so no trailing dot),
/// labels of at most 63 bytes, none starting `xn--` (punycode to validate), the last one
/// starting with a letter (so not an IPv4 number). `None` otherwise. Lets the encoder read
/// a URL's host while looking for the end of its authority.
pub(crate) fn plain_name_len(bytes: &[u8]) -> Option<usize> {
    // 254 name bytes in a row are already too long: no need to look further.
    let bytes = bytes.get(..bytes.len().min(MAX_HOST_LEN + 1))?;
    let mut label_start = 0;
    let mut end = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        match NAME_BYTES[usize::from(b)] {
            ByteClass::Label => {}
            ByteClass::Dot => {
                if !bytes.get(label_start..i).is_some_and(is_plain_label) {
                    return None;
                }
                label_start = i + 1;
            }
            ByteClass::Other => {
                end = i;
                break;
            }
        }
    }
    let last = bytes.get(label_start..end)?;
    (end <= MAX_HOST_LEN && is_plain_label(last) && last[0].is_ascii_lowercase()).then_some(end)
}

/// What a byte is in a plain name.
#[derive(Clone, Copy)]
enum ByteClass {
    Label,
    Dot,
    Other,
}

/// One table lookup per byte instead of a chain of range tests.
static NAME_BYTES: [ByteClass; 256] = {
    let mut table = [ByteClass::Other; 256];
    let mut b = 0;
    while b < table.len() {
        table[b] = match b {
            0x61..=0x7a | 0x30..=0x39 | 0x2d => ByteClass::Label, // a-z 0-9 -
            0x2e => ByteClass::Dot,
            _ => ByteClass::Other,
        };
        b += 1;
    }
    table
};

/// A label of [`plain_name_len`], its bytes already checked.
fn is_plain_label(label: &[u8]) -> bool {
    !label.is_empty() && label.len() <= MAX_LABEL_LEN && !label.starts_with(b"xn--")
}

/// [`canonical_host`] without its shortcut: every host through the WHATWG parser. The
/// reference the shortcut (and the encoder's reading of URLs) is tested against.
#[cfg(test)]
pub(crate) fn canonical_host_by_url(input: &str) -> Result<String, HostError> {
    if input.is_empty() {
        return Err(HostError::Empty);
    }
    if input.len() > MAX_RAW_HOST_LEN {
        return Err(HostError::TooLong);
    }
    is_canonical_domain(input.as_bytes())?;
    let canonical = parse_with_url(input)?;
    check_dns_lengths(&canonical)?;
    Ok(canonical)
}

/// One pass over the text: refuses `%` (the URL parser would decode it, giving one host
/// two spellings) and `@`; true for text the WHATWG host parser returns unchanged:
/// lower-case ASCII letters, digits, `-` and `.`, no trailing dot, no punycode label to
/// validate, and a last label starting with a letter (so not an IPv4 number).
fn is_canonical_domain(bytes: &[u8]) -> Result<bool, HostError> {
    let mut simple = true;
    let mut at_label_start = true;
    let mut last_label_first = 0u8;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'%' => return Err(HostError::PercentEncoded),
            b'@' => return Err(HostError::UserInfo),
            b'.' => at_label_start = true,
            b'a'..=b'z' | b'0'..=b'9' | b'-' => {
                if at_label_start {
                    at_label_start = false;
                    last_label_first = b;
                    if bytes
                        .get(i..)
                        .is_some_and(|label| label.starts_with(b"xn--"))
                    {
                        simple = false;
                    }
                }
            }
            _ => simple = false,
        }
    }
    Ok(simple && !at_label_start && last_label_first.is_ascii_lowercase())
}

fn parse_with_url(input: &str) -> Result<String, HostError> {
    match Host::parse(input).map_err(|_| HostError::Invalid)? {
        Host::Domain(mut domain) => {
            if domain.ends_with('.') {
                domain.pop();
            }
            Ok(domain)
        }
        ip => Ok(ip.to_string()),
    }
}

fn check_dns_lengths(host: &str) -> Result<(), HostError> {
    if host.is_empty() {
        return Err(HostError::Empty);
    }
    if host.starts_with('[') {
        return Ok(());
    }
    if host.len() > MAX_HOST_LEN {
        return Err(HostError::TooLong);
    }
    let mut label_len = 0;
    for &b in host.as_bytes() {
        if b == b'.' {
            if label_len == 0 {
                return Err(HostError::EmptyLabel);
            }
            label_len = 0;
        } else {
            label_len += 1;
            if label_len > MAX_LABEL_LEN {
                return Err(HostError::LabelTooLong);
            }
        }
    }
    if label_len == 0 {
        return Err(HostError::EmptyLabel);
    }
    Ok(())
}

/// True when canonical `host` is an IP literal rather than a name.
pub(crate) fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
}

/// Splits `host[:port]` (IPv6 in brackets) without judging either part.
pub(crate) fn split_host_port(input: &str) -> Result<(&str, Option<&str>), HostError> {
    if input.starts_with('[') {
        let close = input.find(']').ok_or(HostError::Invalid)?;
        let (host, rest) = input.split_at(close + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err(HostError::Invalid),
        };
    }
    // A byte search: `str::split_once` with a char pattern costs a searcher per call.
    Ok(
        match input
            .bytes()
            .position(|b| b == b':')
            .map(|i| input.split_at(i))
        {
            Some((host, colon_port)) => (host, colon_port.get(1..)),
            None => (input, None),
        },
    )
}

/// A port number: 1 to 5 digits, from 1 to 65535.
pub(crate) fn parse_port(text: &str) -> Result<u16, HostError> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HostError::BadPort);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(HostError::BadPort),
        Ok(port) => Ok(port),
    }
}

/// True when `text` is the way this crate writes `port` (no sign, no leading zero).
pub(crate) fn is_canonical_port_text(text: &str) -> bool {
    !text.starts_with('0') && parse_port(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String, HostError> {
        canonical_host(s).map(Cow::into_owned)
    }

    #[test]
    fn ipv4_notations_become_dotted_decimal() {
        for s in [
            "127.1",
            "0x7f.0.0.1",
            "2130706433",
            "0177.0.0.1",
            "127.0.0.1.",
            "0x7F.1",
        ] {
            assert_eq!(canon(s).as_deref(), Ok("127.0.0.1"), "{s}");
        }
    }

    #[test]
    fn ipv6_is_compressed_in_brackets() {
        assert_eq!(
            canon("[0:0:0:0:0:ffff:7f00:1]").as_deref(),
            Ok("[::ffff:7f00:1]")
        );
        assert_eq!(
            canon("[::FFFF:127.0.0.1]").as_deref(),
            Ok("[::ffff:7f00:1]")
        );
        assert_eq!(canon("[::1"), Err(HostError::Invalid));
    }

    #[test]
    fn names_are_lower_case_punycode_without_trailing_dot() {
        assert_eq!(canon("IMG.Xyz.COM.").as_deref(), Ok("img.xyz.com"));
        assert_eq!(
            canon("bücher.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        assert_eq!(
            canon("XN--BCHER-KVA.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        assert_eq!(canon("img。xyz。com").as_deref(), Ok("img.xyz.com"));
    }

    #[test]
    fn canonical_names_are_borrowed() {
        assert!(matches!(
            canonical_host("img.xyz.com"),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn tricks_are_refused() {
        assert_eq!(canon(""), Err(HostError::Empty));
        assert_eq!(canon("."), Err(HostError::Empty));
        assert_eq!(canon("img%2exyz.com"), Err(HostError::PercentEncoded));
        assert_eq!(canon("evil.com@img.xyz.com"), Err(HostError::UserInfo));
        assert_eq!(canon("img.xyz.com/evil"), Err(HostError::Invalid));
        assert_eq!(canon("img.xyz.com\\evil"), Err(HostError::Invalid));
        assert_eq!(canon("a..b"), Err(HostError::EmptyLabel));
        assert_eq!(canon("xn--zz"), Err(HostError::Invalid));
        assert_eq!(canon(&"a".repeat(64)), Err(HostError::LabelTooLong));
        assert_eq!(
            canon(&format!("{}a", "a.".repeat(127))),
            Err(HostError::TooLong)
        );
        assert!(
            canon(&"a.".repeat(127)).is_ok(),
            "253 characters and a trailing dot"
        );
        assert_eq!(canon(&"a".repeat(2000)), Err(HostError::TooLong));
        assert_eq!(canon("256.0.0.1"), Err(HostError::Invalid));
    }

    #[test]
    fn host_and_port_split() {
        assert_eq!(split_host_port("a.b:80"), Ok(("a.b", Some("80"))));
        assert_eq!(split_host_port("a.b"), Ok(("a.b", None)));
        assert_eq!(split_host_port("[::1]:8000"), Ok(("[::1]", Some("8000"))));
        assert_eq!(split_host_port("[::1]x"), Err(HostError::Invalid));
        assert_eq!(parse_port("8080"), Ok(8080));
        for bad in ["", "0", "65536", "+80", "8o", "123456", "1:2"] {
            assert_eq!(parse_port(bad), Err(HostError::BadPort), "{bad}");
        }
        assert!(!is_canonical_port_text("080"));
        assert!(is_canonical_port_text("8080"));
    }

    #[test]
    fn plain_names_are_exactly_the_simple_ones() {
        for plain in ["img.xyz.com", "a", "a-1.b2", "x--n.example", "1.2.3.a"] {
            assert!(is_plain_name(plain.as_bytes()), "{plain}");
        }
        for other in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "Img.xyz.com",
            "xn--bcher-kva.example",
            "127.0.0.1",
            "1.2.3.-a",
            "a:80",
            "a%2e",
            "a@b",
            "bücher.example",
        ] {
            assert!(!is_plain_name(other.as_bytes()), "{other}");
        }
        assert!(is_plain_name(format!("{}.b", "a".repeat(63)).as_bytes()));
        assert!(!is_plain_name(format!("{}.b", "a".repeat(64)).as_bytes()));
        assert!(is_plain_name(format!("{}a", "a.".repeat(126)).as_bytes()));
        assert!(!is_plain_name(format!("{}a", "a.".repeat(127)).as_bytes()));
        assert_eq!(plain_name_len(b"img.xyz.com:8080/a"), Some(11));
        assert_eq!(plain_name_len(b"img.xyz.com/a"), Some(11));
        assert_eq!(plain_name_len(b"img.xyz.com./a"), None);
        assert_eq!(plain_name_len(b"img.xyz.Com/a"), None);
        assert_eq!(plain_name_len(b"/a"), None);
        assert_eq!(plain_name_len("a".repeat(300).as_bytes()), None);
        let longest = format!("{}a", "a.".repeat(126));
        assert_eq!(plain_name_len(format!("{longest}/x").as_bytes()), Some(253));
    }

    /// Host text spelled in the ways pages and hostile requests write it.
    fn host_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => "[a-z0-9-]{1,8}",
            1 => "[a-zA-Z0-9.%@:\\/ _-]{1,4}",
            1 => Just("xn--".to_owned()),
            1 => Just("bücher".to_owned()),
            1 => Just("0x7f".to_owned()),
            1 => "[0-9]{1,3}",
            1 => "a{60,66}",
        ];
        let sep = prop_oneof![4 => Just("."), 1 => Just(""), 1 => Just("。")];
        proptest::collection::vec((piece, sep), 1..6).prop_map(|parts| {
            parts
                .into_iter()
                .flat_map(|(p, s)| [p, s.to_owned()])
                .collect()
        })
    }

    proptest::proptest! {
        /// With its shortcut, `canonical_host` gives what the parser alone gives.
        #[test]
        fn shortcut_agrees_with_the_parser(s in host_text()) {
            let fast = canonical_host(&s).map(Cow::into_owned);
            proptest::prop_assert_eq!(fast, canonical_host_by_url(&s));
        }

        /// The allocation-free path must agree with the WHATWG parser on what it accepts.
        #[test]
        fn fast_path_agrees_with_url(s in "[a-z0-9.-]{1,30}") {
            if is_canonical_domain(s.as_bytes()) == Ok(true) {
                let slow = parse_with_url(&s).map_err(|_| ()).and_then(|h| {
                    check_dns_lengths(&h).map(|()| h).map_err(|_| ())
                });
                let fast = check_dns_lengths(&s).map(|()| s.clone()).map_err(|_| ());
                proptest::prop_assert_eq!(fast, slow);
            }
        }
    }
}
