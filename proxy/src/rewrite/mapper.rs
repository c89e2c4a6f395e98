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
}

impl<T: UrlMapper + ?Sized> UrlMapper for &T {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        (**self).map_url(url, out)
    }
}

impl<T: UrlMapper + ?Sized> UrlMapper for Arc<T> {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        (**self).map_url(url, out)
    }
}

impl<T: UrlMapper + ?Sized> UrlMapper for Box<T> {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        (**self).map_url(url, out)
    }
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
    let authority_len = url[authority_start..]
        .find(['/', '?', '#', '\\'])
        .unwrap_or(url.len() - authority_start);
    let authority_end = authority_start + authority_len;
    Some((
        &url[..authority_start],
        &url[authority_start..authority_end],
        &url[authority_end..],
    ))
}

impl UrlMapper for EmbeddedMapper {
    fn map_url(&self, url: &str, out: &mut String) -> bool {
        let Some((prefix, authority, rest)) = split_authority(url) else {
            return false;
        };
        if authority.contains('@')
            || !self
                .origin_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(authority))
        {
            return false;
        }
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
    fn other_hosts_schemes_and_userinfo_are_not_mapped() {
        assert_eq!(map("http://img.xyz.com.evil/a"), None);
        assert_eq!(map("http://img.xyz.com:81/a"), None);
        assert_eq!(map("ftp://img.xyz.com/a"), None);
        assert_eq!(map("http://u@img.xyz.com/a"), None);
        assert_eq!(map("/img.xyz.com/a"), None);
        assert_eq!(map("http:img.xyz.com/a"), None);
    }
}
