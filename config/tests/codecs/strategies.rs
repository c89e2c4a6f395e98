//! Generators of every codec's values, within what the spec allows.

use std::collections::HashSet;
use std::net::IpAddr;

use broker_config::transaction::{
    Action, CnameTarget, CoverageDef, CustomerBinding, Located, Lookup, NameServer, RegionDef,
    Statement, TableKind, Weighted,
};
use broker_config::{
    CdnDef, CdnFile, CustomerDef, CustomerFile, DnsName, Event, Events, Figure, ManagementBatch,
    Name, Pos, RegionCoverage, RegionList, RegionsFile, Scope, Transaction,
};
use ipnet::IpNet;
use proptest::prelude::*;

pub(crate) fn at<T>(value: T) -> Located<T> {
    Located {
        pos: Pos::default(),
        value,
    }
}

/// Any name, reserved ones included (they are valid in transactions).
pub(crate) fn name() -> impl Strategy<Value = Name> {
    "[A-Za-z0-9._-]{1,12}".prop_map(|s| Name::new(&s).unwrap())
}

/// A name a region may take in files: not `DEFAULT` nor `CDNTOTAL`.
pub(crate) fn region_name() -> impl Strategy<Value = Name> {
    name().prop_filter("reserved", |n| {
        !["DEFAULT", "CDNTOTAL"].contains(&n.as_str())
    })
}

pub(crate) fn dns_name() -> impl Strategy<Value = DnsName> {
    prop::collection::vec("[a-z0-9_-]{1,10}", 1..4)
        .prop_map(|labels| DnsName::new(&labels.join(".")).unwrap())
}

pub(crate) fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(IpAddr::V4),
        any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6),
    ]
}

pub(crate) fn prefix() -> impl Strategy<Value = IpNet> {
    (ip(), any::<u8>()).prop_map(|(addr, len)| {
        let max = if addr.is_ipv4() { 33 } else { 129 };
        IpNet::new(addr, len % max).unwrap().trunc()
    })
}

fn name_server() -> impl Strategy<Value = NameServer> {
    (dns_name(), ip()).prop_map(|(name, addr)| NameServer { name, addr })
}

pub(crate) fn lookup() -> impl Strategy<Value = Lookup> {
    prop_oneof![
        ip().prop_map(Lookup::Address),
        prop::collection::vec(name_server(), 1..4).prop_map(Lookup::Referral),
        dns_name().prop_map(|n| Lookup::Alias(CnameTarget::Suffix(n))),
        dns_name().prop_map(|n| Lookup::Alias(CnameTarget::Name(n))),
        name_server().prop_map(Lookup::Triangle),
        name_server().prop_map(Lookup::Relay),
    ]
}

pub(crate) fn action() -> impl Strategy<Value = Action> {
    // Up to 12 choices: past 8 the printer goes one per line.
    prop::collection::vec((any::<u32>(), lookup()), 1..12)
        .prop_filter("weights sum to 0", |c| c.iter().any(|(w, _)| *w > 0))
        .prop_map(|choices| Action {
            choices: choices
                .into_iter()
                .map(|(weight, lookup)| Weighted { weight, lookup })
                .collect(),
        })
}

pub(crate) fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        (name(), prop::collection::vec(prefix(), 0..8))
            .prop_map(|(name, prefixes)| Statement::AddRegion(RegionDef { name, prefixes })),
        (name(), prop::collection::vec((name(), action()), 0..4)).prop_map(|(name, entries)| {
            // A coverage names each region once.
            let mut seen = HashSet::new();
            let entries = entries
                .into_iter()
                .filter(|(r, _)| seen.insert(r.clone()))
                .map(|(r, a)| (at(r), a))
                .collect();
            Statement::AddCoverage(CoverageDef { name, entries })
        }),
        (dns_name(), name()).prop_map(|(domain, coverage)| {
            Statement::AddCustomer(CustomerBinding {
                domain,
                coverage: at(coverage),
            })
        }),
        (name(), name(), action()).prop_map(|(coverage, region, action)| {
            Statement::UpdateCoverage {
                coverage,
                region: at(region),
                action,
            }
        }),
        name().prop_map(|n| Statement::Delete {
            name: n.to_string(),
            kind: TableKind::Region
        }),
        name().prop_map(|n| Statement::Delete {
            name: n.to_string(),
            kind: TableKind::Coverage
        }),
        dns_name().prop_map(|n| Statement::Delete {
            name: n.to_string(),
            kind: TableKind::Customer
        }),
        Just(Statement::Reset),
    ]
}

pub(crate) fn transaction() -> impl Strategy<Value = Transaction> {
    (
        prop::option::of(any::<u64>()),
        prop::collection::vec(statement(), 0..8),
    )
        .prop_map(|(epoch, s)| Transaction {
            epoch: epoch.map(at),
            statements: s.into_iter().map(at).collect(),
        })
}

pub(crate) fn region_list() -> impl Strategy<Value = RegionList> {
    prop::collection::vec((name(), prop::collection::vec(prefix(), 0..8)), 0..5)
        .prop_map(|regions| RegionList { regions })
}

