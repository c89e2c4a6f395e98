//! The answering hot path: region LPM, weighted pick and a whole answer written, on a
//! snapshot of 200,000 prefixes, unsigned and signed (spec §10). Inputs are generated (deterministic) rather than read
//! from files: what matters is the table's size and shape, not real data.

use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use broker_config::{Tables, Transaction};
use broker_dns::Settings;
use broker_dns::answer::{Transport, answer};
use broker_dns::dnssec::{SigCache, Window, ZoneKeys};
use broker_dns::snapshot::Snapshot;
use broker_policy::weighted::WeightedTable;
use criterion::{Criterion, criterion_group, criterion_main};

fn snapshot() -> Snapshot {
    let mut text = String::from("ADD REG BIG {\n");
    for i in 0u32..100_000 {
        text.push_str(&format!(
            "{}.{}.{}.0, 24;\n2001:{:x}:{:x}::, 48;\n",
            10 + (i >> 16),
            (i >> 8) & 255,
            i & 255,
            i >> 16,
            i & 0xffff
        ));
    }
    text.push_str(
        "}!\nADD CVG c { BIG, [70 = A:192.0.2.70; 30 = A:192.0.2.30;]; DEFAULT, [1 = C:.cdn.example;]; }!\n\
         ADD CST img.xyz.com { c; }!\nEND\n",
    );
    let mut tables = Tables::new();
    tables.apply(&Transaction::parse(&text).unwrap()).unwrap();
    Snapshot::build(1, &Settings::default(), &tables).unwrap()
}

/// `img.xyz.com A` with an ECS option for 10.1.2.0/24, DO set when `dnssec_ok`.
fn query(dnssec_ok: bool) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    q.extend_from_slice(b"\x03img\x03xyz\x03com\x00\x00\x01\x00\x01");
    let do_bit = if dnssec_ok { 0x80 } else { 0 };
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, do_bit, 0, 0, 11]);
    q.extend_from_slice(&[0, 8, 0, 7, 0, 1, 24, 0, 10, 1, 2]);
    q
}

fn benches(c: &mut Criterion) {
    let snap = snapshot();
    let v4: IpAddr = "10.1.2.3".parse().unwrap();
    let v6: IpAddr = "2001:1:5::1".parse().unwrap();
    c.bench_function("lpm v4 (200k prefixes)", |b| {
        b.iter(|| snap.region_of(black_box(v4)))
    });
    c.bench_function("lpm v6 (200k prefixes)", |b| {
        b.iter(|| snap.region_of(black_box(v6)))
    });
    let table = WeightedTable::new([70, 30, 0, 5, 12]).unwrap();
    let mut draw = 0u32;
    c.bench_function("weighted pick (5 choices)", |b| {
        b.iter(|| {
            draw = draw.wrapping_add(0x9E37_79B9);
            table.pick(black_box(draw))
        })
    });
    let q = query(false);
    let mut out = Vec::with_capacity(1232);
    let client: IpAddr = "127.0.0.1".parse().unwrap();
    c.bench_function("answer A with ECS (decode, decide, encode)", |b| {
        b.iter(|| {
            answer(
                &snap,
                black_box(&q),
                client,
                black_box(7),
                Transport::Udp,
                &mut out,
            )
        })
    });
    // Spec §10: the same answer signed (the key of benches/data/keys), DO set: the RRSIG
    // is copied from the snapshot, nothing is signed per query.
    let keys =
        ZoneKeys::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/keys")).unwrap();
    let signed = snap.signed(
        Arc::new(keys),
        Window::starting(1_800_000_000, 7),
        &SigCache::new(),
    );
    let q = query(true);
    c.bench_function("answer A with ECS and DO, signed zone", |b| {
        b.iter(|| {
            answer(
                &signed,
                black_box(&q),
                client,
                black_box(7),
                Transport::Udp,
                &mut out,
            )
        })
    });
}

criterion_group!(answer_path, benches);
criterion_main!(answer_path);
