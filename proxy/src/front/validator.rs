//! Validators of pages whose URLs depend on the pick: a browser revalidating its copy must
//! not get a 304 for a page rewritten for a pick it no longer gets (the plan, a partner's
//! form or the client's port changed), so such pages carry a weak ETag that names the
//! pick, `W/"<origin opaque>.<pick id>"` (`.w` appended when the origin's tag was weak),
//! and no `Last-Modified`.
//!
//! The pick id reads `G-embedded.g3.1a2b3c4d`: per offload group the partner and its form
//! (or `self`), joined by `+`; the routing generation; a digest of what else the rewrite
//! depends on (the partners' hosts or tables, the groups' hosts, the page's scheme), so a
//! restart with an edited deployment file (generation 0 again) changes it too.
//!
//! Towards the origin, `If-None-Match` keeps only the client's tags of the current pick,
//! turned back into the origin's own; other tags, `*` and `If-Modified-Since` go, so the
//! origin sends the whole page and the client gets it rewritten for its current pick.

use std::fmt::Write as _;

use http::HeaderMap;
use http::header::{ETAG, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use origin_map::Scheme;

use super::pick::Picks;
use super::sites::{CustomerRoute, PartnerRoute};

/// FNV-1a (32 bits): stable across builds and restarts, unlike std's hasher.
pub(crate) fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        for b in part.iter().chain(&[0xff]) {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// The id of one page's picks, ending in the digest's last hex digit (which `.w` cannot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PickTag(String);

impl PickTag {
    pub(crate) fn new(
        customer: &CustomerRoute,
        partners: &[PartnerRoute],
        picks: &Picks,
        page: Scheme,
        generation: u64,
    ) -> Self {
        let mut id = String::with_capacity(32);
        let mut seed = vec![u8::from(page == Scheme::Https)];
        for (i, (group, pick)) in customer.groups.iter().zip(picks).enumerate() {
            if i > 0 {
                id.push('+');
            }
            match pick.and_then(|p| partners.get(usize::from(p))) {
                Some(p) => {
                    let _ = write!(id, "{}-{}", p.name, p.form_kind);
                    seed.extend(p.form_digest.to_be_bytes());
                    seed.extend(group.digest.to_be_bytes());
                }
                None => id.push_str("self"),
            }
        }
        let _ = write!(id, ".g{generation}.{:08x}", digest([seed.as_slice()]));
        Self(id)
    }

    /// The id as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The origin's tag inside `ours` (`W/"…"` as we issued it), if `ours` names this pick.
    fn origin_tag(&self, ours: &str) -> Option<String> {
        let opaque = ours.strip_prefix("W/\"")?.strip_suffix('"')?;
        let (opaque, weak) = match opaque.strip_suffix(".w") {
            Some(rest) => (rest, true),
            None => (opaque, false),
        };
        let origin = opaque.strip_suffix(self.0.as_str())?.strip_suffix('.')?;
        Some(if weak {
            format!("W/\"{origin}\"")
        } else {
            format!("\"{origin}\"")
        })
    }

    /// Our tag for the origin's `tag`.
    fn ours(&self, tag: &str) -> Option<HeaderValue> {
        let (weak, quoted) = match tag.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, tag),
        };
        let opaque = quoted.strip_prefix('"')?.strip_suffix('"')?;
        let w = if weak { ".w" } else { "" };
        HeaderValue::from_str(&format!("W/\"{opaque}.{}{w}\"", self.0)).ok()
    }
}

/// The entity tags of an `If-None-Match` value (`*` included as is); stops at the first
/// malformed one.
fn entity_tags(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = value;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if let Some(after) = rest.strip_prefix('*') {
            rest = after;
            return Some("*");
        }
        let start = usize::from(rest.starts_with("W/")) * 2;
        let body = rest.get(start..)?.strip_prefix('"')?;
        // An opaque tag may hold commas, never a quote.
        let end = start + 1 + body.find('"')? + 1;
        let (tag, after) = rest.split_at(end);
        rest = after;
        Some(tag)
    })
}

/// The conditionals of a request to a site whose pages may be rewritten: `If-None-Match`
/// keeps the origin's tags inside the client's tags of `current`, and nothing else.
/// `If-Modified-Since` always goes: no rewritten page carries `Last-Modified`, so a date
/// comes from a copy we did not rewrite for this pick (or from before this rule), and the
/// origin would answer 304 to it whatever the pick; no date can be made pick-safe. (With
/// an `If-None-Match`, the origin ignores the date anyway, RFC 9110 §13.1.3.)
/// Returns whether an `If-None-Match` is sent, so that its 304 gets our tag back.
pub(crate) fn to_origin(headers: &mut HeaderMap, current: &PickTag) -> bool {
    let mut kept = String::new();
    for value in headers.get_all(IF_NONE_MATCH) {
        let Ok(value) = value.to_str() else { continue };
        for tag in entity_tags(value).filter_map(|t| current.origin_tag(t)) {
            if !kept.is_empty() {
                kept.push_str(", ");
            }
            kept.push_str(&tag);
        }
    }
    headers.remove(IF_NONE_MATCH);
    headers.remove(IF_MODIFIED_SINCE);
    match HeaderValue::from_str(&kept) {
        Ok(v) if !kept.is_empty() => {
            headers.insert(IF_NONE_MATCH, v);
            true
        }
        _ => false,
    }
}

