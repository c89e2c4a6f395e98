//! The seam between the rewriter and the origin map: [`UrlMapper`].

use std::sync::Arc;

/// Decides which URLs are offloaded and what they become.
///
/// The rewriter calls it only for absolute `http:`/`https:` URLs and scheme-relative
/// `//host/...` URLs, exactly as written in the page apart from surrounding whitespace
/// (relative URLs under an offloaded `<base href>` are resolved first). The real
/// implementation sits on `origin-map` (spec §5 forms); [`EmbeddedMapper`] is a small
/// stand-in for tests, benches and demos.
pub trait UrlMapper {
    /// If `url`'s host is offloaded, appends the partner URL to `out` and returns `true`;
    /// otherwise returns `false` and leaves `out` as it was.
    ///
    /// The partner URL keeps the form of `url`: its scheme, or the scheme-relative `//`
    /// form, and its path, query and fragment (spec §5). Writing into `out` lets the
    /// rewriter reuse one buffer for a whole page.
    fn map_url(&self, url: &str, out: &mut String) -> bool;

    /// Whether `value`, an attribute value as the page's bytes, may hold a URL that
    /// [`Self::map_url`] maps. Answering `false` lets the rewriter skip decoding and
    /// splitting the value's URLs, so it must be exact: `false` only when no URL the
    /// value could hold (absolute or `//`, never relative) maps. `true` is always right.
    ///
    /// The rewriter does not ask when the page's `<base href>` is offloaded: relative
    /// URLs then map too.
    fn may_map(&self, value: &[u8]) -> bool {
        let _ = value;
        true
    }
}

impl<T: UrlMapper + ?Sized> UrlMapper for &T {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        (**self).map_url(url, out)
    }

    fn may_map(&self, value: &[u8]) -> bool {
        (**self).may_map(value)
    }
}

impl<T: UrlMapper + ?Sized> UrlMapper for Arc<T> {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        (**self).map_url(url, out)
    }

    fn may_map(&self, value: &[u8]) -> bool {
        (**self).may_map(value)
    }
}

impl<T: UrlMapper + ?Sized> UrlMapper for Box<T> {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        (**self).map_url(url, out)
    }

    fn may_map(&self, value: &[u8]) -> bool {
        (**self).may_map(value)
    }
}

/// Whether `value` may hold a URL on one of `hosts`: texts that every URL mapped holds
/// as written, ASCII case aside, when it is plain ASCII without `%` (origin-map's
/// canonical host names; [`EmbeddedMapper`]'s `host[:port]` entries). A host is
/// canonicalised (case folded, `%`-decoded, IDNA-mapped) before it is compared, so any
/// value with `%` or a non-ASCII byte may.
pub(crate) fn may_name_host<'h>(value: &[u8], hosts: impl IntoIterator<Item = &'h str>) -> bool {
    // A value that names a host (the common case on pages worth rewriting) answers
    // before the whole of it is checked for other bytes.
    hosts
        .into_iter()
        .any(|host| contains_ignore_ascii_case(value, host.as_bytes()))
        || !value.is_ascii()
        || memchr::memchr(b'%', value).is_some()
}

/// Whether `needle` occurs in `hay`, ASCII case ignored.
fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &hay[..=last_start],
    )
    .any(|k| hay[k + 1..k + needle.len()].eq_ignore_ascii_case(rest))
}

/// Maps the listed origin hosts into the embedded form of spec §5:
/// `http://img.xyz.com/a.gif` → `http://foo.cdn-g.example/img.xyz.com/a.gif`.
///
/// Hosts match case-insensitively and exactly, port included (`img.xyz.com:8080` must be
/// listed as such); URLs with user information are never mapped.
#[derive(Clone, Debug)]
pub struct EmbeddedMapper {
    partner_host: String,
    origin_hosts: Vec<String>,
}

impl EmbeddedMapper {
    /// A mapper sending `origin_hosts` to the edge at `partner_host`.
    pub fn new(
        partner_host: impl Into<String>,
        origin_hosts: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            partner_host: partner_host.into(),
            origin_hosts: origin_hosts
                .into_iter()
                .map(|h| h.into().to_ascii_lowercase())
                .collect(),
        }
    }
}

/// Whether `url` starts with `//`, `http://` or `https://` (scheme in any case): the
/// URLs [`split_authority`] splits.
pub(crate) fn has_authority(url: &str) -> bool {
    let bytes = url.as_bytes();
    let starts = |prefix: &[u8]| {
        bytes
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    starts(b"//") || starts(b"http://") || starts(b"https://")
}

/// Splits `url` into (scheme prefix up to and including `//`, authority, rest).
pub(crate) fn split_authority(url: &str) -> Option<(&str, &str, &str)> {
    let after_scheme = if url.starts_with("//") {
        0
    } else {
        let colon = url.find(':')?;
        let scheme = &url[..colon];
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return None;
        }
        if !url[colon + 1..].starts_with("//") {
            return None;
        }
        colon + 1
    };
    let authority_start = after_scheme + 2;
    // Bytes, not chars: the ends are ASCII, so the cuts fall on char boundaries.
    let authority_len = url.as_bytes()[authority_start..]
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#' | b'\\'))
        .unwrap_or(url.len() - authority_start);
    let authority_end = authority_start + authority_len;
    Some((
        &url[..authority_start],
        &url[authority_start..authority_end],
        &url[authority_end..],
    ))
}

