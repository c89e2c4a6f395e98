//! DNS tables from plans: they apply to an engine's tables, print and parse back, and
//! the update from one plan to the next gives the same tables as a full rebuild.

use std::net::{IpAddr, Ipv4Addr};

use broker_config::Tables;
use broker_config::Transaction;
use broker_config::transaction::{RegionDef, Statement};
use broker_policy::dns_tables::{full_transaction, update_transaction};
use broker_policy::model::{Model, Scope};
use broker_policy::plan::Mode;
use ipnet::{IpNet, Ipv4Net};

use crate::fixture::*;

fn regions() -> Vec<RegionDef> {
    let net = |a, len| IpNet::V4(Ipv4Net::new(Ipv4Addr::new(a, 0, 0, 0), len).unwrap());
    vec![
        RegionDef {
            name: n("DE"),
            prefixes: vec![net(196, 8)],
        },
        RegionDef {
            name: n("FR"),
            prefixes: vec![net(198, 8)],
        },
    ]
}

fn applied(txs: &[&Transaction]) -> Tables {
    let mut t = Tables::new();
    for tx in txs {
        t.apply(tx).unwrap();
    }
    t
}

#[test]
fn full_transaction_binds_customers_to_weighted_coverage() {
    let mut m = two_cdns();
    fresh(&mut m, &[("C", 0), ("G", 0)]);
    let p = plan(&m, &demand(&[("DE", 1000.0)]), Mode::Seed);
    let tx = full_transaction(&p, &regions());
    let t = applied(&[&tx]);
    assert_eq!(t.customers()[&d("img.xyz.com")], n("C_G"));
    let de = &t.coverages()[&n("C_G")]
        .iter()
        .find(|(r, _)| r.as_str() == "DE")
        .unwrap()
        .1;
    let weights: Vec<(u32, IpAddr)> = de
        .choices
        .iter()
        .map(|w| match w.lookup {
            broker_config::transaction::Lookup::Address(a) => (w.weight, a),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        weights,
        vec![
            (550, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
            (450, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)))
        ]
    );
}

#[test]
fn printed_full_transaction_parses_to_the_same_tables() {
    let m = two_cdns();
    let p = plan(&m, &demand(&[("FR", 300.0), ("DE", 700.0)]), Mode::Optimal);
    let tx = full_transaction(&p, &regions());
    let again = Transaction::parse(&tx.to_string()).unwrap();
    assert_eq!(applied(&[&again]), applied(&[&tx]));
}

#[test]
fn weights_only_change_gives_update_statements_only() {
    let mut m = two_cdns();
    fresh(&mut m, &[("C", 0), ("G", 0)]);
    let old = plan(&m, &demand(&[("DE", 1000.0)]), Mode::Seed);
    let new = plan(&m, &demand(&[("DE", 700.0)]), Mode::Seed);
    let up = update_transaction(&old, &new);
    assert_eq!(up.statements.len(), 1, "{up}");
    assert!(matches!(
        up.statements[0].value,
        Statement::UpdateCoverage { .. }
    ));
    let full_old = full_transaction(&old, &regions());
    let full_new = full_transaction(&new, &regions());
    assert_eq!(applied(&[&full_old, &up]), applied(&[&full_new]));
    assert!(update_transaction(&new, &new).statements.is_empty());
}

/// Old and new worlds differ by one change each; the update must reach the same tables
/// as a rebuild.
#[test]
fn update_reaches_the_same_tables_as_a_rebuild() {
    type Change = fn(&mut Model);
    let changes: [(&str, Change); 5] = [
        ("unavailable", |m| m.mark_unavailable(&n("G"), NOW).unwrap()),
        ("all unavailable", |m| {
            m.mark_unavailable(&n("G"), NOW).unwrap();
            m.mark_unavailable(&n("C"), NOW).unwrap();
        }),
        ("new customer and set", |m| {
            m.add_customer(d("only-g.example"), [n("G")]).unwrap()
        }),
        ("customer moves", |m| {
            m.update_customer(&d("img.xyz.com"), [n("C")]).unwrap()
        }),
        ("overload", |m| {
            m.set_load(&n("C"), &Scope::Total, 5000, NOW).unwrap()
        }),
    ];
    for (what, change) in changes {
        let mut m = two_cdns();
        m.add_customer(d("b.example"), [n("C"), n("G")]).unwrap();
        let dm = demand(&[("FR", 300.0), ("DE", 700.0)]);
        let old = plan(&m, &dm, Mode::Seed);
        change(&mut m);
        let new = plan(&m, &dm, Mode::Seed);
        let (full_old, full_new) = (
            full_transaction(&old, &regions()),
            full_transaction(&new, &regions()),
        );
        let up = update_transaction(&old, &new);
        assert_eq!(
            applied(&[&full_old, &up]),
            applied(&[&full_new]),
            "{what}: {up}"
        );
    }
}

/// Regions R0..R2 of the random worlds, one prefix each.
fn random_world_regions() -> Vec<RegionDef> {
    (0..3u8)
        .map(|i| RegionDef {
            name: n(&format!("R{i}")),
            prefixes: vec![IpNet::V4(
                Ipv4Net::new(Ipv4Addr::new(10, i, 0, 0), 16).unwrap(),
            )],
        })
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// From any plan to any other (different CDNs, customers, groups, empty cells), the
    /// update reaches the tables a rebuild gives, and the tables print and parse back.
    #[test]
    fn any_update_reaches_the_rebuilt_tables(
        a in crate::invariants::world(crate::invariants::TIGHT),
        b in crate::invariants::world(crate::invariants::TIGHT),
        mode in crate::invariants::mode(),
    ) {
        let (ma, da) = crate::invariants::build(&a);
        let (mb, db) = crate::invariants::build(&b);
        let (old, new) = (plan(&ma, &da, mode), plan(&mb, &db, mode));
        let regions = random_world_regions();
        let (full_old, full_new) = (full_transaction(&old, &regions), full_transaction(&new, &regions));
        let up = update_transaction(&old, &new);
        let mut t = Tables::new();
        t.apply(&full_old).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}: {full_old}")))?;
        t.apply(&up).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}: {up}")))?;
        proptest::prop_assert_eq!(&t, &applied(&[&full_new]));
        let reparsed = Transaction::parse(&full_new.to_string()).unwrap();
        proptest::prop_assert_eq!(applied(&[&reparsed]), t);
    }
}
