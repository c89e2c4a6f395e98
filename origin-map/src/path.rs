//! The path and query the edge asks the origin for, normalised as a browser would:
//! `\` read as `/`, dot segments resolved without climbing above `/`, characters outside
//! the URL standard's path and query sets percent-encoded, existing escapes kept.

use url::Url;

/// Longest request target (path plus query) the edge accepts.
pub const MAX_TARGET_LEN: usize = 8192;

/// Why a path or query cannot be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Path plus query longer than [`MAX_TARGET_LEN`].
    TooLong,
    /// Not starting with `/`, holding a `#`, or refused by the URL parser.
    Invalid,
}

/// True for `.` and `..` in every spelling the URL standard resolves (`%2e`, `.%2E`, ...).
pub(crate) fn is_dot_segment(segment: &[u8]) -> bool {
    const DOTS: [&[u8]; 6] = [b".", b"..", b"%2e", b".%2e", b"%2e.", b"%2e%2e"];
    matches!(segment.first(), Some(b'.' | b'%'))
        && DOTS.iter().any(|d| segment.eq_ignore_ascii_case(d))
}

/// True when a `/`- or `\`-separated segment of `path` is a dot segment.
pub(crate) fn has_dot_segment(path: &[u8]) -> bool {
    // A plain loop: `split(..).any(..)` costs an iterator adapter per segment.
    let mut start = 0;
    for (i, &b) in path.iter().enumerate() {
        if b == b'/' || b == b'\\' {
            if path.get(start..i).is_some_and(is_dot_segment) {
                return true;
            }
            start = i + 1;
        }
    }
    path.get(start..).is_some_and(is_dot_segment)
}

/// Normalises `path` (empty, or starting with `/` or `\`; empty means `/`) and `query`
/// into `path[?query]`.
pub(crate) fn normalize(path: &str, query: Option<&str>) -> Result<String, PathError> {
    let query_len = query.map_or(0, |q| q.len() + 1);
    if path.len() + query_len > MAX_TARGET_LEN {
        return Err(PathError::TooLong);
    }
    if path.contains('#') || query.is_some_and(|q| q.contains('#')) {
        return Err(PathError::Invalid);
    }
    let path = if path.is_empty() { "/" } else { path };
    if !path.starts_with(['/', '\\']) {
        return Err(PathError::Invalid);
    }
    if path_is_normal(path) && query.is_none_or(query_is_normal) {
        let mut out = String::with_capacity(path.len() + query_len);
        out.push_str(path);
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        return Ok(out);
    }
    normalize_with_url(path, query)
}

/// True when the URL parser would return `path` unchanged.
fn path_is_normal(path: &str) -> bool {
    path.starts_with('/')
        && path.bytes().all(|b| {
            matches!(b, 0x21..=0x7e)
                && !matches!(b, b'"' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}' | b'\\')
        })
        && !has_dot_segment(path.as_bytes())
}

/// True when the URL parser would return `query` unchanged.
fn query_is_normal(query: &str) -> bool {
    query
        .bytes()
        .all(|b| matches!(b, 0x21..=0x7e) && !matches!(b, b'"' | b'<' | b'>' | b'\''))
}

fn normalize_with_url(path: &str, query: Option<&str>) -> Result<String, PathError> {
    let mut text = String::with_capacity(8 + path.len() + query.map_or(0, |q| q.len() + 1));
    text.push_str("http://o");
    text.push_str(path);
    if let Some(query) = query {
        text.push('?');
        text.push_str(query);
    }
    let url = Url::parse(&text).map_err(|_| PathError::Invalid)?;
    // `path` starts with a separator, so the authority is `o`; checked all the same.
    if url.host_str() != Some("o") || url.port().is_some() || !url.username().is_empty() {
        return Err(PathError::Invalid);
    }
    let mut out = String::with_capacity(url.path().len() + url.query().map_or(0, |q| q.len() + 1));
    out.push_str(url.path());
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(path: &str, query: Option<&str>) -> Result<String, PathError> {
        normalize(path, query)
    }

    #[test]
    fn dot_segments_never_climb_above_root() {
        assert_eq!(
            norm("/../../etc/passwd", None).as_deref(),
            Ok("/etc/passwd")
        );
        assert_eq!(norm("/a/%2e%2E/b", None).as_deref(), Ok("/b"));
        assert_eq!(norm("/a/./b/.", None).as_deref(), Ok("/a/b/"));
        assert_eq!(
            norm("\\..\\evil.com\\x", None).as_deref(),
            Ok("/evil.com/x")
        );
    }

    #[test]
    fn odd_characters_are_percent_encoded_like_a_browser() {
        assert_eq!(
            norm("/a b\"<>`{}", Some("x y'")).as_deref(),
            Ok("/a%20b%22%3C%3E%60%7B%7D?x%20y%27")
        );
        assert_eq!(norm("/é", None).as_deref(), Ok("/%C3%A9"));
        assert_eq!(norm("/a%2fb%40c", Some("")).as_deref(), Ok("/a%2fb%40c?"));
        assert_eq!(norm("", Some("q=1")).as_deref(), Ok("/?q=1"));
    }

    #[test]
    fn fragments_relative_and_overlong_targets_are_refused() {
        assert_eq!(norm("/a#b", None), Err(PathError::Invalid));
        assert_eq!(norm("/a", Some("b#c")), Err(PathError::Invalid));
        assert_eq!(norm("a", None), Err(PathError::Invalid));
        assert_eq!(norm(&"/a".repeat(5000), None), Err(PathError::TooLong));
    }

    #[test]
    fn authority_lookalikes_stay_in_the_path() {
        assert_eq!(norm("//evil.com/x", None).as_deref(), Ok("//evil.com/x"));
        assert_eq!(norm("\\\\evil.com/x", None).as_deref(), Ok("//evil.com/x"));
        assert_eq!(
            norm("/@evil.com:80/x", None).as_deref(),
            Ok("/@evil.com:80/x")
        );
    }

    proptest::proptest! {
        /// The loop finds what splitting at every separator finds.
        #[test]
        fn dot_segment_search_agrees_with_split(path in "[/\\\\.%2eEa]{0,12}") {
            let by_split = path.as_bytes().split(|&b| b == b'/' || b == b'\\').any(is_dot_segment);
            proptest::prop_assert_eq!(has_dot_segment(path.as_bytes()), by_split);
        }

        /// The copy-only path must give exactly what the URL parser gives.
        #[test]
        fn fast_path_agrees_with_url(
            path in "/[ -~é]{0,40}",
            query in proptest::option::of("[ -~é]{0,20}"),
        ) {
            let query = query.as_deref();
            if !path.contains('#') && !query.is_some_and(|q| q.contains('#')) {
                let slow = normalize_with_url(&path, query);
                proptest::prop_assert_eq!(normalize(&path, query), slow);
            }
        }
    }
}
