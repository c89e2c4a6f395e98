//! What a client's conditional and Range headers make of a stored 200 response
//! (RFC 9110 §13, §14): 304, 206 with one range, 416, or the whole object.

use std::ops::Range;

use http::HeaderMap;
use http::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE};

use super::freshness::http_date;

/// The answer a stored object gives to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Selection {
    /// The whole object, as stored.
    Whole,
    /// 304 Not Modified.
    NotModified,
    /// 206 with these bytes of the body.
    Partial(Range<usize>),
    /// 416: no range of the request overlaps the body.
    Unsatisfiable,
}

/// Evaluates `If-None-Match` / `If-Modified-Since`, then `Range` (with `If-Range`),
/// against a stored 200 response with `stored` headers and a body of `len` bytes.
pub(crate) fn select(request: &HeaderMap, stored: &HeaderMap, len: usize) -> Selection {
    if not_modified(request, stored) {
        return Selection::NotModified;
    }
    let Some(range) = request.get(RANGE).and_then(|v| v.to_str().ok()) else {
        return Selection::Whole;
    };
    if !if_range_holds(request, stored) {
        return Selection::Whole;
    }
    match parse_range(range, len) {
        RangeSpec::Ignore => Selection::Whole,
        RangeSpec::One(r) => Selection::Partial(r),
        RangeSpec::Unsatisfiable => Selection::Unsatisfiable,
    }
}

/// True when the client's copy is current: RFC 9110 §13.2.2 steps 3 and 4 for GET/HEAD.
fn not_modified(request: &HeaderMap, stored: &HeaderMap) -> bool {
    if let Some(inm) = request.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let Some(etag) = stored.get(ETAG).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        return inm.trim() == "*" || inm.split(',').any(|t| weak_eq(t.trim(), etag.trim()));
    }
    // Dates are parsed only when the client sent one.
    http_date(request, IF_MODIFIED_SINCE)
        .and_then(|since| http_date(stored, LAST_MODIFIED).map(|modified| modified <= since))
        .unwrap_or(false)
}

/// Weak comparison: the opaque tags match, `W/` ignored.
fn weak_eq(a: &str, b: &str) -> bool {
    let opaque = |t: &str| t.strip_prefix("W/").unwrap_or(t).to_owned();
    opaque(a) == opaque(b)
}

/// `If-Range` holds when absent, or when it names the stored strong ETag or exact
/// `Last-Modified` date.
fn if_range_holds(request: &HeaderMap, stored: &HeaderMap) -> bool {
    let Some(cond) = request.get(IF_RANGE).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let cond = cond.trim();
    if cond.starts_with('"') {
        return stored
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|e| e.trim() == cond);
    }
    match (
        httpdate::parse_http_date(cond).ok(),
        http_date(stored, LAST_MODIFIED),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

enum RangeSpec {
    Ignore,
    One(Range<usize>),
    Unsatisfiable,
}

/// One `bytes=` range (first-last, first-, -suffix). Several ranges are answered with the
/// whole object, which RFC 9110 §14.2 allows; anything unreadable is ignored likewise.
fn parse_range(value: &str, len: usize) -> RangeSpec {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignore;
    };
    if spec.contains(',') {
        return RangeSpec::Ignore;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeSpec::Ignore;
    };
    let num = |s: &str| -> Option<usize> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().unwrap_or(usize::MAX))
    };
    match (num(first), last.trim()) {
        (Some(first), "") => {
            if first >= len {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::One(first..len)
            }
        }
        (Some(first), last) => match num(last) {
            Some(last) if last >= first => {
                if first >= len {
                    RangeSpec::Unsatisfiable
                } else {
                    RangeSpec::One(first..last.saturating_add(1).min(len))
                }
            }
            _ => RangeSpec::Ignore,
        },
        (None, suffix) if first.trim().is_empty() => match num(suffix) {
            Some(0) => RangeSpec::Unsatisfiable,
            Some(_) if len == 0 => RangeSpec::Unsatisfiable,
            Some(n) => RangeSpec::One(len.saturating_sub(n)..len),
            None => RangeSpec::Ignore,
        },
        _ => RangeSpec::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    const LM: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

    fn stored() -> HeaderMap {
        h(&[("etag", "\"v1\""), ("last-modified", LM)])
    }

    #[test]
    fn etags_match_weakly_for_if_none_match() {
        assert_eq!(
            select(&h(&[("if-none-match", "W/\"v1\"")]), &stored(), 10),
            Selection::NotModified
        );
        assert_eq!(
            select(&h(&[("if-none-match", "\"x\", \"v1\"")]), &stored(), 10),
            Selection::NotModified
        );
        assert_eq!(
            select(&h(&[("if-none-match", "*")]), &stored(), 10),
            Selection::NotModified
        );
        assert_eq!(
            select(&h(&[("if-none-match", "\"v2\"")]), &stored(), 10),
            Selection::Whole
        );
    }

    #[test]
    fn if_modified_since_is_ignored_when_if_none_match_is_there() {
        let req = h(&[("if-none-match", "\"v2\""), ("if-modified-since", LM)]);
        assert_eq!(select(&req, &stored(), 10), Selection::Whole);
        assert_eq!(
            select(&h(&[("if-modified-since", LM)]), &stored(), 10),
            Selection::NotModified
        );
        let earlier = "Mon, 13 Nov 2023 22:13:20 GMT";
        assert_eq!(
            select(&h(&[("if-modified-since", earlier)]), &stored(), 10),
            Selection::Whole
        );
    }

    #[test]
    fn byte_ranges() {
        let r = |v: &str| select(&h(&[("range", v)]), &stored(), 10);
        assert_eq!(r("bytes=0-3"), Selection::Partial(0..4));
        assert_eq!(r("bytes=5-"), Selection::Partial(5..10));
        assert_eq!(r("bytes=-3"), Selection::Partial(7..10));
        assert_eq!(r("bytes=8-100"), Selection::Partial(8..10));
        assert_eq!(r("bytes=-100"), Selection::Partial(0..10));
        assert_eq!(r("bytes=10-"), Selection::Unsatisfiable);
        assert_eq!(r("bytes=-0"), Selection::Unsatisfiable);
        assert_eq!(r("bytes=0-1,4-5"), Selection::Whole);
        assert_eq!(r("items=0-1"), Selection::Whole);
        assert_eq!(r("bytes=3-1"), Selection::Whole);
    }

    #[test]
    fn if_range_mismatch_gives_the_whole_object() {
        let req = h(&[("range", "bytes=0-1"), ("if-range", "\"v0\"")]);
        assert_eq!(select(&req, &stored(), 10), Selection::Whole);
        let req = h(&[("range", "bytes=0-1"), ("if-range", "\"v1\"")]);
        assert_eq!(select(&req, &stored(), 10), Selection::Partial(0..2));
        let req = h(&[("range", "bytes=0-1"), ("if-range", LM)]);
        assert_eq!(select(&req, &stored(), 10), Selection::Partial(0..2));
    }
}
