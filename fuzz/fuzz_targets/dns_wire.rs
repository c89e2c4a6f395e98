#![no_main]
//! The DNS wire reader on what the network sends: a query (`parse_query`) and a far
//! server's answer to a relayed query (`relay::adapt`, which walks its records to strip
//! an unsolicited Client Subnet and cuts it to the client's UDP size). Never a panic;
//! the adapted answer keeps the client's id, fits the limit, and a cut one has TC set.
//! Input: one byte choosing the client's EDNS (none / no subnet / subnet), one byte the
//! limit, then the bytes.

use broker_dns::relay::adapt;
use broker_dns::wire::{self, ClientSubnet, Edns};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wire::parse_query(data);
    let [mode, limit, resp @ ..] = data else { return };
    // exchange() hands adapt only answers of at least a header with the query's id.
    if resp.len() < 12 {
        return;
    }
    let subnet = ClientSubnet {
        addr: "198.51.100.0".parse().unwrap(),
        source_len: 24,
    };
    let edns = match mode % 3 {
        0 => None,
        1 => Some(Edns { payload: 1232, version: 0, dnssec_ok: false, subnet: None }),
        _ => Some(Edns { payload: 1232, version: 0, dnssec_ok: false, subnet: Some(subnet) }),
    };
    let limit = 12 + usize::from(*limit) * 8;
    let mut out = resp.to_vec();
    adapt(&mut out, 0xbeef, edns.as_ref(), limit);
    assert_eq!(out[..2], [0xbe, 0xef]);
    if out.len() > limit {
        // Only the question may be kept past the limit: header and question with TC.
        assert_eq!(out[2] & 0x02, 0x02);
    }
});