impl UrlMapper for EmbeddedMapper {
    /// A URL maps when its authority is one of the listed `host[:port]`s, so a value
    /// holding none of them as text (ASCII case ignored) holds no URL that maps.
    fn may_map(&self, value: &[u8]) -> bool {
        may_name_host(value, self.origin_hosts.iter().map(String::as_str))
    }

    fn map_url(&self, url: &str, out: &mut String) -> bool {
        let Some((prefix, authority, rest)) = split_authority(url) else {
            return false;
        };
        if !self
            .origin_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(authority))
            || authority.contains('@')
        {
            return false;
        }
        out.reserve(prefix.len() + self.partner_host.len() + authority.len() + rest.len() + 2);
        out.push_str(prefix);
        out.push_str(&self.partner_host);
        out.push('/');
        out.push_str(authority);
        if !rest.starts_with('/') {
            out.push('/');
        }
        out.push_str(rest);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(url: &str) -> Option<String> {
        let m = EmbeddedMapper::new("foo.cdn-g.example", ["img.xyz.com", "img.xyz.com:8080"]);
        let mut out = String::from("kept:");
        m.map_url(url, &mut out).then_some(out)
    }

    #[test]
    fn embedded_form_keeps_scheme_path_and_query() {
        assert_eq!(
            map("https://img.xyz.com/a/b.gif?x=1#f").as_deref(),
            Some("kept:https://foo.cdn-g.example/img.xyz.com/a/b.gif?x=1#f")
        );
        assert_eq!(
            map("//IMG.xyz.com/a").as_deref(),
            Some("kept://foo.cdn-g.example/IMG.xyz.com/a")
        );
        assert_eq!(
            map("http://img.xyz.com:8080?q").as_deref(),
            Some("kept:http://foo.cdn-g.example/img.xyz.com:8080/?q")
        );
    }

    #[test]
    fn prefilter_finds_hosts_in_any_case_and_passes_encoded_values() {
        let m = EmbeddedMapper::new("foo.cdn-g.example", ["img.xyz.com", "static.xyz.com:8080"]);
        let may = |v: &str| m.may_map(v.as_bytes());
        assert!(may("http://img.xyz.com/a"));
        assert!(may("//IMG.Xyz.COM/a 1x, //x/b 2x"));
        assert!(may("background: url(https://iMg.xyz.com/a.png)"));
        assert!(may("http://static.xyz.com:8080/a"));
        // `%`-encoded or non-ASCII hosts canonicalise to names not written in the value.
        assert!(may("http://img%2Exyz.com/a"));
        assert!(may("http://%69mg.xyz.com/a"));
        assert!(may("http://\u{0130}mg.xyz.com/a"));
        assert!(may("http://img\u{3002}xyz.com/a"));
        assert!(!may("http://img.xyz.co/a"));
        assert!(!may("http://other.example/img.xyz/com"));
        assert!(!may("http://static.xyz.com/a"));
        assert!(!may("//mg.xyz.com/a"));
        assert!(!may(""));
        // Whatever it answers, `false` must mean no URL of the value maps.
        for v in ["//img.xyz.co", "img.xyz.com", "http://img.xyz.com.evil/"] {
            let mut out = String::new();
            assert!(may(v) || !m.map_url(v, &mut out), "{v}");
        }
    }

    #[test]
    fn case_insensitive_search_checks_every_candidate() {
        assert!(contains_ignore_ascii_case(b"iiimg", b"img"));
        assert!(contains_ignore_ascii_case(b"xIMG", b"img"));
        assert!(!contains_ignore_ascii_case(b"im", b"img"));
        assert!(!contains_ignore_ascii_case(b"imimx", b"img"));
        assert!(contains_ignore_ascii_case(b"abc", b""));
    }

    #[test]
    fn has_authority_is_what_split_authority_splits() {
        for url in [
            "//h/a",
            "http://h",
            "HTTPS://h/",
            "hTTp://",
            "http:/h",
            "https:h",
            "ftp://h",
            "/a",
            "",
            "http",
            "https:",
            "h://x",
            ":://",
            "http//h",
            "//",
        ] {
            assert_eq!(
                has_authority(url),
                split_authority(url).is_some(),
                "{url:?}"
            );
        }
    }

    #[test]
    fn other_hosts_schemes_and_userinfo_are_not_mapped() {
        assert_eq!(map("http://img.xyz.com.evil/a"), None);
        assert_eq!(map("http://img.xyz.com:81/a"), None);
        assert_eq!(map("ftp://img.xyz.com/a"), None);
        assert_eq!(map("http://u@img.xyz.com/a"), None);
        assert_eq!(map("/img.xyz.com/a"), None);
        assert_eq!(map("http:img.xyz.com/a"), None);
    }
}
