//! Offloading side: origin URL -> partner URL (spec §5). Runs once per embedded URL in
//! the page rewriter, so the common case borrows everything and allocates only the
//! result.

use std::borrow::Cow;

use crate::host::{
    MAX_HOST_LEN, canonical_host, is_canonical_port_text, parse_port, plain_name_len,
    split_host_port,
};
use crate::partner_form::{OffloadHosts, PartnerForm, PartnerHost};
use crate::path;
use crate::scheme::Scheme;

/// An absolute or scheme-relative http(s) URL cut into the parts the encoder needs.
struct OriginUrl<'u> {
    /// `None` for a scheme-relative URL (`//host/path`).
    scheme: Option<Scheme>,
    /// The origin key text, borrowed from the URL when it already is canonical.
    key: Cow<'u, str>,
    /// Everything after the authority: path, query and fragment.
    rest: &'u str,
}

impl<'u> OriginUrl<'u> {
    /// Cuts `url`; `None` for anything that is not a plain http(s) URL with a valid host.
    /// Rare spellings a browser would also accept (tabs inside, `http:\\`, one slash) are
    /// left alone: not offloading a URL is always safe. Byte searches only: this runs for
    /// every URL of every page (`reference_split` in the tests is the plain reading).
    fn split(url: &'u str, page: Scheme) -> Option<Self> {
        let (scheme, after) = split_scheme(trim_blank(url))?;
        let scheme_or_page = scheme.unwrap_or(page);
        let (key, rest) = match plain_host_len(after) {
            Some(host_len) => plain_key(after, host_len, scheme_or_page)?,
            None => {
                let (authority, rest) = after.split_at(authority_end(after));
                // The host parser refuses control characters in `authority`.
                let key = key_text(authority, scheme_or_page, |h| canonical_host(h).ok())?;
                (key, rest)
            }
        };
        Some(Self { scheme, key, rest })
    }
}

/// The length of the host at the start of `after` (the text after `//`) when it is a
/// plain name (lower-case, already canonical; see `plain_name_len`) that ends where a
/// host ends. Anything else (upper case, IDN, IP, `%`, `@`, a trailing dot) is `None`
/// and goes through the host parser. Reads the host once, while finding its end.
fn plain_host_len(after: &str) -> Option<usize> {
    let bytes = after.as_bytes();
    plain_name_len(bytes)
        .filter(|&n| matches!(bytes.get(n), None | Some(b':' | b'/' | b'?' | b'#' | b'\\')))
}

/// The origin key and the rest of `after`, whose first `host_len` bytes are a plain name.
fn plain_key(after: &str, host_len: usize, scheme: Scheme) -> Option<(Cow<'_, str>, &str)> {
    let (host, after_host) = after.split_at(host_len);
    let Some(port_and_rest) = after_host.strip_prefix(':') else {
        return Some((Cow::Borrowed(host), after_host));
    };
    let port_len = authority_end(port_and_rest);
    let (port, rest) = port_and_rest.split_at(port_len);
    let authority = after.get(..host_len + 1 + port_len)?;
    let key = key_from_parts(authority, Cow::Borrowed(host), Some(port), scheme)?;
    Some((key, rest))
}

/// `url` without leading and trailing spaces and ASCII control characters (all one byte,
/// so trimming bytes cuts at character boundaries).
fn trim_blank(url: &str) -> &str {
    let blank = |b: &u8| *b == b' ' || b.is_ascii_control();
    let bytes = url.as_bytes();
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    url.get(start..end).unwrap_or_default()
}

