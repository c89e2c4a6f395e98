//! Demand estimates per region, in kbit/s: from the loads CDNs report (seed mode), or from
//! the resolutions the DNS engines made (optimal mode), which see a flash crowd as soon as
//! clients ask, before any partner's averaged load report does.

use std::collections::BTreeMap;

use broker_config::{DnsName, Name};

use std::time::Duration;

use crate::model::{Model, Status};
use crate::plan::Plan;

/// Resolutions a DNS engine made for clients of `region` that it sent to `cdn`, counted
/// over the caller's window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolutionCount {
    /// Client region.
    pub region: Name,
    /// The CDN picked.
    pub cdn: Name,
    /// How many resolutions.
    pub count: u64,
}

/// Demand per region (kbit/s) and the weight of each customer in it (default 1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demand {
    region_kbps: BTreeMap<Name, f64>,
    customer_weight: BTreeMap<DnsName, f64>,
}

/// A finite, non-negative figure (anything else reads as 0).
fn sane(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

impl Demand {
    /// No demand anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a region's demand (negative or non-finite values read as 0).
    pub fn set_region_kbps(&mut self, region: Name, kbps: f64) {
        self.region_kbps.insert(region, sane(kbps));
    }

    /// A region's demand (0 when not set).
    pub fn region_kbps(&self, region: &str) -> f64 {
        self.region_kbps.get(region).copied().unwrap_or(0.0)
    }

    /// Every region demand set.
    pub fn regions(&self) -> impl Iterator<Item = (&Name, f64)> {
        self.region_kbps.iter().map(|(r, d)| (r, *d))
    }

    /// Total demand, kbit/s.
    pub fn total_kbps(&self) -> f64 {
        self.region_kbps.values().sum()
    }

    /// Sets a customer's weight: its share of every region's demand is its weight over
    /// the sum of all customers' weights (negative or non-finite values read as 0).
    pub fn set_customer_weight(&mut self, customer: DnsName, weight: f64) {
        self.customer_weight.insert(customer, sane(weight));
    }

    /// A customer's weight (1 when not set).
    pub fn customer_weight(&self, customer: &DnsName) -> f64 {
        self.customer_weight.get(customer).copied().unwrap_or(1.0)
    }

    /// Seed mode's estimate: per region, the sum of the region loads that available
    /// CDNs reported, times `margin` (e.g. 1.1 for 10% growth room). A CDN whose feedback
    /// is older than `stale_after` at `now` is not believed: what `previous` (the plan
    /// in force) sends it stands in for its load, or nothing without a previous plan.
    pub fn from_loads(
        model: &Model,
        margin: f64,
        now: Duration,
        stale_after: Duration,
        previous: Option<&Plan>,
    ) -> Self {
        let margin = sane(margin);
        let mut out = Self::new();
        for cdn in model.cdns().filter(|c| c.status() == Status::Available) {
            let stale = cdn
                .last_feedback()
                .is_some_and(|t| now.saturating_sub(t) > stale_after);
            if !stale {
                for (region, load) in cdn.region_loads() {
                    *out.region_kbps.entry(region.clone()).or_insert(0.0) += load as f64 * margin;
                }
                continue;
            }
            let Some(plan) = previous else { continue };
            for region in plan.regions() {
                // The plan was made for demand that already had the margin in it.
                let planned = plan.planned_region_kbps(cdn.name(), region.as_str());
                if planned > 0.0 {
                    *out.region_kbps.entry(region.clone()).or_insert(0.0) += planned;
                }
            }
        }
        out
    }

    /// Optimal mode's estimate: per region, resolutions × `kbps_per_resolution`.
    pub fn from_resolutions(counts: &[ResolutionCount], kbps_per_resolution: f64) -> Self {
        let mut out = Self::new();
        for rc in counts {
            *out.region_kbps.entry(rc.region.clone()).or_insert(0.0) +=
                rc.count as f64 * sane(kbps_per_resolution);
        }
        out
    }

    /// Traffic per resolution, from CDNs that reported a region load and got resolutions
    /// there: Σ load / Σ count over those (region, CDN) pairs. `None` without such pairs.
    pub fn kbps_per_resolution(model: &Model, counts: &[ResolutionCount]) -> Option<f64> {
        let (mut load, mut count) = (0.0, 0u64);
        for rc in counts.iter().filter(|rc| rc.count > 0) {
            let reported = model
                .cdn(rc.cdn.as_str())
                .filter(|c| c.status() == Status::Available)
                .and_then(|c| c.region_load_kbps(rc.region.as_str()));
            if let Some(l) = reported {
                load += l as f64;
                count = count.saturating_add(rc.count);
            }
        }
        (count > 0 && load > 0.0).then(|| load / count as f64)
    }

    /// Smooths towards `self` from `previous`: a rise is taken at once (a flash crowd must
    /// not wait), a fall only by `alpha` (0..=1) per call, so that short dips do not give
    /// capacity away.
    pub fn smoothed(&self, previous: &Self, alpha: f64) -> Self {
        let alpha = alpha.clamp(0.0, 1.0);
        let mut out = self.clone();
        for (region, prev) in &previous.region_kbps {
            let now = self.region_kbps(region.as_str());
            let v = if now >= *prev {
                now
            } else {
                prev + alpha * (now - prev)
            };
            out.region_kbps.insert(region.clone(), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    #[test]
    fn resolutions_times_rate_per_region() {
        let counts = [
            ResolutionCount {
                region: n("FR"),
                cdn: n("C"),
                count: 30,
            },
            ResolutionCount {
                region: n("FR"),
                cdn: n("G"),
                count: 10,
            },
            ResolutionCount {
                region: n("DE"),
                cdn: n("G"),
                count: 5,
            },
        ];
        let d = Demand::from_resolutions(&counts, 2.0);
        assert_eq!(
            (d.region_kbps("FR"), d.region_kbps("DE"), d.total_kbps()),
            (80.0, 10.0, 90.0)
        );
    }

    #[test]
    fn smoothing_rises_at_once_and_falls_slowly() {
        let mut prev = Demand::new();
        prev.set_region_kbps(n("FR"), 100.0);
        prev.set_region_kbps(n("DE"), 100.0);
        let mut now = Demand::new();
        now.set_region_kbps(n("FR"), 300.0);
        now.set_region_kbps(n("DE"), 0.0);
        let s = now.smoothed(&prev, 0.25);
        assert_eq!((s.region_kbps("FR"), s.region_kbps("DE")), (300.0, 75.0));
    }

    #[test]
    fn stale_loads_give_way_to_what_the_plan_sends() {
        use crate::balance::{BalanceConfig, balance};
        use crate::model::{CdnSpec, Scope};
        use broker_config::transaction::Lookup;
        let mut m = Model::new();
        m.add_region(n("FR"));
        for (name, last) in [("C", 1u8), ("G", 2)] {
            m.add_cdn(CdnSpec {
                name: n(name),
                lookup: Lookup::Address(std::net::Ipv4Addr::new(192, 0, 2, last).into()),
                capacity_kbps: 1000,
                coverage: vec![(n("FR"), 90)],
            })
            .unwrap();
        }
        m.add_customer(DnsName::new("a.example").unwrap(), [n("C"), n("G")])
            .unwrap();
        let fr = Scope::Region(n("FR"));
        m.set_load(&n("C"), &fr, 300, Duration::from_secs(100))
            .unwrap();
        m.set_load(&n("G"), &fr, 500, Duration::from_secs(0))
            .unwrap();
        let (now, stale_after) = (Duration::from_secs(100), Duration::from_secs(60));
        let mut d = Demand::new();
        d.set_region_kbps(n("FR"), 800.0);
        let plan = balance(&m, &d, &BalanceConfig::default(), now, None);
        // G is stale: its 500 is not believed; what the plan sends it stands in.
        let est = Demand::from_loads(&m, 1.0, now, stale_after, Some(&plan));
        let g_planned = plan.planned_region_kbps(&n("G"), "FR");
        assert!((est.region_kbps("FR") - (300.0 + g_planned)).abs() < 1e-9);
        let alone = Demand::from_loads(&m, 1.0, now, stale_after, None);
        assert_eq!(alone.region_kbps("FR"), 300.0);
    }

    #[test]
    fn negative_and_nan_read_as_zero() {
        let mut d = Demand::new();
        d.set_region_kbps(n("FR"), -5.0);
        d.set_region_kbps(n("DE"), f64::NAN);
        assert_eq!(d.total_kbps(), 0.0);
    }
}
