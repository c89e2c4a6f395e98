//! `Via`: the edge marks what it fetches and serves, and refuses a request that already
//! went through it (a loop through a misconfigured partner, spec §5).

use http::HeaderMap;
use http::HeaderValue;
use http::header::VIA;

/// This edge's `Via` entry, `1.1 <pseudonym>`, and the pseudonym it recognises.
#[derive(Clone, Debug)]
pub struct ViaMark {
    pseudonym: String,
    value: HeaderValue,
}

impl ViaMark {
    /// The mark of the edge whose `received-by` pseudonym is `pseudonym` (e.g.
    /// `G-edge`); `None` when it is not a valid header token.
    pub fn new(pseudonym: &str) -> Option<Self> {
        let token_ok = !pseudonym.is_empty()
            && pseudonym
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token_ok {
            return None;
        }
        let value = HeaderValue::from_str(&format!("1.1 {pseudonym}")).ok()?;
        Some(Self {
            pseudonym: pseudonym.to_owned(),
            value,
        })
    }

    /// The header value to append: `1.1 <pseudonym>`.
    pub fn value(&self) -> &HeaderValue {
        &self.value
    }

    /// True when any `Via` entry of `headers` was received by this edge: the request
    /// has been here before.
    pub fn seen_in(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(VIA)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|entry| {
                // `received-protocol received-by [comment]`
                let mut words = entry.split_ascii_whitespace();
                let _protocol = words.next();
                words
                    .next()
                    .is_some_and(|by| by.eq_ignore_ascii_case(&self.pseudonym))
            })
    }

    /// Appends this edge's entry to `headers`' `Via`.
    pub fn append_to(&self, headers: &mut HeaderMap) {
        headers.append(VIA, self.value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(vias: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in vias {
            h.append(VIA, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn own_entry_is_found_anywhere_in_the_list() {
        let mark = ViaMark::new("G-edge").unwrap();
        assert!(mark.seen_in(&headers(&["1.1 G-edge"])));
        assert!(mark.seen_in(&headers(&["1.0 fred, 1.1 g-EDGE (cdnbroker)"])));
        assert!(mark.seen_in(&headers(&["1.1 other", "HTTP/2 G-edge"])));
    }

    #[test]
    fn other_entries_are_not_loops() {
        let mark = ViaMark::new("G-edge").unwrap();
        assert!(!mark.seen_in(&headers(&[])));
        assert!(!mark.seen_in(&headers(&["1.1 G-edge2, 1.1 xG-edge"])));
        assert!(!mark.seen_in(&headers(&["G-edge"])));
    }

    #[test]
    fn pseudonym_must_be_a_token() {
        assert!(ViaMark::new("G edge").is_none());
        assert!(ViaMark::new("").is_none());
        assert_eq!(ViaMark::new("G").unwrap().value(), "1.1 G");
    }
}