/// The scheme (`None` for `//`) and the text after `//`. The name before the first `:`
/// is `http` or `https` exactly when the URL starts with `http:` or `https:`.
fn split_scheme(url: &str) -> Option<(Option<Scheme>, &str)> {
    if let Some(after) = url.strip_prefix("//") {
        return Some((None, after));
    }
    let starts = |prefix: &[u8]| {
        url.as_bytes()
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    let (scheme, len) = if starts(b"http:") {
        (Scheme::Http, 5)
    } else if starts(b"https:") {
        (Scheme::Https, 6)
    } else {
        return None;
    };
    Some((Some(scheme), url.get(len..)?.strip_prefix("//")?))
}

/// Where the authority of `after` (the text after `//`) ends.
fn authority_end(after: &str) -> usize {
    after
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#' | b'\\'))
        .unwrap_or(after.len())
}

/// The canonical origin key of `authority`, its host canonicalised by `canonical`;
/// borrowed when `authority` already is the key.
fn key_text<'a>(
    authority: &'a str,
    scheme: Scheme,
    canonical: impl FnOnce(&'a str) -> Option<Cow<'a, str>>,
) -> Option<Cow<'a, str>> {
    let (host_text, port_text) = split_host_port(authority).ok()?;
    key_from_parts(authority, canonical(host_text)?, port_text, scheme)
}

/// The origin key of `authority`, given its canonical host and its port text.
fn key_from_parts<'a>(
    authority: &'a str,
    host: Cow<'a, str>,
    port_text: Option<&str>,
    scheme: Scheme,
) -> Option<Cow<'a, str>> {
    let port = match port_text {
        None => None,
        Some(text) => Some((text, parse_port(text).ok()?)),
    };
    Some(match (host, port) {
        (host, None) => host,
        (host, Some((_, port))) if port == scheme.default_port() => host,
        (Cow::Borrowed(_), Some((text, _))) if is_canonical_port_text(text) => {
            Cow::Borrowed(authority)
        }
        (host, Some((_, port))) => Cow::Owned(format!("{host}:{port}")),
    })
}

/// True when `rest` (path, query and fragment) can follow a partner prefix unchanged: no
/// control characters anywhere (browsers drop tabs and newlines), no `.` or `..` segment
/// in the path (prefixed by a partner host and origin segment, the browser would resolve
/// it differently than against the origin).
fn rest_is_portable(rest: &[u8]) -> bool {
    // Branch-free folds the compiler vectorises. Every dot segment starts with `.` or `%`
    // at the start or after a separator; without such a pair there is none, and the exact
    // search runs only for the few paths that have one (`/.well-known`, `/%7Euser`).
    let control = rest
        .iter()
        .fold(false, |found, &b| found | (b < 0x20) | (b == 0x7f));
    let next = rest.get(1..).unwrap_or_default();
    let dot_after_separator = rest.iter().zip(next).fold(false, |found, (&a, &b)| {
        found | (((a == b'/') | (a == b'\\')) & ((b == b'.') | (b == b'%')))
    });
    let dot_first = matches!(rest.first(), Some(b'.' | b'%'));
    !control && (!(dot_after_separator || dot_first) || !has_dot_segment(rest))
}

/// True when the path part of `rest` (up to `?` or `#`) has a dot segment.
fn has_dot_segment(rest: &[u8]) -> bool {
    let path_end = rest
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(rest.len());
    rest.get(..path_end).is_some_and(path::has_dot_segment)
}

impl PartnerForm {
    /// Rewrites the origin URL `url` (absolute or scheme-relative, as found in a page
    /// served with scheme `page`) into this partner's form, or `None` when its host is not
    /// in `offload` (or, for the table form, not in the table; for the semantic form, has
    /// a port or is an IP literal).
    ///
    /// The scheme is kept, `//` stays `//`, and an `http` URL on an `https` page becomes
    /// `https`. Path, query and fragment are kept as written.
    pub fn encode(&self, url: &str, page: Scheme, offload: &OffloadHosts) -> Option<String> {
        let mut out = String::new();
        self.encode_into(url, page, offload, &mut out)
            .then_some(out)
    }