/// Whether a request carries conditionals [`to_origin`] has to look at.
pub(crate) fn is_conditional(headers: &HeaderMap) -> bool {
    headers.contains_key(IF_NONE_MATCH) || headers.contains_key(IF_MODIFIED_SINCE)
}

/// The validators of a response whose body depends on `pick`: the origin's ETag made ours
/// (dropped when malformed), no `Last-Modified`.
pub(crate) fn for_client(headers: &mut HeaderMap, pick: &PickTag) {
    headers.remove(LAST_MODIFIED);
    let ours = headers
        .get(ETAG)
        .and_then(|t| t.to_str().ok())
        .map(|t| pick.ours(t.trim()));
    match ours {
        Some(Some(tag)) => {
            headers.insert(ETAG, tag);
        }
        Some(None) => {
            headers.remove(ETAG);
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(id: &str) -> PickTag {
        PickTag(id.to_owned())
    }

    #[test]
    fn entity_tag_lists_split_outside_quotes_only() {
        let tags: Vec<&str> = entity_tags(r#"W/"a,b" ,"c", *, W/"""#).collect();
        assert_eq!(tags, [r#"W/"a,b""#, r#""c""#, "*", r#"W/"""#]);
        let broken: Vec<&str> = entity_tags(r#""a", b, "c""#).collect();
        assert_eq!(broken, [r#""a""#]);
    }

    #[test]
    fn our_tags_round_trip_to_the_origins_for_the_same_pick_only() {
        let g = tag("G-embedded.g3.0a1b2c3d");
        let strong = g.ours("\"v1\"").unwrap();
        assert_eq!(strong, "W/\"v1.G-embedded.g3.0a1b2c3d\"");
        assert_eq!(
            g.origin_tag(strong.to_str().unwrap()).as_deref(),
            Some("\"v1\"")
        );
        let weak = g.ours("W/\"x.y\"").unwrap();
        assert_eq!(weak, "W/\"x.y.G-embedded.g3.0a1b2c3d.w\"");
        assert_eq!(
            g.origin_tag(weak.to_str().unwrap()).as_deref(),
            Some("W/\"x.y\"")
        );
        let other = tag("self.g3.99999999");
        assert_eq!(other.origin_tag(strong.to_str().unwrap()), None);
        assert_eq!(g.origin_tag("\"v1\""), None, "not ours");
        assert_eq!(g.ours("v1"), None, "unquoted");
    }

    #[test]
    fn conditionals_keep_only_the_current_picks_tags() {
        let g = tag("G-embedded.g0.0a1b2c3d");
        let mut h = HeaderMap::new();
        h.append(
            IF_NONE_MATCH,
            HeaderValue::from_static(r#""v0", W/"v1.self.g0.00000000""#),
        );
        h.append(
            IF_NONE_MATCH,
            HeaderValue::from_static(r#"W/"v2.G-embedded.g0.0a1b2c3d""#),
        );
        h.insert(IF_MODIFIED_SINCE, HeaderValue::from_static("x"));
        assert!(to_origin(&mut h, &g));
        assert_eq!(h[IF_NONE_MATCH], "\"v2\"");
        assert!(!h.contains_key(IF_MODIFIED_SINCE));
        let mut stale = HeaderMap::new();
        stale.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(!to_origin(&mut stale, &g));
        assert!(stale.is_empty());
    }

    #[test]
    fn responses_lose_last_modified_and_get_our_tag() {
        let g = tag("self.g0.0a1b2c3d");
        let mut h = HeaderMap::new();
        h.insert(ETAG, HeaderValue::from_static("\"v1\""));
        h.insert(LAST_MODIFIED, HeaderValue::from_static("x"));
        for_client(&mut h, &g);
        assert_eq!(h[ETAG], "W/\"v1.self.g0.0a1b2c3d\"");
        assert!(!h.contains_key(LAST_MODIFIED));
        let mut bad = HeaderMap::new();
        bad.insert(ETAG, HeaderValue::from_static("v1"));
        for_client(&mut bad, &g);
        assert!(bad.is_empty());
    }

    #[test]
    fn digests_separate_their_parts() {
        assert_ne!(digest([&b"ab"[..], b"c"]), digest([&b"a"[..], b"bc"]));
        assert_eq!(digest([&b"ab"[..]]), digest([&b"ab"[..]]));
    }
}
