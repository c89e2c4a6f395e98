#![no_main]
//! `ManagementBatch::parse_bytes` (spec §3): the round-trip property on any bytes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cdnbroker_fuzz::round_trip(data, broker_config::ManagementBatch::parse);
    let _ = broker_config::ManagementBatch::parse_bytes(data);
});