    /// As [`PartnerForm::encode`], appending to `out` (left untouched when `false`), so a
    /// rewriter can reuse one buffer.
    pub fn encode_into(
        &self,
        url: &str,
        page: Scheme,
        offload: &OffloadHosts,
        out: &mut String,
    ) -> bool {
        OriginUrl::split(url, page).is_some_and(|origin| {
            offload.contains(&origin.key)
                && rest_is_portable(origin.rest.as_bytes())
                && self.write(&origin, page, out)
        })
    }

    /// Appends the partner URL for `origin` (already known to be offloaded and portable)
    /// to `out`; `false`, leaving `out` alone, when this form cannot write it.
    fn write(&self, origin: &OriginUrl<'_>, page: Scheme, out: &mut String) -> bool {
        let scheme = match origin.scheme {
            None => "//",
            Some(Scheme::Http) if page == Scheme::Http => "http://",
            Some(_) => "https://",
        };
        let slash = if origin.rest.starts_with(['/', '\\']) {
            ""
        } else {
            "/"
        };
        match self {
            Self::Embedded { host } => {
                let parts = [scheme, host.as_str(), "/", &origin.key, slash, origin.rest];
                push_all(out, &parts);
            }
            Self::Table { map } => {
                let Some(host) = map.get(origin.key.as_ref()) else {
                    return false;
                };
                push_all(out, &[scheme, host.as_str(), slash, origin.rest]);
            }
            Self::Semantic { suffix } => {
                if !semantic_fits(&origin.key, suffix) {
                    return false;
                }
                let parts = [
                    scheme,
                    &origin.key,
                    ".",
                    suffix.as_str(),
                    slash,
                    origin.rest,
                ];
                push_all(out, &parts);
            }
        }
        true
    }
}

/// True when `key` can be written below `suffix`: a name without port, short enough.
fn semantic_fits(key: &str, suffix: &PartnerHost) -> bool {
    !key.contains(':')
        && !crate::host::is_ip_literal(key)
        && key.len() + 1 + suffix.host().len() <= MAX_HOST_LEN
}

/// Appends `parts` after one reservation; empty parts (the usual `slash`) cost nothing.
#[inline]
fn push_all<const N: usize>(out: &mut String, parts: &[&str; N]) {
    out.reserve(parts.iter().map(|p| p.len()).sum());
    for part in parts.iter().filter(|p| !p.is_empty()) {
        out.push_str(part);
    }
}

