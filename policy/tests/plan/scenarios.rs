//! The seed's steps and the optimal mode on small worlds with known answers.

use std::time::Duration;

use broker_policy::balance::{BalanceConfig, balance};
use broker_policy::model::Scope;
use broker_policy::plan::Mode;

use crate::fixture::*;

const EPS: f64 = 1e-9;

#[test]
fn seed_sends_each_region_to_its_good_coverage_cdn() {
    let mut m = two_cdns();
    fresh(&mut m, &[("C", 0), ("G", 0)]);
    let p = plan(&m, &demand(&[("FR", 300.0), ("DE", 200.0)]), Mode::Seed);
    assert_eq!(weight(&p, "img.xyz.com", "FR", "C"), 1.0);
    assert_eq!(weight(&p, "img.xyz.com", "DE", "G"), 1.0);
    assert_eq!(p.unplaced_kbps(), 0.0);
}

#[test]
fn flash_crowd_spills_to_other_cdns_instead_of_overloading() {
    let mut m = two_cdns();
    fresh(&mut m, &[("C", 0), ("G", 0)]);
    // G may carry 0.9 × 500 = 450 of DE's 1000; C takes the rest.
    let p = plan(&m, &demand(&[("DE", 1000.0)]), Mode::Seed);
    assert!((weight(&p, "img.xyz.com", "DE", "G") - 0.45).abs() < EPS);
    assert!((weight(&p, "img.xyz.com", "DE", "C") - 0.55).abs() < EPS);
    let planned = p.planned_kbps();
    assert!((planned[&n("G")] - 450.0).abs() < 1e-6);
}

#[test]
fn unavailable_cdn_gets_weight_zero_everywhere() {
    for mode in [Mode::Seed, Mode::Optimal] {
        let mut m = two_cdns();
        fresh(&mut m, &[("C", 0), ("G", 0)]);
        m.mark_unavailable(&n("G"), NOW).unwrap();
        let p = plan(&m, &demand(&[("FR", 100.0), ("DE", 100.0)]), mode);
        for region in ["FR", "DE", "DEFAULT"] {
            assert_eq!(
                weight(&p, "img.xyz.com", region, "G"),
                0.0,
                "{mode:?} {region}"
            );
            assert_eq!(
                weight(&p, "img.xyz.com", region, "C"),
                1.0,
                "{mode:?} {region}"
            );
        }
    }
}

#[test]
fn region_whose_cdns_are_all_unavailable_has_an_empty_cell() {
    let mut m = two_cdns();
    m.mark_unavailable(&n("G"), NOW).unwrap();
    m.mark_unavailable(&n("C"), NOW).unwrap();
    let p = plan(&m, &demand(&[("FR", 100.0)]), Mode::Seed);
    assert_eq!(p.weights(&d("img.xyz.com"), "FR"), Some(&[][..]));
    assert_eq!(p.unplaced_kbps(), 100.0);
}

#[test]
fn overloaded_cdn_is_dropped_until_its_load_falls_under_recovery() {
    let mut m = two_cdns();
    let dm = demand(&[("DE", 200.0)]);
    let c = cfg(Mode::Seed);
    fresh(&mut m, &[("C", 0), ("G", 500)]);
    let p1 = balance(&m, &dm, &c, NOW, None);
    assert!(p1.is_overloaded(&n("G"), None));
    assert_eq!(weight(&p1, "img.xyz.com", "DE", "C"), 1.0);
    // 450 is under capacity but above 0.8 × 500: still out.
    fresh(&mut m, &[("G", 450)]);
    let p2 = balance(&m, &dm, &c, NOW, Some(&p1));
    assert_eq!(weight(&p2, "img.xyz.com", "DE", "G"), 0.0);
    fresh(&mut m, &[("G", 350)]);
    let p3 = balance(&m, &dm, &c, NOW, Some(&p2));
    assert!(!p3.is_overloaded(&n("G"), None));
    assert_eq!(weight(&p3, "img.xyz.com", "DE", "G"), 1.0);
}

