//! RFC 9111 for a shared cache: may a response be stored, and for how long is it fresh.

use std::time::{Duration, SystemTime};

use http::header::{
    AGE, AUTHORIZATION, CACHE_CONTROL, DATE, EXPIRES, LAST_MODIFIED, SET_COOKIE, VARY,
};
use http::{HeaderMap, StatusCode};

/// Heuristic freshness is capped at one day (RFC 9111 §4.2.2 suggests 10% of the age of
/// `Last-Modified`; caches commonly cap it).
const HEURISTIC_CAP: Duration = Duration::from_secs(86_400);

/// The response directives of `Cache-Control` this cache acts on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    /// `no-store`.
    pub(crate) no_store: bool,
    /// `no-cache` (unqualified): store, but revalidate before every use.
    pub(crate) no_cache: bool,
    /// `private`: not for a shared cache.
    pub(crate) private: bool,
    /// `public`.
    pub(crate) public: bool,
    /// `must-revalidate` or `proxy-revalidate`.
    pub(crate) must_revalidate: bool,
    /// `max-age`.
    pub(crate) max_age: Option<u64>,
    /// `s-maxage`: wins over `max-age` in a shared cache.
    pub(crate) s_maxage: Option<u64>,
}

impl Directives {
    /// Reads every `Cache-Control` field of `headers`; unknown directives are ignored.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let mut d = Self::default();
        for value in headers.get_all(CACHE_CONTROL) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let (name, arg) = match item.split_once('=') {
                    Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                    None => (item.trim(), None),
                };
                let seconds = || arg.and_then(|a| a.parse::<u64>().ok());
                match name.to_ascii_lowercase().as_str() {
                    "no-store" => d.no_store = true,
                    // `no-cache="field"` only limits fields: treat the whole as no-cache.
                    "no-cache" => d.no_cache = true,
                    // `private="field"` likewise: never share it.
                    "private" => d.private = true,
                    "public" => d.public = true,
                    "must-revalidate" | "proxy-revalidate" => d.must_revalidate = true,
                    // A malformed age makes the response stale (RFC 9111 §4.2.1).
                    "max-age" => d.max_age = Some(seconds().unwrap_or(0)),
                    "s-maxage" => d.s_maxage = Some(seconds().unwrap_or(0)),
                    _ => {}
                }
            }
        }
        d
    }
}

/// Statuses cacheable by default (RFC 9110 §15.1) that this cache keeps.
fn heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// How a response may be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Storability {
    /// Not to be stored.
    No,
    /// Stored; fresh for `lifetime` counted from its age `initial_age` on arrival.
    Yes {
        /// Freshness lifetime (zero: revalidate before every use).
        lifetime: Duration,
        /// Age it already had when it arrived (`Age`, or `now - Date` if larger).
        initial_age: Duration,
    },
}

/// Decides whether a response to a GET with `request` headers may be stored by a shared
/// cache and how long it stays fresh. `now` is when it arrived.
pub(crate) fn storability(
    status: StatusCode,
    request: &HeaderMap,
    response: &HeaderMap,
    now: SystemTime,
) -> Storability {
    let d = Directives::of(response);
    // A cookie is one client's: storing it would hand it to every other client.
    if d.no_store || d.private || response.contains_key(SET_COOKIE) {
        return Storability::No;
    }
    // `Vary: *` can never be matched by a later request.
    if response.get_all(VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|n| n.trim() == "*"))
    }) {
        return Storability::No;
    }
    // A shared cache keeps answers to authorised requests only when told it may.
    if request.contains_key(AUTHORIZATION)
        && !(d.public || d.s_maxage.is_some() || d.must_revalidate)
    {
        return Storability::No;
    }
    let date = http_date(response, DATE).unwrap_or(now);
    let explicit = d
        .s_maxage
        .or(d.max_age)
        .map(Duration::from_secs)
        .or_else(|| {
            response.get(EXPIRES).map(|_| {
                // An invalid `Expires` (`0`, `-1`) means already expired.
                http_date(response, EXPIRES)
                    .and_then(|e| e.duration_since(date).ok())
                    .unwrap_or(Duration::ZERO)
            })
        });
    let lifetime = match explicit {
        Some(l) => l,
        None if heuristically_cacheable(status) || d.public => {
            match http_date(response, LAST_MODIFIED).and_then(|lm| date.duration_since(lm).ok()) {
                Some(since) => (since / 10).min(HEURISTIC_CAP),
                // Nothing to go by: keep it only if it can be revalidated.
                None => Duration::ZERO,
            }
        }
        None => return Storability::No,
    };
    let lifetime = if d.no_cache { Duration::ZERO } else { lifetime };
    let age_header = response
        .get(AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs);
    let apparent = now.duration_since(date).unwrap_or(Duration::ZERO);
    Storability::Yes {
        lifetime,
        initial_age: age_header.max(apparent),
    }
}

