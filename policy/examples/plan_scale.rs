//! How long one `balance` call takes as the world grows, seed vs optimal mode: random
//! coverage and capacities, demand near 84% of total capacity, groups of random CDN
//! sets. Run: `cargo run --release -p broker-policy --example plan_scale`.

use std::time::{Duration, Instant};

use broker_config::transaction::Lookup;
use broker_config::{DnsName, Name};
use broker_policy::balance::{BalanceConfig, Demand, balance};
use broker_policy::model::{CdnSpec, Model};
use broker_policy::plan::Mode;

fn name(s: &str) -> Name {
    Name::new(s).expect("valid name")
}

/// A world of `regions` regions, `cdns` CDNs and `groups` customers (one group each at
/// most), from a fixed xorshift seed, and its demand.
fn world(regions: usize, cdns: usize, groups: usize) -> (Model, Demand) {
    let mut x: u64 = 12345;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut m = Model::new();
    let names: Vec<Name> = (0..regions).map(|i| name(&format!("R{i}"))).collect();
    for r in &names {
        m.add_region(r.clone());
    }
    for c in 0..cdns {
        let coverage = names
            .iter()
            .map(|r| (r.clone(), (rnd() % 101) as u8))
            .collect();
        m.add_cdn(CdnSpec {
            name: name(&format!("c{c}")),
            lookup: Lookup::Address(std::net::Ipv4Addr::new(192, 0, 2, c as u8).into()),
            capacity_kbps: 1_000_000 + rnd() % 4_000_000,
            coverage,
        })
        .expect("valid cdn");
    }
    for g in 0..groups {
        let mut set: Vec<Name> = (0..cdns)
            .filter(|_| rnd() % 2 == 0)
            .map(|c| name(&format!("c{c}")))
            .collect();
        if set.is_empty() {
            set.push(name("c0"));
        }
        let customer = DnsName::new(&format!("cst{g}.example")).expect("valid");
        m.add_customer(customer, set).expect("valid customer");
    }
    let total: f64 = m.cdns().map(|c| c.capacity_kbps() as f64).sum();
    let mut d = Demand::new();
    for r in &names {
        let share = (rnd() % 1000) as f64 / 1000.0;
        d.set_region_kbps(r.clone(), share * 0.84 * total / regions as f64 * 2.0);
    }
    (m, d)
}

fn main() {
    for (regions, cdns, groups) in [(50, 5, 3), (250, 10, 5), (250, 20, 10)] {
        let (m, d) = world(regions, cdns, groups);
        for mode in [Mode::Seed, Mode::Optimal] {
            let cfg = BalanceConfig {
                mode,
                ..BalanceConfig::default()
            };
            let t = Instant::now();
            let mut plan = balance(&m, &d, &cfg, Duration::ZERO, None);
            let first = t.elapsed();
            let t = Instant::now();
            plan = balance(&m, &d, &cfg, Duration::ZERO, Some(&plan));
            println!(
                "{regions:>4} regions x {cdns:>2} cdns x {groups:>2} groups: {mode:<8?} first {:>10.1} ms, next {:>10.1} ms, unplaced {:>9.0} kbit/s",
                first.as_secs_f64() * 1e3,
                t.elapsed().as_secs_f64() * 1e3,
                plan.unplaced_kbps(),
            );
        }
    }
}
