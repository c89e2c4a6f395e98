//! Scale: a 1,000,000-prefix `ADD REG` transaction (~25 MB) parses in well under a second
//! in release builds (CPU time of the parsing thread). Run with
//! `cargo test -p broker-config --release --test transaction_scale -- --ignored --nocapture`.

use std::fmt::Write;
use std::time::{Duration, Instant};

use broker_config::Transaction;
use broker_config::transaction::Statement;

/// CPU time of this thread (Linux schedstat), so that figures hold on a loaded machine;
/// wall time where that is not available.
struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

impl Stopwatch {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: thread_cpu(),
        }
    }

    /// CPU time since start (wall time without schedstat).
    fn elapsed(&self) -> Duration {
        match (self.cpu, thread_cpu()) {
            (Some(start), Some(now)) => now - start,
            _ => self.wall.elapsed(),
        }
    }
}

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
    let start = Stopwatch::start();
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
    let start = Stopwatch::start();
    let mut tables = broker_config::Tables::new();
    tables.apply(&tx).unwrap();
    let first = start.elapsed();
    // A later transaction that leaves regions alone must not pay for them.
    let small = Transaction::parse("ADD CVG c { BIG, [1 = A:192.0.2.1;]; }!").unwrap();
    let start = Stopwatch::start();
    tables.apply(&small).unwrap();
    let second = start.elapsed();
    // One more region copies the region index once (copy-on-write behind an Arc).
    let region = Transaction::parse("ADD REG SMALL { 0.0.0.0, 8; }!").unwrap();
    let start = Stopwatch::start();
    tables.apply(&region).unwrap();
    let third = start.elapsed();
    println!(
        "apply 1,000,000 prefixes: {first:?}; then a coverage: {second:?}; then a region: {third:?}"
    );
    assert_eq!(tables.regions().values().next().unwrap().len(), 1_000_000);
    assert!(first.as_secs_f64() < 1.0, "took {first:?}");
    assert!(second.as_secs_f64() < 0.01, "took {second:?}");
}

/// Real data: a §6 clustering output made from the 1,010,179-prefix geo-whois table
/// (data/README.md: npm `@ip-location-db/geo-whois-asn-country`, CC BY 4.0, NRO data),
/// e.g. `zcat regions-geowhois.txt.gz | sort -k2,2 -s | awk ...` into `REGION { ip,len; }`
/// blocks. Run with `REGIONS_BLOCKS=<that file>`.
#[test]
#[ignore = "timing and external data: set REGIONS_BLOCKS, build in release"]
fn a_real_million_prefix_regions_file_parses_and_checks_in_under_a_second() {
    let path = std::env::var("REGIONS_BLOCKS").expect("set REGIONS_BLOCKS to a §6 file");
    let text = std::fs::read_to_string(path).unwrap();
    let start = Stopwatch::start();
    let file = broker_config::RegionsFile::parse(&text).unwrap();
    let elapsed = start.elapsed();
    let prefixes: usize = file.regions.iter().map(|r| r.value.prefixes.len()).sum();
    println!(
        "regions.txt: {} bytes, {} regions, {prefixes} prefixes in {elapsed:?}",
        text.len(),
        file.regions.len()
    );
    let start = Stopwatch::start();
    let list = broker_config::RegionList::parse(&text).unwrap();
    println!(
        "the same as a bare RegionList (no checks): {:?}",
        start.elapsed()
    );
    assert_eq!(list.regions.len(), file.regions.len());
    assert!(elapsed.as_secs_f64() < 1.0, "took {elapsed:?}");
}
