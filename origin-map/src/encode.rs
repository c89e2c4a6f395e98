//! Offloading side: origin URL -> partner URL (spec §5). Runs once per embedded URL in
//! the page rewriter, so the common case borrows everything and allocates only the
//! result.

use std::borrow::Cow;

use crate::host::{
    MAX_HOST_LEN, canonical_host, is_canonical_port_text, parse_port, split_host_port,
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
    /// left alone: not offloading a URL is always safe.
    fn split(url: &'u str, page: Scheme) -> Option<Self> {
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
        // The host parser refuses control characters in `authority`.
        let key = key_text(authority, scheme.unwrap_or(page))?;
        Some(Self { scheme, key, rest })
    }

    /// True when the path part is one the partner URL can carry unchanged: no control
    /// characters (browsers drop tabs and newlines), no dot segments.
    fn rest_is_portable(&self) -> bool {
        !self.rest.bytes().any(|b| b.is_ascii_control()) && !has_dot_segment(self.rest)
    }
}

/// The canonical origin key of `authority`; borrowed when `authority` already is it.
fn key_text(authority: &str, scheme: Scheme) -> Option<Cow<'_, str>> {
    let (host_text, port_text) = split_host_port(authority).ok()?;
    let host = canonical_host(host_text).ok()?;
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

/// True when the path part of `rest` has a `.` or `..` segment: prefixed by a partner
/// host and origin segment, the browser would resolve it differently than against the
/// origin.
fn has_dot_segment(rest: &str) -> bool {
    let path = rest.as_bytes();
    let path_end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    path.get(..path_end).is_some_and(path::has_dot_segment)
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
        let Some(origin) = OriginUrl::split(url, page) else {
            return false;
        };
        if !offload.contains(&origin.key) || !origin.rest_is_portable() {
            return false;
        }
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

fn push_all(out: &mut String, parts: &[&str]) {
    out.reserve(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
}

impl OffloadHosts {
    /// True when `url` (found in a page served with scheme `page`) names an origin listed
    /// here, whatever partner it may go to.
    pub fn matches_url(&self, url: &str, page: Scheme) -> bool {
        OriginUrl::split(url, page).is_some_and(|o| self.contains(&o.key) && o.rest_is_portable())
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

    #[test]
    fn key_text_borrows_canonical_authorities() {
        assert!(matches!(
            key_text("img.xyz.com:8080", Scheme::Http),
            Some(Cow::Borrowed("img.xyz.com:8080"))
        ));
        assert!(matches!(
            key_text("img.xyz.com:80", Scheme::Http),
            Some(Cow::Borrowed("img.xyz.com"))
        ));
        assert_eq!(
            key_text("img.xyz.com:80", Scheme::Https).as_deref(),
            Some("img.xyz.com:80")
        );
        assert_eq!(
            key_text("IMG.xyz.com:08080", Scheme::Http).as_deref(),
            Some("img.xyz.com:8080")
        );
        assert_eq!(key_text("img.xyz.com:", Scheme::Http), None);
        assert_eq!(key_text("a@img.xyz.com", Scheme::Http), None);
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

    #[test]
    fn matches_url_uses_the_same_reading() {
        let hosts = offload();
        assert!(hosts.matches_url("//IMG.xyz.com/a", Scheme::Https));
        assert!(!hosts.matches_url("http://www.xyz.com/", Scheme::Http));
    }
}
