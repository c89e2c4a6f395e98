#![no_main]
//! The DNS engine's answer decision on any bytes: never a panic, and every reply is a
//! well-formed response to the query: same id, QR set, within the UDP size limit, and
//! (when the query was readable) echoing its question byte for byte; in a signed zone too.

use std::sync::OnceLock;

use broker_config::{Tables, Transaction};
use broker_dns::Settings;
use broker_dns::answer::{Send, Transport, answer};
use broker_dns::dnssec::{SigCache, Window, ZoneKeys};
use broker_dns::snapshot::Snapshot;
use broker_dns::wire::{self, Reject};
use libfuzzer_sys::fuzz_target;

const TABLES: &str = "
ADD REG FRANCE { 198.54.234.0, 23; 2001:db8:fe::, 48; }!
ADD CVG c {
  FRANCE, [70 = A:192.0.2.10; 30 = N:(ns1.cdn-g.example 198.51.100.53), (ns2.cdn-g.example 2001:db8::53);];
  DEFAULT, [1 = C:.cdn-g.example; 1 = A:2001:db8::10; 1 = C:target.example; 1 = R:(ns.p.example 127.0.0.1);];
}!
ADD CST a { c; }!
ADD CST img.xyz.com { c; }!
END
";

fn build() -> Snapshot {
    let mut t = Tables::new();
    t.apply(&Transaction::parse(TABLES).unwrap()).unwrap();
    Snapshot::build(1, &Settings::default(), &t).unwrap()
}

/// The tables unsigned, and signed for img.xyz.com (spec §10) with the key the engine's
/// benchmark uses.
fn snapshots() -> &'static [Snapshot; 2] {
    static SNAPS: OnceLock<[Snapshot; 2]> = OnceLock::new();
    SNAPS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../dns/benches/data/keys");
        let keys = ZoneKeys::read(std::path::Path::new(dir)).unwrap();
        let signed = build().signed(
            std::sync::Arc::new(keys),
            Window::starting(1_800_000_000, 7),
            &SigCache::new(),
        );
        [build(), signed]
    })
}

fuzz_target!(|data: &[u8]| {
    let (draw, packet) = match data.split_first() {
        Some((d, rest)) => (u64::from(*d) * 0x0101_0101_0101_0101, rest),
        None => (0, data),
    };
    let client = "198.54.234.9".parse().unwrap();
    for (snap, transport) in snapshots()
        .iter()
        .flat_map(|s| [(s, Transport::Udp), (s, Transport::Tcp)])
    {
        let mut out = Vec::new();
        let o = answer(snap, packet, client, draw, transport, &mut out);
        if o.send != Send::Reply {
            continue;
        }
        assert!(out.len() >= 12);
        assert_eq!(out[..2], packet[..2]);
        assert_eq!(out[2] & 0x80, 0x80, "QR set");
        if transport == Transport::Udp {
            assert!(out.len() <= usize::from(wire::EDNS_UDP_LIMIT));
        }
        if let Ok(q) = wire::parse_query(packet) {
            // The reply, read back as a query (QR cleared), has the same question.
            let mut back = out.clone();
            back[2] &= 0x7f;
            back[6..10].fill(0);
            let n = 12 + q.question.len();
            assert_eq!(&back[12..n], q.question);
            match wire::parse_query(&back[..n.min(back.len())]) {
                Ok(r) => assert_eq!(r.question, q.question),
                Err(Reject::Reply { .. }) | Err(Reject::Drop) => {}
            }
        }
    }
});
