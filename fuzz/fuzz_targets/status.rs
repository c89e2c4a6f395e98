#![no_main]
//! Spec §4 status codecs (request target, report body, alert body) on any bytes: what
//! parses prints to a text that parses back to the same value; errors point inside.

use broker_config::ParseError;
use broker_config::status::{Alert, StatusQuery, StatusReport};
use libfuzzer_sys::fuzz_target;

fn check<T: std::fmt::Display + PartialEq + std::fmt::Debug>(
    data: &[u8],
    parse: fn(&[u8]) -> Result<T, ParseError>,
) {
    match parse(data) {
        Ok(value) => {
            let printed = value.to_string();
            let again = parse(printed.as_bytes())
                .unwrap_or_else(|e| panic!("printed text does not parse: {e}\n{printed}"));
            assert_eq!(again, value, "round trip changed the value");
        }
        Err(e) => {
            let lines = data.split(|&b| b == b'\n').count();
            assert!(
                e.pos.line >= 1 && e.pos.line as usize <= lines && e.pos.col >= 1,
                "error outside the text: {e}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, StatusQuery::parse);
    check(data, StatusReport::parse);
    check(data, Alert::parse);
});
