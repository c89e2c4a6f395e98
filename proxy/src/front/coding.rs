//! Content codings the front proxy can undo and redo around the rewriter: which one the
//! origin used, which one the client gets, and what we ask the origin for.

use http::HeaderMap;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, HeaderValue};

/// A content coding the proxy decodes and encodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    /// No coding.
    Identity,
    /// `gzip` (also `x-gzip`).
    Gzip,
    /// `deflate`: a zlib stream (RFC 9110 §8.4.1.2); decoded as raw deflate too, which
    /// some servers send instead.
    Deflate,
    /// `br`.
    Br,
}

/// The codings we produce, best first.
const PREFERENCE: [Coding; 3] = [Coding::Br, Coding::Gzip, Coding::Deflate];

impl Coding {
    /// The `Content-Encoding` token; `None` for identity.
    pub(crate) fn token(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Deflate => Some("deflate"),
            Self::Br => Some("br"),
        }
    }

    fn bit(self) -> usize {
        match self {
            Self::Identity => 0,
            Self::Gzip => 1,
            Self::Deflate => 2,
            Self::Br => 4,
        }
    }
}

/// The coding of a response body, from its `Content-Encoding`; `None` when it is one we
/// cannot undo (an unknown coding, or several stacked).
pub(crate) fn of_response(headers: &HeaderMap) -> Option<Coding> {
    let mut found = Coding::Identity;
    for value in headers.get_all(CONTENT_ENCODING) {
        for token in value.to_str().ok()?.split(',') {
            let coding = match token.trim() {
                "" => continue,
                t if t.eq_ignore_ascii_case("identity") => continue,
                t if t.eq_ignore_ascii_case("gzip") || t.eq_ignore_ascii_case("x-gzip") => {
                    Coding::Gzip
                }
                t if t.eq_ignore_ascii_case("deflate") => Coding::Deflate,
                t if t.eq_ignore_ascii_case("br") => Coding::Br,
                _ => return None,
            };
            if found != Coding::Identity {
                return None;
            }
            found = coding;
        }
    }
    Some(found)
}

/// The set of our codings that an `Accept-Encoding` allows, as bits of [`Coding::bit`].
/// No header: identity only (RFC 9110 allows any coding then, but a client that sends
/// none usually handles none).
fn accepted(headers: &HeaderMap) -> usize {
    let mut explicit = [None::<bool>; 3];
    let mut star = None::<bool>;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or_default().trim();
            let ok = parts.all(|p| {
                let p = p.trim();
                let q = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="));
                q.is_none_or(|q| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0))
            });
            if token == "*" {
                star = Some(ok);
                continue;
            }
            for (i, c) in PREFERENCE.iter().enumerate() {
                let is = c.token().is_some_and(|t| t.eq_ignore_ascii_case(token))
                    || (*c == Coding::Gzip && token.eq_ignore_ascii_case("x-gzip"));
                if is {
                    explicit[i] = Some(ok);
                }
            }
        }
    }
    PREFERENCE
        .iter()
        .zip(explicit)
        .filter(|(_, e)| e.or(star).unwrap_or(false))
        .fold(0, |bits, (c, _)| bits | c.bit())
}

/// The coding to send a rewritten body in: the best one the client accepts.
pub(crate) fn for_client(request: &HeaderMap) -> Coding {
    let bits = accepted(request);
    PREFERENCE
        .into_iter()
        .find(|c| bits & c.bit() != 0)
        .unwrap_or(Coding::Identity)
}

/// The `Accept-Encoding` to send the origin: the codings we can undo that the client also
/// accepts, so that a body passed through unchanged is one the client can read.
pub(crate) fn for_origin(request: &HeaderMap) -> HeaderValue {
    const BY_BITS: [&str; 8] = [
        "identity",
        "gzip",
        "deflate",
        "gzip, deflate",
        "br",
        "br, gzip",
        "br, deflate",
        "br, gzip, deflate",
    ];
    HeaderValue::from_static(BY_BITS[accepted(request)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::header::HeaderName, v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn client_gets_its_best_accepted_coding() {
        let pick = |v| for_client(&headers(ACCEPT_ENCODING, v));
        assert_eq!(pick("gzip, deflate, br"), Coding::Br);
        assert_eq!(pick("gzip;q=0.5, br;q=0"), Coding::Gzip);
        assert_eq!(pick("identity"), Coding::Identity);
        assert_eq!(pick("*;q=0.1, br;q=0"), Coding::Gzip);
        assert_eq!(pick("x-gzip"), Coding::Gzip);
        assert_eq!(pick("zstd"), Coding::Identity);
        assert_eq!(for_client(&HeaderMap::new()), Coding::Identity);
    }

    #[test]
    fn origin_is_asked_for_what_both_sides_handle() {
        let ask = |v| for_origin(&headers(ACCEPT_ENCODING, v));
        assert_eq!(ask("gzip, zstd"), "gzip");
        assert_eq!(ask("br, gzip, deflate"), "br, gzip, deflate");
        assert_eq!(ask("zstd"), "identity");
    }

    #[test]
    fn response_codings_we_cannot_undo_are_none() {
        let of = |v| of_response(&headers(CONTENT_ENCODING, v));
        assert_eq!(of("gzip"), Some(Coding::Gzip));
        assert_eq!(of("BR"), Some(Coding::Br));
        assert_eq!(of("identity"), Some(Coding::Identity));
        assert_eq!(of("zstd"), None);
        assert_eq!(of("gzip, br"), None);
        assert_eq!(of_response(&HeaderMap::new()), Some(Coding::Identity));
    }
}
