//! Scale without timing: a 100,000-prefix `ADD REG` transaction parses and applies with
//! every prefix kept, and later transactions on top of it work. How fast this is at
//! 1,000,000 prefixes is measured by `cargo bench -p broker-config --bench
//! transaction_scale`, not here.

#[path = "support/big_region.rs"]
mod big_region;

use big_region::big_region_transaction;
use broker_config::transaction::Statement;
use broker_config::{Tables, Transaction};

/// Debug builds parse this many in well under a second.
const PREFIXES: u32 = 100_000;

fn big_transaction() -> String {
    big_region_transaction(PREFIXES)
}

#[test]
fn a_big_region_parses_with_every_prefix() {
    let tx = Transaction::parse(&big_transaction()).unwrap();
    let Statement::AddRegion(def) = &tx.statements[0].value else {
        panic!("not a region");
    };
    assert_eq!(def.prefixes.len(), PREFIXES as usize);
    let last = def.prefixes.last().unwrap().to_string();
    let [a, b, c, _] = ((1u32 << 24) + ((PREFIXES - 1) << 8)).to_be_bytes();
    assert_eq!(last, format!("{a}.{b}.{c}.0/24"));
}

#[test]
fn transactions_on_top_of_a_big_region_apply() {
    let mut tables = Tables::new();
    tables
        .apply(&Transaction::parse(&big_transaction()).unwrap())
        .unwrap();
    let coverage = Transaction::parse("ADD CVG c { BIG, [1 = A:192.0.2.1;]; }!").unwrap();
    tables.apply(&coverage).unwrap();
    let region = Transaction::parse("ADD REG SMALL { 0.0.0.0, 8; }!").unwrap();
    tables.apply(&region).unwrap();
    let sizes: Vec<usize> = tables.regions().values().map(|r| r.len()).collect();
    assert_eq!(sizes.len(), 2);
    assert!(
        sizes.contains(&(PREFIXES as usize)) && sizes.contains(&1),
        "{sizes:?}"
    );
    // A prefix of the big region cannot be added again elsewhere.
    let clash = Transaction::parse("ADD REG OTHER { 1.0.0.0, 24; }!").unwrap();
    assert!(tables.apply(&clash).is_err());
    assert_eq!(
        tables.regions().len(),
        2,
        "a failed transaction changes nothing"
    );
}