impl OffloadHosts {
    /// True when `url` (found in a page served with scheme `page`) names an origin listed
    /// here, whatever partner it may go to.
    pub fn matches_url(&self, url: &str, page: Scheme) -> bool {
        OriginUrl::split(url, page)
            .is_some_and(|o| self.contains(&o.key) && rest_is_portable(o.rest.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offload() -> OffloadHosts {
        OffloadHosts::new([
            "img.xyz.com",
            "img.xyz.com:8080",
            "127.0.0.1:8000",
            "bücher.example",
        ])
        .unwrap()
    }

    fn embedded(url: &str, page: Scheme) -> Option<String> {
        PartnerForm::embedded("foo.cdn-g.example")
            .unwrap()
            .encode(url, page, &offload())
    }

    fn key(authority: &str, scheme: Scheme) -> Option<Cow<'_, str>> {
        key_text(authority, scheme, |h| canonical_host(h).ok())
    }

    #[test]
    fn key_text_borrows_canonical_authorities() {
        assert!(matches!(
            key("img.xyz.com:8080", Scheme::Http),
            Some(Cow::Borrowed("img.xyz.com:8080"))
        ));
        assert!(matches!(
            key("img.xyz.com:80", Scheme::Http),
            Some(Cow::Borrowed("img.xyz.com"))
        ));
        assert_eq!(
            key("img.xyz.com:80", Scheme::Https).as_deref(),
            Some("img.xyz.com:80")
        );
        assert_eq!(
            key("IMG.xyz.com:08080", Scheme::Http).as_deref(),
            Some("img.xyz.com:8080")
        );
        assert_eq!(key("img.xyz.com:", Scheme::Http), None);
        assert_eq!(key("a@img.xyz.com", Scheme::Http), None);
    }

    #[test]
    fn scheme_rules_of_spec_5() {
        use Scheme::{Http, Https};
        let cases = [
            (
                "http://img.xyz.com/a",
                Http,
                "http://foo.cdn-g.example/img.xyz.com/a",
            ),
            (
                "http://img.xyz.com/a",
                Https,
                "https://foo.cdn-g.example/img.xyz.com/a",
            ),
            (
                "https://img.xyz.com/a",
                Http,
                "https://foo.cdn-g.example/img.xyz.com/a",
            ),
            (
                "//img.xyz.com/a",
                Https,
                "//foo.cdn-g.example/img.xyz.com/a",
            ),
            (
                "HTTP://IMG.XYZ.COM./a",
                Http,
                "http://foo.cdn-g.example/img.xyz.com/a",
            ),
        ];
        for (url, page, want) in cases {
            assert_eq!(
                embedded(url, page).as_deref(),
                Some(want),
                "{url} on {page}"
            );
        }
    }

    #[test]
    fn ports_query_and_fragment_are_kept() {
        use Scheme::Http;
        assert_eq!(
            embedded("http://img.xyz.com:8080/a?x=1&y=%20#f", Http).as_deref(),
            Some("http://foo.cdn-g.example/img.xyz.com:8080/a?x=1&y=%20#f")
        );
        assert_eq!(
            embedded("http://img.xyz.com:80?q", Http).as_deref(),
            Some("http://foo.cdn-g.example/img.xyz.com/?q")
        );
        assert_eq!(
            embedded("http://img.xyz.com", Http).as_deref(),
            Some("http://foo.cdn-g.example/img.xyz.com/")
        );
        assert_eq!(
            embedded("http://127.1:8000/x", Http).as_deref(),
            Some("http://foo.cdn-g.example/127.0.0.1:8000/x")
        );
        assert_eq!(
            embedded("http://bücher.example/x", Http).as_deref(),
            Some("http://foo.cdn-g.example/xn--bcher-kva.example/x")
        );
    }

    #[test]
    fn hosts_not_to_offload_give_none() {
        use Scheme::Http;
        for url in [
            "http://www.xyz.com/a",
            "http://img.xyz.com:9090/a",
            "https://img.xyz.com:80/a",
            "http://evil@img.xyz.com/a",
            "/img.xyz.com/a",
            "img.xyz.com/a",
            "ftp://img.xyz.com/a",
            "javascript:alert(1)",
            "http:img.xyz.com/a",
            "http://img.xyz.com/a/../b",
            "http://img.xyz.com/%2E%2e/b",
            // Shrunk from the round-trip property: `%2E.` is `..` to a browser.
            "http://img.xyz.com/%2E.",
            "http://img.xyz.com/a\\.\\b",
            "http://img.x\tyz.com/a",
            "",
            "//",
            "http://",
        ] {
            assert_eq!(embedded(url, Http), None, "{url}");
        }
    }

    #[test]
    fn table_form_maps_host() {
        let form = PartnerForm::table([("img.xyz.com", "xyz.cdn-g.example")]).unwrap();
        assert_eq!(
            form.encode("https://img.xyz.com/pic1.gif?s=2", Scheme::Http, &offload())
                .as_deref(),
            Some("https://xyz.cdn-g.example/pic1.gif?s=2")
        );
        assert_eq!(
            form.encode("http://img.xyz.com:8080/a", Scheme::Http, &offload()),
            None
        );
    }

    #[test]
    fn semantic_form_appends_suffix() {
        let form = PartnerForm::semantic("c.cdn-g.example").unwrap();
        assert_eq!(
            form.encode("http://img.xyz.com/pic1.gif", Scheme::Http, &offload())
                .as_deref(),
            Some("http://img.xyz.com.c.cdn-g.example/pic1.gif")
        );
        assert_eq!(
            form.encode("http://img.xyz.com:8080/a", Scheme::Http, &offload()),
            None
        );
        assert_eq!(
            form.encode("http://127.0.0.1:8000/a", Scheme::Http, &offload()),
            None
        );
        let long = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(50)
        );
        let hosts = OffloadHosts::new([long.as_str()]).unwrap();
        assert_eq!(
            form.encode(&format!("http://{long}/"), Scheme::Http, &hosts),
            None
        );
    }

    #[test]
    fn encode_into_appends_and_leaves_buffer_alone_on_refusal() {
        let form = PartnerForm::embedded("foo.cdn-g.example:8090").unwrap();
        let mut out = String::from("<");
        assert!(!form.encode_into("http://www.xyz.com/", Scheme::Http, &offload(), &mut out));
        assert_eq!(out, "<");
        assert!(form.encode_into(
            " http://img.xyz.com/a\n",
            Scheme::Http,
            &offload(),
            &mut out
        ));
        assert_eq!(out, "<http://foo.cdn-g.example:8090/img.xyz.com/a");
    }

    /// The reading of URLs before the shortcuts, kept as the reference the encoder must
    /// agree with: `str` searches, the rest scanned twice, every host through the WHATWG
    /// parser, the keys searched one by one.
    fn reference_encode(
        form: &PartnerForm,
        url: &str,
        page: Scheme,
        offload: &OffloadHosts,
    ) -> Option<String> {
        let origin = reference_split(url, page)?;
        let listed = offload.iter().any(|k| k.as_str() == origin.key);
        let mut out = String::new();
        (listed && reference_rest_is_portable(origin.rest) && form.write(&origin, page, &mut out))
            .then_some(out)
    }

    fn reference_split(url: &str, page: Scheme) -> Option<OriginUrl<'_>> {
        let url = url.trim_matches(|c: char| c == ' ' || c.is_ascii_control());
        let (scheme, after) = match url.strip_prefix("//") {
            Some(after) => (None, after),
            None => {
                let (name, after) = url.split_once(':')?;
                (Some(Scheme::from_name(name)?), after.strip_prefix("//")?)
            }
        };
        let end = after
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#' | b'\\'))
            .unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        let by_url = |h| crate::host::canonical_host_by_url(h).ok().map(Cow::Owned);
        let key = key_text(authority, scheme.unwrap_or(page), by_url)?;
        Some(OriginUrl { scheme, key, rest })
    }

