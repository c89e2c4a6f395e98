#![no_main]
//! `Events::parse`: the round-trip property on any bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cdnbroker_fuzz::round_trip(data, broker_config::Events::parse);
});
