//! Property tests of the plan's invariants over random worlds, both modes.

use std::collections::BTreeSet;

use broker_config::Name;
use broker_policy::balance::{Demand, balance};
use broker_policy::model::{Model, Scope};
use broker_policy::plan::{Mode, Plan};
use proptest::prelude::*;

use crate::fixture::*;

/// Regions of the random worlds (`DEFAULT` is always there too).
const REGIONS: [&str; 3] = ["R0", "R1", "R2"];

#[derive(Clone, Debug)]
struct CdnGen {
    cap: u64,
    cov: Vec<u8>,
    unavailable: bool,
    load: u64,
    region_cap: Vec<Option<u64>>,
}

#[derive(Clone, Debug)]
pub(crate) struct World {
    cdns: Vec<CdnGen>,
    /// Bit masks over the CDNs; 0 is read as "all".
    customers: Vec<u8>,
    demand: Vec<f64>,
}

/// Ranges of a world: tight ones overload often, roomy ones rarely.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ranges {
    region_caps: bool,
    max_customers: usize,
    cap: (u64, u64),
    load: u64,
    demand: u32,
}

pub(crate) const TIGHT: Ranges = Ranges {
    region_caps: true,
    max_customers: 3,
    cap: (0, 2000),
    load: 2500,
    demand: 1500,
};
const ROOMY: Ranges = Ranges {
    region_caps: false,
    max_customers: 3,
    cap: (500, 2000),
    load: 600,
    demand: 300,
};

fn cdn_gen(x: Ranges) -> impl Strategy<Value = CdnGen> {
    let region_caps = x.region_caps;
    let rc = if region_caps {
        proptest::collection::vec(proptest::option::weighted(0.3, 0u64..1000), 4).boxed()
    } else {
        Just(vec![None; 4]).boxed()
    };
    (
        x.cap.0..x.cap.1,
        proptest::collection::vec(0u8..=100, 4),
        proptest::bool::weighted(0.2),
        0u64..x.load,
        rc,
    )
        .prop_map(|(cap, cov, unavailable, load, region_cap)| CdnGen {
            cap,
            cov,
            unavailable,
            load,
            region_cap,
        })
}

pub(crate) fn world(x: Ranges) -> impl Strategy<Value = World> {
    (
        proptest::collection::vec(cdn_gen(x), 1..=4),
        proptest::collection::vec(any::<u8>(), 1..=x.max_customers),
        proptest::collection::vec(0u32..x.demand, 4),
    )
        .prop_map(|(cdns, customers, demand)| World {
            cdns,
            customers,
            demand: demand.into_iter().map(f64::from).collect(),
        })
}

fn region_names() -> Vec<Name> {
    REGIONS.iter().map(|r| n(r)).chain([n("DEFAULT")]).collect()
}

pub(crate) fn build(w: &World) -> (Model, Demand) {
    let mut m = Model::new();
    for r in REGIONS {
        m.add_region(n(r));
    }
    let regions = region_names();
    for (i, c) in w.cdns.iter().enumerate() {
        let name = format!("c{i}");
        let cov: Vec<(&str, u8)> = regions
            .iter()
            .map(|r| r.as_str())
            .zip(c.cov.iter().copied())
            .collect();
        m.add_cdn(spec(&name, i as u8 + 1, c.cap, &cov)).unwrap();
        m.set_load(&n(&name), &Scope::Total, c.load, NOW).unwrap();
        for (r, rc) in regions.iter().zip(&c.region_cap) {
            if let Some(rc) = rc {
                m.set_capacity(&n(&name), &Scope::Region(r.clone()), *rc, NOW)
                    .unwrap();
                m.set_load(&n(&name), &Scope::Region(r.clone()), rc / 2, NOW)
                    .unwrap();
            }
        }
        if c.unavailable {
            m.mark_unavailable(&n(&name), NOW).unwrap();
        }
    }
    for (k, mask) in w.customers.iter().enumerate() {
        let all = (1u16 << w.cdns.len()) - 1;
        let bits = match u16::from(*mask) & all {
            0 => all,
            b => b,
        };
        let cdns = (0..w.cdns.len())
            .filter(|i| bits & (1 << i) != 0)
            .map(|i| n(&format!("c{i}")));
        m.add_customer(d(&format!("cst{k}.example")), cdns).unwrap();
    }
    let mut dm = Demand::new();
    for (r, v) in regions.iter().zip(&w.demand) {
        dm.set_region_kbps(r.clone(), *v);
    }
    (m, dm)
}

