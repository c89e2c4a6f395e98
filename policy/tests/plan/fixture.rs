//! Small models built by name, and checks shared by several tests.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use broker_config::transaction::Lookup;
use broker_config::{DnsName, Name};
use broker_policy::balance::{BalanceConfig, Demand, balance};
use broker_policy::model::{CdnSpec, Model, Scope};
use broker_policy::plan::{Mode, Plan};

pub(crate) fn n(s: &str) -> Name {
    Name::new(s).unwrap()
}

pub(crate) fn d(s: &str) -> DnsName {
    DnsName::new(s).unwrap()
}

pub(crate) const NOW: Duration = Duration::from_secs(1000);

/// A CDN answered by `A:192.0.2.<last>`.
pub(crate) fn spec(name: &str, last: u8, cap: u64, cov: &[(&str, u8)]) -> CdnSpec {
    CdnSpec {
        name: n(name),
        lookup: Lookup::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))),
        capacity_kbps: cap,
        coverage: cov.iter().map(|(r, v)| (n(r), *v)).collect(),
    }
}

pub(crate) fn demand(per_region: &[(&str, f64)]) -> Demand {
    let mut dm = Demand::new();
    for (r, v) in per_region {
        dm.set_region_kbps(n(r), *v);
    }
    dm
}

pub(crate) fn cfg(mode: Mode) -> BalanceConfig {
    BalanceConfig {
        mode,
        ..BalanceConfig::default()
    }
}

/// Two regions, home CDN C (big, good in FR) and partner G (small, good in DE).
pub(crate) fn two_cdns() -> Model {
    let mut m = Model::new();
    m.add_region(n("FR"));
    m.add_region(n("DE"));
    m.add_cdn(spec(
        "C",
        10,
        1000,
        &[("FR", 90), ("DE", 30), ("DEFAULT", 50)],
    ))
    .unwrap();
    m.add_cdn(spec("G", 20, 500, &[("FR", 40), ("DE", 95)]))
        .unwrap();
    m.add_customer(d("img.xyz.com"), [n("C"), n("G")]).unwrap();
    m
}

/// Reports a fresh total load for every CDN (so none is stale).
pub(crate) fn fresh(m: &mut Model, loads: &[(&str, u64)]) {
    for (c, l) in loads {
        m.set_load(&n(c), &Scope::Total, *l, NOW).unwrap();
    }
}

pub(crate) fn weight(plan: &Plan, customer: &str, region: &str, cdn: &str) -> f64 {
    plan.weights(&d(customer), region)
        .unwrap()
        .iter()
        .find(|s| s.cdn.as_str() == cdn)
        .map_or(0.0, |s| s.weight)
}

pub(crate) fn plan(m: &Model, dm: &Demand, mode: Mode) -> Plan {
    balance(m, dm, &cfg(mode), NOW, None)
}
