//! Shared checks of the fuzz targets.

use std::fmt::Display;

use broker_config::ParseError;

/// The round-trip property of a text codec: bytes that parse print to a text that
/// parses, and printing that again gives the same text. Bytes that do not parse must
/// give an error positioned inside them. Panics (a fuzz finding) otherwise.
pub fn round_trip<T: Display>(data: &[u8], parse: fn(&str) -> Result<T, ParseError>) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(value) => {
            let printed = value.to_string();
            let again = parse(&printed)
                .unwrap_or_else(|e| panic!("printed text does not parse: {e}\n{printed}"));
            assert_eq!(again.to_string(), printed, "printing is not a fixed point");
        }
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(
                e.pos.line >= 1 && e.pos.line as usize <= lines && e.pos.col >= 1,
                "error outside the text: {e}"
            );
        }
    }
}