pub(crate) fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Seed), Just(Mode::Optimal)]
}

/// Every cell sums to 1 with positive weights of allowed, available CDNs, or is empty
/// exactly when no allowed CDN is available.
fn check_cells(p: &Plan, m: &Model) -> Result<(), TestCaseError> {
    for (g, group) in p.groups().iter().enumerate() {
        let any_available = group.cdns.iter().any(|c| !p.is_unavailable(c));
        for region in p.regions() {
            let cell = p.cell(g, region.as_str()).unwrap();
            prop_assert_eq!(cell.is_empty(), !any_available, "{} {:?}", region, cell);
            if cell.is_empty() {
                continue;
            }
            let sum: f64 = cell.iter().map(|s| s.weight).sum();
            prop_assert!((sum - 1.0).abs() < 1e-9, "sum {}", sum);
            for s in cell {
                prop_assert!(s.weight > 0.0);
                prop_assert!(group.cdns.contains(&s.cdn));
                prop_assert!(!p.is_unavailable(&s.cdn));
                prop_assert_eq!(
                    m.cdn(s.cdn.as_str()).unwrap().status(),
                    broker_policy::model::Status::Available
                );
            }
        }
    }
    Ok(())
}

/// When all demand was placed, no CDN is planned past the capacity the plan may use.
fn check_capacity(p: &Plan) -> Result<(), TestCaseError> {
    if p.unplaced_kbps() > 1e-6 {
        return Ok(());
    }
    let tol = |cap: f64| 1e-6 * cap.max(1.0) + 1e-6;
    for (cdn, load) in p.planned_kbps() {
        let cap = p.capacity_kbps(&cdn);
        prop_assert!(load <= cap + tol(cap), "{} planned {} > {}", cdn, load, cap);
        for region in p.regions() {
            if let Some(rc) = p.region_capacity_kbps(&cdn, region) {
                let l = p.planned_region_kbps(&cdn, region.as_str());
                prop_assert!(
                    l <= rc + tol(rc),
                    "{} in {} planned {} > {}",
                    cdn,
                    region,
                    l,
                    rc
                );
            }
        }
    }
    Ok(())
}

