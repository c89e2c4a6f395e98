//! The `Plan`: for every region and every distinct set of CDNs that customers allow (a
//! *group*, the seed's coverage table), a weighted list of CDNs. Immutable once built;
//! [`crate::balance::balance`] makes one, [`crate::dns_tables`] turns it into spec §1
//! statements.
//!
//! A cell's weights are positive and sum to 1; a cell with no CDN (every allowed CDN is
//! unavailable) is an empty list, and the DNS tables leave that region out of the group's
//! coverage.

use std::collections::{BTreeMap, BTreeSet};

use broker_config::transaction::Lookup;
use broker_config::{DnsName, Name};

/// Integer weights in DNS tables are parts per this many (per-mille).
pub const WEIGHT_SCALE: u32 = 1000;

/// Which algorithm made a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The seed's steps: drop overloaded CDNs, prefer good coverage, split by capacity.
    Seed,
    /// A linear program: most traffic at the best coverage, no CDN over capacity.
    Optimal,
}

/// One CDN's share of a cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Share {
    /// The CDN.
    pub cdn: Name,
    /// Its probability, in (0, 1].
    pub weight: f64,
}

/// A distinct set of allowed CDNs and the customers that allow exactly that set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The coverage table's name in the DNS engine (stable for a given CDN set).
    pub coverage: Name,
    /// The CDNs, sorted.
    pub cdns: BTreeSet<Name>,
    /// The customers, sorted.
    pub customers: BTreeSet<DnsName>,
}

/// Why the optimal mode fell back to the seed's algorithm for a plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fallback {
    /// The LP solver returned an error.
    #[error("lp solver failed: {0}")]
    SolverFailed(String),
    /// The LP solver panicked (caught; the plan is the seed's).
    #[error("lp solver panicked")]
    SolverPanicked,
}

/// An immutable load-balancing plan. Cells are indexed by group and region.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub(crate) mode: Mode,
    pub(crate) regions: Vec<Name>,
    pub(crate) groups: Vec<Group>,
    /// `[group][region]`: the shares, positive, by CDN name.
    pub(crate) cells: Vec<Vec<Vec<Share>>>,
    /// `[group][region]`: the demand the plan was made for, kbit/s.
    pub(crate) demand_kbps: Vec<Vec<f64>>,
    pub(crate) lookups: BTreeMap<Name, Lookup>,
    /// Capacity the plan may use per CDN (after utilisation target and staleness decay).
    pub(crate) capacity_kbps: BTreeMap<Name, f64>,
    /// Same, per (CDN, region), where a region capacity is known.
    pub(crate) region_capacity_kbps: BTreeMap<(Name, Name), f64>,
    /// CDNs dropped as overloaded: `(cdn, None)` in total, `(cdn, Some(region))` in a region.
    pub(crate) overloaded: BTreeSet<(Name, Option<Name>)>,
    /// CDNs that said `Unavailable`.
    pub(crate) unavailable: BTreeSet<Name>,
    /// The share of capacity the plan aimed at: capacity / this is the CDN's real limit.
    pub(crate) target_utilisation: f64,
    pub(crate) unplaced_kbps: f64,
    pub(crate) fallback: Option<Fallback>,
}

