//! A [`Plan`] taken apart into plain public fields and put back together, checked: how a
//! plan crosses a process boundary (the cluster crate writes it to etcd as JSON, spec §8,
//! and proxies on other hosts read it back) without the plan's invariants being anyone
//! else's business.

use std::collections::{BTreeMap, BTreeSet};

use broker_config::transaction::Lookup;
use broker_config::{DnsName, Name};

use crate::plan::{Fallback, Group, Mode, Plan, Share};

/// Every field of a [`Plan`]. Cells and demand are indexed `[group][region]`, regions
/// sorted.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanParts {
    /// The algorithm that made it.
    pub mode: Mode,
    /// Region names, sorted, `DEFAULT` included.
    pub regions: Vec<Name>,
    /// The groups (coverage tables).
    pub groups: Vec<Group>,
    /// `[group][region]`: the shares.
    pub cells: Vec<Vec<Vec<Share>>>,
    /// `[group][region]`: the demand the plan was made for, kbit/s.
    pub demand_kbps: Vec<Vec<f64>>,
    /// How DNS sends a client to each CDN.
    pub lookups: BTreeMap<Name, Lookup>,
    /// Capacity the plan may use per CDN, kbit/s.
    pub capacity_kbps: BTreeMap<Name, f64>,
    /// Same per (CDN, region), where known.
    pub region_capacity_kbps: BTreeMap<(Name, Name), f64>,
    /// Overloads acted on: `(cdn, None)` in total, `(cdn, Some(region))` in a region.
    pub overloaded: BTreeSet<(Name, Option<Name>)>,
    /// CDNs that said `Unavailable`.
    pub unavailable: BTreeSet<Name>,
    /// The share of capacity the plan aimed at.
    pub target_utilisation: f64,
    /// Demand not placed within capacity, kbit/s.
    pub unplaced_kbps: f64,
    /// Why the optimal mode fell back, if it did (its text).
    pub fallback: Option<String>,
}

/// Parts that do not make a plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartsError {
    /// Regions not sorted or repeated.
    #[error("regions are not sorted and distinct")]
    Regions,
    /// A row of cells or demand does not have one entry per region, or one row per group.
    #[error("cells or demand do not match {groups} groups x {regions} regions")]
    Shape {
        /// Groups.
        groups: usize,
        /// Regions.
        regions: usize,
    },
    /// A weight out of (0, 1] or a cell whose weights do not sum to 1.
    #[error("group {group} region {region}: weights must be in (0, 1] and sum to 1")]
    Weights {
        /// The group's index.
        group: usize,
        /// The region.
        region: Name,
    },
    /// A share names a CDN of neither its group nor the lookups.
    #[error("group {group}: cdn {cdn} is not one of the group's")]
    Cdn {
        /// The group's index.
        group: usize,
        /// The CDN.
        cdn: Name,
    },
    /// One customer in two groups.
    #[error("customer {0} is in two groups")]
    Customer(DnsName),
}

/// The [`Fallback`] whose text is `text` (as `to_parts` wrote it).
fn fallback_of(text: &str) -> Fallback {
    let panicked = Fallback::SolverPanicked;
    if text == panicked.to_string() {
        return panicked;
    }
    let failed = text.strip_prefix("lp solver failed: ").unwrap_or(text);
    Fallback::SolverFailed(failed.to_owned())
}

impl Plan {
    /// The plan's fields, for writing it elsewhere.
    pub fn to_parts(&self) -> PlanParts {
        PlanParts {
            mode: self.mode,
            regions: self.regions.clone(),
            groups: self.groups.clone(),
            cells: self.cells.clone(),
            demand_kbps: self.demand_kbps.clone(),
            lookups: self.lookups.clone(),
            capacity_kbps: self.capacity_kbps.clone(),
            region_capacity_kbps: self.region_capacity_kbps.clone(),
            overloaded: self.overloaded.clone(),
            unavailable: self.unavailable.clone(),
            target_utilisation: self.target_utilisation,
            unplaced_kbps: self.unplaced_kbps,
            fallback: self.fallback.as_ref().map(ToString::to_string),
        }
    }