/// Coverage-weighted traffic: Σ planned kbit/s × coverage.
fn proximity(p: &Plan, m: &Model) -> f64 {
    p.regions()
        .iter()
        .map(|r| {
            m.cdns()
                .map(|c| {
                    p.planned_region_kbps(c.name(), r.as_str()) * f64::from(c.coverage(r.as_str()))
                })
                .sum::<f64>()
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cells_sum_to_one_and_skip_unavailable(w in world(TIGHT), mode in mode()) {
        let (m, dm) = build(&w);
        let p = plan(&m, &dm, mode);
        check_cells(&p, &m)?;
    }

    #[test]
    fn placed_plans_respect_capacity(w in world(TIGHT), mode in mode()) {
        let (m, dm) = build(&w);
        let p = plan(&m, &dm, mode);
        check_capacity(&p)?;
    }

    #[test]
    fn enough_capacity_in_total_places_all_demand(w in world(Ranges { max_customers: 1, demand: 800, ..ROOMY }), mode in mode()) {
        let (mut m, dm) = build(&w);
        // One group allowing every CDN.
        let all: Vec<Name> = m.cdns().map(|c| c.name().clone()).collect();
        m.update_customer(&d("cst0.example"), all).unwrap();
        let p = plan(&m, &dm, mode);
        let usable: f64 = m
            .cdns()
            .filter(|c| !p.is_unavailable(c.name()) && c.load_kbps() < c.capacity_kbps())
            .map(|c| p.capacity_kbps(c.name()))
            .sum();
        prop_assume!(usable >= dm.total_kbps());
        prop_assert!(p.unplaced_kbps() <= 1e-6 * dm.total_kbps().max(1.0), "unplaced {}", p.unplaced_kbps());
        check_capacity(&p)?;
    }

    #[test]
    fn optimal_places_at_least_as_much_and_at_least_as_close(w in world(TIGHT)) {
        let (m, dm) = build(&w);
        let seed = plan(&m, &dm, Mode::Seed);
        let opt = plan(&m, &dm, Mode::Optimal);
        prop_assert!(opt.fallback().is_none(), "{:?}", opt.fallback());
        let tol = 1e-6 * dm.total_kbps().max(1.0);
        prop_assert!(opt.unplaced_kbps() <= seed.unplaced_kbps() + tol,
            "optimal {} seed {}", opt.unplaced_kbps(), seed.unplaced_kbps());
        if seed.unplaced_kbps() <= tol && opt.unplaced_kbps() <= tol {
            prop_assert!(proximity(&opt, &m) >= proximity(&seed, &m) - 100.0 * tol,
                "optimal {} seed {}", proximity(&opt, &m), proximity(&seed, &m));
        }
    }

    #[test]
    fn small_perturbation_with_slack_keeps_the_plan(
        w in world(ROOMY),
        mode in mode(),
        demand_moves in proptest::collection::vec(-0.01f64..0.01, 4),
        cap_moves in proptest::collection::vec(-0.02f64..0.02, 4),
    ) {
        let (mut m, dm) = build(&w);
        let c = cfg(mode);
        let p0 = balance(&m, &dm, &c, NOW, None);
        // Slack: everything placed, every CDN at most 80% of what the plan may use.
        prop_assume!(p0.unplaced_kbps() == 0.0);
        prop_assume!(p0.planned_kbps().iter().all(|(cdn, l)| *l <= 0.8 * p0.capacity_kbps(cdn)));
        let mut dm1 = Demand::new();
        for ((r, v), e) in dm.regions().zip(&demand_moves) {
            dm1.set_region_kbps(r.clone(), v * (1.0 + e));
        }
        let names: Vec<Name> = m.cdns().map(|c| c.name().clone()).collect();
        let unavailable: BTreeSet<Name> = names.iter().filter(|c| p0.is_unavailable(c)).cloned().collect();
        for (cdn, e) in names.iter().zip(&cap_moves) {
            let cap = m.cdn(cdn.as_str()).unwrap().capacity_kbps();
            let moved = (cap as f64 * (1.0 + e)).round() as u64;
            m.set_capacity(cdn, &Scope::Total, moved, NOW).unwrap();
            if unavailable.contains(cdn) {
                m.mark_unavailable(cdn, NOW).unwrap();
            }
        }
        // The capacity move must not change who is overloaded.
        let over = |m: &Model| m.cdns().filter(|c| c.load_kbps() >= c.capacity_kbps()).count();
        let (_, m_before) = { let (mm, _) = build(&w); (0, mm) };
        prop_assume!(over(&m) == over(&m_before));
        let p1 = balance(&m, &dm1, &c, NOW, Some(&p0));
        prop_assert!(p1.same_tables(&p0));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Hysteresis never keeps weight on a CDN that went unavailable, nor breaks the cell
    /// invariants, whatever the previous plan was.
    #[test]
    fn unavailable_shows_at_once_through_hysteresis(w in world(TIGHT), mode in mode(), victim in 0usize..4) {
        let (mut m, dm) = build(&w);
        let c = cfg(mode);
        let p0 = balance(&m, &dm, &c, NOW, None);
        let names: Vec<Name> = m.cdns().map(|c| c.name().clone()).collect();
        let gone = names[victim % names.len()].clone();
        m.mark_unavailable(&gone, NOW).unwrap();
        let p1 = balance(&m, &dm, &c, NOW, Some(&p0));
        check_cells(&p1, &m)?;
        for g in 0..p1.groups().len() {
            for r in p1.regions() {
                prop_assert!(p1.cell(g, r.as_str()).unwrap().iter().all(|s| s.cdn != gone));
            }
        }
    }
}