impl Plan {
    /// The algorithm that made it.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Region names, sorted (`DEFAULT` included).
    pub fn regions(&self) -> &[Name] {
        &self.regions
    }
    /// The groups, sorted by CDN set.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }
    /// The group serving `customer`.
    pub fn group_of(&self, customer: &DnsName) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.customers.contains(customer))
    }
    /// The shares of group `group` in `region` (`None` if either is unknown).
    pub fn cell(&self, group: usize, region: &str) -> Option<&[Share]> {
        let r = self.region_index(region)?;
        self.cells.get(group).map(|g| g[r].as_slice())
    }
    /// The shares a customer gets in a region.
    pub fn weights(&self, customer: &DnsName, region: &str) -> Option<&[Share]> {
        self.cell(self.group_of(customer)?, region)
    }
    /// The demand the plan was made for, kbit/s, of group `group` in `region`.
    pub fn demand_kbps(&self, group: usize, region: &str) -> f64 {
        self.region_index(region)
            .and_then(|r| self.demand_kbps.get(group).map(|g| g[r]))
            .unwrap_or(0.0)
    }
    /// How DNS sends a client to each CDN of the plan.
    pub fn lookups(&self) -> &BTreeMap<Name, Lookup> {
        &self.lookups
    }
    /// The capacity the plan may use on `cdn` in total, kbit/s (0 if unknown).
    pub fn capacity_kbps(&self, cdn: &Name) -> f64 {
        self.capacity_kbps.get(cdn).copied().unwrap_or(0.0)
    }
    /// The capacity the plan may use on `cdn` in `region`, when one is known.
    pub fn region_capacity_kbps(&self, cdn: &Name, region: &Name) -> Option<f64> {
        self.region_capacity_kbps
            .get(&(cdn.clone(), region.clone()))
            .copied()
    }
    /// True when `cdn` was dropped as overloaded in total or in `region`.
    pub fn is_overloaded(&self, cdn: &Name, region: Option<&Name>) -> bool {
        self.overloaded.contains(&(cdn.clone(), None))
            || region.is_some_and(|r| self.overloaded.contains(&(cdn.clone(), Some(r.clone()))))
    }
    /// Every overload the plan acted on.
    pub fn overloaded(&self) -> &BTreeSet<(Name, Option<Name>)> {
        &self.overloaded
    }
    /// True when `cdn` said `Unavailable` (it has weight 0 everywhere).
    pub fn is_unavailable(&self, cdn: &Name) -> bool {
        self.unavailable.contains(cdn)
    }
    /// Demand that could not be placed within capacity, kbit/s (spread over the cells'
    /// CDNs anyway, so some CDN is then planned past its capacity).
    pub fn unplaced_kbps(&self) -> f64 {
        self.unplaced_kbps
    }
    /// Set when the optimal mode fell back to the seed's algorithm.
    pub fn fallback(&self) -> Option<&Fallback> {
        self.fallback.as_ref()
    }

    /// The traffic the plan puts on each CDN (weights × demand), kbit/s, in total.
    pub fn planned_kbps(&self) -> BTreeMap<Name, f64> {
        let mut out = BTreeMap::new();
        for (g, row) in self.cells.iter().enumerate() {
            for (r, shares) in row.iter().enumerate() {
                for s in shares {
                    *out.entry(s.cdn.clone()).or_insert(0.0) += s.weight * self.demand_kbps[g][r];
                }
            }
        }
        out
    }

    /// The traffic the plan puts on `cdn` in `region`, kbit/s.
    pub fn planned_region_kbps(&self, cdn: &Name, region: &str) -> f64 {
        let Some(r) = self.region_index(region) else {
            return 0.0;
        };
        self.cells
            .iter()
            .zip(&self.demand_kbps)
            .flat_map(|(row, demand)| row[r].iter().map(move |s| (s, demand[r])))
            .filter(|(s, _)| &s.cdn == cdn)
            .map(|(s, d)| s.weight * d)
            .sum()
    }

    /// True when both plans send the same customers to the same coverage tables with the
    /// same weights (what a DNS engine sees).
    pub fn same_tables(&self, other: &Self) -> bool {
        self.regions == other.regions
            && self.groups == other.groups
            && self.lookups == other.lookups
            && self.cells == other.cells
    }

    pub(crate) fn region_index(&self, region: &str) -> Option<usize> {
        self.regions
            .binary_search_by(|r| r.as_str().cmp(region))
            .ok()
    }
}

/// Weights as integers summing to exactly [`WEIGHT_SCALE`] (largest remainder), in the
/// shares' order; a share that rounds to 0 is kept with weight 0. Empty in, empty out.
pub fn integer_weights(shares: &[Share]) -> Vec<(Name, u32)> {
    let total: f64 = shares.iter().map(|s| s.weight.max(0.0)).sum();
    if shares.is_empty() || total <= 0.0 || !total.is_finite() {
        return Vec::new();
    }
    let scale = f64::from(WEIGHT_SCALE);
    let exact: Vec<f64> = shares
        .iter()
        .map(|s| s.weight.max(0.0) / total * scale)
        .collect();
    // Truncation of a value in [0, 1000] fits u32.
    let mut ints: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut left = WEIGHT_SCALE - ints.iter().sum::<u32>().min(WEIGHT_SCALE);
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        ints[i] += 1;
        left -= 1;
    }
    shares
        .iter()
        .zip(ints)
        .map(|(s, w)| (s.cdn.clone(), w))
        .collect()
}

/// The coverage table name of a CDN set: the names joined by `_` when that fits in a
/// name and no CDN name holds `_`, else `set_` and a 64-bit FNV-1a hash of the set.
pub fn coverage_name(cdns: &BTreeSet<Name>) -> Name {
    let joined = cdns.iter().map(Name::as_str).collect::<Vec<_>>().join("_");
    let plain = !cdns.iter().any(|c| c.as_str().contains('_'));
    if plain && let Ok(name) = Name::new(&joined) {
        return name;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in cdns {
        for b in c.as_str().bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // Invariant: "set_" and 16 hex digits is a valid name.
    Name::new(&format!("set_{h:016x}")).expect("hash name is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(c: &str, w: f64) -> Share {
        Share {
            cdn: Name::new(c).unwrap(),
            weight: w,
        }
    }

    #[test]
    fn thirds_round_to_exactly_1000() {
        let w = integer_weights(&[share("a", 1.0), share("b", 1.0), share("c", 1.0)]);
        let ints: Vec<u32> = w.iter().map(|(_, w)| *w).collect();
        assert_eq!(ints, vec![334, 333, 333]);
    }

    #[test]
    fn tiny_share_rounds_to_zero_and_sum_stays_1000() {
        let w = integer_weights(&[share("a", 0.9999), share("b", 0.0001)]);
        assert_eq!(w.iter().map(|(_, w)| *w).collect::<Vec<_>>(), vec![1000, 0]);
    }

    #[test]
    fn coverage_name_joins_or_hashes() {
        let set = |v: &[&str]| {
            v.iter()
                .map(|s| Name::new(s).unwrap())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(coverage_name(&set(&["G", "C"])).as_str(), "C_G");
        let a = coverage_name(&set(&["a_b", "c"]));
        let b = coverage_name(&set(&["a", "b_c"]));
        assert!(a.as_str().starts_with("set_"));
        assert_ne!(a, b);
    }
}