/// The HTTP date in header `name`, if present and valid.
pub(crate) fn http_date(headers: &HeaderMap, name: http::header::HeaderName) -> Option<SystemTime> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
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

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(at(secs))
    }

    fn lifetime(resp: &HeaderMap) -> Option<u64> {
        match storability(StatusCode::OK, &HeaderMap::new(), resp, at(0)) {
            Storability::Yes { lifetime, .. } => Some(lifetime.as_secs()),
            Storability::No => None,
        }
    }

    #[test]
    fn s_maxage_beats_max_age_beats_expires() {
        let d = date(0);
        let e = date(50);
        assert_eq!(
            lifetime(&h(&[
                ("cache-control", "max-age=10, s-maxage=20"),
                ("date", &d)
            ])),
            Some(20)
        );
        assert_eq!(
            lifetime(&h(&[
                ("cache-control", "max-age=10"),
                ("expires", &e),
                ("date", &d)
            ])),
            Some(10)
        );
        assert_eq!(lifetime(&h(&[("expires", &e), ("date", &d)])), Some(50));
        assert_eq!(lifetime(&h(&[("expires", "0"), ("date", &d)])), Some(0));
    }

    #[test]
    fn no_store_private_and_vary_star_are_not_stored() {
        assert_eq!(
            lifetime(&h(&[("cache-control", "no-store, max-age=60")])),
            None
        );
        assert_eq!(
            lifetime(&h(&[("cache-control", "private, max-age=60")])),
            None
        );
        assert_eq!(
            lifetime(&h(&[("cache-control", "max-age=60"), ("vary", "*")])),
            None
        );
    }

    #[test]
    fn set_cookie_is_never_shared() {
        assert_eq!(
            lifetime(&h(&[
                ("cache-control", "public, max-age=60"),
                ("set-cookie", "s=1")
            ])),
            None
        );
    }

    #[test]
    fn no_cache_is_stored_but_never_fresh() {
        assert_eq!(
            lifetime(&h(&[("cache-control", "no-cache, max-age=60")])),
            Some(0)
        );
    }

    #[test]
    fn heuristic_is_a_tenth_of_last_modified_age() {
        let lm = httpdate::fmt_http_date(at(0) - Duration::from_secs(1000));
        assert_eq!(lifetime(&h(&[("last-modified", &lm)])), Some(100));
        assert_eq!(lifetime(&h(&[])), Some(0));
    }

    #[test]
    fn authorised_requests_need_permission() {
        let req = h(&[("authorization", "Bearer x")]);
        let resp = h(&[("cache-control", "max-age=60")]);
        assert_eq!(
            storability(StatusCode::OK, &req, &resp, at(0)),
            Storability::No
        );
        let public = h(&[("cache-control", "public, max-age=60")]);
        assert!(matches!(
            storability(StatusCode::OK, &req, &public, at(0)),
            Storability::Yes { .. }
        ));
    }

    #[test]
    fn age_and_date_give_the_initial_age() {
        let d = date(0);
        let resp = h(&[("cache-control", "max-age=60"), ("date", &d), ("age", "7")]);
        assert_eq!(
            storability(StatusCode::OK, &HeaderMap::new(), &resp, at(3)),
            Storability::Yes {
                lifetime: Duration::from_secs(60),
                initial_age: Duration::from_secs(7)
            }
        );
    }

    #[test]
    fn uncacheable_status_without_explicit_freshness() {
        let resp = h(&[]);
        assert_eq!(
            storability(
                StatusCode::INTERNAL_SERVER_ERROR,
                &HeaderMap::new(),
                &resp,
                at(0)
            ),
            Storability::No
        );
    }
}
