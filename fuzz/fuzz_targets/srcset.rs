#![no_main]
//! The srcset parser (WHATWG "parse a srcset attribute") on any bytes: never a panic, and
//! the candidate URLs it finds are in order, inside the input, never empty, never holding
//! whitespace, never starting or ending with a comma; and text outside them is only
//! whitespace, commas and descriptors (so a rewrite of the URLs leaves the rest as it is).

use broker_proxy::rewrite::candidate_urls;
use libfuzzer_sys::fuzz_target;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0C' | b'\r')
}

fuzz_target!(|data: &[u8]| {
    let mut last_end = 0;
    for r in candidate_urls(data) {
        assert!(r.start >= last_end && r.start < r.end && r.end <= data.len(), "{r:?}");
        let url = &data[r.clone()];
        assert!(!url.iter().any(|&b| is_space(b)), "{url:?}");
        assert_ne!(url[0], b',');
        assert_ne!(url[url.len() - 1], b',');
        // What precedes a candidate since the last one ends in whitespace or a comma.
        if r.start > 0 {
            let before = data[r.start - 1];
            assert!(is_space(before) || before == b',' || r.start == last_end, "{before}");
        }
        last_end = r.end;
    }
});
