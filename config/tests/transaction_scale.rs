//! Scale: a 1,000,000-prefix `ADD REG` transaction (~25 MB) parses in well under a second
//! in release builds. Timing: run with
//! `cargo test -p broker-config --release --test transaction_scale -- --ignored --nocapture`.

use std::fmt::Write;
use std::time::Instant;

use broker_config::Transaction;
use broker_config::transaction::Statement;

fn million_prefix_transaction() -> String {
    let mut text = String::with_capacity(26 << 20);
    text.push_str("ADD REG BIG {\n");
    for i in 0..1_000_000u32 {
        let net = (1u32 << 24) + (i << 8);
        let [a, b, c, _] = net.to_be_bytes();
        writeln!(text, "  {a}.{b}.{c}.0, 24;").unwrap();
    }
    text.push_str("}!\nEND\n");
    text
}

#[test]
#[ignore = "timing: meaningful only in release builds"]
fn a_million_prefix_region_parses_in_under_a_second() {
    let text = million_prefix_transaction();
    let start = Instant::now();
    let tx = Transaction::parse(&text).unwrap();
    let elapsed = start.elapsed();
    let Statement::AddRegion(def) = &tx.statements[0].value else {
        panic!("not a region");
    };
    assert_eq!(def.prefixes.len(), 1_000_000);
    println!(
        "parsed {} bytes, 1,000,000 prefixes in {:?} ({:.0} MB/s)",
        text.len(),
        elapsed,
        text.len() as f64 / elapsed.as_secs_f64() / 1e6
    );
    assert!(elapsed.as_secs_f64() < 1.0, "took {elapsed:?}");
}

#[test]
#[ignore = "timing: meaningful only in release builds"]
fn a_million_prefix_region_applies_to_tables_in_under_a_second() {
    let tx = Transaction::parse(&million_prefix_transaction()).unwrap();
    let start = Instant::now();
    let mut tables = broker_config::Tables::new();
    tables.apply(&tx).unwrap();
    let first = start.elapsed();
    // A later transaction that leaves regions alone must not pay for them.
    let small = Transaction::parse("ADD CVG c { BIG, [1 = A:192.0.2.1;]; }!").unwrap();
    let start = Instant::now();
    tables.apply(&small).unwrap();
    let second = start.elapsed();
    println!("apply 1,000,000 prefixes: {first:?}; then a coverage: {second:?}");
    assert_eq!(tables.regions().values().next().unwrap().len(), 1_000_000);
    assert!(first.as_secs_f64() < 1.0, "took {first:?}");
    assert!(second.as_secs_f64() < 0.01, "took {second:?}");
}
