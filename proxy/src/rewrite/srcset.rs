//! The URL positions in a `srcset` attribute, by the WHATWG parsing algorithm
//! ("parse a srcset attribute", HTML standard 4.8.4.3.10).
//!
//! Only the URL of each image candidate matters to the rewriter, so descriptors are
//! skipped by the algorithm's tokenizer (which respects parentheses) but not validated:
//! rewriting the URL of a candidate the browser would later drop is harmless.

use std::ops::Range;

fn is_ascii_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0C' | b'\r')
}

/// Byte ranges of the candidate URLs in `srcset`, in order (public for the fuzz target).
pub fn candidate_urls(srcset: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        // Splitting loop: skip whitespace and separating commas.
        while pos < srcset.len() && (is_ascii_whitespace(srcset[pos]) || srcset[pos] == b',') {
            pos += 1;
        }
        if pos >= srcset.len() {
            return None;
        }
        let start = pos;
        while pos < srcset.len() && !is_ascii_whitespace(srcset[pos]) {
            pos += 1;
        }
        let mut end = pos;
        if srcset[end - 1] == b',' {
            // "url," : trailing commas end the candidate, which has no descriptors.
            while end > start && srcset[end - 1] == b',' {
                end -= 1;
            }
        } else {
            skip_descriptors(srcset, &mut pos);
        }
        // `start` holds neither whitespace nor a comma, so the URL is never empty.
        Some(start..end)
    })
}

/// The descriptor tokenizer: advances `pos` past this candidate's descriptors and the
/// comma that ends it. A comma inside parentheses does not end a candidate.
fn skip_descriptors(srcset: &[u8], pos: &mut usize) {
    let mut in_parens = false;
    while *pos < srcset.len() {
        let b = srcset[*pos];
        *pos += 1;
        match (in_parens, b) {
            (false, b',') => return,
            (false, b'(') => in_parens = true,
            (true, b')') => in_parens = false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(s: &str) -> Vec<&str> {
        candidate_urls(s.as_bytes()).map(|r| &s[r]).collect()
    }

    #[test]
    fn splits_candidates_with_width_and_density_descriptors() {
        assert_eq!(
            urls("a.jpg 1x, //h/b.jpg 2x,c.jpg 300w"),
            ["a.jpg", "//h/b.jpg", "c.jpg"]
        );
    }

    #[test]
    fn trailing_commas_of_a_url_end_its_candidate() {
        assert_eq!(urls("a.jpg,b.jpg, c.jpg"), ["a.jpg,b.jpg", "c.jpg"]);
        assert_eq!(urls("a.jpg,, b.jpg"), ["a.jpg", "b.jpg"]);
    }

    #[test]
    fn commas_inside_url_are_kept() {
        // A comma not at the end of the URL is part of it (e.g. image CDN parameters).
        assert_eq!(
            urls("http://h/w_100,h_50/a.jpg 1x, http://h/b.jpg 2x"),
            ["http://h/w_100,h_50/a.jpg", "http://h/b.jpg"]
        );
    }

    #[test]
    fn parenthesised_descriptors_may_hold_commas() {
        assert_eq!(urls("a.jpg (x, y) 1x, b.jpg"), ["a.jpg", "b.jpg"]);
    }

    #[test]
    fn empty_and_blank_srcset_have_no_candidates() {
        assert!(urls("").is_empty());
        assert!(urls(" , ,\n").is_empty());
    }

    #[test]
    fn leading_whitespace_and_newlines_are_skipped() {
        assert_eq!(urls("\n  a.jpg 1x,\n  b.jpg 2x\n"), ["a.jpg", "b.jpg"]);
    }
}
