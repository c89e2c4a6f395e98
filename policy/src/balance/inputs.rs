//! What both algorithms read: the model flattened into dense index tables, with each
//! CDN's usable capacity after overload, staleness and the utilisation target.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker_config::Name;

use super::{BalanceConfig, Demand};
use crate::model::{Cdn, Model, Status};
use crate::plan::{Group, Mode, Plan, coverage_name};

/// Dense `[cdn][region]` / `[group][region]` tables; indices follow the sorted names.
pub(crate) struct Inputs<'a> {
    pub(crate) cfg: &'a BalanceConfig,
    pub(crate) regions: Vec<Name>,
    pub(crate) cdns: Vec<&'a Cdn>,
    pub(crate) groups: Vec<Group>,
    /// CDN indices of each group.
    pub(crate) members: Vec<Vec<usize>>,
    /// `[cdn][region]` coverage 0..=100.
    pub(crate) cov: Vec<Vec<u8>>,
    /// `[cdn]`: status is available.
    pub(crate) available: Vec<bool>,
    /// `[cdn][region]`: available and not dropped as overloaded there or in total.
    pub(crate) usable: Vec<Vec<bool>>,
    /// `[cdn]` capacity the plan may use, kbit/s.
    pub(crate) cap: Vec<f64>,
    /// `[cdn][region]` capacity the plan may use there (infinite when unknown).
    pub(crate) rcap: Vec<Vec<f64>>,
    /// `[group][region]` demand, kbit/s.
    pub(crate) demand: Vec<Vec<f64>>,
    pub(crate) overloaded: BTreeSet<(Name, Option<Name>)>,
    /// `[group][region][cdn]` weights of the previous plan, when it had the same groups
    /// and regions (else all 0).
    pub(crate) previous: Alloc,
}

/// A `[group][region][cdn]` allocation in kbit/s.
pub(crate) type Alloc = Vec<Vec<Vec<f64>>>;