    /// A plan from its fields, checked: regions sorted and distinct, one cell and one
    /// demand per (group, region), each non-empty cell's weights in (0, 1] summing to 1
    /// (within 1e-6) and naming CDNs of its group, each customer in one group.
    pub fn from_parts(p: PlanParts) -> Result<Self, PartsError> {
        if p.regions.windows(2).any(|w| w[0] >= w[1]) {
            return Err(PartsError::Regions);
        }
        let shape = PartsError::Shape {
            groups: p.groups.len(),
            regions: p.regions.len(),
        };
        let (groups, regions) = (p.groups.len(), p.regions.len());
        let cells_fit = p.cells.len() == groups && p.cells.iter().all(|r| r.len() == regions);
        let demand_fit =
            p.demand_kbps.len() == groups && p.demand_kbps.iter().all(|r| r.len() == regions);
        if !cells_fit || !demand_fit {
            return Err(shape);
        }
        let mut seen: BTreeSet<&DnsName> = BTreeSet::new();
        for (g, group) in p.groups.iter().enumerate() {
            if let Some(c) = group.customers.iter().find(|c| !seen.insert(c)) {
                return Err(PartsError::Customer((*c).clone()));
            }
            for (r, shares) in p.cells[g].iter().enumerate() {
                if let Some(s) = shares.iter().find(|s| !group.cdns.contains(&s.cdn)) {
                    return Err(PartsError::Cdn {
                        group: g,
                        cdn: s.cdn.clone(),
                    });
                }
                let sum: f64 = shares.iter().map(|s| s.weight).sum();
                let in_range = shares.iter().all(|s| s.weight > 0.0 && s.weight <= 1.0);
                if !shares.is_empty() && (!in_range || (sum - 1.0).abs() > 1e-6) {
                    return Err(PartsError::Weights {
                        group: g,
                        region: p.regions[r].clone(),
                    });
                }
            }
        }
        Ok(Self {
            mode: p.mode,
            regions: p.regions,
            groups: p.groups,
            cells: p.cells,
            demand_kbps: p.demand_kbps,
            lookups: p.lookups,
            capacity_kbps: p.capacity_kbps,
            region_capacity_kbps: p.region_capacity_kbps,
            overloaded: p.overloaded,
            unavailable: p.unavailable,
            target_utilisation: p.target_utilisation,
            unplaced_kbps: p.unplaced_kbps,
            fallback: p.fallback.map(|text| fallback_of(&text)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::{BalanceConfig, Demand, balance};
    use crate::model::Model;
    use broker_config::AgentFiles;
    use std::time::Duration;

    fn plan() -> Plan {
        let files = AgentFiles::parse(
            "ADD REG FRANCE { 198.54.234.0, 23; }!\nADD REG GERMANY { 196.8.0.0, 16; }!",
            "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; GERMANY:40; DEFAULT:50; ]!\n\
             ADD CDN G:100000 {N:(ns1.cdn-g.example 198.51.100.53)} [ FRANCE:60; GERMANY:95; ]!",
            "ADD CST img.xyz.com [ C; G; ]!\nADD CST www.abc.com [ C; ]!",
        )
        .expect("valid files");
        let model = Model::from_agent_files(&files).expect("a model");
        balance(
            &model,
            &Demand::new(),
            &BalanceConfig::default(),
            Duration::ZERO,
            None,
        )
    }

    #[test]
    fn parts_give_the_same_plan_back() {
        let p = plan();
        assert!(p.groups().len() >= 2);
        assert_eq!(Plan::from_parts(p.to_parts()), Ok(p));
    }

    #[test]
    fn weights_that_do_not_sum_to_one_are_refused() {
        let mut parts = plan().to_parts();
        let (g, r) = (0..parts.groups.len())
            .flat_map(|g| (0..parts.regions.len()).map(move |r| (g, r)))
            .find(|&(g, r)| !parts.cells[g][r].is_empty())
            .expect("a non-empty cell");
        parts.cells[g][r][0].weight += 0.5;
        assert!(matches!(
            Plan::from_parts(parts),
            Err(PartsError::Weights { .. })
        ));
    }

    #[test]
    fn a_missing_row_or_unsorted_regions_are_refused() {
        let mut parts = plan().to_parts();
        parts.cells.pop();
        assert!(matches!(
            Plan::from_parts(parts),
            Err(PartsError::Shape { .. })
        ));
        let mut parts = plan().to_parts();
        parts.regions.reverse();
        assert_eq!(Plan::from_parts(parts), Err(PartsError::Regions));
    }

    #[test]
    fn a_share_of_a_cdn_outside_its_group_is_refused() {
        let mut parts = plan().to_parts();
        let g = parts
            .groups
            .iter()
            .position(|g| g.cdns.len() == 1)
            .expect("the C-only group");
        let r = (0..parts.regions.len())
            .find(|&r| !parts.cells[g][r].is_empty())
            .expect("a cell");
        parts.cells[g][r][0].cdn = Name::new("G").expect("a name");
        assert!(matches!(
            Plan::from_parts(parts),
            Err(PartsError::Cdn { .. })
        ));
    }
}
