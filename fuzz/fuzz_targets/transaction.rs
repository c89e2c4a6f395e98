#![no_main]
//! `Transaction::parse` (spec §1): the round-trip property, then applying what parses to
//! empty tables must either succeed or fail cleanly, and tables rebuilt from their own
//! transaction are equal.

use broker_config::{Tables, Transaction};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cdnbroker_fuzz::round_trip(data, Transaction::parse);
    if let Ok(tx) = Transaction::parse_bytes(data) {
        let mut tables = Tables::new();
        if tables.apply(&tx).is_ok() {
            let mut again = Tables::new();
            again.apply(&tables.to_transaction()).expect("own transaction applies");
            assert_eq!(again, tables);
        }
    }
    // The stream END detector never points past the data or at anything but END.
    if let Some(end) = broker_config::EndDetector::new().feed(data) {
        assert_eq!(&data[end - 3..end], b"END");
    }
});
