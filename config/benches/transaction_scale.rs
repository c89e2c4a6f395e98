//! Scale of the ASCII codecs and the tables (issue 3: a 1,000,000-prefix transaction is
//! read and committed while the engine answers): parsing a 1M-prefix `ADD REG`
//! transaction (~25 MB), applying it to empty tables, then a small transaction and one
//! more region on top of it (copy-on-write: a region copies the region index once, a
//! coverage copies nothing big); and a real regions file, the 1,010,179-prefix geo-whois
//! table of `data/` (CC BY 4.0, NRO data; see its README) in the §6 block form,
//! when that folder is beside the repository.
//!
//! Run: `cargo bench -p broker-config --bench transaction_scale` (figures in
//! `bench/dns/README.md`, beside the engine's 1M-prefix commit they are part of).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use broker_config::{RegionList, RegionsFile, Tables, Transaction};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

#[path = "../tests/support/big_region.rs"]
mod big_region;
use big_region::big_region_transaction;

/// The geo-whois table (`CIDR REGION` lines) as a §6 clustering output, if present.
fn real_regions_file() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/regions-geowhois.txt.gz");
    let file = std::fs::File::open(&path).ok()?;
    let mut lines = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut lines)
        .ok()?;
    // The table repeats a few prefixes (some under two countries): the first one counts,
    // as a regions file may give a prefix only once.
    let mut seen = HashSet::new();
    let mut blocks: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in lines.lines() {
        if let Some((net, region)) = line.split_once(' ')
            && seen.insert(net)
        {
            blocks.entry(region).or_default().push(net);
        }
    }
    let mut text = String::with_capacity(lines.len() + blocks.len() * 16);
    for (region, nets) in blocks {
        writeln!(text, "{region} {{").unwrap();
        for net in nets {
            let (ip, len) = net.split_once('/')?;
            writeln!(text, "  {ip},{len};").unwrap();
        }
        text.push_str("}\n");
    }
    Some(text)
}

fn transaction(c: &mut Criterion) {
    let text = big_region_transaction(1_000_000);
    let mut group = c.benchmark_group("1M-prefix transaction");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("parse", |b| {
        b.iter(|| Transaction::parse(black_box(&text)).unwrap())
    });
    let tx = Transaction::parse(&text).unwrap();
    group.bench_function("apply to empty tables", |b| {
        b.iter(|| Tables::new().apply(black_box(&tx)).unwrap())
    });
    let mut loaded = Tables::new();
    loaded.apply(&tx).unwrap();
    let coverage = Transaction::parse("ADD CVG c { BIG, [1 = A:192.0.2.1;]; }!").unwrap();
    let region = Transaction::parse("ADD REG SMALL { 0.0.0.0, 8; }!").unwrap();
    for (name, tx) in [("then a coverage", &coverage), ("then a region", &region)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || loaded.clone(),
                |mut tables| tables.apply(black_box(tx)).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn real_regions(c: &mut Criterion) {
    let Some(text) = real_regions_file() else {
        eprintln!("data/regions-geowhois.txt.gz is absent: real regions skipped");
        return;
    };
    let mut group = c.benchmark_group("geo-whois regions file (1,010,179 prefixes)");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("RegionsFile::parse (checked)", |b| {
        b.iter(|| RegionsFile::parse(black_box(&text)).unwrap())
    });
    group.bench_function("RegionList::parse (no checks)", |b| {
        b.iter(|| RegionList::parse(black_box(&text)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, transaction, real_regions);
criterion_main!(benches);