    fn reference_rest_is_portable(rest: &str) -> bool {
        let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
        !rest.bytes().any(|b| b.is_ascii_control())
            && !rest[..path_end]
                .split(['/', '\\'])
                .any(|s| path::is_dot_segment(s.as_bytes()))
    }

    /// URLs as pages write them, and as hostile pages might: every part drawn from
    /// spellings that take the shortcuts and spellings that must not.
    fn page_url() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        use proptest::sample::select;
        let blank = select(vec!["", "", "", " ", "\t", "\n ", "\u{1}", "\u{7f}"]);
        let scheme = select(vec![
            "http://",
            "https://",
            "//",
            "HTTP://",
            "hTtPs://",
            "http:/",
            "http:\\\\",
            "ftp://",
            "http:",
            "https:://",
            "",
            "/",
            "http ://",
        ]);
        let userinfo = select(vec!["", "", "", "", "u@", "a:b@", "@"]);
        let listed = select(vec![
            "img.xyz.com",
            "IMG.xyz.com",
            "img.xyz.com.",
            "img.xyz.com..",
            ".img.xyz.com",
            "127.0.0.1",
            "127.1",
            "0x7f.0.0.1",
            "2130706433",
            "0177.0.0.1",
            "[::1]",
            "[0:0::1]",
            "[::ffff:127.0.0.1]",
            "bücher.example",
            "BÜCHER.example.",
            "xn--bcher-kva.example",
            "XN--BCHER-KVA.example",
            "xn--zz.example",
            "img%2exyz.com",
            "img。xyz。com",
            "ＩＭＧ.xyz.com",
            "a-b.c",
            "1.2.3.a",
            "a.b.1",
            "a.0x1",
            "img.xyz.com\t",
            "img xyz.com",
            "",
        ]);
        let generated = "[a-zA-Z0-9.-]{1,12}";
        let host = prop_oneof![
            3 => listed.prop_map(str::to_owned),
            1 => generated,
            1 => "a{60,66}\\.b",
        ];
        let port = select(vec![
            "", "", "", ":80", ":443", ":8080", ":08080", ":8000", ":", ":0", ":65536", ":x",
            ":80:80", ":+80",
        ]);
        let piece = select(vec![
            "/", "/", "/", "a", "img.png", ".", "..", "%2e", "%2E%2e", ".%2E", ".a", "a.", "\\",
            "?", "#", "?x=..", "\t", "\u{7f}", "é", " ", "%", "//",
        ]);
        let rest = proptest::collection::vec(piece, 0..7).prop_map(|v| v.concat());
        (blank.clone(), scheme, userinfo, host, port, rest, blank).prop_map(
            |(lead, scheme, userinfo, host, port, rest, trail)| {
                format!("{lead}{scheme}{userinfo}{host}{port}{rest}{trail}")
            },
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The encoder with its shortcuts writes exactly what the reference reading
        /// writes, for every form and page scheme, and leaves the buffer alone otherwise.
        #[test]
        fn shortcuts_agree_with_the_reference(url in page_url(), https_page: bool) {
            let page = if https_page { Scheme::Https } else { Scheme::Http };
            let offload = OffloadHosts::new([
                "img.xyz.com",
                "img.xyz.com:8080",
                "127.0.0.1:8000",
                "127.0.0.1",
                "[::1]",
                "bücher.example",
                "a-b.c",
                "a-b.c:8080",
            ])
            .unwrap();
            let forms = [
                PartnerForm::embedded("foo.cdn-g.example").unwrap(),
                PartnerForm::table([
                    ("img.xyz.com", "xyz.cdn-g.example"),
                    ("127.0.0.1:8000", "ip.cdn-g.example"),
                ])
                .unwrap(),
                PartnerForm::semantic("c.cdn-g.example:8090").unwrap(),
            ];
            for form in &forms {
                let want = reference_encode(form, &url, page, &offload);
                let mut out = String::from("<");
                let hit = form.encode_into(&url, page, &offload, &mut out);
                let got = hit.then(|| out[1..].to_owned());
                proptest::prop_assert_eq!(&got, &want, "{:?} on {}", url, page);
                proptest::prop_assert!(hit || out == "<");
                proptest::prop_assert_eq!(
                    offload.matches_url(&url, page),
                    reference_split(&url, page).is_some_and(|o| {
                        offload.iter().any(|k| k.as_str() == o.key)
                            && reference_rest_is_portable(o.rest)
                    })
                );
            }
        }
    }

    proptest::proptest! {
        /// The vectorised check of the rest agrees with the two plain passes, for rests
        /// long enough that what matters can sit far from the start.
        #[test]
        fn rest_check_agrees_with_the_reference(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "/", "/", "\\", "a", "images/2024/", "photo-1.webp", ".", "..", "%2e", "%2E%2e",
                ".well-known", "%7Euser", "?", "#", "q=/./", "\t", "\n", "\u{7f}", "é", " ", "%",
            ]), 0..40),
        ) {
            let rest = pieces.concat();
            proptest::prop_assert_eq!(
                rest_is_portable(rest.as_bytes()),
                reference_rest_is_portable(&rest),
                "{:?}", rest
            );
        }
    }

    #[test]
    fn matches_url_uses_the_same_reading() {
        let hosts = offload();
        assert!(hosts.matches_url("//IMG.xyz.com/a", Scheme::Https));
        assert!(!hosts.matches_url("http://www.xyz.com/", Scheme::Http));
    }
}