#[test]
fn region_overload_drops_the_cdn_in_that_region_only() {
    let mut m = two_cdns();
    fresh(&mut m, &[("C", 0), ("G", 0)]);
    m.set_capacity(&n("G"), &Scope::Region(n("DE")), 100, NOW)
        .unwrap();
    m.set_load(&n("G"), &Scope::Region(n("DE")), 100, NOW)
        .unwrap();
    // FR's 1200 exceeds C's 900: the spill goes to G, which is fine in FR.
    let p = plan(&m, &demand(&[("FR", 1200.0), ("DE", 100.0)]), Mode::Seed);
    assert!(p.is_overloaded(&n("G"), Some(&n("DE"))));
    assert!(!p.is_overloaded(&n("G"), Some(&n("FR"))));
    assert_eq!(weight(&p, "img.xyz.com", "DE", "G"), 0.0);
    assert!((weight(&p, "img.xyz.com", "FR", "G") - 0.25).abs() < EPS);
}

#[test]
fn stale_feedback_halves_capacity_every_half_life() {
    let mut m = two_cdns();
    let c = BalanceConfig::default();
    let then = NOW - c.stale_after - c.stale_half_life;
    m.set_load(&n("G"), &Scope::Total, 0, then).unwrap();
    let p = balance(&m, &demand(&[("DE", 1000.0)]), &c, NOW, None);
    assert!((p.capacity_kbps(&n("G")) - 225.0).abs() < 1e-9);
    assert!((p.planned_kbps()[&n("G")] - 225.0).abs() < 1e-6);
    // A CDN that never reported rests on its configured capacity.
    assert!((p.capacity_kbps(&n("C")) - 900.0).abs() < 1e-9);
}

#[test]
fn seed_splits_good_cdns_by_capacity_where_optimal_takes_the_best() {
    let mut m = two_cdns();
    m.update_coverage(&n("G"), &[(n("FR"), 60), (n("DE"), 95)])
        .unwrap();
    let dm = demand(&[("FR", 300.0)]);
    let seed = plan(&m, &dm, Mode::Seed);
    assert!((weight(&seed, "img.xyz.com", "FR", "C") - 900.0 / 1350.0).abs() < EPS);
    let opt = plan(&m, &dm, Mode::Optimal);
    assert!((weight(&opt, "img.xyz.com", "FR", "C") - 1.0).abs() < 1e-9);
    assert_eq!(opt.mode(), Mode::Optimal);
}

#[test]
fn optimal_places_demand_the_seed_strands_between_groups() {
    let mut m = two_cdns();
    m.add_customer(d("only-g.example"), [n("G")]).unwrap();
    // DE: 450 each. Both groups want G (good in DE); only the LP gives G to the group
    // that has nothing else.
    let dm = demand(&[("DE", 900.0)]);
    let seed = plan(&m, &dm, Mode::Seed);
    assert!(
        (seed.unplaced_kbps() - 225.0).abs() < 1e-6,
        "{}",
        seed.unplaced_kbps()
    );
    let opt = plan(&m, &dm, Mode::Optimal);
    assert!(opt.unplaced_kbps() < 1e-6, "{}", opt.unplaced_kbps());
    assert!((weight(&opt, "only-g.example", "DE", "G") - 1.0).abs() < 1e-9);
    assert!((weight(&opt, "img.xyz.com", "DE", "C") - 1.0).abs() < 1e-9);
}

#[test]
fn cells_without_demand_follow_headroom() {
    let m = two_cdns();
    let p = plan(&m, &demand(&[]), Mode::Optimal);
    // DE: G is the only good CDN there.
    assert_eq!(weight(&p, "img.xyz.com", "DE", "G"), 1.0);
    assert_eq!(weight(&p, "img.xyz.com", "DEFAULT", "C"), 1.0);
    assert_eq!(p.planned_kbps().values().sum::<f64>(), 0.0);
    let _ = Duration::ZERO;
}