impl<'a> Inputs<'a> {
    pub(crate) fn new(
        model: &'a Model,
        demand: &Demand,
        cfg: &'a BalanceConfig,
        now: Duration,
        previous: Option<&Plan>,
    ) -> Self {
        let regions: Vec<Name> = model.regions().iter().cloned().collect();
        let cdns: Vec<&Cdn> = model.cdns().collect();
        let index: BTreeMap<&Name, usize> = cdns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name(), i))
            .collect();

        let mut by_set: BTreeMap<BTreeSet<Name>, BTreeSet<_>> = BTreeMap::new();
        for cst in model.customers() {
            by_set
                .entry(cst.cdns().clone())
                .or_default()
                .insert(cst.name().clone());
        }
        let groups: Vec<Group> = by_set
            .into_iter()
            .map(|(cdns, customers)| Group {
                coverage: coverage_name(&cdns),
                cdns,
                customers,
            })
            .collect();
        let members = groups
            .iter()
            .map(|g| {
                g.cdns
                    .iter()
                    .filter_map(|c| index.get(c).copied())
                    .collect()
            })
            .collect();

        let shares = group_shares(&groups, demand);
        let demand_rows = shares
            .iter()
            .map(|s| {
                regions
                    .iter()
                    .map(|r| demand.region_kbps(r.as_str()) * s)
                    .collect()
            })
            .collect();

        let mut out = Self {
            cfg,
            cov: cdns
                .iter()
                .map(|c| regions.iter().map(|r| c.coverage(r.as_str())).collect())
                .collect(),
            available: cdns
                .iter()
                .map(|c| c.status() == Status::Available)
                .collect(),
            usable: Vec::new(),
            cap: Vec::new(),
            rcap: Vec::new(),
            demand: demand_rows,
            overloaded: BTreeSet::new(),
            previous: Vec::new(),
            regions,
            cdns,
            groups,
            members,
        };
        out.assess_cdns(now, previous);
        out.previous = out.previous_weights(previous);
        out
    }

    fn previous_weights(&self, previous: Option<&Plan>) -> Alloc {
        let mut w = self.zero_alloc();
        let Some(p) = previous.filter(|p| p.regions == self.regions && p.groups == self.groups)
        else {
            return w;
        };
        for (g, row) in p.cells.iter().enumerate() {
            for (r, cell) in row.iter().enumerate() {
                for share in cell {
                    if let Some(c) = self.cdns.iter().position(|c| c.name() == &share.cdn) {
                        w[g][r][c] = share.weight;
                    }
                }
            }
        }
        w
    }

    /// Fills `usable`, `cap`, `rcap` and `overloaded`.
    fn assess_cdns(&mut self, now: Duration, previous: Option<&Plan>) {
        let cfg = self.cfg;
        for (c, cdn) in self.cdns.iter().enumerate() {
            let age = cdn.last_feedback().map(|t| now.saturating_sub(t));
            let stale = age.is_some_and(|a| a > cfg.stale_after);
            let trust = match age {
                Some(a) if stale => {
                    let over = (a - cfg.stale_after).as_secs_f64();
                    let half = cfg.stale_half_life.as_secs_f64().max(1e-9);
                    // Whole halvings: the plan changes once per half-life, not every replan.
                    0.5f64.powf((over / half).ceil())
                }
                _ => 1.0,
            };
            let factor = cfg.target_utilisation * trust;
            let was = |region: Option<&Name>| {
                previous.is_some_and(|p| {
                    p.overloaded
                        .contains(&(cdn.name().clone(), region.cloned()))
                })
            };
            // Stale numbers are not trusted either way: an overload we acted on stays.
            let over = |load: u64, cap: u64, region: Option<&Name>| {
                if stale {
                    was(region)
                } else if was(region) {
                    load as f64 >= cfg.recover_below * cap as f64
                } else {
                    load >= cap
                }
            };
            let available = self.available[c];
            // Seed mode drops an overloaded CDN (the seed's first step). The optimal mode
            // keeps it and believes it can carry only capacity²/load: dropping and
            // re-adding on load reports that lag the plan makes traffic slosh between
            // CDNs, where a capacity the LP respects settles.
            let drops = cfg.mode == Mode::Seed;
            let throttle = |load: Option<u64>, cap: u64| match load {
                Some(l) if !drops && !stale && l > cap && l > 0 => cap as f64 / l as f64,
                _ => 1.0,
            };
            let over =
                |load: u64, cap: u64, region: Option<&Name>| drops && over(load, cap, region);
            let total_over = available && over(cdn.load_kbps(), cdn.capacity_kbps(), None);
            if total_over {
                self.overloaded.insert((cdn.name().clone(), None));
            }
            self.cap.push(if available {
                cdn.capacity_kbps() as f64
                    * factor
                    * throttle(Some(cdn.load_kbps()), cdn.capacity_kbps())
            } else {
                0.0
            });
            let mut usable = Vec::with_capacity(self.regions.len());
            let mut rcap = Vec::with_capacity(self.regions.len());
            for region in &self.regions {
                let rc = cdn.region_capacity_kbps(region.as_str());
                let region_over = match (rc, cdn.region_load_kbps(region.as_str())) {
                    (Some(cap), Some(load)) => available && over(load, cap, Some(region)),
                    _ => false,
                };
                if region_over {
                    self.overloaded
                        .insert((cdn.name().clone(), Some(region.clone())));
                }
                usable.push(available && !total_over && !region_over);
                let region_load = cdn.region_load_kbps(region.as_str());
                rcap.push(rc.map_or(f64::INFINITY, |v| {
                    v as f64 * factor * throttle(region_load, v)
                }));
            }
            self.usable.push(usable);
            self.rcap.push(rcap);
        }
    }

    /// An all-zero allocation of the right shape.
    pub(crate) fn zero_alloc(&self) -> Alloc {
        vec![vec![vec![0.0; self.cdns.len()]; self.regions.len()]; self.groups.len()]
    }

    /// Coverage counts as good (the seed's "good coverage") at or above the threshold.
    pub(crate) fn good(&self, c: usize, r: usize) -> bool {
        self.cov[c][r] >= self.cfg.good_coverage
    }
}

/// Each group's share of a region's demand: the sum of its customers' weights.
fn group_shares(groups: &[Group], demand: &Demand) -> Vec<f64> {
    let raw: Vec<f64> = groups
        .iter()
        .map(|g| g.customers.iter().map(|c| demand.customer_weight(c)).sum())
        .collect();
    let total: f64 = raw.iter().sum();
    if total > 0.0 {
        raw.iter().map(|w| w / total).collect()
    } else {
        vec![1.0 / groups.len().max(1) as f64; groups.len()]
    }
}