/// Regions with distinct names and no prefix in two places.
pub(crate) fn regions_file() -> impl Strategy<Value = RegionsFile> {
    prop::collection::vec((region_name(), prop::collection::vec(prefix(), 0..8)), 0..5).prop_map(
        |regions| {
            let mut names = HashSet::new();
            let mut prefixes = HashSet::new();
            RegionsFile {
                regions: regions
                    .into_iter()
                    .filter(|(n, _)| names.insert(n.clone()))
                    .map(|(name, p)| {
                        let prefixes = p.into_iter().filter(|p| prefixes.insert(*p)).collect();
                        at(RegionDef { name, prefixes })
                    })
                    .collect(),
            }
        },
    )
}

fn cdn_def() -> impl Strategy<Value = CdnDef> {
    (
        name(),
        any::<u64>(),
        lookup(),
        prop::collection::vec((name(), 0..=100u8), 0..12),
    )
        .prop_map(|(name, capacity_kbps, lookup, coverage)| {
            let mut seen = HashSet::new();
            CdnDef {
                name: at(name),
                capacity_kbps,
                lookup,
                coverage: coverage
                    .into_iter()
                    .filter(|(r, _)| r.as_str() != "CDNTOTAL" && seen.insert(r.clone()))
                    .map(|(region, quality)| RegionCoverage {
                        region: at(region),
                        quality,
                    })
                    .collect(),
            }
        })
}

pub(crate) fn cdn_file() -> impl Strategy<Value = CdnFile> {
    prop::collection::vec(cdn_def(), 0..5).prop_map(|cdns| {
        let mut seen = HashSet::new();
        CdnFile {
            cdns: cdns
                .into_iter()
                .filter(|c| seen.insert(c.name.value.clone()))
                .collect(),
        }
    })
}

fn customer_def() -> impl Strategy<Value = CustomerDef> {
    (name(), prop::collection::vec(name(), 1..5)).prop_map(|(name, cdns)| {
        let mut seen = HashSet::new();
        CustomerDef {
            name: at(name),
            cdns: cdns
                .into_iter()
                .filter(|c| seen.insert(c.clone()))
                .map(at)
                .collect(),
        }
    })
}

pub(crate) fn customer_file() -> impl Strategy<Value = CustomerFile> {
    prop::collection::vec(customer_def(), 0..5).prop_map(|customers| {
        let mut seen = HashSet::new();
        CustomerFile {
            customers: customers
                .into_iter()
                .filter(|c| seen.insert(c.name.value.clone()))
                .collect(),
        }
    })
}

fn figure() -> impl Strategy<Value = Figure> {
    let scope = prop_oneof![
        Just(Scope::Total),
        region_name().prop_map(Scope::Region),
        Just(Scope::Region(Name::new("DEFAULT").unwrap())),
    ];
    (name(), scope, any::<u64>()).prop_map(|(cdn, scope, kbps)| Figure {
        cdn: at(cdn),
        scope: at(scope),
        kbps,
    })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        figure().prop_map(Event::Load),
        figure().prop_map(Event::Capacity),
        customer_def().prop_map(Event::AddCustomer),
        name().prop_map(|n| Event::RemoveCustomer(at(n))),
        Just(Event::Reset),
    ]
}

pub(crate) fn events() -> impl Strategy<Value = Events> {
    prop::collection::vec(event(), 0..8).prop_map(|e| Events {
        events: e.into_iter().map(at).collect(),
    })
}

pub(crate) fn management_batch() -> impl Strategy<Value = ManagementBatch> {
    ("[!-~]{1,40}", events()).prop_map(|(token, events)| ManagementBatch { token, events })
}

/// A transaction that applies to empty tables: regions, then coverages over those
/// regions (and `DEFAULT`), then customers over those coverages.
pub(crate) fn consistent_transaction() -> impl Strategy<Value = Transaction> {
    (
        regions_file(),
        prop::collection::vec(
            (
                name(),
                prop::collection::vec((any::<prop::sample::Index>(), action()), 0..4),
            ),
            1..4,
        ),
        prop::collection::vec((dns_name(), any::<prop::sample::Index>()), 0..4),
    )
        .prop_map(|(regions, coverages, customers)| {
            let mut region_names: Vec<Name> = regions
                .regions
                .iter()
                .map(|r| r.value.name.clone())
                .collect();
            region_names.push(Name::new("DEFAULT").unwrap());
            let mut statements: Vec<Statement> = regions
                .regions
                .into_iter()
                .map(|r| Statement::AddRegion(r.value))
                .collect();
            let mut coverage_names = Vec::new();
            for (name, entries) in coverages {
                let mut seen = HashSet::new();
                let entries = entries
                    .into_iter()
                    .map(|(i, a)| (i.get(&region_names).clone(), a))
                    .filter(|(r, _)| seen.insert(r.clone()))
                    .map(|(r, a)| (at(r), a))
                    .collect();
                coverage_names.push(name.clone());
                statements.push(Statement::AddCoverage(CoverageDef { name, entries }));
            }
            for (domain, i) in customers {
                statements.push(Statement::AddCustomer(CustomerBinding {
                    domain,
                    coverage: at(i.get(&coverage_names).clone()),
                }));
            }
            Transaction {
                epoch: None,
                statements: statements.into_iter().map(at).collect(),
            }
        })
}
